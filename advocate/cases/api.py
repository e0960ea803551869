"""Cases API under /api/v1/cases."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from flask import g, jsonify, request
from pydantic import Field, StrictInt
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.api.openapi import Param, body, describe
from advocate.api.schema import Body, Date, Id, Money, MoneyOut, OpenOut, Out, Page, Ref, Timestamp
from advocate.audit.services import audit
from advocate.auth.access import STAFF, WORKERS, roles
from advocate.cases import serializers as ser
from advocate.cases import services, workflow
from advocate.cases.models import (
    COMM_DIRECTIONS,
    COMM_KINDS,
    OFFER_PARTIES,
    SERVICE_TYPES,
    Appeal,
    Case,
    CaseEvent,
    Communication,
    Offer,
)
from advocate.extensions import db

# --- request and response models (the API's description; see advocate.api.openapi) ---


class AdjustmentIn(Body):
    group: Literal["CO", "PR", "OA", "PI", "CR"]
    reason: str = ""
    amount: Money


class LineIn(Body):
    code: str = Field(description="CPT or HCPCS code.")
    modifiers: list[str] = []
    units: StrictInt | Annotated[str, Field(pattern=r"^\d+(\.\d+)?$")] = 1
    billed: Money
    allowed: Money | None = None
    paid: Money = "0"
    patient_resp: Money = "0"
    service_date: Date | None = None
    place_of_service: str | None = None
    adjustments: list[AdjustmentIn] = []
    remark_codes: list[str] = []


class CaseIn(Body):
    """A new case with its service lines."""

    practice_id: Id
    payer_id: Id
    plan_type: str
    patient_first_name: str
    patient_last_name: str
    patient_dob: Date | None = None
    member_id: str | None = None
    payer_claim_number: str | None = None
    patient_control_number: str | None = None
    rendering_npi: str | None = None
    service_from: Date
    service_to: Date | None = None
    place_of_service: str | None = None
    service_type: Literal[SERVICE_TYPES] | None = None
    initial_payment_received_on: Date | None = None
    assignee_id: Id | None = None
    lines: list[LineIn] = Field(min_length=1)


class TransitionIn(Body):
    """Where the case goes next."""

    to: str
    note: str | None = None
    appeal_level: StrictInt | None = None
    agreed_amount: Money | None = None


class CommunicationIn(Body):
    """A call, letter, fax, email, portal message or meeting."""

    kind: Literal[COMM_KINDS]
    direction: Literal[COMM_DIRECTIONS]
    occurred_at: Timestamp | None = None
    summary: str
    contact_name: str | None = None
    reference_number: str | None = None
    outcome: str | None = None
    follow_up_on: Date | None = None


class OfferIn(Body):
    """An offer (payer) or a counteroffer (firm)."""

    party: Literal[OFFER_PARTIES]
    amount: Money
    basis: str | None = None
    offered_on: Date | None = None
    expires_on: Date | None = None
    note: str | None = None


class PatientName(Out):
    first_name: str
    last_name: str


class CaseSummary(Out):
    """A case in a list."""

    id: int
    reference: str
    status: str
    status_label: str
    appeal_level: int | None
    practice: Ref
    payer: Ref
    plan_type: str
    patient: PatientName
    payer_claim_number: str | None
    patient_control_number: str | None
    service_from: str | None
    service_to: str | None
    assignee_id: int | None
    billed_total: MoneyOut | None
    allowed_total: MoneyOut | None
    initial_paid: MoneyOut | None
    total_paid: MoneyOut | None
    amount_at_stake: MoneyOut | None
    next_deadline_on: str | None
    next_follow_up_on: str | None
    is_nsa_eligible: bool | None
    nsa_flagged: bool | None
    opened_at: str


class LineOut(OpenOut):
    id: int
    line_no: int
    code: str
    billed: MoneyOut | None
    allowed: MoneyOut | None
    paid: MoneyOut | None


class PaymentOut(Out):
    """A payment on a case."""

    id: int
    paid_on: str | None
    amount: MoneyOut
    source: str
    reference: str | None
    is_initial: bool


class OfferOut(Out):
    """An offer."""

    id: int
    party: str
    amount: MoneyOut
    basis: str | None
    offered_on: str | None
    expires_on: str | None
    status: str
    note: str | None


class AppealOut(Out):
    """An appeal."""

    id: int
    level: int
    filed_on: str | None
    deadline_on: str | None
    method: str | None
    tracking_number: str | None
    decision_on: str | None
    outcome: str | None
    amount_awarded: MoneyOut | None


class CommunicationOut(Out):
    """A logged communication."""

    id: int
    kind: str
    direction: str
    occurred_at: str
    contact_name: str | None
    reference_number: str | None
    summary: str
    outcome: str | None
    follow_up_on: str | None


class PatientOut(Out):
    first_name: str
    last_name: str
    dob: str | None
    member_id: str | None


class CaseDetail(CaseSummary):
    """One case with lines, payments, offers, appeals, communications and deadlines."""

    patient: PatientOut
    rendering_npi: str | None
    place_of_service: str | None
    service_type: str | None
    agreed_amount: MoneyOut | None
    target_amount: MoneyOut | None
    floor_amount: MoneyOut | None
    lines: list[LineOut]
    payments: list[PaymentOut]
    offers: list[OfferOut]
    appeals: list[AppealOut]
    communications: list[CommunicationOut]
    status_history: list[dict]
    deadlines: dict


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
@describe(
    query=[Param("page", "Page number.", "integer"), Param("per_page", "Items per page.", "integer"),
           Param("status", "Workflow status."), Param("practice_id", "A practice id.", "integer"),
           Param("payer_id", "A payer id.", "integer"), Param("q", "Search reference, claim number.")],
    responses={200: Page[CaseSummary]},
)
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
@describe(body=CaseIn, responses={201: CaseDetail})
def cases_create():
    """Open a case with its service lines."""
    data = body().data()
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
@describe(responses={200: CaseDetail})
def cases_get(case_id: int):
    """One case with lines, payments, offers, appeals, deadlines and status history."""
    case = _case_or_404(case_id)
    body = case_detail(case)
    audit("case.view", case, is_phi=True, details={"via": "api"})
    db.session.commit()
    return jsonify(body)


@bp.route("/cases/<int:case_id>/transitions", methods=["POST"])
@roles(WORKERS)
@describe(body=TransitionIn, responses={200: CaseSummary}, errors=(409,))
def cases_transition(case_id: int):
    """Move a case along its workflow."""
    case = _case_or_404(case_id)
    data: TransitionIn = body()
    agreed = Decimal(data.agreed_amount) if data.agreed_amount is not None else None
    try:
        services.transition(case, data.to, actor_id=g.actor.id, note=(data.note or None),
                            appeal_level=data.appeal_level, agreed_amount=agreed)
    except workflow.TransitionError as err:
        db.session.rollback()
        api_error(409, str(err), [{"field": "to", "message": str(err)}])
    db.session.commit()
    return jsonify(ser.case_summary(case))


@bp.route("/cases/<int:case_id>/communications", methods=["POST"])
@roles(WORKERS)
@describe(body=CommunicationIn, responses={201: CommunicationOut})
def cases_communication(case_id: int):
    """Log a call, letter, fax, email, portal message or meeting."""
    case = _case_or_404(case_id)
    try:
        comm = services.add_communication(case, actor_id=g.actor.id, data=body().data())
    except services.CaseValidationError as err:
        db.session.rollback()
        _validation(err)
    db.session.commit()
    return jsonify(ser.communication(comm)), 201


@bp.route("/cases/<int:case_id>/offers", methods=["POST"])
@roles(WORKERS)
@describe(body=OfferIn, responses={201: OfferOut})
def cases_offer(case_id: int):
    """Record an offer or counteroffer."""
    case = _case_or_404(case_id)
    try:
        offer = services.add_offer(case, actor_id=g.actor.id, data=body().data())
    except services.CaseValidationError as err:
        db.session.rollback()
        _validation(err)
    db.session.commit()
    return jsonify(ser.offer(offer)), 201
