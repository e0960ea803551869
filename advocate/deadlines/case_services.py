"""Case deadlines and the No Surprises Act track of a case.

* :func:`recompute_deadlines` (and :func:`recompute_many`) store a case's
  deadlines from its facts and its payer's policy, and set the case's
  ``next_deadline_on``. Call it after changing anything a deadline counts
  from: dates of service, plan type or payer, appeals, follow-ups, the
  payment-received date, NSA eligibility or the NSA dispute. It keeps
  deadlines added by hand and the "done" marks people set.
* The NSA track: eligibility (:func:`record_eligibility`), open negotiation
  (:func:`record_received`, :func:`record_notice`, :func:`notice_data`,
  :func:`record_negotiation_offer`) and IDR (:func:`record_idr_initiated` ...
  :func:`record_payment`); :func:`batch_candidates`.
* The firm-wide views: :func:`due_items`, :func:`due_summary`,
  :func:`calendar_month`, and the daily digest (:func:`send_digests`).

Services flush, never commit. Validation errors list every problem at once
(:class:`NsaError`), and nothing is written unless all is well.
"""

from __future__ import annotations

import calendar as pycalendar
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, case, func, or_, select

from advocate.audit.services import audit
from advocate.cases import services as case_services
from advocate.cases import workflow
from advocate.cases.models import SERVICE_TYPES, Appeal, Case, Communication
from advocate.db import utcnow
from advocate.deadlines import nsa
from advocate.deadlines.case_models import (
    IDR_KINDS,
    MILESTONES,
    NOTICE_METHODS,
    PREVAILING_PARTIES,
    CaseDeadline,
    DeadlineDigest,
    NsaDispute,
)
from advocate.deadlines.case_rules import (
    AppealFacts,
    CaseFacts,
    FollowUpFacts,
    LevelFacts,
    NsaFacts,
    PolicyFacts,
    compute,
)
from advocate.deadlines.eligibility import (
    ELIGIBLE,
    NOT_ELIGIBLE,
    Eligibility,
    ServiceType,
)
from advocate.deadlines.idr_guard import violations as idr_violations
from advocate.deadlines.services import (
    MAX_YEAR,
    MIN_YEAR,
    calendar_for,
    check_eligibility,
    nsa_timeline_for,
    order_error,
    timeline_warnings,
)
from advocate.extensions import db

__all__ = [
    "DUE_SOON_BUSINESS_DAYS",
    "NsaError",
    "Recomputed",
    "add_manual_deadline",
    "batch_candidates",
    "calendar_month",
    "case_deadlines",
    "dispute_for",
    "due_horizon",
    "due_items",
    "due_summary",
    "eligibility_for",
    "firm_today",
    "idr_figures",
    "mark_deadline_done",
    "notice_data",
    "nsa_timeline_of",
    "recompute_deadlines",
    "recompute_many",
    "record_determination",
    "record_eligibility",
    "record_fees",
    "record_idr_initiated",
    "record_idr_offers",
    "record_idre",
    "record_negotiation_offer",
    "record_notice",
    "record_payment",
    "record_received",
    "record_response",
    "send_digests",
]

DUE_SOON_BUSINESS_DAYS = 10
""""Due soon": within this many business days after today (the list and the digest)."""

RESOLVED = frozenset({workflow.SETTLED, workflow.PAID}) | workflow.CLOSED
ELIGIBILITY_STORED = {ELIGIBLE: True, NOT_ELIGIBLE: False}


class NsaError(ValueError):
    """Every problem with the input at once: [(field, message)]."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


class _Errors:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, name: str, message: str) -> None:
        self.items.append((name, message))

    def has(self, name: str) -> bool:
        return any(f == name for f, _ in self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise NsaError(self.items)


# --------------------------------------------------------------------------- helpers


def _tenant(tenant_id: int):
    from tenants.models import Tenant

    return db.session.get(Tenant, tenant_id)


def _zone(tenant) -> ZoneInfo | type[UTC]:
    try:
        return ZoneInfo(tenant.timezone) if tenant is not None and tenant.timezone else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def firm_today(tenant_id: int) -> date:
    """Today in the firm's time zone."""
    from advocate.practices.services import tenant_today

    return tenant_today(_tenant(tenant_id))


def _date(data: dict, name: str, e: _Errors, *, required: bool, today: date) -> date | None:
    d = case_services.parse_date(data.get(name), name, e, required=required)
    if d is None:
        return None
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        e.add(name, f"is outside the years {MIN_YEAR} to {MAX_YEAR}")
        return None
    if d > today:
        e.add(name, "is in the future: record a step once it has happened")
        return None
    return d


def _amount(data: dict, name: str, e: _Errors, *, required: bool) -> Decimal | None:
    value = case_services.money(data.get(name), name, e, required=required)
    if value is not None and value <= 0:
        e.add(name, "must be more than zero")
        return None
    return value


def _text(data: dict, name: str, e: _Errors, *, size: int, required: bool = False) -> str | None:
    value = (data.get(name) or "").strip() or None
    if value is None and required:
        e.add(name, "is required")
    if value is not None and len(value) > size:
        e.add(name, f"is longer than {size} characters")
    return value


def _event(
    case: Case,
    summary: str,
    *,
    actor_id: int | None,
    body: str | None = None,
    data: dict | None = None,
) -> None:
    case_services.event(case, "nsa", summary, actor_id=actor_id, body=body, data=data)


def _money(d: Decimal | None) -> str:
    return "—" if d is None else f"${d:,.2f}"


def _try_transition(
    case: Case, to: str, *, actor_id: int | None, note: str, agreed_amount: Decimal | None = None
) -> bool:
    """Move the case along the NSA track when the workflow allows it (else leave it)."""
    if case.status == to or to not in workflow.allowed(case.status):
        return False
    try:
        case_services.transition(
            case, to, actor_id=actor_id, note=note, agreed_amount=agreed_amount
        )
    except workflow.TransitionError:
        return False
    return True


# --------------------------------------------------------------------------- recompute


@dataclass
class Recomputed:
    """A case's stored deadlines after a recompute, and what could not be computed."""

    deadlines: list[CaseDeadline] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _Policies:
    """Payer policy versions, loaded once per (payer, plan type), picked per date
    exactly as ``payers.services.policy_for`` does."""

    def __init__(self) -> None:
        self._versions: dict[tuple[int, str], list] = {}

    def _load(self, pairs: Iterable[tuple[int, str]]) -> None:
        from sqlalchemy.orm import selectinload

        from advocate.payers.models import PayerPolicy

        wanted = {p for p in pairs if p not in self._versions}
        if not wanted:
            return
        payer_ids = {p for p, _ in wanted}
        rows = db.session.scalars(
            select(PayerPolicy)
            .where(PayerPolicy.payer_id.in_(payer_ids))
            .options(selectinload(PayerPolicy.appeal_levels))
            .order_by(PayerPolicy.effective_date.desc())
        ).all()
        for pair in wanted:
            self._versions[pair] = []
        for row in rows:
            key = (row.payer_id, row.plan_type)
            if key in wanted:
                self._versions[key].append(row)

    def lookup(self, case: Case):
        from advocate.payers.defaults import PLAN_TYPES

        self._load([(case.payer_id, case.plan_type)])
        versions = self._versions[(case.payer_id, case.plan_type)]
        payer_name = case.payer.name
        plan_label = PLAN_TYPES.get(case.plan_type, case.plan_type)
        cache: dict[date, PolicyFacts | None] = {}

        def policy_on(on: date) -> PolicyFacts | None:
            if on in cache:
                return cache[on]
            version = next((v for v in versions if v.effective_date <= on), None)
            facts = None
            if version is not None and not (
                version.end_date is not None and version.end_date <= on
            ):
                facts = PolicyFacts(
                    payer_name=payer_name,
                    plan_label=plan_label,
                    effective_date=version.effective_date,
                    timely_filing_days=version.timely_filing_days,
                    levels=tuple(
                        LevelFacts(lv.level, lv.name, lv.window_days)
                        for lv in version.appeal_levels
                        if lv.window_days is not None
                    ),
                )
            cache[on] = facts
            return facts

        return policy_on


def nsa_track_applies(case: Case, dispute: NsaDispute | None) -> bool:
    """The one answer to "does this case have NSA deadlines and actions": the
    case's recorded eligibility (``is_nsa_eligible``), or, while it is unknown,
    a negotiation already under way. Deadlines, the NSA page's banner and the
    case page's "Open NSA negotiation" all follow it."""
    working = dispute is not None and dispute.notice_sent_on is not None
    if case.is_nsa_eligible is False:
        return False
    return case.is_nsa_eligible is True or working


def _nsa_facts(case: Case, dispute: NsaDispute | None, notes: list[str]) -> NsaFacts | None:
    working = dispute is not None and dispute.notice_sent_on is not None
    if not nsa_track_applies(case, dispute):
        if case.is_nsa_eligible is False and working:
            notes.append("The case is not eligible for the NSA: its NSA deadlines are not kept.")
        return None
    if case.initial_payment_received_on is None:
        notes.append(
            "NSA: record the date the initial payment or denial was received to start the "
            "open negotiation count."
        )
        return None
    d = dispute
    return NsaFacts(
        dispute_id=d.id if d is not None else None,
        received=case.initial_payment_received_on,
        notice_sent=d.notice_sent_on if d else None,
        initiated=d.idr_initiated_on if d else None,
        selected=d.idre_selected_on if d else None,
        determined=d.determined_on if d else None,
        offers_submitted=d.offers_submitted_on if d else None,
        payment_received=d.payment_received_on if d else None,
    )


def recompute_many(cases: Sequence[Case], *, actor_id: int | None = None) -> dict[int, Recomputed]:
    """Recompute and store the deadlines of several cases of the tenant in scope.

    One query each for appeals, follow-ups, disputes, stored deadlines and
    payer policies, whatever the number of cases (the digest refreshes a
    whole firm with it).
    """
    if not cases:
        return {}
    tenant_id = cases[0].tenant_id
    if any(c.tenant_id != tenant_id for c in cases):
        raise ValueError("recompute_many takes cases of one firm")
    db.session.flush()
    ids = [c.id for c in cases]
    zone = _zone(_tenant(tenant_id))
    calendar = calendar_for(tenant_id)
    policies = _Policies()
    policies._load({(c.payer_id, c.plan_type) for c in cases})

    appeals: dict[int, list[AppealFacts]] = defaultdict(list)
    for row in db.session.execute(
        select(
            Appeal.id,
            Appeal.case_id,
            Appeal.level,
            Appeal.adverse_decision_on,
            Appeal.filed_on,
            Appeal.decision_on,
            Appeal.outcome,
        ).where(Appeal.case_id.in_(ids))
    ):
        appeals[row.case_id].append(
            AppealFacts(
                row.id,
                row.level,
                row.adverse_decision_on,
                row.filed_on,
                row.decision_on,
                row.outcome,
            )
        )
    follow_ups: dict[int, list[FollowUpFacts]] = defaultdict(list)
    for row in db.session.execute(
        select(
            Communication.id,
            Communication.case_id,
            Communication.follow_up_on,
            Communication.follow_up_done_at,
            Communication.kind,
            Communication.direction,
            Communication.occurred_at,
            Communication.reference_number,
        ).where(Communication.case_id.in_(ids), Communication.follow_up_on.is_not(None))
    ):
        follow_ups[row.case_id].append(
            FollowUpFacts(
                row.id,
                row.follow_up_on,
                row.kind,
                row.direction,
                row.occurred_at.astimezone(zone).date(),
                row.reference_number,
                is_done=row.follow_up_done_at is not None,
            )
        )
    disputes = {
        d.case_id: d
        for d in db.session.scalars(select(NsaDispute).where(NsaDispute.case_id.in_(ids)))
    }
    stored: dict[int, list[CaseDeadline]] = defaultdict(list)
    for row in db.session.scalars(
        select(CaseDeadline).where(CaseDeadline.case_id.in_(ids)).order_by(CaseDeadline.id)
    ):
        stored[row.case_id].append(row)

    now = utcnow()
    results: dict[int, Recomputed] = {}
    for c in cases:
        notes: list[str] = []
        facts = CaseFacts(
            case_id=c.id,
            service_from=c.service_from,
            claim_on_file=bool(c.payer_claim_number) or c.initial_payment_received_on is not None,
            is_resolved=c.status in RESOLVED,
            appeals=appeals.get(c.id, ()),
            follow_ups=follow_ups.get(c.id, ()),
            nsa=_nsa_facts(c, disputes.get(c.id), notes),
        )
        result = compute(facts, policy_on=policies.lookup(c), calendar=calendar)
        manual = [r for r in stored.get(c.id, []) if r.is_manual]
        by_key: dict[tuple, CaseDeadline] = {}
        for row in stored.get(c.id, []):
            if row.is_manual:
                continue
            key = (row.kind, row.source_type, row.source_id)
            if key in by_key:
                db.session.delete(row)  # a duplicate from a concurrent recompute
            else:
                by_key[key] = row
        kept: list[CaseDeadline] = []
        for comp in result.deadlines:
            row = by_key.pop(comp.key, None)
            moved = False
            if row is None:
                row = CaseDeadline(
                    tenant_id=c.tenant_id,
                    case_id=c.id,
                    kind=comp.kind,
                    source_type=comp.source_type,
                    source_id=comp.source_id,
                    is_manual=False,
                    is_done=False,
                )
                db.session.add(row)
            elif row.due_on != comp.due_on:
                moved = True
            row.due_on = comp.due_on
            if row.label != comp.label:
                row.label = comp.label
            if row.rule != comp.rule:
                row.rule = comp.rule
            if comp.is_done:
                if not row.is_done:
                    row.is_done, row.done_at, row.done_by_id = True, now, None
            elif row.is_done and (row.done_by_id is None or moved):
                # Done only because the facts said so, or marked done for another date.
                row.is_done, row.done_at, row.done_by_id = False, None, None
            kept.append(row)
        for row in by_key.values():
            db.session.delete(row)
        rows = kept + manual
        # The earliest open item of the case's deadlines table, follow-ups
        # included: what the Deadlines page counts (milestones are dates to know).
        open_dates = [r.due_on for r in rows if not r.is_done and r.kind not in MILESTONES]
        nxt = min(open_dates, default=None)
        if c.next_deadline_on != nxt:
            c.next_deadline_on = nxt
        results[c.id] = Recomputed(
            deadlines=sorted(rows, key=lambda r: (r.is_done, r.due_on, r.id or 0)),
            notes=result.notes + notes,
        )
    db.session.flush()
    if actor_id is not None:
        # Only a person's own recompute is worth an audit row; refreshes are derived data.
        for c in cases:
            audit(
                "case.deadlines_recomputed",
                c,
                user_id=actor_id,
                details={"deadlines": len(results[c.id].deadlines)},
            )
    return results


def recompute_deadlines(case: Case, *, actor_id: int | None = None) -> Recomputed:
    """Recompute and store one case's deadlines (keeps hand-made ones); sets
    ``case.next_deadline_on`` to its earliest open deadline (follow-ups and
    milestones aside). Flushes."""
    return recompute_many([case], actor_id=actor_id)[case.id]


def case_deadlines(case: Case, *, today: date | None = None, refresh: bool = True) -> Recomputed:
    """The case's deadlines for display (``today`` set on each, for overdue),
    recomputed first unless ``refresh`` is False."""
    today = today or firm_today(case.tenant_id)
    if refresh:
        result = recompute_deadlines(case)
    else:
        rows = list(db.session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case.id)))
        result = Recomputed(sorted(rows, key=lambda r: (r.is_done, r.due_on, r.id)), [])
    for row in result.deadlines:
        row.today = today
    return result


def mark_deadline_done(
    case: Case, deadline: CaseDeadline, *, actor_id: int | None, done: bool = True
) -> None:
    """Mark a deadline done (or open again). A deadline the facts mark done
    (e.g. the appeal was filed) stays done."""
    if deadline.case_id != case.id:
        raise NsaError([("deadline", "belongs to another case")])
    if deadline.is_done == done:
        return
    deadline.is_done = done
    deadline.done_at = utcnow() if done else None
    deadline.done_by_id = actor_id if done else None
    db.session.flush()
    recompute_deadlines(case)
    audit(
        "case_deadline.done" if done else "case_deadline.reopened",
        deadline,
        details={"case_id": case.id, "kind": deadline.kind},
    )


def add_manual_deadline(case: Case, *, actor_id: int | None, data: dict) -> CaseDeadline:
    """A deadline added by hand (label, due date, note); recomputes never touch it."""
    e = _Errors()
    label = _text(data, "label", e, size=200, required=True)
    due = case_services.parse_date(data.get("due_on"), "due_on", e)
    if due is not None and not MIN_YEAR <= due.year <= MAX_YEAR:
        e.add("due_on", f"is outside the years {MIN_YEAR} to {MAX_YEAR}")
    note = _text(data, "note", e, size=2000)
    if not case.is_open:
        e.add("case", "the case is closed")
    e.raise_if_any()
    row = CaseDeadline(
        tenant_id=case.tenant_id,
        case_id=case.id,
        kind="manual",
        label=label,
        due_on=due,
        rule=note or "Set by hand.",
        is_manual=True,
        created_by_id=actor_id,
    )
    db.session.add(row)
    db.session.flush()
    recompute_deadlines(case)
    case_services.event(
        case,
        "deadline",
        f"Deadline added: {label} due {due.isoformat()}",
        actor_id=actor_id,
        data={"deadline_id": row.id},
    )
    audit("case_deadline.created", row, details={"case_id": case.id})
    return row


# --------------------------------------------------------------------------- eligibility


def eligibility_for(case: Case) -> tuple[Eligibility, list[str]]:
    """The NSA eligibility of the case as its facts stand (nothing stored), with notes."""
    notes: list[str] = []
    state = case.state
    if not state and case.practice is not None and case.practice.state:
        state = case.practice.state
        notes.append(
            f"State: none recorded on the case, so the practice's state ({state}) is used."
        )
    codes = sorted({c for line in case.lines for c in (line.remark_codes or []) if c})
    result = check_eligibility(
        case.tenant_id,
        service_type=case.service_type or None,
        plan_type=case.plan_type,
        state=state,
        remark_codes=codes or None,
    )
    if (
        case.service_type == ServiceType.NONEMERGENCY_AT_IN_NETWORK_FACILITY
        and case.facility_in_network is False
        and result.status != NOT_ELIGIBLE
    ):
        result = Eligibility(
            NOT_ELIGIBLE,
            (
                "Non-emergency services by an out-of-network provider are covered only at an "
                "in-network facility, and this case records the facility as out of network.",
            ),
            remark_codes=result.remark_codes,
        )
    return result, notes


def record_eligibility(
    case: Case,
    *,
    actor_id: int | None,
    data: dict | None = None,
) -> tuple[Eligibility, list[str]]:
    """Check NSA eligibility (optionally after setting the service type, state
    and whether the facility is in network) and store it on the case:
    ``is_nsa_eligible`` True, False, or None for unknown."""
    from advocate.practices.validators import US_STATES

    data = data or {}
    e = _Errors()
    changes: dict[str, object] = {}
    if "service_type" in data:
        st = (data.get("service_type") or "").strip()
        if st not in SERVICE_TYPES:
            e.add("service_type", f"must be one of {', '.join(SERVICE_TYPES)}")
        else:
            changes["service_type"] = st
    if "state" in data:
        state = (data.get("state") or "").strip().upper() or None
        if state is not None and state not in US_STATES:
            e.add("state", f"'{state}' is not a US state or territory")
        else:
            changes["state"] = state
    if "facility_in_network" in data:
        raw = (data.get("facility_in_network") or "").strip().lower()
        value = {"yes": True, "no": False, "": None}.get(raw, "bad")
        if value == "bad":
            e.add("facility_in_network", "must be yes, no or blank (not known)")
        else:
            changes["facility_in_network"] = value
    e.raise_if_any()
    changed = [k for k, v in changes.items() if getattr(case, k) != v]
    for key in changed:
        setattr(case, key, changes[key])
    result, notes = eligibility_for(case)
    was = case.is_nsa_eligible
    case.is_nsa_eligible = ELIGIBILITY_STORED.get(result.status)
    words = {ELIGIBLE: "eligible", NOT_ELIGIBLE: "not eligible", "unknown": "unknown"}[
        result.status
    ]
    body = "\n".join([*result.reasons, *(f"Missing: {m.message}" for m in result.missing), *notes])
    _event(
        case,
        f"NSA eligibility checked: {words}",
        actor_id=actor_id,
        body=body or None,
        data={"status": result.status, "fields": changed},
    )
    audit(
        "case.nsa_eligibility",
        case,
        details={"status": result.status, "was": was, "fields": changed},
    )
    recompute_deadlines(case)
    return result, notes


# --------------------------------------------------------------------------- the NSA dispute


def dispute_for(
    case: Case, *, create: bool = False, actor_id: int | None = None
) -> NsaDispute | None:
    dispute = db.session.scalar(select(NsaDispute).where(NsaDispute.case_id == case.id))
    if dispute is None and create:
        dispute = NsaDispute(
            tenant_id=case.tenant_id, case_id=case.id, idr_kind="single", created_by_id=actor_id
        )
        db.session.add(dispute)
        db.session.flush()
        audit("nsa_dispute.created", dispute, details={"case_id": case.id})
    return dispute


_ORDER_FIELDS = {
    "received": "received_on",
    "notice_sent": "notice_sent_on",
    "initiated": "initiated_on",
    "selected": "selected_on",
    "determined": "determined_on",
}


def _timeline_values(case: Case, dispute: NsaDispute | None, **override) -> dict[str, date | None]:
    d = dispute
    values = {
        "received": case.initial_payment_received_on,
        "notice_sent": d.notice_sent_on if d else None,
        "initiated": d.idr_initiated_on if d else None,
        "selected": d.idre_selected_on if d else None,
        "determined": d.determined_on if d else None,
    }
    values.update(override)
    return values


def _check_order(values: dict[str, date | None], e: _Errors) -> None:
    err = order_error(values)
    if err is not None:
        e.add(_ORDER_FIELDS.get(err.field or "", err.field or "date"), err.message)


def nsa_timeline_of(case: Case, dispute: NsaDispute | None = None):
    """The case's NSA timeline from its recorded dates, or None before the
    initial payment or denial is recorded (or when the dates are out of order)."""
    if case.initial_payment_received_on is None:
        return None
    values = _timeline_values(case, dispute)
    if order_error(values) is not None:
        return None
    return nsa_timeline_for(case.tenant_id, **values)


def _warnings(case: Case, dispute: NsaDispute | None) -> list[str]:
    timeline = nsa_timeline_of(case, dispute)
    return timeline_warnings(timeline) if timeline is not None else []


def _refuse_if_not_eligible(case: Case, e: _Errors) -> None:
    if case.is_nsa_eligible is False:
        e.add(
            "eligibility",
            "The No Surprises Act does not apply to this case (see its "
            "eligibility check): there is no federal IDR track.",
        )


def record_received(case: Case, *, actor_id: int | None, data: dict, today: date) -> list[str]:
    """Record the day the initial payment or denial was received (it starts the
    30-business-day count for the open negotiation notice). Returns warnings."""
    e = _Errors()
    received = _date(data, "received_on", e, required=True, today=today)
    if received is not None and received < case.service_from:
        e.add(
            "received_on", f"is before the first date of service ({case.service_from.isoformat()})"
        )
    dispute = dispute_for(case)
    if received is not None and not e.has("received_on"):
        _check_order(_timeline_values(case, dispute, received=received), e)
    e.raise_if_any()
    was = case.initial_payment_received_on
    if was != received:
        case.initial_payment_received_on = received
        _event(
            case,
            f"Initial payment or denial received on {received.isoformat()}",
            actor_id=actor_id,
            data={"received_on": received.isoformat(), "was": was.isoformat() if was else None},
        )
        audit("case.nsa_received", case, details={"received_on": received.isoformat()})
    recompute_deadlines(case)
    return _warnings(case, dispute)


def record_notice(case: Case, *, actor_id: int | None, data: dict, today: date) -> list[str]:
    """Record the open negotiation notice: the day it was sent, the QPA, our
    offer and how it was sent. The offer is logged in the case's negotiation.
    Moves the case to NSA open negotiation when the workflow allows."""
    e = _Errors()
    _refuse_if_not_eligible(case, e)
    sent = _date(data, "notice_sent_on", e, required=True, today=today)
    qpa = _amount(data, "qpa", e, required=True)
    offer = _amount(data, "offer", e, required=True)
    method = (data.get("method") or "").strip() or None
    if method is not None and method not in NOTICE_METHODS:
        e.add("method", f"must be one of {', '.join(NOTICE_METHODS)}")
    if case.initial_payment_received_on is None:
        e.add("notice_sent_on", "record the date the initial payment or denial was received first")
    dispute = dispute_for(case)
    if sent is not None and not e.has("notice_sent_on"):
        _check_order(_timeline_values(case, dispute, notice_sent=sent), e)
    e.raise_if_any()
    dispute = dispute or dispute_for(case, create=True, actor_id=actor_id)
    offer_changed = dispute.notice_offer != offer
    dispute.notice_sent_on, dispute.qpa, dispute.notice_offer = sent, qpa, offer
    dispute.notice_method = method
    db.session.flush()
    if offer_changed:
        case_services.add_offer(
            case,
            actor_id=actor_id,
            data={
                "party": "firm",
                "amount": offer,
                "offered_on": sent,
                "basis": f"Open negotiation notice ({dispute.percent_of_qpa(offer)}% of the QPA)",
            },
        )
    _event(
        case,
        f"Open negotiation notice sent {sent.isoformat()}: offer {_money(offer)}, "
        f"QPA {_money(qpa)}",
        actor_id=actor_id,
        data={"dispute_id": dispute.id, "notice_sent_on": sent.isoformat()},
    )
    audit(
        "nsa_dispute.notice",
        dispute,
        details={"case_id": case.id, "notice_sent_on": sent.isoformat()},
    )
    _try_transition(case, workflow.NSA_OPEN, actor_id=actor_id, note="Open negotiation notice sent")
    recompute_deadlines(case)
    return _warnings(case, dispute)


def record_negotiation_offer(case: Case, *, actor_id: int | None, data: dict):
    """An offer or counteroffer in open negotiation (``cases.services.add_offer``)."""
    try:
        return case_services.add_offer(case, actor_id=actor_id, data=data)
    except case_services.CaseValidationError as err:
        raise NsaError(err.errors) from None


def _need(dispute: NsaDispute | None, attr: str, message: str, e: _Errors, name: str) -> None:
    if dispute is None or getattr(dispute, attr) is None:
        e.add(name, message)


def record_idr_initiated(case: Case, *, actor_id: int | None, data: dict, today: date) -> list[str]:
    """Record that IDR was initiated (date, dispute reference, single or
    batched); the administrative fee comes from the dated fee table. Moves the
    case to NSA IDR when the workflow allows. Returns warnings (e.g. initiated
    outside the 4-business-day window)."""
    e = _Errors()
    _refuse_if_not_eligible(case, e)
    dispute = dispute_for(case)
    _need(dispute, "notice_sent_on", "record the open negotiation notice first", e, "initiated_on")
    initiated = _date(data, "initiated_on", e, required=True, today=today)
    reference = _text(data, "idr_reference", e, size=60)
    kind = (data.get("idr_kind") or "single").strip()
    if kind not in IDR_KINDS:
        e.add("idr_kind", "must be single or batched")
    if initiated is not None and not e.has("initiated_on"):
        _check_order(_timeline_values(case, dispute, initiated=initiated), e)
    e.raise_if_any()
    warnings: list[str] = []
    try:
        fee = nsa.admin_fee_on(initiated)
    except ValueError as err:
        fee = None
        warnings.append(f"Administrative fee not known: {err}.")
    if dispute.idr_kind != kind and dispute.idre_fee is not None:
        try:
            nsa.validate_idre_fee(dispute.idre_fee, kind)
        except ValueError as err:
            warnings.append(f"The IDR entity fee recorded no longer fits: {err}.")
    dispute.idr_initiated_on, dispute.idr_reference, dispute.idr_kind = initiated, reference, kind
    dispute.admin_fee = fee
    db.session.flush()
    _event(
        case,
        f"IDR initiated {initiated.isoformat()}" + (f" ({reference})" if reference else ""),
        actor_id=actor_id,
        data={
            "dispute_id": dispute.id,
            "kind": kind,
            "admin_fee": None if fee is None else str(fee),
        },
    )
    audit(
        "nsa_dispute.initiated",
        dispute,
        details={"case_id": case.id, "initiated_on": initiated.isoformat()},
    )
    _try_transition(case, workflow.NSA_IDR, actor_id=actor_id, note="IDR initiated")
    recompute_deadlines(case)
    return warnings + _warnings(case, dispute)


def record_response(case: Case, *, actor_id: int | None, data: dict, today: date) -> list[str]:
    """The other party's response to the initiation (date and what it said)."""
    e = _Errors()
    dispute = dispute_for(case)
    _need(dispute, "idr_initiated_on", "record the IDR initiation first", e, "response_on")
    response_on = _date(data, "response_on", e, required=True, today=today)
    note = _text(data, "response_note", e, size=1000)
    if (
        response_on is not None
        and dispute is not None
        and dispute.idr_initiated_on is not None
        and response_on < dispute.idr_initiated_on
    ):
        e.add(
            "response_on", f"is before IDR was initiated ({dispute.idr_initiated_on.isoformat()})"
        )
    e.raise_if_any()
    dispute.response_on, dispute.response_note = response_on, note
    db.session.flush()
    _event(
        case,
        f"Other party responded {response_on.isoformat()}",
        actor_id=actor_id,
        body=note,
        data={"dispute_id": dispute.id},
    )
    audit("nsa_dispute.response", dispute, details={"case_id": case.id})
    recompute_deadlines(case)
    return _warnings(case, dispute)


def record_idre(case: Case, *, actor_id: int | None, data: dict, today: date) -> list[str]:
    """The certified IDR entity and the day it was selected."""
    e = _Errors()
    dispute = dispute_for(case)
    _need(dispute, "idr_initiated_on", "record the IDR initiation first", e, "selected_on")
    name = _text(data, "idre_name", e, size=200, required=True)
    selected = _date(data, "selected_on", e, required=True, today=today)
    if selected is not None and not e.has("selected_on"):
        _check_order(_timeline_values(case, dispute, selected=selected), e)
    e.raise_if_any()
    dispute.idre_name, dispute.idre_selected_on = name, selected
    db.session.flush()
    _event(
        case,
        f"IDR entity selected {selected.isoformat()}: {name}",
        actor_id=actor_id,
        data={"dispute_id": dispute.id},
    )
    audit(
        "nsa_dispute.idre",
        dispute,
        details={"case_id": case.id, "selected_on": selected.isoformat()},
    )
    recompute_deadlines(case)
    return _warnings(case, dispute)


def idr_figures(case: Case) -> dict[str, Decimal | None]:
    """The claim's figures an IDR submission may not carry: its billed charges
    (total and per line) and, where the fee schedule is loaded, Medicare's fees."""
    figures: dict[str, Decimal | None] = {"billed charges": case.billed_total}
    medicare_total = Decimal("0")
    priced = True
    cache: dict = {}
    for line in case.lines:
        figures[f"billed charges on line {line.line_no}"] = line.billed
        fee, _why = case_services.medicare_amount(line, case, cache=cache)
        if fee is None:
            priced = False
            continue
        amount = (fee * line.units).quantize(Decimal("0.01"))
        figures[f"Medicare fee on line {line.line_no}"] = amount
        medicare_total += amount
    if priced and case.lines:
        figures["Medicare fee"] = medicare_total
    return figures


def record_idr_offers(case: Case, *, actor_id: int | None, data: dict, today: date) -> list[str]:
    """The offers submitted to the IDR entity: ours (refused if it, or its
    basis, carries Medicare, usual-and-customary or billed-charge figures) and
    the other party's when known."""
    e = _Errors()
    dispute = dispute_for(case)
    _need(dispute, "idre_selected_on", "record the IDR entity's selection first", e, "our_offer")
    ours = _amount(data, "our_offer", e, required=True)
    theirs = _amount(data, "their_offer", e, required=False)
    submitted = _date(data, "offers_submitted_on", e, required=True, today=today)
    basis = _text(data, "offer_basis", e, size=10000)
    if (
        submitted is not None
        and dispute is not None
        and dispute.idre_selected_on is not None
        and submitted < dispute.idre_selected_on
    ):
        e.add(
            "offers_submitted_on",
            f"is before the IDR entity was selected ({dispute.idre_selected_on.isoformat()})",
        )
    figures = idr_figures(case)
    for v in idr_violations(basis, None, figures=figures, field="offer_basis"):
        e.add(v.field, v.message)
    if ours is not None:
        for v in idr_violations(None, {"our_offer": ours}, figures=figures):
            e.add(v.field, v.message)
    e.raise_if_any()
    dispute.our_offer, dispute.their_offer = ours, theirs
    dispute.offers_submitted_on, dispute.offer_basis = submitted, basis
    db.session.flush()
    pct = dispute.our_offer_pct
    _event(
        case,
        f"IDR offers: ours {_money(ours)}"
        + (f" ({pct}% of QPA)" if pct is not None else "")
        + (f", theirs {_money(theirs)}" if theirs is not None else ""),
        actor_id=actor_id,
        data={
            "dispute_id": dispute.id,
            "our_offer": str(ours),
            "their_offer": None if theirs is None else str(theirs),
        },
    )
    audit("nsa_dispute.offers", dispute, details={"case_id": case.id})
    recompute_deadlines(case)
    return _warnings(case, dispute)


def record_fees(case: Case, *, actor_id: int | None, data: dict, today: date) -> list[str]:
    """Fees paid: the administrative fee (its amount comes from the fee table)
    and the IDR entity's fee, which must lie in the range for the dispute kind."""
    e = _Errors()
    dispute = dispute_for(case)
    _need(dispute, "idr_initiated_on", "record the IDR initiation first", e, "idre_fee")
    admin_paid = _date(data, "admin_fee_paid_on", e, required=False, today=today)
    fee = case_services.money(data.get("idre_fee"), "idre_fee", e, required=False)
    idre_paid = _date(data, "idre_fee_paid_on", e, required=False, today=today)
    if fee is not None and dispute is not None:
        try:
            nsa.validate_idre_fee(fee, dispute.idr_kind or "single")
        except (TypeError, ValueError) as err:
            e.add("idre_fee", str(err))
    if idre_paid is not None and fee is None and (dispute is None or dispute.idre_fee is None):
        e.add("idre_fee", "give the IDR entity fee that was paid")
    start = dispute.idr_initiated_on if dispute is not None else None
    for name, d in (("admin_fee_paid_on", admin_paid), ("idre_fee_paid_on", idre_paid)):
        if d is not None and start is not None and d < start:
            e.add(name, f"is before IDR was initiated ({start.isoformat()})")
    e.raise_if_any()
    dispute.admin_fee_paid_on = admin_paid
    if fee is not None:
        dispute.idre_fee = fee
    dispute.idre_fee_paid_on = idre_paid
    db.session.flush()
    _event(
        case,
        "IDR fees recorded: administrative "
        + _money(dispute.admin_fee)
        + (" paid " + admin_paid.isoformat() if admin_paid else " not paid")
        + ", IDR entity "
        + _money(dispute.idre_fee)
        + (" paid " + idre_paid.isoformat() if idre_paid else " not paid"),
        actor_id=actor_id,
        data={"dispute_id": dispute.id},
    )
    audit("nsa_dispute.fees", dispute, details={"case_id": case.id})
    return []


def record_determination(case: Case, *, actor_id: int | None, data: dict, today: date) -> list[str]:
    """The payment determination: its date, the prevailing party and amount
    (the IDR entity picks one of the two offers). The case settles at that
    amount (awaiting payment) when the workflow allows."""
    e = _Errors()
    dispute = dispute_for(case)
    _need(
        dispute, "idre_selected_on", "record the IDR entity's selection first", e, "determined_on"
    )
    determined = _date(data, "determined_on", e, required=True, today=today)
    party = (data.get("prevailing_party") or "").strip()
    if party not in PREVAILING_PARTIES:
        e.add("prevailing_party", "say which party's offer prevailed: provider or plan")
    amount = _amount(data, "prevailing_amount", e, required=False)
    if party in PREVAILING_PARTIES and dispute is not None and not e.has("prevailing_amount"):
        offer = dispute.our_offer if party == "provider" else dispute.their_offer
        if amount is None and offer is None:
            e.add("prevailing_amount", "give the amount of the prevailing offer")
        elif amount is not None and offer is not None and amount != offer:
            e.add(
                "prevailing_amount",
                f"the IDR entity picks one of the offers: the "
                f"{'provider' if party == 'provider' else 'plan'}'s was {_money(offer)}",
            )
        amount = amount if amount is not None else offer
    if determined is not None and not e.has("determined_on"):
        _check_order(_timeline_values(case, dispute, determined=determined), e)
    e.raise_if_any()
    dispute.determined_on, dispute.prevailing_party, dispute.prevailing_amount = (
        determined,
        party,
        amount,
    )
    db.session.flush()
    _event(
        case,
        f"IDR determination {determined.isoformat()}: the {party}'s offer of "
        f"{_money(amount)} prevails",
        actor_id=actor_id,
        data={"dispute_id": dispute.id, "party": party, "amount": str(amount)},
    )
    audit("nsa_dispute.determination", dispute, details={"case_id": case.id, "party": party})
    _try_transition(
        case,
        workflow.SETTLED,
        actor_id=actor_id,
        agreed_amount=amount,
        note=f"IDR determination: the {party}'s offer prevails",
    )
    recompute_deadlines(case)
    return _warnings(case, dispute)


def record_payment(case: Case, *, actor_id: int | None, data: dict, today: date) -> list[str]:
    """The award's payment: the day it arrived and, if given, its amount (then
    also a payment on the ledger, and the case is marked paid when it can be)."""
    e = _Errors()
    dispute = dispute_for(case)
    _need(dispute, "determined_on", "record the determination first", e, "payment_received_on")
    received = _date(data, "payment_received_on", e, required=True, today=today)
    amount = _amount(data, "payment_amount", e, required=False)
    if (
        received is not None
        and dispute is not None
        and dispute.determined_on is not None
        and received < dispute.determined_on
    ):
        e.add(
            "payment_received_on",
            f"is before the determination ({dispute.determined_on.isoformat()})",
        )
    e.raise_if_any()
    dispute.payment_received_on = received
    warnings: list[str] = []
    if amount is not None and dispute.payment_amount != amount:
        dispute.payment_amount = amount
        case_services.add_payment(
            case,
            amount=amount,
            paid_on=received,
            source="idr_award",
            reference=dispute.idr_reference,
            actor_id=actor_id,
            is_initial=False,
            note="IDR award",
        )
        _try_transition(case, workflow.PAID, actor_id=actor_id, note="IDR award paid")
    timeline = nsa_timeline_of(case, dispute)
    if timeline is not None and timeline.payment_due and received > timeline.payment_due:
        warnings.append(
            f"The award was paid on {received.isoformat()}, after it was due on "
            f"{timeline.payment_due.isoformat()}."
        )
    db.session.flush()
    _event(
        case,
        f"IDR award payment received {received.isoformat()}"
        + (f": {_money(amount)}" if amount is not None else ""),
        actor_id=actor_id,
        data={"dispute_id": dispute.id},
    )
    audit("nsa_dispute.payment", dispute, details={"case_id": case.id})
    recompute_deadlines(case)
    return warnings


# --------------------------------------------------------------------------- the notice's data


def notice_data(
    case: Case,
    *,
    sent_on: date | None = None,
    offer: Decimal | None = None,
    qpa: Decimal | None = None,
) -> dict:
    """What the open negotiation notice says, for the letters feature to render.

    ``sent_on`` (default: the recorded sending date, else the firm's today)
    starts the 30-business-day open negotiation period; ``offer`` and ``qpa``
    default to the recorded ones. Amounts are Decimals, dates are dates.
    """
    from advocate.deadlines.services import calendar_for as _cal
    from advocate.payers.defaults import PLAN_TYPES

    dispute = dispute_for(case)
    sent_on = sent_on or (dispute.notice_sent_on if dispute else None) or firm_today(case.tenant_id)
    offer = offer if offer is not None else (dispute.notice_offer if dispute else None)
    qpa = qpa if qpa is not None else (dispute.qpa if dispute else None)
    cal = _cal(case.tenant_id)
    received = case.initial_payment_received_on
    timeline = None
    if received is None or received <= sent_on:
        timeline = nsa.nsa_timeline(cal, received or sent_on, notice_sent=sent_on)
    practice, payer = case.practice, case.payer
    tenant = _tenant(case.tenant_id)
    pct = None
    if offer is not None and qpa:
        pct = (offer * 100 / qpa).quantize(Decimal("0.1"))
    period = None
    if timeline is not None:
        period = {
            "business_days": 30,
            "begins_on": sent_on,
            "day_1": cal.nth_business_day_of_period(sent_on, 1),
            "ends_on": timeline.negotiation_ends,
            "rule": timeline.rules["negotiation_ends"],
            "idr_window_opens_on": timeline.idr_window_start,
            "idr_window_closes_on": timeline.idr_window_end,
        }
    return {
        "case_reference": case.reference,
        "sent_on": sent_on,
        "method": dispute.notice_method if dispute else None,
        "provider": {
            "name": practice.name,
            "npi": practice.npi,
            "tin": practice.tin,
            "address_line1": practice.address_line1,
            "city": practice.city,
            "state": practice.state,
            "zip": practice.zip,
        },
        "payer": {"name": payer.name, "plan_type": PLAN_TYPES.get(case.plan_type, case.plan_type)},
        "claim": {
            "payer_claim_number": case.payer_claim_number,
            "patient_control_number": case.patient_control_number,
            "service_from": case.service_from,
            "service_to": case.service_to,
            "place_of_service": case.place_of_service,
            "service_type": case.service_type,
            "initial_payment": case.initial_paid,
            "initial_payment_or_denial_received_on": case.initial_payment_received_on,
            "lines": [
                {
                    "line_no": ln.line_no,
                    "code": ln.code,
                    "modifiers": list(ln.modifiers or []),
                    "units": ln.units,
                    "service_date": ln.service_date or case.service_from,
                    "paid": ln.paid,
                }
                for ln in case.lines
            ],
        },
        "qpa": qpa,
        "offer": offer,
        "offer_percent_of_qpa": pct,
        "notice_deadline": timeline.notice_deadline if timeline is not None and received else None,
        "open_negotiation_period": period,
        "firm": {
            "name": (tenant.letterhead_name or tenant.name) if tenant else None,
            "phone": tenant.phone if tenant else None,
            "fax": tenant.fax if tenant else None,
        },
    }


# --------------------------------------------------------------------------- batching


def batch_candidates(case: Case, *, limit: int = 50) -> list[dict]:
    """The firm's other open NSA cases that may be batched with this one: same
    practice NPI and TIN, same payer and plan type, service dates within 30
    business days (``nsa.can_batch``). "Similar condition" is the advocate's call."""
    from advocate.practices.models import Practice

    practice = case.practice
    if not practice.npi or not practice.tin:
        return []
    window = timedelta(days=70)  # 30 business days span at most ~45 calendar days
    rows = db.session.execute(
        select(Case.id, Case.number, Case.service_from, Case.status, Case.assignee_id)
        .join(Practice, Practice.id == Case.practice_id)
        .where(
            Case.id != case.id,
            Case.is_nsa_eligible.is_(True),
            Case.status.in_(workflow.OPEN),
            Case.payer_id == case.payer_id,
            Case.plan_type == case.plan_type,
            Practice.npi == practice.npi,
            Practice.tin == practice.tin,
            Case.service_from.between(case.service_from - window, case.service_from + window),
        )
        .order_by(Case.service_from, Case.number)
        .limit(500)
    ).all()
    cal = calendar_for(case.tenant_id)
    me = {
        "npi": practice.npi,
        "tin": practice.tin,
        "plan_id": f"{case.payer_id}:{case.plan_type}",
        "service_date": case.service_from,
    }
    out = []
    for r in rows:
        other = dict(me, service_date=r.service_from)
        if nsa.can_batch(cal, me, other):
            out.append(
                {
                    "case_id": r.id,
                    "reference": f"C-{r.number:06d}",
                    "service_from": r.service_from,
                    "status": r.status,
                    "status_label": workflow.STATES.get(r.status, r.status),
                    "business_days_apart": abs(
                        cal.business_days_between(case.service_from, r.service_from)
                    ),
                }
            )
            if len(out) >= limit:
                break
    return out


# --------------------------------------------------------------------------- firm-wide lists


def due_horizon(tenant_id: int, today: date) -> date:
    """The last day of "due soon": the 10th business day after today."""
    return calendar_for(tenant_id).nth_business_day_after(today, DUE_SOON_BUSINESS_DAYS)


def _open_terms(today: date):
    # The case's status as copied onto the deadline (triggers): no join.
    return [
        CaseDeadline.is_done.is_(False),
        CaseDeadline.case_status.in_(workflow.OPEN),
        # A milestone behind us is not a to-do.
        or_(CaseDeadline.kind.not_in(MILESTONES), CaseDeadline.due_on >= today),
    ]


def _assignee_term(assignee):
    if assignee is None:
        return None
    if assignee == "none":
        return CaseDeadline.assignee_id.is_(None)
    return CaseDeadline.assignee_id == int(assignee)


def due_items(*, today: date, until: date | None = None, on: date | None = None, assignee=None):
    """A select of open deadlines of open cases: overdue first, then by date,
    then by advocate. ``until``: due on or before; ``on``: due that day;
    ``assignee``: a user id, or "none" for unassigned cases. Paginate it."""
    from advocate.auth.models import User

    overdue = and_(CaseDeadline.due_on < today, CaseDeadline.kind.not_in(MILESTONES))
    q = (
        select(CaseDeadline)
        .join(Case, Case.id == CaseDeadline.case_id)
        .outerjoin(User, User.id == CaseDeadline.assignee_id)
        .where(*_open_terms(today))
        .order_by(
            case((overdue, 0), else_=1),
            CaseDeadline.due_on,
            User.name.is_(None),
            User.name,
            Case.number,
            CaseDeadline.id,
        )
    )
    if until is not None:
        q = q.where(CaseDeadline.due_on <= until)
    if on is not None:
        q = q.where(CaseDeadline.due_on == on)
    term = _assignee_term(assignee)
    if term is not None:
        q = q.where(term)
    return q


def case_info(case_ids: Iterable[int]) -> dict[int, dict]:
    """Reference, status and advocate of cases, in one query (no patient data)."""
    from advocate.auth.models import User

    ids = list(set(case_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Case.id, Case.number, Case.status, Case.assignee_id, User.name, User.email)
        .outerjoin(User, User.id == Case.assignee_id)
        .where(Case.id.in_(ids))
    ).all()
    return {
        r.id: {
            "reference": f"C-{r.number:06d}",
            "status": r.status,
            "assignee_id": r.assignee_id,
            "assignee": (r.name or r.email) if r.assignee_id else None,
        }
        for r in rows
    }


def due_case_ids(*, today: date, until: date | None, assignee=None, overdue: bool):
    """A select of the ids of cases with an open item on the Deadlines page:
    overdue ones (``overdue``), else ones due from today through ``until``
    (the same terms as :func:`due_items` and :func:`due_summary`)."""
    late = and_(CaseDeadline.due_on < today, CaseDeadline.kind.not_in(MILESTONES))
    q = select(CaseDeadline.case_id).where(*_open_terms(today))
    if overdue:
        q = q.where(late)
    else:
        q = q.where(~late, CaseDeadline.due_on <= until)
    term = _assignee_term(assignee)
    if term is not None:
        q = q.where(term)
    return q


def due_summary(*, today: date, until: date, assignee=None) -> list[dict]:
    """Per advocate: overdue and due-soon counts (through ``until``), most overdue first.
    The deadline list takes its total from these counts: keep the terms those of `due_items`."""
    from advocate.auth.models import User

    overdue = and_(CaseDeadline.due_on < today, CaseDeadline.kind.not_in(MILESTONES))
    q = (
        select(
            CaseDeadline.assignee_id,
            func.count(CaseDeadline.id),
            func.sum(case((overdue, 1), else_=0)),
        )
        .where(*_open_terms(today), CaseDeadline.due_on <= until)
        .group_by(CaseDeadline.assignee_id)
    )
    term = _assignee_term(assignee)
    if term is not None:
        q = q.where(term)
    rows = db.session.execute(q).all()
    ids = [r[0] for r in rows if r[0] is not None]
    names = (
        dict(
            db.session.execute(
                select(User.id, func.coalesce(User.name, User.email)).where(User.id.in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    out = [
        {
            "assignee_id": aid,
            "name": names.get(aid, "Unassigned") if aid else "Unassigned",
            "total": int(total),
            "overdue": int(over or 0),
            "due_soon": int(total) - int(over or 0),
        }
        for aid, total, over in rows
    ]
    out.sort(key=lambda r: (-r["overdue"], -r["total"], r["name"].lower()))
    return out


@dataclass
class CalendarDay:
    day: date
    in_month: bool
    is_today: bool
    is_business_day: bool
    holiday: str | None
    items: list[dict] = field(default_factory=list)
    more: int = 0


@dataclass
class CalendarMonth:
    month: date
    prev_month: date
    next_month: date
    weeks: list[list[CalendarDay]]
    total: int
    overdue: int
    truncated: bool


CALENDAR_ITEMS_PER_DAY = 5
CALENDAR_MAX_ROWS = 5000


def calendar_month(tenant_id: int, month: date, *, today: date, assignee=None) -> CalendarMonth:
    """A month grid (Monday to Sunday weeks) of the firm's deadlines on open
    cases, done ones included (shown as such), with holidays and closures."""
    first = month.replace(day=1)
    last = first.replace(day=pycalendar.monthrange(first.year, first.month)[1])
    grid_start = first - timedelta(days=first.weekday())
    grid_end = last + timedelta(days=6 - last.weekday())
    q = (
        select(
            CaseDeadline.id,
            CaseDeadline.case_id,
            CaseDeadline.kind,
            CaseDeadline.label,
            CaseDeadline.due_on,
            CaseDeadline.is_done,
            Case.number,
            CaseDeadline.assignee_id,
        )
        .join(Case, Case.id == CaseDeadline.case_id)
        .where(
            CaseDeadline.due_on.between(grid_start, grid_end),
            CaseDeadline.case_status.in_(workflow.OPEN),
        )
        .order_by(CaseDeadline.due_on, CaseDeadline.is_done, Case.number, CaseDeadline.id)
        .limit(CALENDAR_MAX_ROWS + 1)
    )
    term = _assignee_term(assignee)
    if term is not None:
        q = q.where(term)
    rows = db.session.execute(q).all()
    truncated = len(rows) > CALENDAR_MAX_ROWS
    rows = rows[:CALENDAR_MAX_ROWS]
    cal = calendar_for(tenant_id)
    by_day: dict[date, list] = defaultdict(list)
    for r in rows:
        by_day[r.due_on].append(r)
    weeks: list[list[CalendarDay]] = []
    total = overdue = 0
    d = grid_start
    while d <= grid_end:
        week = []
        for _ in range(7):
            items = by_day.get(d, [])
            day = CalendarDay(
                d, d.month == first.month, d == today, cal.is_business_day(d), cal.holiday_name(d)
            )
            for r in items:
                is_over = not r.is_done and r.kind not in MILESTONES and r.due_on < today
                if d.month == first.month:
                    total += 1
                    overdue += int(is_over)
                if len(day.items) < CALENDAR_ITEMS_PER_DAY:
                    day.items.append(
                        {
                            "id": r.id,
                            "case_id": r.case_id,
                            "reference": f"C-{r.number:06d}",
                            "label": r.label,
                            "kind": r.kind,
                            "is_done": r.is_done,
                            "is_overdue": is_over,
                            "is_milestone": r.kind in MILESTONES,
                        }
                    )
                else:
                    day.more += 1
            week.append(day)
            d += timedelta(days=1)
        weeks.append(week)
    prev_month = (first - timedelta(days=1)).replace(day=1)
    next_month = last + timedelta(days=1)
    return CalendarMonth(first, prev_month, next_month, weeks, total, overdue, truncated)


# --------------------------------------------------------------------------- the daily digest


@dataclass
class DigestLine:
    reference: str
    due_on: date
    label: str
    business_days: int  # after today (negative: overdue by that many)


def refresh_open_cases(tenant_id: int, *, chunk: int = 500, payer_id: int | None = None) -> int:
    """Recompute the deadlines of every open case of the firm (the digest's
    nightly refresh, so a fact changed on a page that did not recompute is
    caught within a day), or of one payer's open cases. Returns the number
    of cases."""
    query = select(Case.id).where(Case.tenant_id == tenant_id, Case.status.in_(workflow.OPEN))
    if payer_id is not None:
        query = query.where(Case.payer_id == payer_id)
    ids = list(db.session.scalars(query.order_by(Case.id)))
    for start in range(0, len(ids), chunk):
        part = list(db.session.scalars(select(Case).where(Case.id.in_(ids[start : start + chunk]))))
        recompute_many(part)
    return len(ids)


def refresh_open_cases_job(tenant_id: int, payer_id: int | None = None) -> int:
    """Background job (``advocate.jobs.enqueue``): recompute open cases'
    deadlines after a fact they share changed: a payer's policy (its open
    cases) or the firm's closure days (all its open cases)."""
    from tenants import tenant_scope

    with tenant_scope(tenant_id):
        n = refresh_open_cases(tenant_id, payer_id=payer_id)
        db.session.commit()
    return n


def enqueue_refresh(tenant_id: int, *, payer_id: int | None = None):
    """Queue :func:`refresh_open_cases_job` (runs now without Redis). Call it
    after the change is committed, so a worker reads the new facts."""
    from advocate import jobs

    return jobs.enqueue(refresh_open_cases_job, tenant_id, payer_id)


def _digest_lines(tenant_id: int, today: date, until: date) -> dict[int | None, tuple[list, list]]:
    cal = calendar_for(tenant_id)
    rows = db.session.execute(
        select(
            CaseDeadline.kind,
            CaseDeadline.label,
            CaseDeadline.due_on,
            Case.number,
            CaseDeadline.assignee_id,
        )
        .join(Case, Case.id == CaseDeadline.case_id)
        .where(
            *_open_terms(today), CaseDeadline.due_on <= until, CaseDeadline.kind.not_in(MILESTONES)
        )
        .order_by(CaseDeadline.due_on, Case.number, CaseDeadline.id)
    ).all()
    out: dict[int | None, tuple[list, list]] = defaultdict(lambda: ([], []))
    for r in rows:
        # A label typed by hand could name a patient: emails show the kind only.
        label = "Deadline set by hand" if r.kind == "manual" else r.label
        line = DigestLine(
            f"C-{r.number:06d}", r.due_on, label, cal.business_days_between(today, r.due_on)
        )
        out[r.assignee_id][0 if r.due_on < today else 1].append(line)
    return out


def _digest_body(
    name: str,
    firm: str,
    today: date,
    sections: list[tuple[str, list[DigestLine]]],
    link: str | None,
) -> str:
    lines = [f"Deadlines for {name} at {firm}, {today.isoformat()} ({today:%A}).", ""]
    for title, items in sections:
        if not items:
            continue
        lines.append(f"{title} ({len(items)})")
        for it in items:
            if it.due_on < today:
                when = f"overdue by {-it.business_days} business day{'s' if -it.business_days != 1 else ''}"
            elif it.due_on == today:
                when = "due today"
            else:
                when = f"in {it.business_days} business day{'s' if it.business_days != 1 else ''}"
            lines.append(
                f"  {it.reference}  {it.due_on.isoformat()} ({it.due_on:%a})  {it.label}  [{when}]"
            )
        lines.append("")
    lines.append("Case references only: open the case in Advocate for its details.")
    if link:
        lines.append(f"Your deadlines: {link}")
    return "\n".join(lines) + "\n"


def _emit_due_today(tenant_id: int, today: date) -> None:
    """deadline.due for each open deadline due today (case ids and kinds only: a
    label typed by hand could name a patient)."""
    from advocate.webhooks.services import emit, subscribed

    if not subscribed(tenant_id, "deadline.due"):
        return
    rows = db.session.execute(
        select(CaseDeadline.id, CaseDeadline.case_id, CaseDeadline.kind, Case.number)
        .join(Case, Case.id == CaseDeadline.case_id)
        .where(
            *_open_terms(today), CaseDeadline.due_on == today, CaseDeadline.kind.not_in(MILESTONES)
        )
        .order_by(CaseDeadline.id)
    ).all()
    for r in rows:
        emit(
            tenant_id,
            "deadline.due",
            {
                "deadline_id": r.id,
                "case_id": r.case_id,
                "reference": f"C-{r.number:06d}",
                "kind": r.kind,
                "due_on": today.isoformat(),
            },
        )


def send_digests(tenant_id: int, *, today: date | None = None, refresh: bool = True) -> list[dict]:
    """Email each advocate (owners, admins and advocates with open cases) their
    overdue and due-soon deadlines, case references only: never patient names.
    Owners and admins also get the unassigned cases' deadlines. At most one
    digest per person per day (re-running sends nothing new). Returns one
    entry per email sent."""
    from advocate.auth.models import User
    from advocate.links import external_url
    from advocate.mail import send_mail
    from tenants.models import MANAGER_ROLES, WORKER_ROLES, Membership

    tenant = _tenant(tenant_id)
    today = today or firm_today(tenant_id)
    if refresh:
        refresh_open_cases(tenant_id)
    until = due_horizon(tenant_id, today)
    lines = _digest_lines(tenant_id, today, until)
    members = db.session.execute(
        select(Membership.role, User.id, User.name, User.email)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.tenant_id == tenant_id,
            Membership.is_active.is_(True),
            Membership.role.in_(WORKER_ROLES),
        )
        .order_by(User.id)
    ).all()
    already = set(
        db.session.scalars(select(DeadlineDigest.user_id).where(DeadlineDigest.sent_on == today))
    )
    if not already:
        _emit_due_today(tenant_id, today)  # webhooks: once a day, with the first digest run
    firm = tenant.letterhead_name or tenant.name
    sent = []
    unassigned = lines.get(None, ([], []))
    for m in members:
        mine = lines.get(m.id, ([], []))
        sections = [
            ("Overdue", mine[0]),
            (f"Due in the next {DUE_SOON_BUSINESS_DAYS} business days", mine[1]),
        ]
        if m.role in MANAGER_ROLES and (unassigned[0] or unassigned[1]):
            sections += [
                ("Unassigned cases: overdue", unassigned[0]),
                ("Unassigned cases: due soon", unassigned[1]),
            ]
        overdue = sum(len(items) for title, items in sections if "verdue" in title)
        total = sum(len(items) for _, items in sections)
        if total == 0 or m.id in already:
            continue
        link = external_url("nsa.deadline_list", advocate=m.id)
        subject = f"Deadlines: {overdue} overdue, {total - overdue} due soon ({firm})"
        body = _digest_body(m.name or m.email, firm, today, sections, link)
        send_mail(m.email, subject, body, tenant_id=tenant_id)
        db.session.add(
            DeadlineDigest(
                tenant_id=tenant_id,
                user_id=m.id,
                sent_on=today,
                overdue_count=overdue,
                due_soon_count=total - overdue,
            )
        )
        sent.append(
            {"user_id": m.id, "email": m.email, "overdue": overdue, "due_soon": total - overdue}
        )
    db.session.flush()
    if sent:
        audit(
            "deadlines.digest_sent",
            object_type="tenant",
            object_id=tenant_id,
            tenant_id=tenant_id,
            details={"emails": len(sent), "on": today.isoformat()},
        )
    return sent
