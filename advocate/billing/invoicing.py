"""Invoices to practices for the fees the ledger holds, on the firm's Stripe.

Two steps, so a crash or a Stripe outage can never bill twice:

1. ``prepare_invoices`` writes the invoices the practice's cadence calls for
   (status ``pending``) with their lines, one per case, and the ledger entries
   they bill.  Each has a business key: ``t<firm>:p<practice>:settlement:
   c<case>:e<last entry>`` or ``t<firm>:p<practice>:monthly:<YYYY-MM>`` (with
   ``:r<n>`` after ``n`` voided attempts), unique per firm.
2. ``issue_invoice`` creates the customer, the invoice and its items, then
   finalizes and sends it, each call with an idempotency key derived from the
   business key: a retry (after a timeout, a crash, or a rolled-back
   transaction) gets Stripe's first answer back, never a second invoice.
   Stripe keeps idempotency keys for 24 hours only: an invoice prepared longer
   ago than ``LOOKUP_AFTER`` that has no Stripe id yet is first looked up on
   Stripe by its business key (metadata ``advocate_business_key``: search, or
   the customer's invoices where search is not offered), and its lines matched
   to the remote items by case, so a late retry adopts what an earlier attempt
   made instead of making it again.

Entries whose invoice is voided are unbilled again; a case or month whose net
fee is not positive is not invoiced (it nets against later fees).
Services flush and never commit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import stripe
from sqlalchemy import func, select

from advocate.audit.services import audit
from advocate.billing import ledger
from advocate.billing.models import (
    PAYMENT_KINDS,
    STATUS_RANK,
    ZERO,
    FeeLedgerEntry,
    Invoice,
    InvoiceEntry,
    InvoiceLine,
    StripeAccount,
    StripeCustomer,
)
from advocate.billing.stripe_api import FirmStripe, firm_stripe, idempotency_key
from advocate.cases.models import Case, Payment
from advocate.extensions import db
from advocate.practices.models import Practice
from advocate.practices.services import agreement_on

CENT = Decimal("0.01")
# Stripe honours an idempotency key for at least 24 hours after its first use,
# and its search index lags by at most about an hour: an invoice prepared less
# than this long ago cannot have had an attempt whose key is forgotten.
LOOKUP_AFTER = timedelta(hours=12)


class InvoicingError(ValueError):
    pass


def cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1)))


def dollars(value: int | None) -> Decimal:
    return (Decimal(value or 0) / 100).quantize(CENT)


def month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


@dataclass
class _Group:
    kind: str
    key: str
    entries: list[FeeLedgerEntry]
    case_id: int | None = None
    period: tuple[date, date] | None = None

    @property
    def total(self) -> Decimal:
        return sum((e.amount for e in self.entries), ZERO)


def _attempt_suffix(tenant_id: int, base_key: str) -> str:
    """``:r<n>`` after n voided invoices for the same business identity."""
    voided = db.session.scalar(
        select(func.count())
        .select_from(Invoice)
        .where(
            Invoice.status == "void",
            (Invoice.business_key == base_key) | Invoice.business_key.like(base_key + ":r%"),
        )
    )
    return f":r{voided}" if voided else ""


def _groups(tenant_id: int, practice_id: int, cadence: str, today: date) -> list[_Group]:
    base = f"t{tenant_id}:p{practice_id}"
    if cadence == "monthly":
        # The last complete month: everything unbilled up to its end.
        period = month_bounds(today.replace(day=1) - timedelta(days=1))
        entries = list(
            db.session.scalars(ledger.unbilled_entries_query(practice_id, through=period[1]))
        )
        if not entries:
            return []
        key = f"{base}:monthly:{period[0]:%Y-%m}"
        existing = db.session.scalar(
            select(Invoice.id).where(Invoice.business_key.like(key + "%"), Invoice.status != "void")
        )
        if existing is not None:
            return []  # this month is billed; leftovers roll into the next statement
        return [_Group("monthly", key + _attempt_suffix(tenant_id, key), entries, period=period)]
    by_case: dict[int, list[FeeLedgerEntry]] = defaultdict(list)
    for entry in db.session.scalars(ledger.unbilled_entries_query(practice_id)):
        by_case[entry.case_id].append(entry)
    groups = []
    for case_id, entries in sorted(by_case.items()):
        key = f"{base}:settlement:c{case_id}:e{max(e.id for e in entries)}"
        groups.append(
            _Group("settlement", key + _attempt_suffix(tenant_id, key), entries, case_id=case_id)
        )
    return groups


def _line_for(case: Case, entries: list[FeeLedgerEntry], initial_ids: set[int]) -> dict:
    payment_entries = [e for e in entries if e.kind in PAYMENT_KINDS]
    # The payer's initial payment is the baseline, not a recovery.
    recovery = sum(
        (e.recovery or ZERO for e in payment_entries if e.payment_id not in initial_ids), ZERO
    )
    amount = sum((e.amount for e in entries), ZERO)
    charged = [e for e in payment_entries if e.amount != 0] or payment_entries
    percents = {e.percent for e in charged if e.percent is not None}
    bases = {e.basis for e in charged if e.basis}
    percent = percents.pop() if len(percents) == 1 else None
    basis = bases.pop() if len(bases) == 1 else None
    parts = [f"Case {case.reference}: recovered {recovery:,.2f}"]
    if basis:
        parts.append(f"{basis} basis")
    parts.append(f"{percent:.2f}%" if percent is not None else "mixed rates")
    if any(e.kind not in PAYMENT_KINDS for e in entries):
        parts.append("includes adjustments")
    return {
        "case_id": case.id,
        "case_number": case.reference,
        "recovery": recovery,
        "basis": basis,
        "percent": percent,
        "amount": amount,
        "description": ", ".join(parts)[:500],
    }


def prepare_invoices(
    tenant_id: int, practice: Practice, *, today: date, actor_id: int | None
) -> list[Invoice]:
    """Write the pending invoices the practice's cadence calls for today."""
    agreement = agreement_on(practice.id, today)
    cadence = agreement.billing_cadence if agreement is not None else "per_settlement"
    groups = [g for g in _groups(tenant_id, practice.id, cadence, today) if g.total > 0]
    if not groups:
        return []
    case_ids = {e.case_id for g in groups for e in g.entries}
    cases = {c.id: c for c in db.session.scalars(select(Case).where(Case.id.in_(sorted(case_ids))))}
    payment_ids = sorted({e.payment_id for g in groups for e in g.entries if e.payment_id})
    initial_ids = (
        set(
            db.session.scalars(
                select(Payment.id).where(Payment.id.in_(payment_ids), Payment.is_initial.is_(True))
            )
        )
        if payment_ids
        else set()
    )
    account = db.session.scalar(select(StripeAccount))
    days = account.days_until_due if account is not None else 30
    invoices = []
    for group in groups:
        by_case: dict[int, list[FeeLedgerEntry]] = defaultdict(list)
        for entry in group.entries:
            by_case[entry.case_id].append(entry)
        invoice = Invoice(
            tenant_id=tenant_id,
            practice_id=practice.id,
            kind=group.kind,
            business_key=group.key,
            period_start=group.period[0] if group.period else None,
            period_end=group.period[1] if group.period else None,
            case_id=group.case_id,
            issued_on=today,
            status="pending",
            total=group.total,
            amount_remaining=group.total,
            due_on=today + timedelta(days=days),
            created_by_id=actor_id,
        )
        db.session.add(invoice)
        db.session.flush()
        for case_id, entries in sorted(by_case.items()):
            line = InvoiceLine(
                tenant_id=tenant_id,
                invoice_id=invoice.id,
                **_line_for(cases[case_id], entries, initial_ids),
            )
            db.session.add(line)
            db.session.flush()
            db.session.add_all(
                InvoiceEntry(
                    tenant_id=tenant_id, invoice_id=invoice.id, line_id=line.id, entry_id=e.id
                )
                for e in entries
            )
        db.session.flush()
        audit(
            "invoice.prepared",
            invoice,
            details={
                "practice_id": practice.id,
                "total": str(group.total),
                "kind": group.kind,
                "lines": len(by_case),
            },
            user_id=actor_id,
        )
        invoices.append(invoice)
    return invoices


def ensure_customer(tenant_id: int, practice: Practice, fs: FirmStripe) -> str:
    row = db.session.scalar(select(StripeCustomer).where(StripeCustomer.practice_id == practice.id))
    if row is not None and row.account_id == fs.account_id:
        return row.customer_id
    # An earlier attempt may have made the customer and lost its commit; after
    # 24 hours Stripe has forgotten the idempotency key, so look it up first.
    customer = find_remote_customer(fs, tenant_id, practice.id) or fs.client.v1.customers.create(
        {
            "name": practice.name,
            "description": f"Practice NPI {practice.npi}",
            "metadata": {"advocate_tenant": str(tenant_id), "advocate_practice": str(practice.id)},
        },
        fs.options(
            idempotency_key(f"t{tenant_id}", f"p{practice.id}", "customer", fs.account_id or "own")
        ),
    )
    if row is None:
        row = StripeCustomer(
            tenant_id=tenant_id,
            practice_id=practice.id,
            customer_id=customer.id,
            account_id=fs.account_id,
        )
        db.session.add(row)
    else:
        row.customer_id, row.account_id = customer.id, fs.account_id
    db.session.flush()
    return customer.id


def _metadata(obj) -> dict:
    meta = getattr(obj, "metadata", None)
    return meta.to_dict() if meta is not None else {}


def find_remote_customer(fs: FirmStripe, tenant_id: int, practice_id: int):
    """The customer an earlier attempt made on the firm's Stripe for this
    practice, or None: Stripe's search on the metadata, else (where search is
    not offered) the account's customers, every page."""
    want = {"advocate_tenant": str(tenant_id), "advocate_practice": str(practice_id)}
    try:
        found = fs.client.v1.customers.search(
            {"query": " AND ".join(f"metadata['{k}']:'{v}'" for k, v in want.items()), "limit": 10},
            fs.options(),
        ).data
    except stripe.InvalidRequestError:
        found = fs.client.v1.customers.list({"limit": 100}, fs.options()).auto_paging_iter()
    for obj in found:
        meta = _metadata(obj)
        if all(meta.get(k) == v for k, v in want.items()) and not getattr(obj, "deleted", False):
            return obj
    return None


def find_remote_invoice(fs: FirmStripe, customer_id: str, business_key: str):
    """The invoice an earlier attempt made on the firm's Stripe for this business
    key, or None: Stripe's search on the metadata, else (where search is not
    offered) the customer's invoices, every page."""
    quoted = business_key.replace("\\", "\\\\").replace("'", "\\'")
    try:
        found = fs.client.v1.invoices.search(
            {"query": f"metadata['advocate_business_key']:'{quoted}'", "limit": 10},
            fs.options(),
        ).data
    except stripe.InvalidRequestError:
        found = fs.client.v1.invoices.list(
            {"customer": customer_id, "limit": 100}, fs.options()
        ).auto_paging_iter()
    matches = [obj for obj in found if _metadata(obj).get("advocate_business_key") == business_key]
    live = [obj for obj in matches if obj.status != "void"]
    return (live or matches or [None])[0]


def _match_remote_items(fs: FirmStripe, stripe_invoice_id: str, lines: list[InvoiceLine]) -> None:
    """Take the ids of the items an earlier attempt added, matched by case."""
    by_case: dict[str, str] = {}
    for item in fs.client.v1.invoices.line_items.list(
        stripe_invoice_id, {"limit": 100}, fs.options()
    ).auto_paging_iter():
        parent = getattr(item, "parent", None)
        details = getattr(parent, "invoice_item_details", None) if parent else None
        item_id = getattr(details, "invoice_item", None) if details else None
        case = _metadata(item).get("advocate_case")
        if item_id and case:
            by_case.setdefault(case, item_id)
    for line in lines:
        if line.stripe_invoice_item_id is None and str(line.case_id) in by_case:
            line.stripe_invoice_item_id = by_case[str(line.case_id)]


def _is_late(invoice: Invoice) -> bool:
    """Prepared so long ago that an earlier attempt's idempotency keys may be gone."""
    created = invoice.created_at
    return created is None or datetime.now(UTC) - created >= LOOKUP_AFTER


def issue_invoice(invoice: Invoice, *, actor_id: int | None = None) -> Invoice:
    """Create, finalize and send the invoice on the firm's Stripe (idempotent,
    also after Stripe has forgotten the idempotency keys: see ``LOOKUP_AFTER``)."""
    if invoice.status not in ("pending", "draft"):
        return invoice
    account = db.session.scalar(select(StripeAccount))
    fs = firm_stripe(account)
    practice = db.session.get(Practice, invoice.practice_id)
    customer_id = ensure_customer(invoice.tenant_id, practice, fs)
    key = invoice.business_key
    lines = list(
        db.session.scalars(
            select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id).order_by(InvoiceLine.id)
        )
    )
    late = _is_late(invoice)
    if invoice.stripe_invoice_id is None and late:
        found = find_remote_invoice(fs, customer_id, key)
        if found is not None:
            invoice.stripe_invoice_id = found.id
            invoice.stripe_account_id = fs.account_id
            customer_id = found.customer or customer_id  # its items must go to its customer
            apply_stripe_invoice(invoice, found, authoritative=True)
            db.session.flush()
            audit(
                "invoice.recovered",
                invoice,
                details={"stripe_invoice_id": found.id, "status": found.status},
                user_id=actor_id,
            )
            if invoice.status in ("paid", "void", "uncollectible"):
                return invoice  # settled on Stripe already: nothing left to do
    if (
        late
        and invoice.stripe_invoice_id is not None
        and any(line.stripe_invoice_item_id is None for line in lines)
    ):
        _match_remote_items(fs, invoice.stripe_invoice_id, lines)
    if invoice.stripe_invoice_id is None:
        description = (
            f"Contingency fees, {invoice.period_start:%B %Y}"
            if invoice.kind == "monthly"
            else f"Contingency fees, settlement of case {lines[0].case_number}"
        )
        created = fs.client.v1.invoices.create(
            {
                "customer": customer_id,
                "collection_method": "send_invoice",
                "days_until_due": account.days_until_due,
                "auto_advance": False,
                "currency": account.currency,
                "description": description,
                "pending_invoice_items_behavior": "exclude",
                "metadata": {
                    "advocate_tenant": str(invoice.tenant_id),
                    "advocate_business_key": key,
                },
            },
            fs.options(idempotency_key(key, "invoice")),
        )
        invoice.stripe_invoice_id = created.id
        invoice.stripe_account_id = fs.account_id
        invoice.status = "draft"
        db.session.flush()
    for line in lines:
        if line.stripe_invoice_item_id is None:
            item = fs.client.v1.invoice_items.create(
                {
                    "customer": customer_id,
                    "invoice": invoice.stripe_invoice_id,
                    "amount": cents(line.amount),
                    "currency": account.currency,
                    "description": line.description,
                    "metadata": {"advocate_case": str(line.case_id)},
                },
                fs.options(idempotency_key(key, "line", line.case_id)),
            )
            line.stripe_invoice_item_id = item.id
    db.session.flush()
    current = fs.client.v1.invoices.retrieve(invoice.stripe_invoice_id, options=fs.options())
    if current.status == "draft":
        current = fs.client.v1.invoices.finalize_invoice(
            invoice.stripe_invoice_id,
            {"auto_advance": False},
            fs.options(idempotency_key(key, "finalize")),
        )
    if current.status == "open":
        current = fs.client.v1.invoices.send_invoice(
            invoice.stripe_invoice_id, options=fs.options(idempotency_key(key, "send"))
        )
        invoice.is_sent = True
    apply_stripe_invoice(invoice, current, authoritative=True)
    audit(
        "invoice.issued",
        invoice,
        details={"stripe_invoice_id": invoice.stripe_invoice_id, "total": str(invoice.total)},
        user_id=actor_id,
    )
    return invoice


def bill_practice(
    tenant_id: int, practice: Practice, *, today: date, actor_id: int | None
) -> list[Invoice]:
    """Prepare and issue; returns the invoices (those that Stripe refused stay pending)."""
    invoices = prepare_invoices(tenant_id, practice, today=today, actor_id=actor_id)
    for invoice in invoices:
        issue_invoice(invoice, actor_id=actor_id)
    return invoices


def _ts(value) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def apply_stripe_invoice(invoice: Invoice, obj, *, authoritative: bool) -> bool:
    """Copy Stripe's invoice onto ours. ``authoritative`` (just re-read from
    Stripe) takes its status as it is; an event's possibly stale copy may only
    move the status forward.  Returns whether the status changed."""
    status = obj.status
    old = invoice.status
    forward = STATUS_RANK.get(status, 0) >= STATUS_RANK.get(old, 0)
    if not authoritative and not forward:
        return False
    if status in STATUS_RANK:
        invoice.status = status
    invoice.number = obj.number or invoice.number
    invoice.hosted_invoice_url = obj.hosted_invoice_url or invoice.hosted_invoice_url
    invoice.invoice_pdf = obj.invoice_pdf or invoice.invoice_pdf
    invoice.total = dollars(obj.total)
    invoice.amount_paid = dollars(obj.amount_paid)
    invoice.amount_remaining = dollars(obj.amount_remaining)
    if obj.due_date:
        invoice.due_on = _ts(obj.due_date).date()
    transitions = obj.status_transitions
    if transitions is not None:
        invoice.finalized_at = _ts(transitions.finalized_at) or invoice.finalized_at
        invoice.paid_at = _ts(transitions.paid_at) or invoice.paid_at
        invoice.voided_at = _ts(transitions.voided_at) or invoice.voided_at
    if invoice.status == "paid":
        invoice.last_payment_error = None
    return invoice.status != old


def refresh_invoice(invoice: Invoice) -> bool:
    """Re-read the invoice from Stripe and take it as the truth."""
    fs = firm_stripe(db.session.scalar(select(StripeAccount)))
    obj = fs.client.v1.invoices.retrieve(invoice.stripe_invoice_id, options=fs.options())
    return apply_stripe_invoice(invoice, obj, authoritative=True)


def change_invoice(invoice: Invoice, action: str, *, actor_id: int | None) -> None:
    """Void an open invoice or mark it uncollectible, on Stripe then here."""
    if action not in ("void", "mark_uncollectible"):
        raise InvoicingError("Unknown action.")
    if invoice.status == "pending" and action == "void":
        invoice.status = "void"  # never reached Stripe: nothing to void there
    else:
        if invoice.stripe_invoice_id is None or invoice.status not in ("open", "uncollectible"):
            raise InvoicingError("Only an open invoice can be changed.")
        if action == "mark_uncollectible" and invoice.status != "open":
            raise InvoicingError("Only an open invoice can be marked uncollectible.")
        fs = firm_stripe(db.session.scalar(select(StripeAccount)))
        method = (
            fs.client.v1.invoices.void_invoice
            if action == "void"
            else fs.client.v1.invoices.mark_uncollectible
        )
        obj = method(
            invoice.stripe_invoice_id,
            options=fs.options(idempotency_key(invoice.business_key, action)),
        )
        apply_stripe_invoice(invoice, obj, authoritative=True)
    db.session.flush()
    audit(
        f"invoice.{action}",
        invoice,
        details={"stripe_invoice_id": invoice.stripe_invoice_id},
        user_id=actor_id,
    )


def stripe_error_text(err: Exception) -> str:
    if isinstance(err, stripe.StripeError):
        return (err.user_message or "Stripe refused the request.")[:300]
    return str(err)[:300]
