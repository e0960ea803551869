"""Practices over the JSON API: list, create, read. TINs are masked."""

from __future__ import annotations

from flask import current_app, g, jsonify, request, url_for
from sqlalchemy import select

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.auth.access import MANAGERS, STAFF, roles
from advocate.extensions import db
from advocate.practices import services
from advocate.practices.models import PRACTICE_STATUSES, Practice
from advocate.practices.validators import SPECIALTIES

MAX_PER_PAGE = 100


def practice_json(p: Practice, *, auth_status: str | None = None, agreement=None) -> dict:
    data = {
        "id": p.id,
        "name": p.name,
        "npi": p.npi,
        "tin": p.tin_masked,
        "specialty": p.specialty,
        "address_line1": p.address_line1,
        "address_line2": p.address_line2,
        "city": p.city,
        "state": p.state,
        "zip": p.zip,
        "default_pos": p.default_pos,
        "phone": p.phone,
        "fax": p.fax,
        "status": p.status,
        "created_at": p.created_at.isoformat() if p.created_at else None,
        "updated_at": p.updated_at.isoformat() if p.updated_at else None,
    }
    if auth_status is not None:
        data["authorization_status"] = auth_status
    if agreement is not None:
        data["fee_agreement"] = {
            "effective_date": agreement.effective_date.isoformat(),
            "percent": str(agreement.percent),
            "basis": agreement.basis,
            "minimum": None if agreement.minimum is None else str(agreement.minimum),
            "cap": None if agreement.cap is None else str(agreement.cap),
            "idr_fee_bearer": agreement.idr_fee_bearer,
            "billing_cadence": agreement.billing_cadence,
        }
    return data


def _int_arg(name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not (minimum <= int(raw) <= maximum):
        api_error(
            422,
            "invalid query parameter",
            [
                {
                    "field": name,
                    "message": f"{name} must be a whole number from {minimum} to {maximum}.",
                }
            ],
        )
    return int(raw)


@bp.route("/practices", methods=["GET"])
@roles(STAFF)
def practices_list():
    """List the firm's practices, paginated (page, per_page; q, status, specialty, state)."""
    page_no = _int_arg("page", 1, minimum=1, maximum=10**6)
    per_page = _int_arg(
        "per_page", current_app.config["PAGE_SIZE"], minimum=1, maximum=MAX_PER_PAGE
    )
    status = request.args.get("status") or None
    if status is not None and status not in PRACTICE_STATUSES:
        api_error(
            422,
            "invalid query parameter",
            [{"field": "status", "message": "status is active, paused or offboarded."}],
        )
    specialty = request.args.get("specialty") or None
    if specialty is not None and specialty not in SPECIALTIES:
        api_error(
            422,
            "invalid query parameter",
            [{"field": "specialty", "message": "Unknown specialty."}],
        )
    q = services.list_query(
        tenant_id=g.membership.tenant_id,
        q=request.args.get("q") or None,
        status=status,
        specialty=specialty,
        state=(request.args.get("state") or "").upper() or None,
    )
    page = db.paginate(
        q, page=page_no, per_page=per_page, error_out=False, max_per_page=MAX_PER_PAGE
    )
    today = services.tenant_today(g.tenant)
    ids = [p.id for p in page.items]
    statuses = services.authorization_statuses(ids, today)
    db.session.commit()
    return jsonify(
        items=[practice_json(p, auth_status=statuses[p.id]) for p in page.items],
        page=page.page,
        per_page=page.per_page,
        total=page.total,
        pages=page.pages,
    )


@bp.route("/practices", methods=["POST"])
@roles(MANAGERS)
def practices_create():
    """Add a practice from JSON; 422 with field-level details when invalid."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        api_error(
            422,
            "send a JSON object",
            [{"field": "body", "message": "The body must be a JSON object."}],
        )
    data = {k: body.get(k) for k in services.PRACTICE_FIELDS if k in body}
    try:
        practice = services.create_practice(
            tenant_id=g.membership.tenant_id, actor=g.actor, data=data
        )
    except services.ValidationFailed as err:
        db.session.rollback()
        api_error(422, "validation failed", [{"field": f, "message": m} for f, m in err.errors])
    db.session.commit()
    response = jsonify(practice_json(practice, auth_status="missing"))
    response.status_code = 201
    response.headers["Location"] = url_for("api.practices_get", practice_id=practice.id)
    return response


@bp.route("/practices/<int:practice_id>", methods=["GET"])
@roles(STAFF)
def practices_get(practice_id: int):
    """One practice, with its authorization status and the agreement in force today."""
    practice = db.session.scalar(select(Practice).where(Practice.id == practice_id))
    if practice is None:
        api_error(404, "not found")
    today = services.tenant_today(g.tenant)
    data = practice_json(
        practice,
        auth_status=services.authorization_status(practice.id, today),
        agreement=services.agreement_on(practice.id, today),
    )
    db.session.commit()
    return jsonify(data)
