"""A case's figures, each computed in one place.

Every surface (case page, case list, My caseload, Deadlines, dashboard,
reports, letters, statements, API) reads these values rather than computing
its own:

* **amount at stake** (:func:`amount_at_stake`, stored on ``Case.amount_at_stake``
  by every writer: ``cases.services.recompute_totals``, the benchmark job in
  Python and SQL, the 835 and CSV imports): what is still to be recovered.
  The basis is the agreed amount once the case is settled (the payer agreed to
  pay it: nothing above it is at stake any more), else the expected payment,
  else the billed charges; less what the plan paid and the patient owes;
  never negative.
* **expected payment, underpayment, Medicare total, ask and floor, fee
  schedule year** (``advocate.rates.benchmark.summarize`` from the stored
  line benchmarks; the year rule is ``advocate.rates.years``).
* **the negotiation suggestion** (:func:`suggest_counter`): the benchmark's
  ask and floor are the defaults for the firm's target and floor.
* **next deadline** (``Case.next_deadline_on``, stored by
  ``advocate.deadlines.case_services.recompute_many``).
* **NSA status** (``Case.is_nsa_eligible``, kept equal to
  ``deadlines.case_services.eligibility_for`` whenever deadlines are recomputed).

Pure functions here; :func:`case_figures` gathers them for one case.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def amount_at_stake(
    *,
    billed: Decimal,
    expected: Decimal | None,
    agreed: Decimal | None,
    paid: Decimal,
    resp: Decimal,
) -> Decimal:
    """What is still to be recovered on a case (see the module docstring)."""
    if agreed is not None:
        basis = agreed
    elif expected is not None:
        basis = expected
    else:
        basis = billed
    return max(ZERO, (basis or ZERO) - (paid or ZERO) - (resp or ZERO))


@dataclass(frozen=True)
class Suggestion:
    amount: Decimal | None
    reason: str
    target: Decimal | None
    target_source: str  # "target" (the firm's), "ask" (the benchmark's), "billed", ""
    floor: Decimal | None
    floor_source: str  # "floor" (the firm's), "benchmark", ""

    def __iter__(self):  # (amount, reason), as the old tuple
        return iter((self.amount, self.reason))

    def __getitem__(self, i):
        return (self.amount, self.reason)[i]


def suggest_counter(
    *,
    target: Decimal | None,
    floor: Decimal | None,
    ask: Decimal | None,
    bench_floor: Decimal | None,
    billed: Decimal | None,
    last_payer_offer: Decimal | None,
) -> Suggestion:
    """The one negotiation rule: our target is the firm's, else the
    benchmark's suggested ask, else the billed charges; our floor is the
    firm's, else the benchmark's suggested floor. With no payer offer yet we
    open at the target; otherwise we counter at the midpoint of the payer's
    last offer and the target, never below the floor. The ask's and floor's
    own reasoning is shown once, with the benchmarks; this names which it used."""
    if target is not None:
        tgt, tsrc, tname = target, "target", "our target"
    elif ask is not None:
        tgt, tsrc, tname = ask, "ask", "the suggested ask"
    elif billed:
        tgt, tsrc, tname = billed, "billed", "the billed charges"
    else:
        tgt, tsrc, tname = None, "", ""
    if floor is not None:
        flo, fsrc, fname = floor, "floor", "our floor"
    elif bench_floor is not None:
        flo, fsrc, fname = bench_floor, "benchmark", "the suggested floor"
    else:
        flo, fsrc, fname = None, "", ""
    if tgt is None:
        return Suggestion(
            None, "No target, ask or billed charges to start from.", None, "", flo, fsrc
        )
    if last_payer_offer is None:
        return Suggestion(
            tgt, f"No payer offer yet: open with {tname} {tgt:,.2f}.", tgt, tsrc, flo, fsrc
        )
    mid = ((last_payer_offer + tgt) / 2).quantize(CENT, rounding=ROUND_HALF_UP)
    reason = f"Midpoint of the payer's {last_payer_offer:,.2f} and {tname} {tgt:,.2f}"
    if flo is not None and mid < flo:
        mid = flo
        reason += f", raised to {fname} {flo:,.2f}"
    return Suggestion(mid, reason + ".", tgt, tsrc, flo, fsrc)


@dataclass(frozen=True)
class CaseFigures:
    """The figures of one case, as every surface shows them."""

    billed: Decimal
    paid: Decimal
    patient_resp: Decimal
    expected: Decimal | None
    underpayment: Decimal | None
    at_stake: Decimal
    agreed: Decimal | None
    medicare_total: Decimal | None
    ask: Decimal | None
    floor: Decimal | None
    fee_schedule: dict | None  # {"year_used", "service_year", "fallback", "label"}
    next_deadline_on: Any
    nsa_eligible: bool | None

    def as_json(self, *, staff: bool) -> dict:
        def m(v):
            return None if v is None else f"{v:.2f}"

        out = {
            "billed": m(self.billed),
            "paid": m(self.paid),
            "patient_resp": m(self.patient_resp),
            "expected_payment": m(self.expected),
            "underpayment": m(self.underpayment),
            "amount_at_stake": m(self.at_stake),
            "agreed_amount": m(self.agreed),
            "medicare_total": m(self.medicare_total),
            "fee_schedule": self.fee_schedule,
            "next_deadline_on": self.next_deadline_on.isoformat()
            if self.next_deadline_on
            else None,
            "nsa_status": nsa_word(self.nsa_eligible),
        }
        if staff:
            out.update(ask=m(self.ask), floor=m(self.floor))
        return out


def nsa_word(value: bool | None) -> str:
    return {True: "eligible", False: "not_eligible"}.get(value, "unknown")


def case_figures(case, bm=None) -> CaseFigures:
    """The case's figures (``bm``: its ``benchmark.for_case``, loaded if not given)."""
    if bm is None:
        from advocate.rates import benchmark

        bm = benchmark.for_case(case)
    return CaseFigures(
        billed=case.billed_total or ZERO,
        paid=case.total_paid or ZERO,
        patient_resp=case.patient_resp_total or ZERO,
        expected=bm.expected,
        underpayment=bm.underpayment,
        at_stake=case.amount_at_stake or ZERO,
        agreed=case.agreed_amount,
        medicare_total=bm.medicare_total,
        ask=bm.ask,
        floor=bm.floor,
        fee_schedule=bm.fee_schedule,
        next_deadline_on=case.next_deadline_on,
        nsa_eligible=case.is_nsa_eligible,
    )
