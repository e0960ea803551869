"""Cases API under /api/v1/cases."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import g, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.audit.services import audit
from advocate.auth.access import STAFF, WORKERS, roles
from advocate.cases import serializers as ser
from advocate.cases import services, workflow
from advocate.cases.models import Appeal, Case, CaseEvent, Communication, Offer
from advocate.extensions import db


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        api_error(400, "send a JSON object with Content-Type: application/json")
    return data


def _validation(err: services.CaseValidationError):
    api_error(422, "validation failed", [{"field": f, "message": msg} for f, msg in err.errors])


def _case_or_404(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        api_error(404, "no such case")
    return case


def case_detail(case: Case) -> dict:
    offers = db.session.scalars(select(Offer).where(Offer.case_id == case.id).order_by(Offer.offered_on, Offer.id))
    appeals = db.session.scalars(select(Appeal).where(Appeal.case_id == case.id).order_by(Appeal.level, Appeal.id))
    comms = db.session.scalars(
        select(Communication).where(Communication.case_id == case.id).order_by(Communication.occurred_at)
    )
    history = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "transition").order_by(CaseEvent.at)
    )
    out = ser.case_summary(case)
    out.update(
        {
            "patient": {"first_name": case.patient_first_name, "last_name": case.patient_last_name,
                        "dob": ser.d(case.patient_dob), "member_id": case.member_id},
            "rendering_npi": case.rendering_npi,
            "place_of_service": case.place_of_service,
            "service_type": case.service_type,
            "agreed_amount": ser.m(case.agreed_amount),
            "target_amount": ser.m(case.target_amount),
            "floor_amount": ser.m(case.floor_amount),
            "lines": [ser.line(ln) for ln in case.lines],
            "payments": [ser.payment(p) for p in case.payments],
            "offers": [ser.offer(o) for o in offers],
            "appeals": [ser.appeal(a) for a in appeals],
            "communications": [ser.communication(c) for c in comms],
            "status_history": [ser.transition_event(e) for e in history],
        }
    )
    from advocate.cases.figures import case_figures

    # The same figures the case page shows (advocate.cases.figures).
    out["figures"] = case_figures(case).as_json(staff=g.membership.is_staff)
    out["deadlines"] = {
        "next_deadline_on": ser.d(case.next_deadline_on),
        "next_follow_up_on": ser.d(case.next_follow_up_on),
        "appeals": [{"level": a["level"], "deadline_on": a["deadline_on"]} for a in out["appeals"]],
    }
    return out


@bp.route("/cases", methods=["GET"])
@roles(STAFF)
def cases_list():
    """List cases with the caseload's filters, paginated."""
    from advocate.cases.queries import page_of_cases, parse_case_filter

    f, errors = parse_case_filter(request.args)
    if errors:
        api_error(422, "invalid filter", [{"field": e.field, "message": e.message} for e in errors])
    page = page_of_cases(f)
    audit("case.list", object_type="case", is_phi=True, details={"count": len(page.items), "via": "api"})
    # Serialise before the commit: a commit expires the rows, and reading them
    # afterwards reloads each one (a statement per row).
    items = [ser.case_summary(c) for c in page.items]
    db.session.commit()
    return jsonify(items=items, page=page.page, per_page=page.per_page, total=page.total, pages=page.pages)


@bp.route("/cases", methods=["POST"])
@roles(WORKERS)
def cases_create():
    """Open a case with its service lines."""
    data = _json_body()
    try:
        case = services.create_case(tenant_id=g.membership.tenant_id, actor_id=g.actor.id, data=data)
    except services.CaseValidationError as err:
        db.session.rollback()
        _validation(err)
    db.session.commit()
    case = db.session.scalar(
        select(Case).where(Case.id == case.id).options(selectinload(Case.lines), selectinload(Case.payments))
    )
    return jsonify(case_detail(case)), 201


@bp.route("/cases/<int:case_id>", methods=["GET"])
@roles(STAFF)
def cases_get(case_id: int):
    """One case with lines, payments, offers, appeals, deadlines and status history."""
    case = _case_or_404(case_id)
    body = case_detail(case)
    audit("case.view", case, is_phi=True, details={"via": "api"})
    db.session.commit()
    return jsonify(body)


@bp.route("/cases/<int:case_id>/transitions", methods=["POST"])
@roles(WORKERS)
def cases_transition(case_id: int):
    """Move a case along its workflow."""
    case = _case_or_404(case_id)
    data = _json_body()
    to = str(data.get("to") or "").strip()
    level = data.get("appeal_level")
    agreed = data.get("agreed_amount")
    details = []
    if level is not None:
        try:
            level = int(level)
        except (TypeError, ValueError):
            details.append({"field": "appeal_level", "message": "must be a whole number"})
    if agreed is not None:
        try:
            agreed = Decimal(repr(agreed) if isinstance(agreed, float) else str(agreed))
        except InvalidOperation:
            details.append({"field": "agreed_amount", "message": f"'{agreed}' is not an amount"})
    if details:
        api_error(422, "validation failed", details)
    try:
        services.transition(case, to, actor_id=g.actor.id, note=(data.get("note") or None),
                            appeal_level=level, agreed_amount=agreed)
    except workflow.TransitionError as err:
        db.session.rollback()
        api_error(409, str(err), [{"field": "to", "message": str(err)}])
    db.session.commit()
    return jsonify(ser.case_summary(case))


@bp.route("/cases/<int:case_id>/communications", methods=["POST"])
@roles(WORKERS)
def cases_communication(case_id: int):
    """Log a call, letter, fax, email, portal message or meeting."""
    case = _case_or_404(case_id)
    try:
        comm = services.add_communication(case, actor_id=g.actor.id, data=_json_body())
    except services.CaseValidationError as err:
        db.session.rollback()
        _validation(err)
    db.session.commit()
    return jsonify(ser.communication(comm)), 201


@bp.route("/cases/<int:case_id>/offers", methods=["POST"])
@roles(WORKERS)
def cases_offer(case_id: int):
    """Record an offer or counteroffer."""
    case = _case_or_404(case_id)
    try:
        offer = services.add_offer(case, actor_id=g.actor.id, data=_json_body())
    except services.CaseValidationError as err:
        db.session.rollback()
        _validation(err)
    db.session.commit()
    return jsonify(ser.offer(offer)), 201
