"""The fee ledger: what each payment earned the firm, written once.

``accrue_cases(tenant_id, case_ids)`` is called after payments are posted (a
typed payment, an 835 remittance, a settlement): for every payment of those
cases that has no ledger entry yet it writes one accrual (or, for money taken
back, one reversal).  The amount is the change it makes to the case's fee as
``billing.fees`` computes it from the case's payments under the agreement in
force on each payment's date, so the sum of a case's payment entries is
always exactly ``cumulative_fee`` of the payments ledgered so far.  It is
set-based (a few queries per thousand cases) and idempotent: a payment already
ledgered is skipped, and a unique index refuses a second entry for it.

A payment dated before the case's earlier payments (back-dated) is ledgered
as the difference it makes to the whole case, so history is never rewritten.
A payment that needs an agreement and has none in force stays unledgered
(``pending``); the next run, after an agreement is added, picks it up.

Manual ``adjustment`` and ``write_off`` entries need a reason and are audited.
Services flush and never commit.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, func, select

from advocate.audit.services import audit
from advocate.billing import fees
from advocate.billing.models import (
    MANUAL_KINDS,
    PAYMENT_KINDS,
    ZERO,
    FeeLedgerEntry,
    Invoice,
    InvoiceEntry,
)
from advocate.cases.models import Case, Payment
from advocate.db import utcnow
from advocate.extensions import db
from advocate.practices.models import FeeAgreement

CHUNK = 1000
CENT = Decimal("0.01")


class LedgerError(ValueError):
    """Input refused; ``errors`` lists ``(field, message)`` pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))


@dataclass
class AccrualRun:
    entries: int = 0
    total: Decimal = ZERO
    pending_case_ids: list[int] = field(default_factory=list)


@dataclass
class _Agreements:
    """One practice's agreement versions, for the resolver and the entry's terms."""

    dates: list[date]
    rows: list  # FeeAgreement rows, by effective date

    def on(self, day: date):
        i = bisect.bisect_right(self.dates, day) - 1
        return self.rows[i] if i >= 0 else None

    def resolver(self) -> fees.AgreementResolver:
        return fees.agreement_resolver((r.effective_date, r.terms) for r in self.rows)


def _chunks(values: list[int], size: int = CHUNK) -> Iterable[list[int]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _ordered(payments: list) -> list:
    """The case's payments as the fee function needs them: the initial payment
    first, then by date and id."""
    initial = [p for p in payments if p.is_initial][:1]
    rest = sorted((p for p in payments if p not in initial), key=lambda p: (p.paid_on, p.id))
    return initial + rest


def _fee_payments(payments: list) -> list[fees.Payment]:
    """fees.Payment values in order; a payment dated before the initial one
    counts from the initial payment's date (the fee function needs date order)."""
    out: list[fees.Payment] = []
    floor: date | None = None
    for p in payments:
        day = p.paid_on if floor is None or p.paid_on >= floor else floor
        floor = day
        out.append(
            fees.Payment(
                id=p.id,
                date=day,
                amount=Decimal(p.amount).quantize(CENT),
                is_initial=bool(p.is_initial) and not out,
            )
        )
    return out


def accrue_cases(
    tenant_id: int, case_ids: Iterable[int], *, actor_id: int | None = None
) -> AccrualRun:
    """Write the ledger entries of every not-yet-ledgered payment of these cases."""
    run = AccrualRun()
    ids = sorted({int(c) for c in case_ids if c is not None})
    for chunk in _chunks(ids):
        _accrue_chunk(tenant_id, chunk, actor_id, run)
    return run


def _accrue_chunk(tenant_id: int, case_ids: list[int], actor_id: int | None, run: AccrualRun):
    # One bound array per list on PostgreSQL (``= ANY``), and the entries as one
    # json_populate_recordset INSERT: the bulk paths the importers use.
    from advocate.imports.bulk import in_values, insert_rows

    # Row locks (PostgreSQL): two runs for one case cannot both compute its next entry.
    practice_of = dict(
        db.session.execute(
            select(Case.id, Case.practice_id).where(in_values(Case.id, case_ids)).with_for_update()
        ).all()
    )
    if not practice_of:
        return
    payments: dict[int, list] = defaultdict(list)
    for row in db.session.execute(
        select(Payment.id, Payment.case_id, Payment.paid_on, Payment.amount, Payment.is_initial)
        .where(in_values(Payment.case_id, list(practice_of)))
        .order_by(Payment.case_id, Payment.paid_on, Payment.id)
    ):
        payments[row.case_id].append(row)
    ledgered: dict[int, set[int]] = defaultdict(set)
    booked: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in db.session.execute(
        select(FeeLedgerEntry.case_id, FeeLedgerEntry.payment_id, FeeLedgerEntry.amount).where(
            in_values(FeeLedgerEntry.case_id, list(practice_of)),
            FeeLedgerEntry.kind.in_(PAYMENT_KINDS),
        )
    ):
        ledgered[row.case_id].add(row.payment_id)
        booked[row.case_id] += row.amount
    todo = [
        cid for cid in practice_of if any(p.id not in ledgered[cid] for p in payments.get(cid, []))
    ]
    if not todo:
        return
    practice_ids = sorted({practice_of[cid] for cid in todo})
    versions: dict[int, _Agreements] = {}
    by_practice: dict[int, list] = defaultdict(list)
    for agreement in db.session.scalars(
        select(FeeAgreement)
        .where(in_values(FeeAgreement.practice_id, practice_ids))
        .order_by(FeeAgreement.practice_id, FeeAgreement.effective_date)
    ):
        by_practice[agreement.practice_id].append(agreement)
    for pid in practice_ids:
        rows = by_practice.get(pid, [])
        versions[pid] = _Agreements([r.effective_date for r in rows], rows)
    resolvers = {pid: v.resolver() for pid, v in versions.items()}  # pure: one per practice

    now = utcnow()
    new_rows: list[dict] = []
    for cid in sorted(todo):
        practice_id = practice_of[cid]
        agreements = versions[practice_id]
        resolve = resolvers[practice_id]
        ordered = _ordered(payments[cid])
        fee_pays = _fee_payments(ordered)
        included = set(ledgered[cid])
        running = booked[cid]
        for source, fp in zip(ordered, fee_pays, strict=True):
            if source.id in included:
                continue
            included.add(source.id)
            subset = [q for q in fee_pays if q.id in included]
            try:
                last = fees.accrue(subset, resolve)[-1]
            except LookupError:
                run.pending_case_ids.append(cid)
                break
            amount = last.cumulative_fee - running
            running = last.cumulative_fee
            agreement = agreements.on(source.paid_on)
            new_rows.append(
                {
                    "tenant_id": tenant_id,
                    "practice_id": practice_id,
                    "case_id": cid,
                    "payment_id": source.id,
                    "kind": "reversal" if source.amount < 0 else "accrual",
                    "amount": amount,
                    "effective_on": source.paid_on,
                    "recovery": fp.amount,
                    "fee_base": last.fee_base,
                    "cumulative_fee": last.cumulative_fee,
                    "percent": agreement.percent if agreement is not None else None,
                    "basis": agreement.basis if agreement is not None else None,
                    "agreement_id": agreement.id if agreement is not None else None,
                    "explanation": last.explanation[:500],
                    "reason": None,
                    "created_by_id": actor_id,
                    "created_at": now,
                }
            )
            run.entries += 1
            run.total += amount
    if new_rows:
        insert_rows(FeeLedgerEntry, new_rows)


def accrue_pending(tenant_id: int, *, actor_id: int | None = None) -> AccrualRun:
    """Ledger every payment of the firm that has no entry yet (after an
    agreement was added, or a backfill): one anti-join, then ``accrue_cases``."""
    entry = select(FeeLedgerEntry.id).where(
        FeeLedgerEntry.payment_id == Payment.id, FeeLedgerEntry.kind.in_(PAYMENT_KINDS)
    )
    case_ids = db.session.scalars(select(Payment.case_id).where(~entry.exists()).distinct()).all()
    run = accrue_cases(tenant_id, case_ids, actor_id=actor_id)
    if run.entries:
        audit(
            "fee_ledger.accrued",
            object_type="fee_ledger_entries",
            details={"entries": run.entries, "total": str(run.total), "cases": len(case_ids)},
            user_id=actor_id,
        )
    return run


# --------------------------------------------------------------------------- manual entries


def _parse_amount(raw: object, errors: list[tuple[str, str]]) -> Decimal | None:
    if isinstance(raw, Decimal):
        value = raw
    else:
        text = str(raw or "").strip().replace(",", "").replace("$", "")
        if not text:
            errors.append(("amount", "Enter an amount."))
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            errors.append(("amount", "Enter an amount like 125.00 or -40.00."))
            return None
    if not value.is_finite() or value != value.quantize(CENT):
        errors.append(("amount", "The amount must be in whole cents."))
        return None
    if value == 0:
        errors.append(("amount", "The amount cannot be zero."))
        return None
    if abs(value) >= Decimal("10000000000"):
        errors.append(("amount", "The amount is too large."))
        return None
    return value


def case_balance(case_id: int) -> Decimal:
    """The case's fee to date: every entry's sum."""
    return (
        db.session.scalar(
            select(func.coalesce(func.sum(FeeLedgerEntry.amount), 0)).where(
                FeeLedgerEntry.case_id == case_id
            )
        )
        or ZERO
    )


def add_manual_entry(
    case: Case,
    *,
    kind: str,
    amount: object,
    reason: str | None,
    effective_on: date,
    actor_id: int | None,
) -> FeeLedgerEntry:
    """An adjustment (either sign) or a write-off (takes fee back: stored negative)."""
    errors: list[tuple[str, str]] = []
    if kind not in MANUAL_KINDS:
        errors.append(("kind", "Choose an adjustment or a write-off."))
    value = _parse_amount(amount, errors)
    reason = (reason or "").strip()
    if not reason:
        errors.append(("reason", "Give the reason for this entry."))
    elif len(reason) > 2000:
        errors.append(("reason", "The reason is longer than 2000 characters."))
    if value is not None and kind == "write_off":
        value = -abs(value)
        balance = case_balance(case.id)
        if -value > balance:
            errors.append(
                ("amount", f"A write-off cannot exceed the case's fee balance of {balance:,.2f}.")
            )
    if errors:
        raise LedgerError(errors)
    entry = FeeLedgerEntry(
        tenant_id=case.tenant_id,
        practice_id=case.practice_id,
        case_id=case.id,
        payment_id=None,
        kind=kind,
        amount=value,
        effective_on=effective_on,
        explanation=("Written off" if kind == "write_off" else "Manual adjustment"),
        reason=reason,
        created_by_id=actor_id,
    )
    db.session.add(entry)
    db.session.flush()
    audit(
        f"fee_ledger.{kind}",
        entry,
        details={"case_id": case.id, "amount": str(value), "practice_id": case.practice_id},
        user_id=actor_id,
    )
    return entry


# --------------------------------------------------------------------------- queries


def practice_entries_query(practice_id: int):
    return (
        select(FeeLedgerEntry)
        .where(FeeLedgerEntry.practice_id == practice_id)
        .order_by(FeeLedgerEntry.effective_on.desc(), FeeLedgerEntry.id.desc())
    )


def practice_totals(practice_id: int) -> dict[str, Decimal]:
    """Fee earned (net), by kind, for a practice, in one query."""
    rows = db.session.execute(
        select(FeeLedgerEntry.kind, func.coalesce(func.sum(FeeLedgerEntry.amount), 0))
        .where(FeeLedgerEntry.practice_id == practice_id)
        .group_by(FeeLedgerEntry.kind)
    ).all()
    totals = {kind: Decimal(total).quantize(CENT) for kind, total in rows}
    totals["net"] = sum(totals.values(), ZERO)
    return totals


def billed_entry_ids() -> select:
    """Entries on an invoice that is not void."""
    return (
        select(InvoiceEntry.entry_id)
        .join(Invoice, Invoice.id == InvoiceEntry.invoice_id)
        .where(Invoice.status != "void")
    )


def unbilled_entries_query(practice_id: int, *, through: date | None = None):
    conditions = [
        FeeLedgerEntry.practice_id == practice_id,
        FeeLedgerEntry.id.not_in(billed_entry_ids()),
    ]
    if through is not None:
        conditions.append(FeeLedgerEntry.effective_on <= through)
    return select(FeeLedgerEntry).where(and_(*conditions)).order_by(FeeLedgerEntry.id)
