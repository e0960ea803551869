"""A case's deadlines from its facts: pure rules, no database.

The service (:mod:`advocate.deadlines.case_services`) gathers the facts (the
case, its appeals and follow-ups, its NSA dispute, the payer's policy) into
the small records below and stores what :func:`compute` returns. Every
deadline carries the rule that produced it, in words, because an advocate has
to defend a date to a payer.

Rules (domain.md, "Appeals and timely filing" and "No Surprises Act"):

* timely filing: the first date of service plus the policy's limit, in
  calendar days;
* each appeal level: the adverse decision date plus that level's window in
  the payer's policy, in calendar days;
* external review: 4 calendar months after the final internal denial,
  clamped to the end of a shorter month (2026-10-31 -> 2027-02-28);
* follow-ups: the date set on a communication;
* the NSA sequence: :func:`advocate.deadlines.nsa.nsa_timeline`, with its two
  business-day counting rules.

Calendar-day deadlines are not moved off weekends or holidays: the rules say
calendar days, and the earlier reading is the safe one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from advocate.deadlines.calendar import BusinessCalendar
from advocate.deadlines.nsa import add_calendar_days, add_months, nsa_timeline

__all__ = [
    "EXTERNAL_REVIEW_MONTHS",
    "AppealFacts",
    "CaseFacts",
    "Computed",
    "FollowUpFacts",
    "LevelFacts",
    "NsaFacts",
    "PolicyFacts",
    "compute",
    "is_external_level",
]

EXTERNAL_REVIEW_MONTHS = 4
"""External review must be asked for within 4 months of the final internal denial
(29 CFR 2590.715-2719; domain.md)."""


@dataclass(frozen=True, slots=True)
class LevelFacts:
    level: int
    name: str
    window_days: int


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """The payer policy version in effect on a date (for the rule's wording)."""

    payer_name: str
    plan_label: str
    effective_date: date
    timely_filing_days: int
    levels: tuple[LevelFacts, ...] = ()

    def level(self, n: int) -> LevelFacts | None:
        return next((lv for lv in self.levels if lv.level == n), None)

    @property
    def last_internal_level(self) -> int | None:
        internal = [lv.level for lv in self.levels if not is_external_level(lv)]
        return max(internal) if internal else None

    def describe(self) -> str:
        return (
            f"{self.payer_name}'s policy for {self.plan_label} plans "
            f"effective {self.effective_date.isoformat()}"
        )


@dataclass(frozen=True, slots=True)
class AppealFacts:
    id: int
    level: int
    adverse_decision_on: date | None
    filed_on: date | None = None
    decision_on: date | None = None
    outcome: str = "pending"


@dataclass(frozen=True, slots=True)
class FollowUpFacts:
    id: int
    follow_up_on: date
    kind: str
    direction: str
    occurred_on: date
    reference_number: str | None = None
    is_done: bool = False


@dataclass(frozen=True, slots=True)
class NsaFacts:
    dispute_id: int | None
    received: date
    notice_sent: date | None = None
    initiated: date | None = None
    selected: date | None = None
    determined: date | None = None
    offers_submitted: date | None = None
    payment_received: date | None = None


@dataclass(frozen=True, slots=True)
class CaseFacts:
    case_id: int
    service_from: date
    claim_on_file: bool
    """The payer has the claim (it has a claim number or paid or denied it)."""
    is_resolved: bool = False
    """Settled, paid or closed: the remaining steps no longer need doing (except collecting an award)."""
    appeals: Sequence[AppealFacts] = ()
    follow_ups: Sequence[FollowUpFacts] = ()
    nsa: NsaFacts | None = None


@dataclass(frozen=True, slots=True)
class Computed:
    kind: str
    label: str
    due_on: date
    rule: str
    source_type: str | None = None
    source_id: int | None = None
    is_done: bool = False

    @property
    def key(self) -> tuple[str, str | None, int | None]:
        return (self.kind, self.source_type, self.source_id)


@dataclass
class Result:
    deadlines: list[Computed] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


PolicyLookup = Callable[[date], PolicyFacts | None]


def is_external_level(level: LevelFacts) -> bool:
    """Whether a payer's appeal level is external review (by its name)."""
    return "external" in level.name.lower()


def _day(d: date) -> str:
    return f"{d.isoformat()} ({d:%A})"


def _calendar_rule(days: int, start: date, event: str, result: date, source: str) -> str:
    return (
        f"{days} calendar days after {start.isoformat()}, {event}, under {source}: "
        f"{_day(result)}. Calendar days: weekends and holidays count, and the date is not "
        "moved off them."
    )


def _timely_filing(facts: CaseFacts, policy_on: PolicyLookup, out: Result) -> None:
    policy = policy_on(facts.service_from)
    if policy is None:
        out.notes.append(
            f"No payer policy is in effect on {facts.service_from.isoformat()} (the first date of "
            "service) for this plan type: add one on the payer's page to get the timely-filing "
            "deadline."
        )
        return
    due = add_calendar_days(facts.service_from, policy.timely_filing_days)
    rule = _calendar_rule(
        policy.timely_filing_days,
        facts.service_from,
        "the first date of service",
        due,
        f"the timely-filing limit of {policy.describe()}",
    )
    out.deadlines.append(
        Computed(
            "timely_filing",
            "Timely filing limit",
            due,
            rule,
            is_done=facts.claim_on_file or facts.is_resolved,
        )
    )


def _final_internal_denial(
    facts: CaseFacts, policy_on: PolicyLookup
) -> tuple[date, str, int | None] | None:
    """(date, why it is final, appeal id) of the final internal denial, if known."""
    # An appeal recorded at an external-review level names the denial it reviews.
    for appeal in sorted(facts.appeals, key=lambda a: (a.level, a.id), reverse=True):
        if appeal.adverse_decision_on is None:
            continue
        policy = policy_on(appeal.adverse_decision_on)
        level = policy.level(appeal.level) if policy else None
        if level is not None and is_external_level(level):
            return (
                appeal.adverse_decision_on,
                f"the final internal denial (the adverse decision recorded on the {level.name})",
                appeal.id,
            )
    upheld = [a for a in facts.appeals if a.outcome == "upheld" and a.decision_on is not None]
    for appeal in sorted(upheld, key=lambda a: (a.decision_on, a.id), reverse=True):
        assert appeal.decision_on is not None
        policy = policy_on(appeal.decision_on)
        if policy is None or policy.last_internal_level is None:
            return (
                appeal.decision_on,
                f"the level {appeal.level} appeal upheld, taken as the final internal denial "
                "(the payer's appeal levels are not known)",
                appeal.id,
            )
        level = policy.level(appeal.level)
        if level is not None and is_external_level(level):
            continue
        if appeal.level >= policy.last_internal_level:
            name = level.name if level else f"level {appeal.level} appeal"
            return (
                appeal.decision_on,
                f"the final internal denial (the {name} upheld; it is the last internal level "
                f"of {policy.describe()})",
                appeal.id,
            )
    return None


def _appeals(facts: CaseFacts, policy_on: PolicyLookup, out: Result) -> None:
    for appeal in sorted(facts.appeals, key=lambda a: (a.level, a.id)):
        if appeal.adverse_decision_on is None:
            continue
        policy = policy_on(appeal.adverse_decision_on)
        if policy is None:
            out.notes.append(
                f"Level {appeal.level} appeal: no payer policy is in effect on "
                f"{appeal.adverse_decision_on.isoformat()} (the adverse decision) for this plan "
                "type, so its deadline is not computed."
            )
            continue
        level = policy.level(appeal.level)
        if level is None:
            out.notes.append(
                f"Level {appeal.level} appeal: {policy.describe()} has no level {appeal.level}, "
                "so its deadline is not computed."
            )
            continue
        if is_external_level(level):
            continue  # counted as external review below
        due = add_calendar_days(appeal.adverse_decision_on, level.window_days)
        rule = _calendar_rule(
            level.window_days,
            appeal.adverse_decision_on,
            "the date of the adverse decision",
            due,
            f"the {level.name} window (level {level.level}) of {policy.describe()}",
        )
        out.deadlines.append(
            Computed(
                f"appeal_l{appeal.level}",
                f"File the {level.name}",
                due,
                rule,
                "appeal",
                appeal.id,
                is_done=appeal.filed_on is not None or facts.is_resolved,
            )
        )


def _external_review(facts: CaseFacts, policy_on: PolicyLookup, out: Result) -> None:
    final = _final_internal_denial(facts, policy_on)
    if final is None:
        return
    denied_on, why, appeal_id = final
    due = add_months(denied_on, EXTERNAL_REVIEW_MONTHS)
    clamp = ""
    if due.day != denied_on.day:
        clamp = (
            f" {due:%B} has no day {denied_on.day}, so the period ends on its last day "
            "(never rolled into the next month)."
        )
    rule = (
        f"{EXTERNAL_REVIEW_MONTHS} calendar months after {denied_on.isoformat()}, {why}: "
        f"{_day(due)}.{clamp}"
    )
    filed = any(
        a.filed_on is not None
        and a.adverse_decision_on is not None
        and (policy := policy_on(a.adverse_decision_on)) is not None
        and (level := policy.level(a.level)) is not None
        and is_external_level(level)
        for a in facts.appeals
    )
    out.deadlines.append(
        Computed(
            "external_review",
            "Request external review",
            due,
            rule,
            "appeal",
            appeal_id,
            is_done=filed or facts.is_resolved,
        )
    )


def _follow_ups(facts: CaseFacts, out: Result) -> None:
    for f in facts.follow_ups:
        ref = f" (reference {f.reference_number})" if f.reference_number else ""
        rule = (
            f"Follow-up date set on the {f.direction} {f.kind} of {f.occurred_on.isoformat()}"
            f"{ref}: {_day(f.follow_up_on)}."
        )
        out.deadlines.append(
            Computed(
                "follow_up",
                "Follow up with the payer",
                f.follow_up_on,
                rule,
                "communication",
                f.id,
                is_done=f.is_done,
            )
        )


# (kind, timeline field, label, done when)
_NSA_STEPS: tuple[tuple[str, str, str, str | None], ...] = (
    ("nsa_notice", "notice_deadline", "Send the open negotiation notice", "notice_sent"),
    ("nsa_negotiation_end", "negotiation_ends", "Open negotiation period ends", "initiated"),
    ("nsa_idr_window_start", "idr_window_start", "IDR initiation window opens", "initiated"),
    ("nsa_idr_window_end", "idr_window_end", "IDR initiation window closes", "initiated"),
    ("idre_selection", "idre_selection_due", "IDR entity selection due", "selected"),
    ("offers_due", "offers_due", "IDR offers due", "offers_submitted"),
    ("determination_due", "determination_due", "IDR determination due", "determined"),
    ("payment_due", "payment_due", "Payment of the IDR award due", "payment_received"),
    ("cooling_off_end", "cooling_off_ends", "Cooling-off period ends", None),
)


def _nsa(facts: CaseFacts, calendar: BusinessCalendar, out: Result) -> None:
    n = facts.nsa
    if n is None:
        return
    try:
        timeline = nsa_timeline(
            calendar,
            n.received,
            notice_sent=n.notice_sent,
            initiated=n.initiated,
            selected=n.selected,
            determined=n.determined,
        )
    except ValueError as err:
        out.notes.append(f"NSA deadlines not computed: {err}.")
        return
    for kind, attr, label, done_when in _NSA_STEPS:
        due = getattr(timeline, attr)
        if due is None:
            continue
        done = done_when is not None and getattr(n, done_when) is not None
        if facts.is_resolved and kind not in ("payment_due", "cooling_off_end"):
            done = True  # settled or closed: the steps before an award no longer need doing
        source = ("nsa_dispute", n.dispute_id) if n.dispute_id is not None else (None, None)
        out.deadlines.append(
            Computed(kind, label, due, timeline.rules[attr], source[0], source[1], is_done=done)
        )


def compute(facts: CaseFacts, *, policy_on: PolicyLookup, calendar: BusinessCalendar) -> Result:
    """Every deadline the case's facts allow, with notes on what could not be computed.

    ``policy_on(d)`` returns the payer policy (for the case's payer and plan
    type) in effect on ``d``, or None.
    """
    out = Result()
    _timely_filing(facts, policy_on, out)
    _appeals(facts, policy_on, out)
    _external_review(facts, policy_on, out)
    _follow_ups(facts, out)
    _nsa(facts, calendar, out)
    return out
