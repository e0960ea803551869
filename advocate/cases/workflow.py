"""The case workflow: states, the transitions allowed between them, and the
facts each transition needs. Pure: no database, so it is tested directly."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

INTAKE = "intake"
GATHERING = "gathering_evidence"
READY = "ready_to_negotiate"
NEGOTIATING = "negotiating"
APPEAL = "appeal"
NSA_OPEN = "nsa_open_negotiation"
NSA_IDR = "nsa_idr"
SCA = "sca"
SETTLED = "settled"
PAID = "paid"
CLOSED_WON = "closed_won"
CLOSED_PARTIAL = "closed_partial"
CLOSED_LOST = "closed_lost"
WITHDRAWN = "withdrawn"

STATES = MappingProxyType(
    {
        INTAKE: "Intake",
        GATHERING: "Gathering evidence",
        READY: "Ready to negotiate",
        NEGOTIATING: "Negotiating",
        APPEAL: "Appeal",
        NSA_OPEN: "NSA open negotiation",
        NSA_IDR: "NSA IDR",
        SCA: "Single case agreement",
        SETTLED: "Settled (awaiting payment)",
        PAID: "Paid",
        CLOSED_WON: "Closed – won",
        CLOSED_PARTIAL: "Closed – partly won",
        CLOSED_LOST: "Closed – lost",
        WITHDRAWN: "Withdrawn",
    }
)
CLOSED = frozenset({CLOSED_WON, CLOSED_PARTIAL, CLOSED_LOST, WITHDRAWN})
OPEN = frozenset(STATES) - CLOSED

_WORKING = (NEGOTIATING, APPEAL, NSA_OPEN, SCA)
TRANSITIONS: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        INTAKE: frozenset({GATHERING, READY, WITHDRAWN, CLOSED_LOST}),
        GATHERING: frozenset({READY, WITHDRAWN, CLOSED_LOST}),
        READY: frozenset({*_WORKING, GATHERING, WITHDRAWN}),
        NEGOTIATING: frozenset({APPEAL, NSA_OPEN, SCA, SETTLED, CLOSED_LOST, WITHDRAWN}),
        # An appeal moves up a level by re-entering APPEAL with the next level.
        APPEAL: frozenset({APPEAL, NEGOTIATING, SETTLED, SCA, CLOSED_LOST, WITHDRAWN}),
        NSA_OPEN: frozenset({NSA_IDR, SETTLED, CLOSED_LOST, WITHDRAWN}),
        NSA_IDR: frozenset({SETTLED, CLOSED_LOST, WITHDRAWN}),
        SCA: frozenset({SETTLED, NEGOTIATING, CLOSED_LOST, WITHDRAWN}),
        SETTLED: frozenset({PAID, NEGOTIATING}),
        PAID: frozenset({CLOSED_WON, CLOSED_PARTIAL, NEGOTIATING}),
        # A closed case may be reopened (a recoupment, a late payment).
        CLOSED_WON: frozenset({NEGOTIATING}),
        CLOSED_PARTIAL: frozenset({NEGOTIATING}),
        CLOSED_LOST: frozenset({NEGOTIATING, APPEAL}),
        WITHDRAWN: frozenset({GATHERING}),
    }
)
MAX_APPEAL_LEVEL = 4  # reconsideration, level 1, level 2, external review


class TransitionError(ValueError):
    """A transition refused, with the reason in words."""


@dataclass(frozen=True)
class CaseFacts:
    """What the rules look at; the service fills it from the case."""

    status: str
    appeal_level: int | None = None
    agreed_amount: Decimal | None = None
    total_paid_after_initial: Decimal = Decimal("0")
    is_nsa_eligible: bool | None = None


def allowed(status: str) -> frozenset[str]:
    return TRANSITIONS.get(status, frozenset())


def check(
    facts: CaseFacts,
    to: str,
    *,
    appeal_level: int | None = None,
    agreed_amount: Decimal | None = None,
) -> None:
    """Raise TransitionError with a reason if `facts.status -> to` is not allowed."""
    if to not in STATES:
        raise TransitionError(f"'{to}' is not a case status.")
    if to not in allowed(facts.status):
        options = ", ".join(STATES[s] for s in sorted(allowed(facts.status))) or "none"
        raise TransitionError(
            f"A case in '{STATES[facts.status]}' cannot move to '{STATES[to]}'. Allowed next: {options}."
        )
    if to == APPEAL:
        if appeal_level is None:
            raise TransitionError("Say which appeal level (1 to 4).")
        if not 1 <= appeal_level <= MAX_APPEAL_LEVEL:
            raise TransitionError(f"Appeal level must be 1 to {MAX_APPEAL_LEVEL}.")
        if facts.status == APPEAL and (facts.appeal_level or 0) >= appeal_level:
            raise TransitionError(
                f"The case is already at appeal level {facts.appeal_level}; the next is higher."
            )
    if to in (NSA_OPEN,) and facts.is_nsa_eligible is False:
        raise TransitionError(
            "The No Surprises Act does not apply to this case (see its eligibility check)."
        )
    if to == SETTLED:
        amount = agreed_amount if agreed_amount is not None else facts.agreed_amount
        if amount is None or amount <= 0:
            raise TransitionError("A settlement needs the agreed amount.")
    if to in (CLOSED_WON, CLOSED_PARTIAL) and facts.total_paid_after_initial <= 0:
        raise TransitionError(
            "Nothing was recovered above the initial payment: close it as lost or withdrawn."
        )
