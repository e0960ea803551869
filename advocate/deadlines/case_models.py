"""A case's deadlines, its No Surprises Act dispute, and the daily digests sent.

``case_deadlines`` stores what :func:`advocate.deadlines.case_services.recompute_deadlines`
computes from the case's facts (so the firm-wide list, the calendar and the
digest are plain indexed queries), plus deadlines a person added by hand,
which a recompute never touches. ``nsa_disputes`` holds the dates and amounts
of one case's federal IDR track. ``deadline_digests`` makes the daily email
idempotent: at most one per person per day, however often the job runs.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocate.db import IdType, TimestampMixin
from advocate.extensions import db
from tenants import TenantScoped

Money = Numeric(12, 2)

# kind -> the label a computed deadline gets (appeal levels get the policy's level name).
KIND_LABELS: dict[str, str] = {
    "timely_filing": "Timely filing limit",
    "external_review": "Request external review",
    "follow_up": "Follow up with the payer",
    "nsa_notice": "Send the open negotiation notice",
    "nsa_negotiation_end": "Open negotiation period ends",
    "nsa_idr_window_start": "IDR initiation window opens",
    "nsa_idr_window_end": "IDR initiation window closes",
    "idre_selection": "IDR entity selection due",
    "offers_due": "IDR offers due",
    "determination_due": "IDR determination due",
    "payment_due": "Payment of the IDR award due",
    "cooling_off_end": "Cooling-off period ends",
    "manual": "Deadline",
}
NSA_KINDS: tuple[str, ...] = (
    "nsa_notice",
    "nsa_negotiation_end",
    "nsa_idr_window_start",
    "nsa_idr_window_end",
    "idre_selection",
    "offers_due",
    "determination_due",
    "payment_due",
    "cooling_off_end",
)
MILESTONES: frozenset[str] = frozenset(
    {"nsa_negotiation_end", "nsa_idr_window_start", "cooling_off_end"}
)
"""Dates to know, not tasks: they are never overdue and never the case's next deadline."""

PREVAILING_PARTIES = {"provider": "The provider (us)", "plan": "The plan (payer)"}
IDR_KINDS = {"single": "Single dispute", "batched": "Batched dispute"}
NOTICE_METHODS = {"portal": "Payer portal", "email": "Email", "fax": "Fax", "mail": "Mail"}


def kind_label(kind: str) -> str:
    if kind.startswith("appeal_l"):
        return f"File the level {kind.removeprefix('appeal_l')} appeal"
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


class CaseDeadline(TenantScoped, TimestampMixin, db.Model):
    """One dated deadline of a case, with the rule that produced it, in words."""

    __tablename__ = "case_deadlines"
    __table_args__ = (
        # The list, calendar and digest: open deadlines of the firm by date,
        # with what they filter on (the case's status and advocate, the kind).
        Index(
            "ix_case_deadlines_tenant_open_due",
            "tenant_id",
            "is_done",
            "due_on",
            postgresql_include=["case_status", "assignee_id", "kind"],
        ),
        # One advocate's deadlines (the list filtered by advocate, the calendar).
        Index(
            "ix_case_deadlines_tenant_assignee_due", "tenant_id", "assignee_id", "is_done", "due_on"
        ),
        Index("ix_case_deadlines_tenant_case", "tenant_id", "case_id"),
        Index("ix_case_deadlines_case_id", "case_id"),  # the FK's ON DELETE CASCADE
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    label: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    rule: Mapped[str] = mapped_column(Text)
    # What the deadline counts from: ("appeal", id), ("communication", id), ("nsa_dispute", id)...
    source_type: Mapped[str | None] = mapped_column(String(30))
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    is_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    is_done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    # Copies of the case's status and advocate, for the firm-wide lists to
    # filter without joining every candidate to its case.  Written only by the
    # database (triggers of migration a7d1e5000002: on insert, and whenever the
    # case's status or advocate changes, bulk updates included): never set
    # them here, and read them in queries only (an object loaded before its
    # case changed holds the old values).
    case_status: Mapped[str | None] = mapped_column(String(30))
    assignee_id: Mapped[int | None] = mapped_column(BigInteger)

    case = relationship("Case", lazy="raise")

    __audit_type__ = "case_deadline"

    # Set by the loaders (case_services.case_deadlines) to the firm's today.
    today = None  # a plain attribute, not a column

    @property
    def is_milestone(self) -> bool:
        return self.kind in MILESTONES

    @property
    def is_overdue(self) -> bool:
        """Open, actionable and past: derived, never stored."""
        return (
            self.today is not None
            and not self.is_done
            and not self.is_milestone
            and self.due_on < self.today
        )

    @property
    def state(self) -> str:
        """done, overdue, passed (a milestone behind us), today, or open."""
        if self.is_done:
            return "done"
        if self.today is None:
            return "open"
        if self.due_on < self.today:
            return "passed" if self.is_milestone else "overdue"
        if self.due_on == self.today:
            return "today"
        return "open"


class NsaDispute(TenantScoped, TimestampMixin, db.Model):
    """One case's federal IDR track: open negotiation, then the dispute itself.

    The date the initial payment or denial was received is the case's own
    ``initial_payment_received_on``; everything after it is here.
    """

    __tablename__ = "nsa_disputes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "case_id"),
        Index("ix_nsa_disputes_case_id", "case_id"),  # the FK's ON DELETE CASCADE
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id", ondelete="CASCADE"))

    # Open negotiation.
    qpa: Mapped[Decimal | None] = mapped_column(Money)
    notice_offer: Mapped[Decimal | None] = mapped_column(Money)
    notice_sent_on: Mapped[date | None] = mapped_column(Date)
    notice_method: Mapped[str | None] = mapped_column(String(10))

    # IDR.
    idr_initiated_on: Mapped[date | None] = mapped_column(Date)
    idr_reference: Mapped[str | None] = mapped_column(String(60))
    idr_kind: Mapped[str] = mapped_column(String(10), default="single")
    response_on: Mapped[date | None] = mapped_column(Date)
    response_note: Mapped[str | None] = mapped_column(String(1000))
    idre_name: Mapped[str | None] = mapped_column(String(200))
    idre_selected_on: Mapped[date | None] = mapped_column(Date)
    our_offer: Mapped[Decimal | None] = mapped_column(Money)
    their_offer: Mapped[Decimal | None] = mapped_column(Money)
    offers_submitted_on: Mapped[date | None] = mapped_column(Date)
    offer_basis: Mapped[str | None] = mapped_column(Text)
    admin_fee: Mapped[Decimal | None] = mapped_column(Money)
    admin_fee_paid_on: Mapped[date | None] = mapped_column(Date)
    idre_fee: Mapped[Decimal | None] = mapped_column(Money)
    idre_fee_paid_on: Mapped[date | None] = mapped_column(Date)
    determined_on: Mapped[date | None] = mapped_column(Date)
    prevailing_party: Mapped[str | None] = mapped_column(String(10))
    prevailing_amount: Mapped[Decimal | None] = mapped_column(Money)
    payment_received_on: Mapped[date | None] = mapped_column(Date)
    payment_amount: Mapped[Decimal | None] = mapped_column(Money)

    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    case = relationship("Case", lazy="raise")

    __audit_type__ = "nsa_dispute"

    def percent_of_qpa(self, amount: Decimal | None) -> Decimal | None:
        """``amount`` as a percent of the QPA, to one decimal place."""
        if amount is None or not self.qpa:
            return None
        return (amount * 100 / self.qpa).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def our_offer_pct(self) -> Decimal | None:
        return self.percent_of_qpa(self.our_offer)

    @property
    def their_offer_pct(self) -> Decimal | None:
        return self.percent_of_qpa(self.their_offer)

    @property
    def notice_offer_pct(self) -> Decimal | None:
        return self.percent_of_qpa(self.notice_offer)

    @property
    def prevailing_pct(self) -> Decimal | None:
        return self.percent_of_qpa(self.prevailing_amount)


class DeadlineDigest(TenantScoped, TimestampMixin, db.Model):
    """A daily deadline digest sent to one person (at most one per day)."""

    __tablename__ = "deadline_digests"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", "sent_on"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    sent_on: Mapped[date] = mapped_column(Date)
    overdue_count: Mapped[int] = mapped_column(Integer, default=0)
    due_soon_count: Mapped[int] = mapped_column(Integer, default=0)
