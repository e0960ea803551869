"""A practice's fee statement for a period, as figures and as a PDF printed by
the letters engine (``advocate/letters/typst/statement.typ``).

The account it states, from the ledger and the invoices:

* opening balance: fees earned before the period (every ledger entry, so
  reversals, adjustments and write-offs count) less the payments the firm
  received before it (invoices paid, by the firm's local date of payment);
* fees earned in the period, case by case (recovered money, terms, the fee its
  payments earned, manual adjustments and write-offs);
* payments received in the period (each invoice paid);
* closing balance = opening + fees - payments.

A fixed number of queries whatever the period's size. No patient data: case
references, payers and amounts only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from advocate.billing.invoicing import month_bounds
from advocate.billing.models import PAYMENT_KINDS, ZERO, FeeLedgerEntry, Invoice
from advocate.cases.models import Case, Payment
from advocate.extensions import db
from advocate.payers.models import Payer
from advocate.practices.models import Practice

CENT = Decimal("0.01")
EARLIEST = date(2000, 1, 1)
MAX_DAYS = 3660  # ten years


class StatementError(ValueError):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


@dataclass
class CaseRow:
    case_id: int
    reference: str
    payer: str
    recovered: Decimal = ZERO
    fees: Decimal = ZERO  # what its payments earned (accruals and reversals)
    adjustments: Decimal = ZERO  # manual adjustments and write-offs
    terms: set = field(default_factory=set)

    @property
    def net(self) -> Decimal:
        return self.fees + self.adjustments

    @property
    def terms_label(self) -> str:
        if not self.terms:
            return "—"
        if len(self.terms) > 1:
            return "mixed"
        percent, basis = next(iter(self.terms))
        return f"{percent:.2f}% {basis}"


@dataclass
class Receipt:
    invoice_id: int
    number: str
    label: str
    issued_on: date
    paid_on: date
    amount: Decimal


@dataclass
class FeeStatement:
    practice: Practice
    start: date
    end: date
    issued_on: date
    opening: Decimal
    cases: list[CaseRow]
    receipts: list[Receipt]

    @property
    def fees(self) -> Decimal:
        return sum((c.net for c in self.cases), ZERO)

    @property
    def recovered(self) -> Decimal:
        return sum((c.recovered for c in self.cases), ZERO)

    @property
    def payments(self) -> Decimal:
        return sum((r.amount for r in self.receipts), ZERO)

    @property
    def closing(self) -> Decimal:
        return self.opening + self.fees - self.payments


# --------------------------------------------------------------------------- the period


def default_period(today: date) -> tuple[date, date]:
    """The last complete month."""
    return month_bounds(today.replace(day=1) - timedelta(days=1))


def parse_period(start_raw: str | None, end_raw: str | None, today: date) -> tuple[date, date]:
    """``start``/``end`` as YYYY-MM-DD; either missing: the last complete month."""
    if not (start_raw or "").strip() and not (end_raw or "").strip():
        return default_period(today)
    out = []
    for name, raw in (("start", start_raw), ("end", end_raw)):
        try:
            day = date.fromisoformat((raw or "").strip())
        except ValueError:
            raise StatementError(name, "Enter a date as YYYY-MM-DD.") from None
        if day < EARLIEST:
            raise StatementError(name, f"Enter a date from {EARLIEST:%Y} on.")
        out.append(day)
    start, end = out
    if end < start:
        raise StatementError("end", "The end of the period is before its start.")
    if (end - start).days > MAX_DAYS:
        raise StatementError("end", "A statement covers at most ten years.")
    return start, end


def _utc_bounds(start: date, end: date, tz_name: str | None) -> tuple[datetime, datetime]:
    """The firm's local midnights that open and close the period, in UTC."""
    try:
        tz = ZoneInfo(tz_name) if tz_name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    lo = datetime.combine(start, time(0), tz).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time(0), tz).astimezone(UTC)
    return lo, hi


def _local_date(ts: datetime, tz_name: str | None) -> date:
    try:
        tz = ZoneInfo(tz_name) if tz_name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    return ts.astimezone(tz).date()


# --------------------------------------------------------------------------- the figures


def build_statement(
    practice: Practice, start: date, end: date, *, tenant, today: date
) -> FeeStatement:
    tz_name = getattr(tenant, "timezone", None)
    lo, hi = _utc_bounds(start, end, tz_name)
    fees_before = db.session.scalar(
        select(func.coalesce(func.sum(FeeLedgerEntry.amount), 0)).where(
            FeeLedgerEntry.practice_id == practice.id, FeeLedgerEntry.effective_on < start
        )
    )
    paid_before = db.session.scalar(
        select(func.coalesce(func.sum(Invoice.amount_paid), 0)).where(
            Invoice.practice_id == practice.id, Invoice.status == "paid", Invoice.paid_at < lo
        )
    )
    opening = (Decimal(fees_before) - Decimal(paid_before)).quantize(CENT)

    entries = db.session.execute(
        select(
            FeeLedgerEntry.case_id,
            FeeLedgerEntry.payment_id,
            FeeLedgerEntry.kind,
            FeeLedgerEntry.amount,
            FeeLedgerEntry.recovery,
            FeeLedgerEntry.percent,
            FeeLedgerEntry.basis,
        )
        .where(
            FeeLedgerEntry.practice_id == practice.id,
            FeeLedgerEntry.effective_on >= start,
            FeeLedgerEntry.effective_on <= end,
        )
        .order_by(FeeLedgerEntry.id)
    ).all()
    case_ids = sorted({e.case_id for e in entries})
    payment_ids = sorted({e.payment_id for e in entries if e.payment_id})
    initial_ids = (
        set(
            db.session.scalars(
                select(Payment.id).where(Payment.id.in_(payment_ids), Payment.is_initial.is_(True))
            )
        )
        if payment_ids
        else set()
    )
    rows: dict[int, CaseRow] = {}
    if case_ids:
        for cid, number, payer in db.session.execute(
            select(Case.id, Case.number, Payer.name)
            .join(Payer, Payer.id == Case.payer_id)
            .where(Case.id.in_(case_ids))
        ):
            rows[cid] = CaseRow(cid, f"C-{number:06d}", payer)
    for e in entries:
        row = rows[e.case_id]
        if e.kind in PAYMENT_KINDS:
            row.fees += e.amount
            if e.payment_id not in initial_ids:
                row.recovered += e.recovery or ZERO
            if e.amount != 0 and e.percent is not None:
                row.terms.add((e.percent, e.basis or ""))
        else:
            row.adjustments += e.amount

    paid = db.session.execute(
        select(
            Invoice.id,
            Invoice.number,
            Invoice.kind,
            Invoice.period_start,
            Invoice.case_id,
            Invoice.issued_on,
            Invoice.paid_at,
            Invoice.amount_paid,
        )
        .where(
            Invoice.practice_id == practice.id,
            Invoice.status == "paid",
            Invoice.paid_at >= lo,
            Invoice.paid_at < hi,
        )
        .order_by(Invoice.paid_at, Invoice.id)
    ).all()
    settled = sorted({p.case_id for p in paid if p.case_id and p.case_id not in rows})
    numbers = {cid: r.reference for cid, r in rows.items()}
    if settled:
        numbers.update(
            (cid, f"C-{n:06d}")
            for cid, n in db.session.execute(
                select(Case.id, Case.number).where(Case.id.in_(settled))
            )
        )
    receipts = []
    for p in paid:
        if p.kind == "monthly" and p.period_start:
            label = f"Monthly statement, {p.period_start:%B %Y}"
        else:
            label = f"Settlement, case {numbers.get(p.case_id, '—')}"
        receipts.append(
            Receipt(
                p.id,
                p.number or f"#{p.id}",
                label,
                p.issued_on,
                _local_date(p.paid_at, tz_name),
                Decimal(p.amount_paid),
            )
        )
    cases = sorted(rows.values(), key=lambda r: r.reference)
    return FeeStatement(practice, start, end, today, opening, cases, receipts)


# --------------------------------------------------------------------------- the PDF


def document(st: FeeStatement, tenant) -> dict:
    """The JSON document ``statement.typ`` prints."""
    from advocate.letters.document import letterhead, long_date, money, short_date

    p = st.practice
    period = f"{long_date(st.start)} – {long_date(st.end)}"
    city = ", ".join(x for x in (p.city, " ".join(x for x in (p.state, p.zip) if x)) if x)
    case_table = {
        "columns": ["Case", "Payer", "Recovered", "Terms", "Fee earned", "Adjustments", "Net fee"],
        "widths": ["auto", "1fr", "auto", "auto", "auto", "auto", "auto"],
        "numeric": [False, False, True, False, True, True, True],
        "rows": [
            [
                c.reference,
                c.payer,
                money(c.recovered),
                c.terms_label,
                money(c.fees),
                money(c.adjustments),
                money(c.net),
            ]
            for c in st.cases
        ],
        "totals": [
            "Total",
            f"{len(st.cases)} case{'s' if len(st.cases) != 1 else ''}",
            money(st.recovered),
            "",
            money(sum((c.fees for c in st.cases), ZERO)),
            money(sum((c.adjustments for c in st.cases), ZERO)),
            money(st.fees),
        ],
    }
    receipts_table = {
        "columns": ["Invoice", "For", "Issued", "Paid", "Amount"],
        "widths": ["auto", "1fr", "auto", "auto", "auto"],
        "numeric": [False, False, False, False, True],
        "rows": [
            [r.number, r.label, short_date(r.issued_on), short_date(r.paid_on), money(r.amount)]
            for r in st.receipts
        ],
        "totals": ["Total", "", "", "", money(st.payments)],
    }
    return {
        "title": f"Fee statement, {p.name}, {period}",
        "footer": f"Fee statement · {p.name} · {period}",
        "letterhead": letterhead(tenant),
        "recipient": [x for x in (p.name, p.address_line1, p.address_line2, city) if x],
        "references": [
            ["Statement date", long_date(st.issued_on)],
            ["Period", period],
            ["Practice NPI", p.npi],
        ],
        "subject": "Contingency fee statement",
        "summary": [
            [f"Opening balance on {long_date(st.start)}", money(st.opening)],
            ["Fees earned in the period", money(st.fees)],
            ["Payments received in the period", money(-st.payments)],
            [f"Balance on {long_date(st.end)}", money(st.closing)],
        ],
        "sections": [
            {
                "heading": "Fees earned, by case",
                "table": case_table,
                "empty": "No fees were earned in this period.",
            },
            {
                "heading": "Payments received",
                "table": receipts_table,
                "empty": "No payments were received in this period.",
            },
        ],
        "notes": [
            "Fees are earned when a payer's payment arrives, at the terms of the fee agreement "
            "in force on the payment's date; on an incremental basis only what was recovered "
            "above the payer's initial payment counts. A payer's recoupment reverses the fee "
            "it had earned. The balance includes fees not yet invoiced.",
        ],
    }


def render(st: FeeStatement, tenant) -> bytes:
    from advocate.letters.render import STATEMENT_LAYOUT, render_pdf

    return render_pdf(document(st, tenant), STATEMENT_LAYOUT)


def filename(st: FeeStatement) -> str:
    return f"fee-statement-{st.practice.npi}-{st.start:%Y%m%d}-{st.end:%Y%m%d}.pdf"
