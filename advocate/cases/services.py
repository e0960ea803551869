"""Case services: intake with validation, totals, workflow transitions,
payments, communications, offers, appeals and the timeline. They flush, never
commit; errors name the field (and line) at fault, and nothing partial is
written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import func, select, update

from advocate.audit.services import audit
from advocate.cases import workflow
from advocate.cases.figures import amount_at_stake
from advocate.cases.figures import suggest_counter as suggest
from advocate.cases.models import (
    APPEAL_METHODS,
    COMM_DIRECTIONS,
    COMM_KINDS,
    OFFER_PARTIES,
    PAYMENT_SOURCES,
    SERVICE_TYPES,
    ZERO,
    Appeal,
    Case,
    CaseCounter,
    CaseEvent,
    Communication,
    Offer,
    Payment,
    ServiceLine,
)
from advocate.db import utcnow
from advocate.extensions import db
from advocate.ownership import ForeignIdError, require_member, require_own
from advocate.practices.validators import (
    PLACES_OF_SERVICE,
    cpt_hcpcs_error,
    modifier_error,
    npi_error,
)

CENT = Decimal("0.01")


def refresh_deadlines(case: Case) -> None:
    """Recompute the case's stored deadlines after a change to a fact they
    count from (dates, appeals, follow-ups, status, the initial payment)."""
    from advocate.deadlines.case_services import recompute_deadlines  # deadlines build on cases

    recompute_deadlines(case)


class CaseValidationError(ValueError):
    """All the problems with the input at once: [(field, message)]."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


@dataclass
class _Errors:
    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.items.append((name, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise CaseValidationError(self.items)


def money(
    value, name: str, errors: _Errors, *, required: bool = True, allow_negative: bool = False
) -> Decimal | None:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if required:
            errors.add(name, "is required")
        return None
    if isinstance(value, float):
        value = repr(value)  # JSON numbers: keep the written digits, never binary floats
    try:
        d = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except (InvalidOperation, ValueError):
        errors.add(name, f"'{value}' is not an amount")
        return None
    if not d.is_finite():
        errors.add(name, f"'{value}' is not an amount")
        return None
    if d != d.quantize(CENT):
        errors.add(name, "has more than two decimal places")
        return None
    if d < 0 and not allow_negative:
        errors.add(name, "cannot be negative")
        return None
    if abs(d) >= Decimal("10000000000"):
        errors.add(name, "is too large")
        return None
    return d.quantize(CENT)


def parse_date(value, name: str, errors: _Errors, *, required: bool = True) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if value is None or str(value).strip() == "":
        if required:
            errors.add(name, "is required")
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors.add(name, f"'{value}' is not a date (YYYY-MM-DD)")
        return None


def _plan_types() -> dict:
    from advocate.payers.defaults import PLAN_TYPES

    return dict(PLAN_TYPES)


def next_case_number(tenant_id: int) -> int:
    """Allocate the firm's next case number under a row lock (concurrent
    intake never hands out the same number twice)."""
    counter = db.session.scalar(select(CaseCounter).with_for_update())
    if counter is None:
        counter = CaseCounter(tenant_id=tenant_id, last_number=0)
        db.session.add(counter)
        db.session.flush()
        counter = db.session.scalar(select(CaseCounter).with_for_update())
    counter.last_number += 1
    db.session.flush()
    return counter.last_number


def _own(model, value, name: str, label: str, errors: _Errors):
    """The firm's own row named by an id from the request, or None with the
    field's error added (the shared check: advocate.ownership)."""
    try:
        return require_own(model, value, field=name, label=label)
    except ForeignIdError as err:
        errors.items.extend(err.errors)
        return None


def validate_case_input(data: dict, *, today: date | None = None) -> tuple[dict, list[dict]]:
    """Check a whole case (header and lines) and return cleaned values, or
    raise CaseValidationError listing every problem."""
    from advocate.payers.models import Payer
    from advocate.practices.models import Practice

    today = today or utcnow().date()
    e = _Errors()
    clean: dict = {}
    practice = _own(Practice, data.get("practice_id"), "practice_id", "practice", e)
    clean["practice_id"] = practice.id if practice is not None else None
    payer = _own(Payer, data.get("payer_id"), "payer_id", "payer", e)
    clean["payer_id"] = payer.id if payer is not None else None
    try:
        assignee = require_member(data.get("assignee_id"), field="assignee_id")
    except ForeignIdError as err:
        e.items.extend(err.errors)
        assignee = None
    clean["assignee_id"] = assignee.id if assignee is not None else None
    plan_type = (data.get("plan_type") or "").strip()
    if plan_type not in _plan_types():
        e.add("plan_type", f"must be one of {', '.join(_plan_types())}")
    clean["plan_type"] = plan_type
    for name in ("patient_first_name", "patient_last_name"):
        v = (data.get(name) or "").strip()
        if not v:
            e.add(name, "is required")
        elif len(v) > 100:
            e.add(name, "is longer than 100 characters")
        clean[name] = v
    dob = parse_date(data.get("patient_dob"), "patient_dob", e, required=False)
    if dob and dob > today:
        e.add("patient_dob", "is in the future")
    clean["patient_dob"] = dob
    for name, size in (
        ("member_id", 60),
        ("payer_claim_number", 60),
        ("patient_control_number", 60),
    ):
        v = (data.get(name) or "").strip() or None
        if v and len(v) > size:
            e.add(name, f"is longer than {size} characters")
        clean[name] = v
    npi = (data.get("rendering_npi") or "").strip() or None
    if npi:
        msg = npi_error(npi)
        if msg:
            e.add("rendering_npi", msg)
    clean["rendering_npi"] = npi
    s_from = parse_date(data.get("service_from"), "service_from", e)
    s_to = parse_date(data.get("service_to") or data.get("service_from"), "service_to", e)
    if s_from and s_from > today:
        e.add("service_from", "is in the future")
    if s_to and s_to > today:
        e.add("service_to", "is in the future")
    if s_from and s_to and s_to < s_from:
        e.add("service_to", "is before the first date of service")
    clean["service_from"], clean["service_to"] = s_from, s_to
    pos = (data.get("place_of_service") or (practice.default_pos if practice else "") or "").strip()
    if pos not in PLACES_OF_SERVICE:
        e.add("place_of_service", f"'{pos}' is not a place-of-service code")
    clean["place_of_service"] = pos
    service_type = (data.get("service_type") or "other").strip()
    if service_type not in SERVICE_TYPES:
        e.add("service_type", f"must be one of {', '.join(SERVICE_TYPES)}")
    clean["service_type"] = service_type
    received = parse_date(
        data.get("initial_payment_received_on"), "initial_payment_received_on", e, required=False
    )
    if received and received > today:
        e.add("initial_payment_received_on", "is in the future")
    clean["initial_payment_received_on"] = received

    raw_lines = data.get("lines") or []
    if not isinstance(raw_lines, list) or not raw_lines:
        e.add("lines", "a case needs at least one service line")
        raw_lines = []
    lines = []
    for i, raw in enumerate(raw_lines, start=1):
        p = f"lines[{i}]"
        if not isinstance(raw, dict):
            e.add(p, "must be an object")
            continue
        code = (str(raw.get("code") or "")).strip().upper()
        # A claim paid at claim level (an institutional DRG or per diem claim from an
        # 835) has no procedure code: its one line carries the claim's amounts.
        msg = None if raw.get("claim_level") and not code else cpt_hcpcs_error(code)
        if msg:
            e.add(f"{p}.code", msg)
        mods = raw.get("modifiers") or []
        if isinstance(mods, str):
            mods = [m for m in mods.replace(",", " ").replace("-", " ").split() if m]
        mods = [str(m).strip().upper() for m in mods]
        if len(mods) > 4:
            e.add(f"{p}.modifiers", "at most four modifiers")
        for m in mods:
            mm = modifier_error(m)
            if mm:
                e.add(f"{p}.modifiers", mm)
        units_raw = raw.get("units", 1)
        try:
            units = Decimal(str(units_raw if units_raw not in (None, "") else 1))
            if not units.is_finite() or units <= 0:
                e.add(f"{p}.units", "must be more than zero")
        except InvalidOperation:
            units = Decimal("1")
            e.add(f"{p}.units", f"'{units_raw}' is not a number")
        billed = money(raw.get("billed"), f"{p}.billed", e)
        allowed = money(raw.get("allowed"), f"{p}.allowed", e, required=False)
        paid = money(raw.get("paid", "0"), f"{p}.paid", e) or ZERO
        presp = money(raw.get("patient_resp", "0"), f"{p}.patient_resp", e) or ZERO
        if billed is not None:
            if paid > billed:
                e.add(f"{p}.paid", "is more than billed")
            if allowed is not None and allowed > billed:
                e.add(f"{p}.allowed", "is more than billed")
            if paid + presp > billed:
                e.add(f"{p}.patient_resp", "paid plus patient responsibility is more than billed")
        sdate = parse_date(raw.get("service_date"), f"{p}.service_date", e, required=False)
        if sdate and sdate > today:
            e.add(f"{p}.service_date", "is in the future")
        adjustments = []
        for j, adj in enumerate(raw.get("adjustments") or [], start=1):
            ap = f"{p}.adjustments[{j}]"
            group = str(adj.get("group", "")).strip().upper()
            if group not in ("CO", "PR", "OA", "PI", "CR"):
                e.add(f"{ap}.group", f"'{group}' is not an adjustment group (CO, PR, OA, PI)")
            amount = money(adj.get("amount"), f"{ap}.amount", e, allow_negative=True)
            adjustments.append(
                {
                    "group": group,
                    "reason": str(adj.get("reason", "")).strip().upper(),
                    "amount": str(amount) if amount is not None else None,
                }
            )
        remarks = [
            str(r).strip().upper() for r in (raw.get("remark_codes") or []) if str(r).strip()
        ]
        lines.append(
            {
                "line_no": i,
                "code": code,
                "modifiers": mods,
                "units": units,
                "billed": billed,
                "allowed": allowed,
                "paid": paid,
                "patient_resp": presp,
                "service_date": sdate or s_from,
                "place_of_service": (raw.get("place_of_service") or pos or "").strip() or None,
                "adjustments": adjustments,
                "remark_codes": remarks,
            }
        )
    e.raise_if_any()
    return clean, lines


NSA_REMARKS = frozenset({"N864", "N865", "N866", "N830"})


def create_case(
    *, tenant_id: int, actor_id: int | None, data: dict, today: date | None = None
) -> Case:
    clean, lines = validate_case_input(data, today=today)
    case = Case(tenant_id=tenant_id, number=next_case_number(tenant_id), **clean)
    case.lines = [ServiceLine(tenant_id=tenant_id, **ln) for ln in lines]
    if any(NSA_REMARKS & set(ln["remark_codes"]) for ln in lines):
        case.nsa_flagged = True
    db.session.add(case)
    db.session.flush()
    # The timeline starts with the opening, then the intake's initial payment.
    event(
        case,
        "created",
        f"Case opened ({len(lines)} line{'s' if len(lines) != 1 else ''})",
        actor_id=actor_id,
    )
    from advocate.webhooks.services import emit

    emit(
        tenant_id,
        "case.created",
        {
            "case_id": case.id,
            "reference": case.reference,
            "status": case.status,
            "practice_id": case.practice_id,
            "payer_id": case.payer_id,
        },
    )
    paid = sum((ln["paid"] for ln in lines), ZERO)
    if paid > 0:
        add_payment(
            case,
            amount=paid,
            paid_on=clean["initial_payment_received_on"] or clean["service_to"],
            source="remittance",
            reference=None,
            actor_id=actor_id,
            is_initial=True,
            note="Initial payment at intake",
            refresh=False,
        )
    recompute_totals(case)
    refresh_benchmark(case)
    audit("case.created", case, is_phi=True)
    refresh_deadlines(case)
    return case


def refresh_benchmark(case: Case) -> None:
    """Recompute the case's line benchmarks and expected payment after a change
    to what they are computed from (lines, the SCA)."""
    from advocate.rates.benchmark import benchmark_case  # rates build on cases

    benchmark_case(case)


def recompute_totals(case: Case) -> None:
    lines = case.lines
    case.billed_total = sum((ln.billed for ln in lines), ZERO)
    case.allowed_total = sum((ln.allowed or ZERO for ln in lines), ZERO)
    case.patient_resp_total = sum((ln.patient_resp for ln in lines), ZERO)
    payments = case.payments
    case.total_paid = sum((p.amount for p in payments), ZERO)
    case.initial_paid = sum((p.amount for p in payments if p.is_initial), ZERO)
    case.amount_at_stake = amount_at_stake(
        billed=case.billed_total,
        expected=case.expected_payment,
        agreed=case.agreed_amount,
        paid=case.total_paid,
        resp=case.patient_resp_total,
    )


def event(
    case: Case,
    kind: str,
    summary: str,
    *,
    actor_id: int | None = None,
    body: str | None = None,
    data: dict | None = None,
    internal: bool = False,
) -> CaseEvent:
    ev = CaseEvent(
        tenant_id=case.tenant_id,
        case_id=case.id,
        kind=kind,
        summary=summary[:500],
        body=body,
        data=data,
        actor_id=actor_id,
        is_internal=internal,
    )
    db.session.add(ev)
    return ev


def facts(case: Case) -> workflow.CaseFacts:
    return workflow.CaseFacts(
        status=case.status,
        appeal_level=case.appeal_level,
        agreed_amount=case.agreed_amount,
        total_paid_after_initial=case.total_paid - case.initial_paid,
        is_nsa_eligible=case.is_nsa_eligible,
    )


def transition(
    case: Case,
    to: str,
    *,
    actor_id: int | None,
    note: str | None = None,
    appeal_level: int | None = None,
    agreed_amount: Decimal | None = None,
) -> None:
    """Move the case; raises workflow.TransitionError with the reason if not allowed."""
    workflow.check(facts(case), to, appeal_level=appeal_level, agreed_amount=agreed_amount)
    old = case.status
    case.status = to
    if to == workflow.APPEAL:
        case.appeal_level = appeal_level
    if to == workflow.SETTLED and agreed_amount is not None:
        case.agreed_amount = agreed_amount
        recompute_totals(case)  # at stake is now measured against the agreed amount
    if to in workflow.CLOSED:
        case.closed_at = utcnow()
    elif old in workflow.CLOSED:
        case.closed_at = None
    label = case.status_label
    event(
        case,
        "transition",
        f"{workflow.STATES[old]} → {label}",
        actor_id=actor_id,
        body=note,
        data={
            "from": old,
            "to": to,
            "appeal_level": appeal_level,
            "agreed_amount": str(agreed_amount) if agreed_amount is not None else None,
        },
    )
    audit("case.transition", case, details={"from": old, "to": to})
    refresh_deadlines(case)
    from advocate.webhooks.services import emit

    emit(
        case.tenant_id,
        "case.status_changed",
        {"case_id": case.id, "reference": case.reference, "from": old, "to": to},
    )


def denied_at_intake(case: Case) -> bool:
    """The payer's first answer is on record and paid nothing (a denial): the
    contingency fee's baseline is zero, and any later payment is recovery."""
    return (
        case.initial_payment_received_on is not None
        and not any(p.is_initial for p in case.payments)
        and not any((ln.paid or ZERO) > 0 for ln in case.lines)
    )


def add_payment(
    case: Case,
    *,
    amount: Decimal,
    paid_on: date,
    source: str,
    reference: str | None,
    actor_id: int | None,
    is_initial: bool | None = None,
    note: str | None = None,
    remittance_id: int | None = None,
    refresh: bool = True,
) -> Payment:
    if source not in PAYMENT_SOURCES:
        raise CaseValidationError([("source", f"must be one of {', '.join(PAYMENT_SOURCES)}")])
    if amount == 0:
        raise CaseValidationError([("amount", "cannot be zero")])
    if is_initial is None:
        # The payer's first payment is the baseline a contingency fee counts from
        # (none when the claim was denied at intake: the baseline is zero).
        is_initial = (
            not any(p.is_initial for p in case.payments)
            and amount > 0
            and not denied_at_intake(case)
        )
    pay = Payment(
        tenant_id=case.tenant_id,
        case_id=case.id,
        paid_on=paid_on,
        amount=amount,
        source=source,
        reference=reference,
        is_initial=is_initial,
        note=note,
        created_by_id=actor_id,
        remittance_id=remittance_id,
    )
    case.payments.append(pay)
    db.session.flush()
    received_now = is_initial and case.initial_payment_received_on is None
    if received_now:
        case.initial_payment_received_on = paid_on
    recompute_totals(case)
    kind = "Initial payment" if is_initial else ("Recoupment" if amount < 0 else "Payment")
    event(
        case,
        "payment",
        f"{kind} {amount:,.2f} ({source}{', ' + reference if reference else ''})",
        actor_id=actor_id,
        data={"payment_id": pay.id, "amount": str(amount)},
    )
    audit("payment.created", pay, details={"case_id": case.id})
    from advocate.billing.ledger import accrue_cases  # the fee this payment earned

    accrue_cases(case.tenant_id, [case.id], actor_id=actor_id)
    if received_now and refresh:
        refresh_deadlines(case)  # the NSA count starts from the initial payment
    _emit_payment(case, pay)
    return pay


def _emit_payment(case: Case, pay: Payment) -> None:
    """payment.posted, and fee.accrued for each fee entry the payment earned (webhooks)."""
    from advocate.billing.models import FeeLedgerEntry
    from advocate.webhooks.services import emit, subscribed

    emit(
        case.tenant_id,
        "payment.posted",
        {
            "case_id": case.id,
            "reference": case.reference,
            "payment_id": pay.id,
            "amount": f"{pay.amount:.2f}",
            "source": pay.source,
            "paid_on": pay.paid_on.isoformat(),
        },
    )
    if not subscribed(case.tenant_id, "fee.accrued"):
        return
    for entry in db.session.scalars(
        select(FeeLedgerEntry).where(FeeLedgerEntry.payment_id == pay.id)
    ):
        emit(
            case.tenant_id,
            "fee.accrued",
            {
                "case_id": case.id,
                "payment_id": pay.id,
                "entry_id": entry.id,
                "amount": f"{entry.amount:.2f}",
                "kind": entry.kind,
            },
        )


def add_communication(case: Case, *, actor_id: int | None, data: dict) -> Communication:
    e = _Errors()
    kind = (data.get("kind") or "").strip()
    if kind not in COMM_KINDS:
        e.add("kind", f"must be one of {', '.join(COMM_KINDS)}")
    direction = (data.get("direction") or "").strip()
    if direction not in COMM_DIRECTIONS:
        e.add("direction", "must be outbound or inbound")
    occurred = data.get("occurred_at")
    if isinstance(occurred, str):
        try:
            occurred = datetime.fromisoformat(occurred)
        except ValueError:
            e.add("occurred_at", f"'{occurred}' is not a date and time")
            occurred = None
    occurred = occurred or utcnow()
    if occurred and occurred.tzinfo is None:
        from datetime import UTC

        occurred = occurred.replace(tzinfo=UTC)
    if occurred and occurred > utcnow():
        e.add("occurred_at", "is in the future")
    summary = (data.get("summary") or "").strip()
    if not summary:
        e.add("summary", "is required")
    follow_up = parse_date(data.get("follow_up_on"), "follow_up_on", e, required=False)
    e.raise_if_any()
    comm = Communication(
        tenant_id=case.tenant_id,
        case_id=case.id,
        kind=kind,
        direction=direction,
        occurred_at=occurred,
        contact_name=(data.get("contact_name") or "").strip() or None,
        reference_number=(data.get("reference_number") or "").strip() or None,
        summary=summary,
        outcome=(data.get("outcome") or "").strip() or None,
        follow_up_on=follow_up,
        actor_id=actor_id,
    )
    db.session.add(comm)
    db.session.flush()
    if follow_up and (case.next_follow_up_on is None or follow_up < case.next_follow_up_on):
        case.next_follow_up_on = follow_up
    event(
        case,
        "communication",
        f"{direction.title()} {kind}: {summary[:120]}",
        actor_id=actor_id,
        body=summary,
        data={"communication_id": comm.id, "reference": comm.reference_number},
    )
    audit("communication.created", comm, details={"case_id": case.id})
    if follow_up:
        refresh_deadlines(case)
    return comm


def add_offer(case: Case, *, actor_id: int | None, data: dict) -> Offer:
    e = _Errors()
    party = (data.get("party") or "").strip()
    if party not in OFFER_PARTIES:
        e.add("party", "must be payer or firm")
    amount = money(data.get("amount"), "amount", e)
    if amount is not None and amount <= 0:
        e.add("amount", "must be more than zero")
    offered_on = parse_date(data.get("offered_on") or utcnow().date().isoformat(), "offered_on", e)
    expires_on = parse_date(data.get("expires_on"), "expires_on", e, required=False)
    if offered_on and expires_on and expires_on < offered_on:
        e.add("expires_on", "is before the offer date")
    if not case.is_open:
        e.add("case", "the case is closed")
    e.raise_if_any()
    offer = Offer(
        tenant_id=case.tenant_id,
        case_id=case.id,
        party=party,
        amount=amount,
        basis=(data.get("basis") or "").strip() or None,
        offered_on=offered_on,
        expires_on=expires_on,
        note=(data.get("note") or "").strip() or None,
        actor_id=actor_id,
    )
    db.session.add(offer)
    db.session.flush()
    who = "Payer offered" if party == "payer" else "We asked"
    event(
        case,
        "offer",
        f"{who} {amount:,.2f}{' (' + offer.basis + ')' if offer.basis else ''}",
        actor_id=actor_id,
        data={"offer_id": offer.id, "amount": str(amount), "party": party},
    )
    audit("offer.created", offer, details={"case_id": case.id})
    return offer


def accept_offer(case: Case, offer: Offer, *, actor_id: int | None) -> None:
    """Accepting an offer settles the case at its amount."""
    if offer.case_id != case.id:
        raise CaseValidationError([("offer", "belongs to another case")])
    if offer.status != "open":
        raise CaseValidationError([("offer", f"is {offer.status}")])
    transition(
        case,
        workflow.SETTLED,
        actor_id=actor_id,
        agreed_amount=offer.amount,
        note=f"Accepted {offer.party} offer of {offer.amount:,.2f}",
    )
    offer.status = "accepted"
    db.session.execute(
        update(Offer)
        .where(Offer.case_id == case.id, Offer.status == "open", Offer.id != offer.id)
        .values(status="rejected")
    )


def suggest_counter(case: Case, *, last_payer_offer: Decimal | None, bm=None):
    """The case's counteroffer with its reasoning (advocate.cases.figures.suggest_counter):
    the firm's target and floor, defaulting to the benchmark's ask and floor."""
    if bm is None:
        from advocate.rates import benchmark  # rates build on cases

        bm = benchmark.for_case(case)
    return suggest(
        target=case.target_amount,
        floor=case.floor_amount,
        ask=bm.ask,
        bench_floor=bm.floor,
        billed=case.billed_total,
        last_payer_offer=last_payer_offer,
    )


def file_appeal(case: Case, *, actor_id: int | None, data: dict) -> Appeal:
    e = _Errors()
    try:
        level = int(data.get("level"))
        if not 1 <= level <= workflow.MAX_APPEAL_LEVEL:
            raise ValueError
    except (TypeError, ValueError):
        level = None
        e.add("level", f"must be 1 to {workflow.MAX_APPEAL_LEVEL}")
    adverse = parse_date(data.get("adverse_decision_on"), "adverse_decision_on", e, required=False)
    filed = parse_date(data.get("filed_on"), "filed_on", e, required=False)
    method = (data.get("method") or "").strip() or None
    if method and method not in APPEAL_METHODS:
        e.add("method", f"must be one of {', '.join(APPEAL_METHODS)}")
    e.raise_if_any()
    deadline = appeal_deadline(case, level, adverse)
    appeal = Appeal(
        tenant_id=case.tenant_id,
        case_id=case.id,
        level=level,
        adverse_decision_on=adverse,
        deadline_on=deadline,
        filed_on=filed,
        method=method,
        tracking_number=(data.get("tracking_number") or "").strip() or None,
        note=(data.get("note") or "").strip() or None,
    )
    db.session.add(appeal)
    db.session.flush()
    if deadline and (case.next_deadline_on is None or deadline < case.next_deadline_on):
        case.next_deadline_on = deadline
    event(
        case,
        "appeal",
        f"Appeal level {level}"
        + (f" filed {filed}" if filed else " opened")
        + (f"; deadline {deadline}" if deadline else ""),
        actor_id=actor_id,
        data={"appeal_id": appeal.id},
    )
    audit("appeal.created", appeal, details={"case_id": case.id})
    refresh_deadlines(case)
    return appeal


def appeal_deadline(case: Case, level: int | None, adverse_on: date | None) -> date | None:
    """The adverse decision date plus the payer policy's window for that level."""
    if level is None or adverse_on is None:
        return None
    from datetime import timedelta

    from advocate.payers.services import policy_for

    policy = policy_for(case.payer_id, case.plan_type, adverse_on)
    if policy is None:
        return None
    for lvl in getattr(policy, "appeal_levels", []) or []:
        if lvl.level == level and lvl.window_days:
            return adverse_on + timedelta(days=lvl.window_days)
    return None


# --------------------------------------------------------------------------- the case page
# Notes, follow-ups, negotiation limits, appeal decisions, the timeline and
# single case agreements (with the check of claims against their rate).


def add_note(
    case: Case, *, actor_id: int | None, body: str | None, internal: bool = True
) -> CaseEvent:
    """A free-text note on the timeline; internal notes are hidden from practice users."""
    text = (body or "").strip()
    if not text:
        raise CaseValidationError([("body", "is required")])
    if len(text) > 5000:
        raise CaseValidationError([("body", "is longer than 5000 characters")])
    first = text.splitlines()[0]
    more = "…" if len(first) > 120 or len(text) > len(first) else ""
    ev = event(
        case, "note", f"Note: {first[:120]}{more}", actor_id=actor_id, body=text, internal=internal
    )
    audit("case.note_added", case, details={"internal": internal})
    return ev


def open_follow_up_on(case_id: int) -> date | None:
    """The earliest follow-up date of the case's communications not yet done."""
    return db.session.scalar(
        select(func.min(Communication.follow_up_on)).where(
            Communication.case_id == case_id,
            Communication.follow_up_on.is_not(None),
            Communication.follow_up_done_at.is_(None),
        )
    )


def complete_follow_up(case: Case, comm: Communication, *, actor_id: int | None) -> None:
    """Mark a communication's follow-up done; the case's next follow-up moves on."""
    if comm.case_id != case.id:
        raise CaseValidationError([("communication", "belongs to another case")])
    if comm.follow_up_on is None:
        raise CaseValidationError([("communication", "has no follow-up")])
    if comm.follow_up_done_at is not None:
        raise CaseValidationError([("communication", "its follow-up is already done")])
    comm.follow_up_done_at = utcnow()
    db.session.flush()
    case.next_follow_up_on = open_follow_up_on(case.id)
    event(
        case,
        "follow_up",
        f"Follow-up due {comm.follow_up_on.isoformat()} done ({comm.kind})",
        actor_id=actor_id,
        data={"communication_id": comm.id},
    )
    audit("communication.follow_up_done", comm, details={"case_id": case.id})
    refresh_deadlines(case)


def set_negotiation_limits(case: Case, *, actor_id: int | None, data: dict) -> None:
    """The firm's target and walk-away floor (staff only: the event is internal)."""
    e = _Errors()
    target = money(data.get("target_amount"), "target_amount", e, required=False)
    floor = money(data.get("floor_amount"), "floor_amount", e, required=False)
    if target is not None and target <= 0:
        e.add("target_amount", "must be more than zero")
    if floor is not None and floor <= 0:
        e.add("floor_amount", "must be more than zero")
    if target is not None and floor is not None and floor > target:
        e.add("floor_amount", "is above the target")
    e.raise_if_any()
    if (target, floor) == (case.target_amount, case.floor_amount):
        return
    case.target_amount, case.floor_amount = target, floor
    shown = ", ".join(
        f"{label} {v:,.2f}" if v is not None else f"no {label}"
        for label, v in (("target", target), ("floor", floor))
    )
    event(
        case,
        "negotiation",
        f"Negotiation limits set: {shown}",
        actor_id=actor_id,
        internal=True,
        data={
            "target": None if target is None else str(target),
            "floor": None if floor is None else str(floor),
        },
    )
    audit(
        "case.negotiation_limits",
        case,
        details={
            "target": None if target is None else str(target),
            "floor": None if floor is None else str(floor),
        },
    )


def last_payer_offer(offers: list[Offer]) -> Offer | None:
    """The payer's latest offer still standing (open), from a loaded list."""
    payer = [o for o in offers if o.party == "payer" and o.status == "open"]
    return max(payer, key=lambda o: (o.offered_on, o.id), default=None)


def record_appeal_decision(
    case: Case, appeal: Appeal, *, actor_id: int | None, data: dict, today: date | None = None
) -> Appeal:
    """Record how an appeal was filed and decided (filed date, method,
    tracking number, decision date, outcome, amount awarded)."""
    from advocate.cases.models import APPEAL_OUTCOMES

    today = today or utcnow().date()
    if appeal.case_id != case.id:
        raise CaseValidationError([("appeal", "belongs to another case")])
    e = _Errors()
    outcome = (data.get("outcome") or "").strip()
    if outcome not in APPEAL_OUTCOMES:
        e.add("outcome", f"must be one of {', '.join(APPEAL_OUTCOMES)}")
    filed = parse_date(data.get("filed_on"), "filed_on", e, required=False)
    decided = parse_date(
        data.get("decision_on"), "decision_on", e, required=outcome not in ("", "pending")
    )
    if outcome == "pending" and decided is not None:
        e.add("decision_on", "a pending appeal has no decision date")
    for name, d in (("filed_on", filed), ("decision_on", decided)):
        if d and d > today:
            e.add(name, "is in the future")
    filed_eff = filed or appeal.filed_on
    if decided and filed_eff and decided < filed_eff:
        e.add("decision_on", "is before the appeal was filed")
    method = (data.get("method") or "").strip() or None
    if method and method not in APPEAL_METHODS:
        e.add("method", f"must be one of {', '.join(APPEAL_METHODS)}")
    awarded = money(data.get("amount_awarded"), "amount_awarded", e, required=False)
    if awarded is not None and outcome not in ("overturned", "partially_overturned"):
        e.add("amount_awarded", "only an overturned appeal awards an amount")
    tracking = (data.get("tracking_number") or "").strip() or None
    if tracking and len(tracking) > 80:
        e.add("tracking_number", "is longer than 80 characters")
    e.raise_if_any()
    was = appeal.outcome
    appeal.outcome = outcome
    appeal.filed_on = filed_eff
    appeal.decision_on = decided
    appeal.method = method or appeal.method
    appeal.tracking_number = tracking or appeal.tracking_number
    appeal.amount_awarded = awarded
    note = (data.get("note") or "").strip()
    if note:
        appeal.note = note
    db.session.flush()
    if appeal.filed_on is not None and case.next_deadline_on == appeal.deadline_on:
        # This appeal's filing deadline is met: the next one is another appeal's, if any.
        case.next_deadline_on = db.session.scalar(
            select(func.min(Appeal.deadline_on)).where(
                Appeal.case_id == case.id,
                Appeal.filed_on.is_(None),
                Appeal.deadline_on.is_not(None),
            )
        )
    label = outcome.replace("_", " ")
    if outcome == "pending":
        summary = f"Appeal level {appeal.level} updated" + (
            f": filed {appeal.filed_on}" if appeal.filed_on else ""
        )
    else:
        summary = f"Appeal level {appeal.level} decided {decided}: {label}" + (
            f", {awarded:,.2f} awarded" if awarded is not None else ""
        )
    event(
        case,
        "appeal",
        summary,
        actor_id=actor_id,
        body=note or None,
        data={"appeal_id": appeal.id, "outcome": outcome, "was": was},
    )
    audit("appeal.updated", appeal, details={"case_id": case.id, "outcome": outcome})
    refresh_deadlines(case)
    return appeal


def timeline_query(case_id: int, *, include_internal: bool):
    """The case's events, newest first (paginate it)."""
    q = (
        select(CaseEvent)
        .where(CaseEvent.case_id == case_id)
        .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
    )
    if not include_internal:
        q = q.where(CaseEvent.is_internal.is_(False))
    return q


# --------------------------------------------------------------------------- single case agreements

SCA_OPEN_STATUSES = ("requested", "offered", "countered", "signed")


def _parse_codes(value, e: _Errors) -> list[str]:
    if isinstance(value, str):
        value = value.replace(",", " ").replace(";", " ").split()
    codes: list[str] = []
    for raw in value or []:
        code = str(raw).strip().upper()
        if not code:
            continue
        msg = cpt_hcpcs_error(code)
        if msg:
            e.add("codes", f"{code}: {msg}")
        elif code not in codes:
            codes.append(code)
    return codes


def _parse_fixed_rates(value, e: _Errors) -> dict[str, str]:
    """'99213=150.00' one per line (or comma separated), or a mapping."""
    if isinstance(value, str):
        pairs = []
        for chunk in value.replace(",", "\n").replace(";", "\n").splitlines():
            chunk = chunk.strip()
            if not chunk:
                continue
            sep = "=" if "=" in chunk else (":" if ":" in chunk else None)
            if sep is None:
                e.add("fixed_rates", f"'{chunk}' is not CODE=AMOUNT")
                continue
            code, amount = chunk.split(sep, 1)
            pairs.append((code, amount))
    else:
        pairs = list((value or {}).items())
    rates: dict[str, str] = {}
    for code, amount in pairs:
        code = str(code).strip().upper()
        msg = cpt_hcpcs_error(code)
        if msg:
            e.add("fixed_rates", f"{code}: {msg}")
            continue
        d = money(amount, f"fixed_rates.{code}", e)
        if d is None:
            continue
        if d <= 0:
            e.add(f"fixed_rates.{code}", "must be more than zero")
            continue
        rates[code] = str(d)
    return rates


def validate_sca_input(data: dict, *, today: date | None = None) -> dict:
    """Check a single case agreement and return its cleaned fields, or raise
    CaseValidationError listing every problem."""
    from advocate.cases.models import SCA_RATE_TYPES, SCA_STATUSES
    from advocate.payers.models import Payer
    from advocate.practices.models import Practice

    today = today or utcnow().date()
    e = _Errors()
    clean: dict = {}
    for name, model, label in (("practice_id", Practice, "practice"), ("payer_id", Payer, "payer")):
        obj = _own(model, data.get(name), name, label, e)
        clean[name] = obj.id if obj is not None else None
    for name in ("patient_first_name", "patient_last_name"):
        v = (data.get(name) or "").strip()
        if not v:
            e.add(name, "is required")
        elif len(v) > 100:
            e.add(name, "is longer than 100 characters")
        clean[name] = v
    dob = parse_date(data.get("patient_dob"), "patient_dob", e, required=False)
    if dob and dob > today:
        e.add("patient_dob", "is in the future")
    clean["patient_dob"] = dob
    for name, size in (("member_id", 60), ("authorization_number", 80)):
        v = (data.get(name) or "").strip() or None
        if v and len(v) > size:
            e.add(name, f"is longer than {size} characters")
        clean[name] = v
    starts = parse_date(data.get("starts_on"), "starts_on", e, required=False)
    ends = parse_date(data.get("ends_on"), "ends_on", e, required=False)
    if starts and ends and ends < starts:
        e.add("ends_on", "is before the start")
    clean["starts_on"], clean["ends_on"] = starts, ends
    visits_raw = data.get("visits_allowed")
    visits = None
    if visits_raw not in (None, ""):
        try:
            visits = int(str(visits_raw).strip())
            if visits < 1:
                e.add("visits_allowed", "must be at least 1")
        except ValueError:
            e.add("visits_allowed", f"'{visits_raw}' is not a whole number")
    clean["visits_allowed"] = visits
    codes = _parse_codes(data.get("codes"), e)
    rate_type = (data.get("rate_type") or "").strip()
    if rate_type not in SCA_RATE_TYPES:
        e.add("rate_type", "must be percent of Medicare, percent of billed or fixed amounts")
    percent = None
    fixed: dict[str, str] = {}
    if rate_type in ("medicare_percent", "billed_percent"):
        raw = data.get("rate_percent")
        if raw in (None, ""):
            e.add("rate_percent", "is required for a percent rate")
        else:
            try:
                percent = Decimal(str(raw).replace("%", "").strip())
                high = Decimal("1000") if rate_type == "medicare_percent" else Decimal("100")
                if not percent.is_finite() or percent <= 0 or percent > high:
                    e.add("rate_percent", f"must be more than 0 and at most {high}")
                elif percent != percent.quantize(CENT):
                    e.add("rate_percent", "has more than two decimal places")
            except InvalidOperation:
                e.add("rate_percent", f"'{raw}' is not a percent")
                percent = None
    elif rate_type == "fixed":
        fixed = _parse_fixed_rates(data.get("fixed_rates"), e)
        if not fixed and not any(f.startswith("fixed_rates") for f, _ in e.items):
            e.add("fixed_rates", "give an amount for each covered code (CODE=AMOUNT)")
        missing = [c for c in codes if c not in fixed]
        if fixed and missing:
            e.add("fixed_rates", f"no amount for {', '.join(missing)}")
        for c in fixed:
            if c not in codes:
                codes.append(c)
    if not codes:
        e.add("codes", "list the covered codes")
    clean.update(codes=codes, rate_type=rate_type, rate_percent=percent, fixed_rates=fixed)
    status = (data.get("status") or "requested").strip()
    if status not in SCA_STATUSES:
        e.add("status", f"must be one of {', '.join(SCA_STATUSES)}")
    signed = parse_date(data.get("signed_on"), "signed_on", e, required=status == "signed")
    if signed and signed > today:
        e.add("signed_on", "is in the future")
    clean["status"], clean["signed_on"] = status, signed
    from advocate.documents.models import Document

    try:
        document = require_own(
            Document, data.get("document_id"), field="document_id", label="document", required=False
        )
    except ForeignIdError as err:
        e.items.extend(err.errors)
        document = None
    clean["document_id"] = document.id if document is not None else None
    note = (data.get("note") or "").strip() or None
    if note and len(note) > 5000:
        e.add("note", "is longer than 5000 characters")
    clean["note"] = note
    e.raise_if_any()
    return clean


def create_sca(*, tenant_id: int, actor_id: int | None, data: dict, today: date | None = None):
    from advocate.cases.models import SingleCaseAgreement

    clean = validate_sca_input(data, today=today)
    sca = SingleCaseAgreement(tenant_id=tenant_id, **clean)
    db.session.add(sca)
    db.session.flush()
    audit(
        "sca.created",
        sca,
        is_phi=True,
        user_id=actor_id,
        details={"status": sca.status, "rate_type": sca.rate_type},
    )
    return sca


def update_sca(sca, *, actor_id: int | None, data: dict, today: date | None = None) -> list[str]:
    """Apply a whole edit (status, terms, dates); returns the changed field names."""
    clean = validate_sca_input(data, today=today)
    changed = []
    for key, value in clean.items():
        if getattr(sca, key) != value:
            setattr(sca, key, value)
            changed.append(key)
    if changed:
        db.session.flush()
        _reprice_cases_under(sca, actor_id=actor_id)
        audit(
            "sca.updated",
            sca,
            is_phi=True,
            user_id=actor_id,
            details={"fields": changed, "status": sca.status},
        )
    return changed


def _reprice_cases_under(sca, *, actor_id: int | None) -> None:
    """A signed agreement's rate is the expected payment of the claims under it."""
    from sqlalchemy.orm import selectinload

    if sca.status != "signed":
        return
    cases = db.session.scalars(
        select(Case)
        .where(Case.sca_id == sca.id)
        .options(selectinload(Case.lines), selectinload(Case.payments))
    ).all()
    cache: dict = {}
    for case in cases:
        check = check_sca_rate(case, sca, medicare_cache=cache)
        if check.expected is not None and check.expected != case.expected_payment:
            case.expected_payment = check.expected
            recompute_totals(case)
        refresh_benchmark(case)


def sca_visits_used(sca_ids) -> dict[int, int]:
    """Visits used per agreement: the claims (cases) billed under it, except
    withdrawn ones. One query for any number of agreements."""
    ids = list(sca_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Case.sca_id, func.count(Case.id))
        .where(Case.sca_id.in_(ids), Case.status != workflow.WITHDRAWN)
        .group_by(Case.sca_id)
    ).all()
    used = dict.fromkeys(ids, 0)
    used.update({sca_id: n for sca_id, n in rows})
    return used


def sca_problems_for_case(case: Case, sca) -> list[str]:
    """Why `case` cannot be billed under `sca` (empty: it can)."""
    problems = []
    if sca.practice_id != case.practice_id:
        problems.append("the agreement is with another practice")
    if sca.payer_id != case.payer_id:
        problems.append("the agreement is with another payer")
    if (
        sca.patient_last_name.strip().casefold() != case.patient_last_name.strip().casefold()
        or sca.patient_first_name.strip().casefold() != case.patient_first_name.strip().casefold()
        or (sca.patient_dob and case.patient_dob and sca.patient_dob != case.patient_dob)
    ):
        problems.append("the agreement covers another patient")
    if sca.status in ("expired", "declined"):
        problems.append(f"the agreement is {sca.status}")
    if sca.starts_on and case.service_from < sca.starts_on:
        problems.append(f"dates of service start before the agreement ({sca.starts_on})")
    if sca.ends_on and case.service_to > sca.ends_on:
        problems.append(f"dates of service end after the agreement ({sca.ends_on})")
    covered = set(sca.codes or [])
    outside = sorted({ln.code for ln in case.lines} - covered) if covered else []
    if outside:
        problems.append(f"codes not covered: {', '.join(outside)}")
    if sca.visits_allowed and case.sca_id != sca.id:
        used = sca_visits_used([sca.id])[sca.id]
        if used >= sca.visits_allowed:
            problems.append(f"all {sca.visits_allowed} visits are used")
    return problems


def link_case_to_sca(case: Case, sca, *, actor_id: int | None) -> None:
    """Bill the case under a single case agreement (None: unlink). A signed
    agreement's rate becomes the case's expected payment."""
    if sca is None:
        if case.sca_id is None:
            return
        old = case.sca_id
        case.sca_id = None
        case.expected_payment = None
        recompute_totals(case)
        refresh_benchmark(case)
        event(
            case,
            "sca",
            "Unlinked from its single case agreement",
            actor_id=actor_id,
            data={"sca_id": old},
        )
        audit("case.sca_unlinked", case, details={"sca_id": old})
        return
    problems = sca_problems_for_case(case, sca)
    if problems:
        raise CaseValidationError([("sca_id", p) for p in problems])
    case.sca_id = sca.id
    check = check_sca_rate(case, sca)
    if check.expected is not None:
        case.expected_payment = check.expected
        recompute_totals(case)
    refresh_benchmark(case)
    label = f"SCA {sca.authorization_number}" if sca.authorization_number else f"SCA #{sca.id}"
    event(
        case,
        "sca",
        f"Billed under {label} ({sca.status})",
        actor_id=actor_id,
        data={"sca_id": sca.id},
    )
    audit("case.sca_linked", case, details={"sca_id": sca.id})


@dataclass
class ScaLineCheck:
    line_no: int
    code: str
    units: Decimal
    expected: Decimal | None
    received: Decimal
    reason: str | None = None


@dataclass
class ScaCheck:
    """A claim against its agreement's rate: what the plan should allow, what
    it allowed in effect (payments plus patient responsibility) and whether
    it underpaid. `expected` is None (with `reason`) when it cannot be told."""

    expected: Decimal | None
    received: Decimal
    reason: str | None
    lines: list[ScaLineCheck]

    @property
    def shortfall(self) -> Decimal | None:
        return None if self.expected is None else max(ZERO, self.expected - self.received)

    @property
    def is_underpaid(self) -> bool:
        return self.expected is not None and self.received < self.expected


def medicare_amount(
    line: ServiceLine, case: Case, *, cache: dict | None = None
) -> tuple[Decimal | None, str]:
    """Medicare's fee for one unit of the line at the practice's locality in
    the year of service, or (None, why not) when the fee schedule is not loaded."""
    from advocate.rates.services import RateLookupError, loaded_releases, medicare_price
    from advocate.rates.years import release_for

    when = line.service_date or case.service_from
    mods = line.modifiers or []
    pos = line.place_of_service or case.place_of_service
    key = (when, line.code, mods[0] if mods else None, pos, case.practice.zip)
    if cache is not None and key in cache:
        return cache[key]
    if cache is not None and "__releases__" in cache:
        releases = cache["__releases__"]
    else:
        releases = loaded_releases()
        if cache is not None:
            cache["__releases__"] = releases
    fy = release_for(when, releases)  # the one fee schedule rule (labelled fallback)
    if fy.year_used is None:
        result = (None, fy.label)
    else:
        try:
            quote = medicare_price(
                fy.year_used, line.code, key[2], pos=pos, zip_code=case.practice.zip
            )
            result = (
                (quote.amount, quote.reason or f"{fy.label}, {quote.locality.label}")
                if quote.amount is not None
                else (None, quote.reason or f"{line.code} has no Medicare fee")
            )
        except RateLookupError as err:
            result = (None, err.message)
    if cache is not None:
        cache[key] = result
    return result


def check_sca_rate(case: Case, sca, *, medicare_cache: dict | None = None) -> ScaCheck:
    """Check a claim under `sca` against its rate, line by line."""
    received = case.total_paid + case.patient_resp_total
    if sca.status != "signed":
        return ScaCheck(None, received, f"the agreement is {sca.status}, not signed", [])
    pct = (sca.rate_percent or ZERO) / Decimal(100)
    rates = sca.fixed_rates or {}
    lines: list[ScaLineCheck] = []
    for ln in case.lines:
        expected, reason = None, None
        if sca.rate_type == "billed_percent":
            expected = (ln.billed * pct).quantize(CENT, rounding=ROUND_HALF_UP)
        elif sca.rate_type == "fixed":
            if ln.code in rates:
                expected = (Decimal(str(rates[ln.code])) * ln.units).quantize(
                    CENT, rounding=ROUND_HALF_UP
                )
            else:
                reason = f"no fixed rate for {ln.code}"
        elif sca.rate_type == "medicare_percent":
            fee, why = medicare_amount(ln, case, cache=medicare_cache)
            if fee is None:
                reason = why
            else:
                expected = (fee * ln.units * pct).quantize(CENT, rounding=ROUND_HALF_UP)
        else:
            reason = f"unknown rate type {sca.rate_type}"
        lines.append(
            ScaLineCheck(ln.line_no, ln.code, ln.units, expected, ln.paid + ln.patient_resp, reason)
        )
    missing = next((lc for lc in lines if lc.expected is None), None)
    if missing is not None:
        return ScaCheck(None, received, f"line {missing.line_no}: {missing.reason}", lines)
    expected = sum((lc.expected for lc in lines), ZERO)
    return ScaCheck(expected, received, None, lines)


# --------------------------------------------------------------------------- form input for the case page


def transition_with_input(case: Case, *, actor_id: int | None, data: dict) -> None:
    """A transition asked for by a person (to, note, appeal_level,
    agreed_amount as typed); raises workflow.TransitionError with the reason."""
    to = (data.get("to") or "").strip()
    level = None
    if to == workflow.APPEAL:
        try:
            level = int(str(data.get("appeal_level") or "").strip())
        except ValueError:
            level = None
    agreed = None
    if to == workflow.SETTLED and str(data.get("agreed_amount") or "").strip():
        e = _Errors()
        agreed = money(data.get("agreed_amount"), "agreed_amount", e)
        if e.items:
            raise workflow.TransitionError(f"The agreed amount {e.items[0][1]}.")
    note = (data.get("note") or "").strip()[:2000] or None
    transition(case, to, actor_id=actor_id, note=note, appeal_level=level, agreed_amount=agreed)


def record_payment(
    case: Case, *, actor_id: int | None, data: dict, today: date | None = None
) -> Payment:
    """A payment typed into the ledger (date, amount, source, reference, note).
    Recoupments are negative; nothing else may be."""
    today = today or utcnow().date()
    e = _Errors()
    paid_on = parse_date(data.get("paid_on"), "paid_on", e)
    if paid_on and paid_on > today:
        e.add("paid_on", "is in the future")
    amount = money(data.get("amount"), "amount", e, allow_negative=True)
    source = (data.get("source") or "").strip()
    if source not in PAYMENT_SOURCES:
        e.add("source", f"must be one of {', '.join(PAYMENT_SOURCES)}")
    if amount is not None:
        if amount == 0:
            e.add("amount", "cannot be zero")
        elif amount < 0 and source not in ("recoupment", "adjustment"):
            e.add(
                "amount", "a negative amount is a recoupment or an adjustment: choose that source"
            )
        elif amount > 0 and source == "recoupment":
            e.add("amount", "a recoupment takes money back: enter it as a negative amount")
    reference = (data.get("reference") or "").strip() or None
    if reference and len(reference) > 80:
        e.add("reference", "is longer than 80 characters")
    note = (data.get("note") or "").strip() or None
    if note and len(note) > 500:
        e.add("note", "is longer than 500 characters")
    e.raise_if_any()
    # The initial payment is the payer's own first adjudication; money that
    # arrives once the case is worked (a settlement, an award) is recovery,
    # even on a claim first denied outright.
    early = case.status in (workflow.INTAKE, workflow.GATHERING, workflow.READY)
    is_initial = (
        early
        and amount > 0
        and source in ("remittance", "check", "eft")
        and not any(p.is_initial for p in case.payments)
        and not denied_at_intake(case)
    )
    return add_payment(
        case,
        amount=amount,
        paid_on=paid_on,
        source=source,
        reference=reference,
        actor_id=actor_id,
        note=note,
        is_initial=is_initial,
    )


def open_appeal(
    case: Case, *, actor_id: int | None, data: dict, today: date | None = None
) -> Appeal:
    """file_appeal with the dates checked against today."""
    today = today or utcnow().date()
    e = _Errors()
    for name in ("adverse_decision_on", "filed_on"):
        d = parse_date(data.get(name), name, e, required=False)
        if d and d > today:
            e.add(name, "is in the future")
    tracking = (data.get("tracking_number") or "").strip()
    if len(tracking) > 80:
        e.add("tracking_number", "is longer than 80 characters")
    e.raise_if_any()
    return file_appeal(case, actor_id=actor_id, data=data)


def reserve_case_numbers(tenant_id: int, count: int) -> int:
    """Allocate `count` consecutive case numbers under the counter's row lock
    (bulk intake, e.g. an 835 import); returns the first of them."""
    if count < 1:
        raise ValueError("count must be at least 1")
    counter = db.session.scalar(select(CaseCounter).with_for_update())
    if counter is None:
        counter = CaseCounter(tenant_id=tenant_id, last_number=0)
        db.session.add(counter)
        db.session.flush()
        counter = db.session.scalar(select(CaseCounter).with_for_update())
    first = counter.last_number + 1
    counter.last_number += count
    db.session.flush()
    return first
