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
from advocate.api.pagination import CURSOR_PARAMS, cursor_page, refuse_page_numbers
from advocate.api.schema import (
    Body,
    CursorPage,
    Date,
    Id,
    Money,
    MoneyOut,
    OpenOut,
    Out,
    Ref,
    Timestamp,
)
from advocate.audit.services import audit
from advocate.auth.access import STAFF, WORKERS, roles
from advocate.billing.api import LedgerEntryOut, entry_json
from advocate.billing.models import FeeLedgerEntry
from advocate.cases import serializers as ser
from advocate.cases import services, workflow
from advocate.cases.models import (
    APPEAL_METHODS,
    APPEAL_OUTCOMES,
    COMM_DIRECTIONS,
    COMM_KINDS,
    OFFER_PARTIES,
    PAYMENT_SOURCES,
    SCA_RATE_TYPES,
    SCA_STATUSES,
    SERVICE_TYPES,
    Appeal,
    Case,
    CaseEvent,
    Communication,
    Offer,
    Payment,
    SingleCaseAgreement,
)
from advocate.documents.models import Document
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


class FeeScheduleUsed(Out):
    """Which Medicare fee schedule priced the case."""

    year_used: int | None
    service_year: int | None = None
    service_years: list[int] | None = Field(
        default=None, description="For a case: the years of its dates of service."
    )
    fallback: bool
    label: str | None


class CaseFiguresOut(Out):
    """The case's figures, the same values as on the case page, letters and lists."""

    billed: MoneyOut | None
    paid: MoneyOut | None
    patient_resp: MoneyOut | None
    expected_payment: MoneyOut | None
    underpayment: MoneyOut | None
    amount_at_stake: MoneyOut | None
    agreed_amount: MoneyOut | None
    medicare_total: MoneyOut | None
    fee_schedule: FeeScheduleUsed | None
    next_deadline_on: str | None
    nsa_status: str = Field(description="eligible, not_eligible or unknown")
    ask: MoneyOut | None = Field(default=None, description="Staff only: the suggested ask.")
    floor: MoneyOut | None = Field(default=None, description="Staff only: the suggested floor.")


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
    figures: CaseFiguresOut
    deadlines: dict


def _validation(err: services.CaseValidationError):
    api_error(422, "validation failed", [{"field": f, "message": msg} for f, msg in err.errors])


def _case_or_404(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        api_error(404, "no such case")
    return case


def case_detail(case: Case) -> dict:
    offers = db.session.scalars(
        select(Offer).where(Offer.case_id == case.id).order_by(Offer.offered_on, Offer.id)
    )
    appeals = db.session.scalars(
        select(Appeal).where(Appeal.case_id == case.id).order_by(Appeal.level, Appeal.id)
    )
    comms = db.session.scalars(
        select(Communication)
        .where(Communication.case_id == case.id)
        .order_by(Communication.occurred_at)
    )
    history = db.session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == "transition")
        .order_by(CaseEvent.at)
    )
    out = ser.case_summary(case)
    out.update(
        {
            "patient": {
                "first_name": case.patient_first_name,
                "last_name": case.patient_last_name,
                "dob": ser.d(case.patient_dob),
                "member_id": case.member_id,
            },
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
    query=[
        *CURSOR_PARAMS,
        Param("status", "Workflow status."),
        Param("practice_id", "A practice id.", "integer"),
        Param("payer_id", "A payer id.", "integer"),
        Param("q", "Search reference, claim number."),
    ],
    responses={200: CursorPage[CaseSummary]},
)
def cases_list():
    """List cases with the caseload's filters, newest first, cursor-paginated."""
    from advocate.cases.queries import case_conditions, parse_case_filter

    refuse_page_numbers()
    f, errors = parse_case_filter(request.args)
    if errors:
        api_error(422, "invalid filter", [{"field": e.field, "message": e.message} for e in errors])
    rows, nxt = cursor_page(
        select(Case).where(*case_conditions(f)), [(Case.id, "desc")], lambda c: (c.id,)
    )
    audit("case.list", object_type="case", is_phi=True, details={"count": len(rows), "via": "api"})
    # Serialise before the commit: a commit expires the rows, and reading them
    # afterwards reloads each one (a statement per row).
    items = [ser.case_summary(c) for c in rows]
    db.session.commit()
    return jsonify(items=items, next=nxt)


@bp.route("/cases", methods=["POST"])
@roles(WORKERS)
@describe(body=CaseIn, responses={201: CaseDetail})
def cases_create():
    """Open a case with its service lines."""
    data = body().data()
    try:
        case = services.create_case(
            tenant_id=g.membership.tenant_id, actor_id=g.actor.id, data=data
        )
    except services.CaseValidationError as err:
        db.session.rollback()
        _validation(err)
    db.session.commit()
    case = db.session.scalar(
        select(Case)
        .where(Case.id == case.id)
        .options(selectinload(Case.lines), selectinload(Case.payments))
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
        services.transition(
            case,
            data.to,
            actor_id=g.actor.id,
            note=(data.note or None),
            appeal_level=data.appeal_level,
            agreed_amount=agreed,
        )
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


# --- payments: typed into the ledger; the fee they earn accrues at once ---


class PaymentIn(Body):
    """A payment received (or a recoupment: a negative amount)."""

    paid_on: Date
    amount: Money
    source: Literal[tuple(s for s in PAYMENT_SOURCES if s != "remittance")] = Field(
        description="check, eft, settlement, idr_award, recoupment (negative) or adjustment; 835 remittances are posted through /remittances."
    )
    reference: str | None = None
    note: str | None = None


class PaymentPosted(Out):
    """The payment and the fee ledger entries it accrued."""

    payment: PaymentOut
    fees: list[LedgerEntryOut]
    case: CaseSummary


def _case_for_work(case_id: int) -> Case:
    return _case_or_404(case_id)


@bp.route("/cases/<int:case_id>/payments", methods=["GET"])
@roles(STAFF)
@describe(query=CURSOR_PARAMS, responses={200: CursorPage[PaymentOut]})
def payments_list(case_id: int):
    """A case's payments, oldest first."""
    case = _case_or_404(case_id)
    rows, nxt = cursor_page(
        select(Payment).where(Payment.case_id == case.id),
        [(Payment.paid_on, "asc"), (Payment.id, "asc")],
        lambda p: (p.paid_on, p.id),
    )
    items = [ser.payment(p) for p in rows]
    db.session.commit()
    return jsonify(items=items, next=nxt)


@bp.route("/cases/<int:case_id>/payments", methods=["POST"])
@roles(WORKERS)
@describe(body=PaymentIn, responses={201: PaymentPosted})
def payments_create(case_id: int):
    """Post a check, EFT, settlement, award or recoupment to a case; the fee it earns is accrued."""
    case = _case_for_work(case_id)
    try:
        payment = services.record_payment(case, actor_id=g.actor.id, data=body().data())
    except services.CaseValidationError as err:
        db.session.rollback()
        _validation(err)
    fees = db.session.scalars(
        select(FeeLedgerEntry)
        .where(FeeLedgerEntry.payment_id == payment.id)
        .order_by(FeeLedgerEntry.id)
    ).all()
    out = {
        "payment": ser.payment(payment),
        "fees": [entry_json(e) for e in fees],
        "case": ser.case_summary(case),
    }
    db.session.commit()
    return jsonify(out), 201


# --- appeals ---


class AppealIn(Body):
    """An appeal opened (and possibly filed) at a level."""

    level: StrictInt
    adverse_decision_on: Date | None = None
    filed_on: Date | None = None
    method: Literal[APPEAL_METHODS] | None = None
    tracking_number: str | None = None
    note: str | None = None


class AppealDecisionIn(Body):
    """How an appeal was filed and decided."""

    outcome: Literal[APPEAL_OUTCOMES]
    filed_on: Date | None = None
    decision_on: Date | None = None
    method: Literal[APPEAL_METHODS] | None = None
    tracking_number: str | None = None
    amount_awarded: Money | None = None
    note: str | None = None


@bp.route("/cases/<int:case_id>/appeals", methods=["GET"])
@roles(STAFF)
@describe(query=CURSOR_PARAMS, responses={200: CursorPage[AppealOut]})
def appeals_list(case_id: int):
    """A case's appeals by level."""
    case = _case_or_404(case_id)
    rows, nxt = cursor_page(
        select(Appeal).where(Appeal.case_id == case.id),
        [(Appeal.level, "asc"), (Appeal.id, "asc")],
        lambda a: (a.level, a.id),
    )
    items = [ser.appeal(a) for a in rows]
    db.session.commit()
    return jsonify(items=items, next=nxt)


@bp.route("/cases/<int:case_id>/appeals", methods=["POST"])
@roles(WORKERS)
@describe(body=AppealIn, responses={201: AppealOut})
def appeals_create(case_id: int):
    """Open an appeal on a case; its deadline is computed from the payer's policy."""
    case = _case_or_404(case_id)
    try:
        appeal = services.open_appeal(case, actor_id=g.actor.id, data=body().data())
    except services.CaseValidationError as err:
        db.session.rollback()
        _validation(err)
    out = ser.appeal(appeal)
    db.session.commit()
    return jsonify(out), 201


@bp.route("/cases/<int:case_id>/appeals/<int:appeal_id>/decision", methods=["POST"])
@roles(WORKERS)
@describe(body=AppealDecisionIn, responses={200: AppealOut})
def appeals_decide(case_id: int, appeal_id: int):
    """Record an appeal's filing and decision."""
    case = _case_or_404(case_id)
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None or appeal.case_id != case.id:
        api_error(404, "no such appeal on this case")
    try:
        services.record_appeal_decision(case, appeal, actor_id=g.actor.id, data=body().data())
    except services.CaseValidationError as err:
        db.session.rollback()
        _validation(err)
    out = ser.appeal(appeal)
    db.session.commit()
    return jsonify(out)


# --- single case agreements ---


class ScaIn(Body):
    """A single case agreement with a payer for one patient."""

    practice_id: Id
    payer_id: Id
    authorization_number: str | None = None
    patient_first_name: str
    patient_last_name: str
    patient_dob: Date | None = None
    member_id: str | None = None
    codes: list[str] = []
    starts_on: Date | None = None
    ends_on: Date | None = None
    visits_allowed: StrictInt | None = None
    rate_type: Literal[SCA_RATE_TYPES]
    rate_percent: Annotated[str, Field(pattern=r"^\d{1,4}(\.\d{1,2})?$")] | None = None
    fixed_rates: dict[str, Money] = {}
    status: Literal[SCA_STATUSES] = "requested"
    signed_on: Date | None = None
    document_id: Id | None = None
    note: str | None = None


class ScaOut(Out):
    """A single case agreement."""

    id: int
    practice_id: int
    payer_id: int
    authorization_number: str | None
    patient: PatientOut
    codes: list[str]
    starts_on: str | None
    ends_on: str | None
    visits_allowed: int | None
    rate_type: str
    rate_percent: str | None
    fixed_rates: dict[str, MoneyOut]
    status: str
    signed_on: str | None
    document_id: int | None
    note: str | None


def sca_json(s) -> dict:
    return {
        "id": s.id,
        "practice_id": s.practice_id,
        "payer_id": s.payer_id,
        "authorization_number": s.authorization_number,
        "patient": {
            "first_name": s.patient_first_name,
            "last_name": s.patient_last_name,
            "dob": ser.d(s.patient_dob),
            "member_id": s.member_id,
        },
        "codes": list(s.codes or []),
        "starts_on": ser.d(s.starts_on),
        "ends_on": ser.d(s.ends_on),
        "visits_allowed": s.visits_allowed,
        "rate_type": s.rate_type,
        "rate_percent": None if s.rate_percent is None else f"{s.rate_percent:.2f}",
        "fixed_rates": {k: f"{Decimal(v):.2f}" for k, v in (s.fixed_rates or {}).items()},
        "status": s.status,
        "signed_on": ser.d(s.signed_on),
        "document_id": s.document_id,
        "note": s.note,
    }


@bp.route("/scas", methods=["GET"])
@roles(STAFF)
@describe(
    query=[
        *CURSOR_PARAMS,
        Param("practice_id", "Only this practice's.", "integer"),
        Param("payer_id", "Only this payer's.", "integer"),
    ],
    responses={200: CursorPage[ScaOut]},
)
def scas_list():
    """The firm's single case agreements, newest first."""
    query = select(SingleCaseAgreement)
    for name, col in (
        ("practice_id", SingleCaseAgreement.practice_id),
        ("payer_id", SingleCaseAgreement.payer_id),
    ):
        raw = request.args.get(name, "")
        if raw:
            if not raw.isdigit():
                api_error(
                    422, "invalid query parameter", [{"field": name, "message": "must be an id"}]
                )
            query = query.where(col == int(raw))
    rows, nxt = cursor_page(query, [(SingleCaseAgreement.id, "desc")], lambda s: (s.id,))
    items = [sca_json(s) for s in rows]
    audit("sca.list", object_type="sca", is_phi=True, details={"count": len(items), "via": "api"})
    db.session.commit()
    return jsonify(items=items, next=nxt)


@bp.route("/scas", methods=["POST"])
@roles(WORKERS)
@describe(body=ScaIn, responses={201: ScaOut})
def scas_create():
    """Record a single case agreement."""
    data = body().data()
    if (
        data.get("document_id") is not None
        and db.session.get(Document, data["document_id"]) is None
    ):
        api_error(
            422, "validation failed", [{"field": "document_id", "message": "unknown document"}]
        )
    try:
        sca = services.create_sca(tenant_id=g.membership.tenant_id, actor_id=g.actor.id, data=data)
    except services.CaseValidationError as err:
        db.session.rollback()
        _validation(err)
    out = sca_json(sca)
    db.session.commit()
    return jsonify(out), 201


@bp.route("/scas/<int:sca_id>", methods=["GET"])
@roles(STAFF)
@describe(responses={200: ScaOut})
def scas_get(sca_id: int):
    """One single case agreement."""
    sca = db.session.get(SingleCaseAgreement, sca_id)
    if sca is None:
        api_error(404, "no such agreement")
    out = sca_json(sca)
    audit("sca.view", sca, is_phi=True, details={"via": "api"})
    db.session.commit()
    return jsonify(out)
