"""Billed (837) and paid (835), both ways.

Claims: an 835 claim's patient control number (CLP01) is the 837 claim's
(CLM01); the 837 import writes CLM01 on the case, so the 835 posting's own
case lookup (``posting._candidate_cases``: CLP07, then CLP01) finds the cases
the 837 opened.  :func:`cases_by_patient_control_number` gives the same answer
from the imported 837 claims, for a caller that wants it.

Lines: :func:`match_lines` (pure) pairs each 835 service line (SVC) with a
billed line: by line item control number (REF*6R, which the payer echoes from
the 837's REF*6R) when both have one, else by procedure (the submitted code,
SVC06, when the payer changed it), modifiers and date of service, else by
procedure and modifiers when only one billed line has them.
:func:`apply_remittance_lines` writes what each matched SVC paid on the case's
line (paid added, signed for reversals; allowed, patient responsibility,
adjustments and remark codes), in bulk, and recomputes the cases' line
totals; :func:`line_comparison` gives a case's lines billed next to paid and
the underpayment against the line benchmark.

Where the 835 posting calls it: ``posting.post_plan``, right after
``_post_matched(plan, w)`` (cases' payments and totals written), with the
claims it matched to an existing case::

    from advocate.imports.claims837_match import apply_remittance_lines
    apply_remittance_lines(
        [(cp.case_id, cp.claim) for cp in plan.claims
         if cp.outcome == "matched" and cp.case_id is not None],
        tenant_id=tenant_id,
    )

(a case the 835 itself opened, ``cp.new_case``, already carries its lines as
paid: those claims are left out).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from advocate.cases.models import Case, ServiceLine
from advocate.db import utcnow
from advocate.extensions import db
from advocate.imports import era
from advocate.imports.bulk import amount_at_stake, chunks, in_values, update_by_id
from advocate.imports.claims837_models import X12Claim

__all__ = [
    "BilledLine",
    "LineComparison",
    "LineMatch",
    "apply_remittance_lines",
    "cases_by_patient_control_number",
    "line_comparison",
    "match_lines",
]

ZERO = Decimal("0.00")
IN_CHUNK = 10_000


@dataclass(frozen=True, slots=True)
class BilledLine:
    """A case line as billed: its number on the case and, from the 837, its control number."""

    line_no: int
    code: str
    modifiers: tuple[str, ...]
    service_date: date | None
    billed: Decimal
    control_number: str | None = None
    service_to: date | None = None


@dataclass(frozen=True, slots=True)
class LineMatch:
    svc_index: int  # position of the SVC in the 835 claim
    line_no: int | None  # the billed line, None when nothing matched
    how: str  # "control number", "procedure and date", "procedure", "none"


def _svc_procedure(ln: era.ServiceLine) -> era.ProcedureCode:
    # SVC06 holds the code as submitted when the payer paid under another one.
    return ln.original_procedure or ln.procedure


def _on(day: date | None, billed: BilledLine) -> bool:
    if day is None or billed.service_date is None:
        return day is None
    end = billed.service_to or billed.service_date
    return billed.service_date <= day <= end


def match_lines(
    svc_lines: Sequence[era.ServiceLine], billed: Sequence[BilledLine]
) -> list[LineMatch]:
    """Pair each SVC with at most one billed line, each billed line with at most one SVC."""
    taken: set[int] = set()
    out: list[LineMatch | None] = [None] * len(svc_lines)
    by_control = {b.control_number: b for b in billed if b.control_number}
    # Pass 1: line item control numbers (REF*6R) echoed by the payer.
    for i, ln in enumerate(svc_lines):
        b = by_control.get(ln.control_number) if ln.control_number else None
        if b is not None and b.line_no not in taken:
            taken.add(b.line_no)
            out[i] = LineMatch(i, b.line_no, "control number")
    # Pass 2: procedure, modifiers and date of service.
    for i, ln in enumerate(svc_lines):
        if out[i] is not None:
            continue
        p = _svc_procedure(ln)
        for b in billed:
            if b.line_no in taken or b.code != p.code or b.modifiers != tuple(p.modifiers):
                continue
            if _on(ln.start_date, b):
                taken.add(b.line_no)
                out[i] = LineMatch(i, b.line_no, "procedure and date")
                break
    # Pass 3: procedure and modifiers, when exactly one billed line is left with them.
    for i, ln in enumerate(svc_lines):
        if out[i] is not None:
            continue
        p = _svc_procedure(ln)
        left = [
            b
            for b in billed
            if b.line_no not in taken and b.code == p.code and b.modifiers == tuple(p.modifiers)
        ]
        if len(left) == 1:
            taken.add(left[0].line_no)
            out[i] = LineMatch(i, left[0].line_no, "procedure")
        else:
            out[i] = LineMatch(i, None, "none")
    return [m for m in out if m is not None]


def cases_by_patient_control_number(pcns: Sequence[str]) -> dict[str, int]:
    """CLP01 -> the case the 837 claim with that CLM01 opened or updated (the latest import wins)."""
    found: dict[str, int] = {}
    for chunk in chunks(sorted(set(pcns)), IN_CHUNK):
        rows = db.session.execute(
            select(X12Claim.patient_control_number, X12Claim.case_id)
            .where(in_values(X12Claim.patient_control_number, chunk), X12Claim.case_id.is_not(None))
            .order_by(X12Claim.id)
        )
        for pcn, case_id in rows:
            found[pcn] = case_id
    return found


def _billed_lines(case_ids: list[int]) -> dict[int, list[BilledLine]]:
    """Each case's lines, with the 837's line control numbers where an 837 billed them."""
    controls: dict[tuple[int, int], str] = {}
    ranges: dict[tuple[int, int], date] = {}
    lines: dict[int, list[tuple]] = defaultdict(list)
    for chunk in chunks(case_ids, IN_CHUNK):
        for case_id, data in db.session.execute(
            select(X12Claim.case_id, X12Claim.data)
            .where(in_values(X12Claim.case_id, chunk))
            .order_by(X12Claim.id)
        ):
            for item in (data or {}).get("lines") or []:
                if item.get("line_no") is None:
                    continue
                key = (case_id, int(item["line_no"]))
                if item.get("control_number"):
                    controls[key] = item["control_number"]
                if item.get("service_to"):
                    ranges[key] = date.fromisoformat(item["service_to"])
        for row in db.session.execute(
            select(
                ServiceLine.case_id, ServiceLine.line_no, ServiceLine.code, ServiceLine.modifiers,
                ServiceLine.service_date, ServiceLine.billed,
            ).where(in_values(ServiceLine.case_id, chunk))
        ):  # fmt: skip
            lines[row.case_id].append(row)
    out: dict[int, list[BilledLine]] = {}
    for case_id, rows in lines.items():
        out[case_id] = [
            BilledLine(
                r.line_no, r.code, tuple(r.modifiers or ()), r.service_date, r.billed,
                controls.get((case_id, r.line_no)), ranges.get((case_id, r.line_no)),
            )
            for r in sorted(rows, key=lambda r: r.line_no)
        ]  # fmt: skip
    return out


@dataclass
class LinePosting:
    lines_matched: int = 0
    lines_unmatched: int = 0
    cases: int = 0


def apply_remittance_lines(
    pairs: Sequence[tuple[int, era.Claim]], *, tenant_id: int
) -> LinePosting:
    """Write each matched SVC's payment on its case line (bulk; flushes, never commits)."""
    summary = LinePosting()
    if not pairs:
        return summary
    case_ids = sorted({case_id for case_id, _ in pairs})
    billed = _billed_lines(case_ids)
    ids: dict[tuple[int, int], int] = {}
    current: dict[tuple[int, int], tuple] = {}
    for chunk in chunks(case_ids, IN_CHUNK):
        for row in db.session.execute(
            select(
                ServiceLine.id, ServiceLine.case_id, ServiceLine.line_no, ServiceLine.paid,
                ServiceLine.allowed, ServiceLine.patient_resp, ServiceLine.adjustments,
                ServiceLine.remark_codes,
            ).where(in_values(ServiceLine.case_id, chunk))
        ):  # fmt: skip
            key = (row.case_id, row.line_no)
            ids[key] = row.id
            current[key] = (row.paid, row.allowed, row.patient_resp, list(row.adjustments or []),
                            list(row.remark_codes or []))  # fmt: skip
    changed: dict[tuple[int, int], list] = {}
    for case_id, claim in pairs:
        sign = -1 if claim.is_reversal else 1
        for m in match_lines(claim.lines, billed.get(case_id, [])):
            if m.line_no is None:
                summary.lines_unmatched += 1
                continue
            summary.lines_matched += 1
            key = (case_id, m.line_no)
            paid, allowed, resp, adjustments, remarks = changed.get(key) or list(current[key])
            ln = claim.lines[m.svc_index]
            paid += sign * abs(ln.paid) if claim.is_reversal else ln.paid
            if ln.allowed is not None and not claim.is_reversal:
                allowed = ln.allowed
            resp += sign * sum((a.amount for a in ln.adjustments if a.group == "PR"), ZERO)
            adjustments = adjustments + [
                {"group": a.group, "reason": a.reason, "amount": str(sign * a.amount)}
                for a in ln.adjustments
            ]
            remarks = remarks + [r for r in ln.remark_codes if r not in remarks]
            changed[key] = [paid, allowed, resp, adjustments, remarks]
    rows = [
        {"id": ids[key], "paid": v[0], "allowed": v[1], "patient_resp": v[2], "adjustments": v[3],
         "remark_codes": v[4]}
        for key, v in changed.items()
    ]  # fmt: skip
    update_by_id(ServiceLine, tenant_id, rows)
    touched = sorted({key[0] for key in changed})
    summary.cases = len(touched)
    _recompute_line_totals(touched, tenant_id)
    return summary


def _recompute_line_totals(case_ids: list[int], tenant_id: int) -> None:
    """recompute_totals' line sums (allowed, patient responsibility) and amount at stake."""
    from sqlalchemy import func

    now = utcnow()
    updates = []
    for chunk in chunks(case_ids, IN_CHUNK):
        sums = {
            cid: (allowed or ZERO, resp or ZERO)
            for cid, allowed, resp in db.session.execute(
                select(
                    ServiceLine.case_id,
                    func.sum(ServiceLine.allowed),
                    func.sum(ServiceLine.patient_resp),
                )
                .where(in_values(ServiceLine.case_id, chunk))
                .group_by(ServiceLine.case_id)
            )
        }
        for row in db.session.execute(
            select(
                Case.id,
                Case.billed_total,
                Case.expected_payment,
                Case.total_paid,
                Case.agreed_amount,
            ).where(in_values(Case.id, chunk))
        ):
            allowed, resp = sums.get(row.id, (ZERO, ZERO))
            allowed, resp = (
                Decimal(allowed).quantize(Decimal("0.01")),
                Decimal(resp).quantize(Decimal("0.01")),
            )
            updates.append(
                {
                    "id": row.id,
                    "allowed_total": allowed,
                    "patient_resp_total": resp,
                    "amount_at_stake": amount_at_stake(
                        row.billed_total,
                        row.expected_payment,
                        row.total_paid,
                        resp,
                        row.agreed_amount,
                    ),
                    "updated_at": now,
                }
            )
    update_by_id(Case, tenant_id, updates)


@dataclass(frozen=True, slots=True)
class LineComparison:
    line_no: int
    code: str
    modifiers: tuple[str, ...]
    service_date: date | None
    control_number: str | None
    billed: Decimal
    allowed: Decimal | None
    paid: Decimal
    benchmark: Decimal | None  # the line benchmark's expected payment
    underpayment: Decimal | None  # benchmark - paid, when there is a benchmark


def line_comparison(case_id: int) -> list[LineComparison]:
    """A case's lines: billed (as the 837 sent them) next to paid, and the
    underpayment against the line benchmark (expected payment)."""
    from advocate.rates.models import LineBenchmark

    expected = dict(
        db.session.execute(
            select(LineBenchmark.line_no, LineBenchmark.expected).where(
                LineBenchmark.case_id == case_id
            )
        ).all()
    )
    billed = {b.line_no: b for b in _billed_lines([case_id]).get(case_id, [])}
    out = []
    for ln in db.session.scalars(
        select(ServiceLine).where(ServiceLine.case_id == case_id).order_by(ServiceLine.line_no)
    ):
        bench = expected.get(ln.line_no)
        b = billed.get(ln.line_no)
        out.append(
            LineComparison(
                ln.line_no, ln.code, tuple(ln.modifiers or ()), ln.service_date,
                b.control_number if b else None, ln.billed, ln.allowed, ln.paid, bench,
                (bench - ln.paid) if bench is not None else None,
            )
        )  # fmt: skip
    return out
