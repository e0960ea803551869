"""What the firm earns and bills: the fee ledger, invoices to practices, the
firm's Stripe account and the Stripe events already processed.

The ledger is append-only: an entry is never updated or deleted; a correction
is a new entry (a recoupment's negative accrual, an adjustment, a write-off).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocate.db import IdType, TimestampMixin, utcnow
from advocate.extensions import db
from tenants import TenantScoped

Money = Numeric(12, 2)
ZERO = Decimal("0.00")

ENTRY_KINDS = ("accrual", "reversal", "adjustment", "write_off")
PAYMENT_KINDS = ("accrual", "reversal")  # entries a payment causes, one per payment
MANUAL_KINDS = ("adjustment", "write_off")
ENTRY_LABELS = {
    "accrual": "Fee accrued",
    "reversal": "Fee reversed",
    "adjustment": "Adjustment",
    "write_off": "Write-off",
}

INVOICE_KINDS = ("settlement", "monthly")
# Stripe's invoice statuses, and ours before Stripe has the invoice.
INVOICE_STATUSES = ("pending", "draft", "open", "paid", "void", "uncollectible")
OPEN_STATUSES = ("draft", "open")
# How far an invoice has gone: a later event never moves it back.
STATUS_RANK = {"pending": 0, "draft": 1, "open": 2, "paid": 3, "void": 3, "uncollectible": 3}
STRIPE_MODES = ("connect", "key")


class FeeLedgerEntry(TenantScoped, db.Model):
    """One movement of the fee a case earns the firm. Never updated."""

    __tablename__ = "fee_ledger_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('accrual', 'reversal', 'adjustment', 'write_off')", name="kind"),
        CheckConstraint(
            "kind IN ('accrual', 'reversal') OR reason IS NOT NULL", name="manual_reason"
        ),
        CheckConstraint(
            "kind NOT IN ('accrual', 'reversal') OR payment_id IS NOT NULL", name="payment_link"
        ),
        # A payment causes exactly one accrual or reversal: a retried or
        # concurrent accrual run cannot count it twice.
        Index(
            "uq_fee_ledger_entries_payment",
            "tenant_id",
            "payment_id",
            unique=True,
            postgresql_where=text("kind IN ('accrual', 'reversal')"),
            sqlite_where=text("kind IN ('accrual', 'reversal')"),
        ),
        Index("ix_fee_ledger_entries_practice", "tenant_id", "practice_id", "id"),
        Index("ix_fee_ledger_entries_case", "tenant_id", "case_id", "id"),
        Index("ix_fee_ledger_entries_effective", "tenant_id", "effective_on"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    practice_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("practices.id"))
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"))
    payment_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("payments.id"))
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[Decimal] = mapped_column(Money)  # signed: negative takes fee back
    effective_on: Mapped[date] = mapped_column(Date)  # the payment's date, or the adjustment's
    # What the payment did, for the statement: the money that arrived, the fee base
    # and the case's cumulative payment-driven fee after it.
    recovery: Mapped[Decimal | None] = mapped_column(Money)
    fee_base: Mapped[Decimal | None] = mapped_column(Money)
    cumulative_fee: Mapped[Decimal | None] = mapped_column(Money)
    percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    basis: Mapped[str | None] = mapped_column(String(12))
    agreement_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("fee_agreements.id"))
    explanation: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)

    case = relationship("Case", lazy="raise")
    payment = relationship("Payment", lazy="raise")

    @property
    def kind_label(self) -> str:
        return ENTRY_LABELS.get(self.kind, self.kind)


class StripeAccount(TenantScoped, TimestampMixin, db.Model):
    """How the firm is paid: its Connect account, or (the embedded default,
    for trying things out) a firm-level test key of its own."""

    __tablename__ = "stripe_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id"),
        CheckConstraint("mode IN ('connect', 'key')", name="mode"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    mode: Mapped[str] = mapped_column(String(10), default="connect")
    account_id: Mapped[str | None] = mapped_column(String(64))  # acct_...
    api_key_enc: Mapped[str | None] = mapped_column(Text)  # Fernet; mode "key" only
    api_key_last4: Mapped[str | None] = mapped_column(String(4))
    charges_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    payouts_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    details_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    days_until_due: Mapped[int] = mapped_column(Integer, default=30)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    # The Stripe time of the newest account.updated applied: older ones are skipped.
    account_synced_at: Mapped[datetime | None]

    @property
    def is_ready(self) -> bool:
        if self.mode == "key":
            return bool(self.api_key_enc)
        return bool(self.account_id) and self.charges_enabled

    @property
    def status_label(self) -> str:
        if self.mode == "key":
            return f"Test key ····{self.api_key_last4}" if self.api_key_enc else "No key"
        if not self.account_id:
            return "Not connected"
        if self.charges_enabled:
            return "Connected"
        return "Onboarding incomplete" if not self.details_submitted else "Pending verification"


class StripeCustomer(TenantScoped, TimestampMixin, db.Model):
    """A practice as a customer on the firm's Stripe account."""

    __tablename__ = "stripe_customers"
    __table_args__ = (UniqueConstraint("tenant_id", "practice_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    practice_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("practices.id"))
    customer_id: Mapped[str] = mapped_column(String(64))  # cus_...
    account_id: Mapped[str | None] = mapped_column(String(64))  # the account it lives on


class Invoice(TenantScoped, TimestampMixin, db.Model):
    """An invoice to a practice for fees: one settlement's or a month's."""

    __tablename__ = "invoices"
    __table_args__ = (
        # The business identity: a retry finds the same row and the same Stripe invoice.
        UniqueConstraint("tenant_id", "business_key"),
        UniqueConstraint("stripe_invoice_id"),
        CheckConstraint("kind IN ('settlement', 'monthly')", name="kind"),
        CheckConstraint(
            "status IN ('pending', 'draft', 'open', 'paid', 'void', 'uncollectible')",
            name="status",
        ),
        Index("ix_invoices_tenant_status", "tenant_id", "status", "id"),
        Index("ix_invoices_tenant_practice", "tenant_id", "practice_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    practice_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("practices.id"))
    kind: Mapped[str] = mapped_column(String(12))
    business_key: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    case_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("cases.id")
    )  # per-settlement invoices
    issued_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    amount_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    amount_remaining: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    due_on: Mapped[date | None] = mapped_column(Date)
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(64))
    stripe_account_id: Mapped[str | None] = mapped_column(String(64))
    number: Mapped[str | None] = mapped_column(String(64))
    hosted_invoice_url: Mapped[str | None] = mapped_column(String(1000))
    invoice_pdf: Mapped[str | None] = mapped_column(String(1000))
    is_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    last_payment_error: Mapped[str | None] = mapped_column(String(500))
    finalized_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    practice = relationship("Practice", lazy="raise")
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.id", lazy="raise"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, today: date) -> bool:
        return (
            self.status == "open"
            and self.due_on is not None
            and self.due_on < today
            and self.amount_remaining > 0
        )


class InvoiceLine(TenantScoped, db.Model):
    """One case on an invoice: what was recovered, on which basis, at which percent."""

    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"))
    case_number: Mapped[str] = mapped_column(String(20))
    recovery: Mapped[Decimal] = mapped_column(Money)
    basis: Mapped[str | None] = mapped_column(String(12))
    percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    amount: Mapped[Decimal] = mapped_column(Money)
    description: Mapped[str] = mapped_column(String(500))
    stripe_invoice_item_id: Mapped[str | None] = mapped_column(String(64))

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class InvoiceEntry(TenantScoped, db.Model):
    """Which ledger entries an invoice bills. An entry is unbilled while every
    invoice that listed it is void."""

    __tablename__ = "invoice_entries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "invoice_id", "entry_id"),
        Index("ix_invoice_entries_entry", "tenant_id", "entry_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    line_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("invoice_lines.id", ondelete="CASCADE")
    )
    entry_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("fee_ledger_entries.id"))


class ProcessedStripeEvent(TenantScoped, db.Model):
    """A Stripe event already applied; written in the transaction of its effect."""

    __tablename__ = "processed_stripe_events"
    __table_args__ = (UniqueConstraint("event_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str | None] = mapped_column(String(255))
    stripe_created_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
