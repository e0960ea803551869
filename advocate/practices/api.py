"""Practices over the JSON API: list, create, read. TINs are masked."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from flask import g, jsonify, request, url_for
from pydantic import Field
from sqlalchemy import select

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.api.openapi import Param, body, describe
from advocate.api.pagination import CURSOR_PARAMS, cursor_page, refuse_page_numbers
from advocate.api.schema import Body, CursorPage, Date, Money, MoneyOut, Out
from advocate.auth.access import MANAGERS, STAFF, roles
from advocate.billing.fees import IDR_FEE_BEARERS
from advocate.extensions import db
from advocate.practices import services
from advocate.practices.models import (
    BILLING_CADENCES,
    PRACTICE_STATUSES,
    FeeAgreement,
    Practice,
)
from advocate.practices.validators import SPECIALTIES


class PracticeIn(Body):
    """A new client practice."""

    name: str
    npi: str
    tin: str
    specialty: str | None = None
    address_line1: str
    address_line2: str | None = None
    city: str
    state: str
    zip: str
    default_pos: str | None = None
    phone: str | None = None
    fax: str | None = None
    status: Literal["active", "paused", "offboarded"] | None = None
    notes: str | None = None


class FeeAgreementSummary(Out):
    effective_date: str
    percent: str
    basis: str
    minimum: str | None
    cap: str | None
    idr_fee_bearer: str
    billing_cadence: str


class PracticeOut(Out):
    """A practice (the TIN masked)."""

    id: int
    name: str
    npi: str
    tin: str | None
    specialty: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    zip: str | None
    default_pos: str | None
    phone: str | None
    fax: str | None
    status: str
    created_at: str | None
    updated_at: str | None
    authorization_status: str | None = None
    fee_agreement: FeeAgreementSummary | None = None


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


@bp.route("/practices", methods=["GET"])
@roles(STAFF)
@describe(
    query=[
        *CURSOR_PARAMS,
        Param("q", "Search in name, NPI, city."),
        Param("status", "active, paused or offboarded.", enum=list(PRACTICE_STATUSES)),
        Param("specialty", "A specialty code."),
        Param("state", "Two-letter state."),
    ],
    responses={200: CursorPage[PracticeOut]},
)
def practices_list():
    """List the firm's practices by name, cursor-paginated (limit, next; q, status, specialty, state)."""
    refuse_page_numbers()
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
    rows, nxt = cursor_page(
        q.order_by(None), [(Practice.name, "asc"), (Practice.id, "asc")], lambda p: (p.name, p.id)
    )
    today = services.tenant_today(g.tenant)
    statuses = services.authorization_statuses([p.id for p in rows], today)
    items = [practice_json(p, auth_status=statuses[p.id]) for p in rows]
    db.session.commit()
    return jsonify(items=items, next=nxt)


@bp.route("/practices", methods=["POST"])
@roles(MANAGERS)
@describe(body=PracticeIn, responses={201: PracticeOut})
def practices_create():
    """Add a practice from JSON; 422 with field-level details when invalid."""
    data = body().data()
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
@describe(responses={200: PracticeOut})
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


# --- fee agreements: versions added with an effective date, never edited ---


class FeeAgreementIn(Body):
    """A version of the practice's fee agreement, in force from ``effective_date``
    until the next version's (the first version creates the agreement)."""

    effective_date: Date
    percent: Annotated[
        str, Field(pattern=r"^\d{1,3}(\.\d{1,2})?$", description="Contingency percent, 0 to 100.")
    ]
    basis: Literal["incremental", "gross"]
    minimum: Money | None = None
    cap: Money | None = None
    idr_fee_bearer: Literal[IDR_FEE_BEARERS] = "firm"
    billing_cadence: Literal[BILLING_CADENCES] = "per_settlement"
    notes: str | None = None


class FeeAgreementOut(Out):
    """One version of a practice's fee agreement."""

    id: int
    practice_id: int
    effective_date: str
    percent: str
    basis: str
    minimum: MoneyOut | None
    cap: MoneyOut | None
    idr_fee_bearer: str
    billing_cadence: str
    notes: str | None
    created_at: str | None


def fee_agreement_json(a: FeeAgreement) -> dict:
    return {
        "id": a.id,
        "practice_id": a.practice_id,
        "effective_date": a.effective_date.isoformat(),
        "percent": f"{a.percent:.2f}",
        "basis": a.basis,
        "minimum": None if a.minimum is None else f"{a.minimum:.2f}",
        "cap": None if a.cap is None else f"{a.cap:.2f}",
        "idr_fee_bearer": a.idr_fee_bearer,
        "billing_cadence": a.billing_cadence,
        "notes": a.notes,
        "created_at": a.created_at.isoformat() if a.created_at else None,
    }


def _practice_or_404(practice_id: int) -> Practice:
    practice = db.session.get(Practice, practice_id)
    if practice is None:
        api_error(404, "not found")
    return practice


@bp.route("/practices/<int:practice_id>/fee-agreements", methods=["GET"])
@roles(STAFF)
@describe(query=CURSOR_PARAMS, responses={200: CursorPage[FeeAgreementOut]})
def fee_agreements_list(practice_id: int):
    """The versions of a practice's fee agreement, newest effective date first."""
    practice = _practice_or_404(practice_id)
    rows, nxt = cursor_page(
        select(FeeAgreement).where(FeeAgreement.practice_id == practice.id),
        [(FeeAgreement.effective_date, "desc"), (FeeAgreement.id, "desc")],
        lambda a: (a.effective_date, a.id),
    )
    items = [fee_agreement_json(a) for a in rows]
    db.session.commit()
    return jsonify(items=items, next=nxt)


@bp.route("/practices/<int:practice_id>/fee-agreements", methods=["POST"])
@roles(MANAGERS)
@describe(body=FeeAgreementIn, responses={201: FeeAgreementOut})
def fee_agreements_create(practice_id: int):
    """Add a version of the practice's fee agreement with its effective date."""
    practice = _practice_or_404(practice_id)
    data: FeeAgreementIn = body()
    try:
        agreement = services.add_fee_agreement(
            practice,
            actor=g.actor,
            effective_date=data.effective_date,
            percent=Decimal(data.percent),
            basis=data.basis,
            minimum=None if data.minimum is None else Decimal(data.minimum),
            cap=None if data.cap is None else Decimal(data.cap),
            idr_fee_bearer=data.idr_fee_bearer,
            billing_cadence=data.billing_cadence,
            notes=data.notes,
        )
    except services.ValidationFailed as err:
        db.session.rollback()
        api_error(422, "validation failed", [{"field": f, "message": m} for f, m in err.errors])
    out = fee_agreement_json(agreement)
    db.session.commit()
    return jsonify(out), 201
