"""A case is one disputed claim: its service lines, payments, the contacts
with the payer, offers, appeals, single case agreements and a timeline of
everything that happened to it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocate.cases import workflow
from advocate.db import IdType, TimestampMixin, utcnow
from advocate.extensions import db
from tenants import TenantScoped

Money = Numeric(12, 2)
ZERO = Decimal("0.00")

PAYMENT_SOURCES = (
    "remittance",
    "check",
    "eft",
    "settlement",
    "idr_award",
    "recoupment",
    "adjustment",
)
COMM_KINDS = ("call", "letter", "fax", "email", "portal", "meeting")
COMM_DIRECTIONS = ("outbound", "inbound")
OFFER_PARTIES = ("payer", "firm")
OFFER_STATUSES = ("open", "accepted", "rejected", "expired", "withdrawn")
APPEAL_METHODS = ("mail", "fax", "portal", "email")
APPEAL_OUTCOMES = ("pending", "upheld", "overturned", "partially_overturned", "withdrawn")
SERVICE_TYPES = ("emergency", "nonemergency_in_network_facility", "air_ambulance", "other")
SCA_STATUSES = ("requested", "offered", "countered", "signed", "expired", "declined")
SCA_RATE_TYPES = ("medicare_percent", "billed_percent", "fixed")


class Case(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        # The caseload's filters and sorts, tenant first so they stay selective per firm.
        Index("ix_cases_tenant_status_opened", "tenant_id", "status", "opened_at"),
        # One advocate's cases by next deadline and by follow-up ("my caseload");
        # the first carries what its counts read (index-only on PostgreSQL).
        Index(
            "ix_cases_tenant_assignee_deadline",
            "tenant_id",
            "assignee_id",
            "next_deadline_on",
            postgresql_include=["status", "next_follow_up_on"],
        ),
        Index(
            "ix_cases_tenant_assignee_follow_up", "tenant_id", "assignee_id", "next_follow_up_on"
        ),
        Index("ix_cases_tenant_payer", "tenant_id", "payer_id"),
        Index("ix_cases_tenant_practice", "tenant_id", "practice_id"),
        Index("ix_cases_tenant_next_deadline", "tenant_id", "next_deadline_on"),
        Index("ix_cases_tenant_at_stake", "tenant_id", "amount_at_stake"),
        Index("ix_cases_tenant_status_at_stake", "tenant_id", "status", "amount_at_stake"),
        Index("ix_cases_tenant_service_from", "tenant_id", "service_from"),
        Index("ix_cases_tenant_opened", "tenant_id", "opened_at", "id"),
        Index("ix_cases_tenant_claimno", "tenant_id", "payer_claim_number"),
        Index("ix_cases_tenant_pcn", "tenant_id", "patient_control_number"),
        CheckConstraint("billed_total >= 0", name="billed_nonneg"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    number: Mapped[int] = mapped_column(Integer)  # per-firm case number shown as C-000123
    practice_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("practices.id", ondelete="RESTRICT")
    )
    payer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("payers.id", ondelete="RESTRICT"))
    plan_type: Mapped[str] = mapped_column(String(30))
    # PHI: every view of these is audited.
    patient_first_name: Mapped[str] = mapped_column(String(100))
    patient_last_name: Mapped[str] = mapped_column(String(100))
    patient_dob: Mapped[date | None] = mapped_column(Date)
    member_id: Mapped[str | None] = mapped_column(String(60))
    rendering_npi: Mapped[str | None] = mapped_column(String(10))
    payer_claim_number: Mapped[str | None] = mapped_column(String(60))
    patient_control_number: Mapped[str | None] = mapped_column(String(60))
    service_from: Mapped[date] = mapped_column(Date)
    service_to: Mapped[date] = mapped_column(Date)
    place_of_service: Mapped[str] = mapped_column(String(2))
    service_type: Mapped[str] = mapped_column(String(40), default="other")
    facility_in_network: Mapped[bool | None] = mapped_column(Boolean)
    state: Mapped[str | None] = mapped_column(String(2))

    status: Mapped[str] = mapped_column(String(30), default=workflow.INTAKE)
    appeal_level: Mapped[int | None] = mapped_column(Integer)
    assignee_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]

    # Denormalised totals: recomputed by the service whenever lines or payments change,
    # so the caseload filters and sorts on indexed columns instead of aggregating.
    billed_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    allowed_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    patient_resp_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    initial_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    total_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    expected_payment: Mapped[Decimal | None] = mapped_column(Money)
    amount_at_stake: Mapped[Decimal] = mapped_column(Money, default=ZERO)

    # Negotiation: target and floor are staff-only, never shown to practice users.
    target_amount: Mapped[Decimal | None] = mapped_column(Money)
    floor_amount: Mapped[Decimal | None] = mapped_column(Money)
    agreed_amount: Mapped[Decimal | None] = mapped_column(Money)

    is_nsa_eligible: Mapped[bool | None] = mapped_column(Boolean)
    nsa_flagged: Mapped[bool] = mapped_column(Boolean, default=False)  # remark codes seen; review
    initial_payment_received_on: Mapped[date | None] = mapped_column(Date)
    next_deadline_on: Mapped[date | None] = mapped_column(Date)
    next_follow_up_on: Mapped[date | None] = mapped_column(Date)
    sca_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("single_case_agreements.id", ondelete="SET NULL")
    )

    lines: Mapped[list[ServiceLine]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="ServiceLine.line_no"
    )
    payments: Mapped[list[Payment]] = relationship(
        back_populates="case",
        cascade="all, delete-orphan",
        order_by="(Payment.paid_on, Payment.id)",
    )
    practice = relationship("Practice", lazy="joined", innerjoin=True)
    payer = relationship("Payer", lazy="joined", innerjoin=True)
    assignee = relationship("User", lazy="joined")

    __audit_type__ = "case"

    @property
    def reference(self) -> str:
        return f"C-{self.number:06d}"

    @property
    def patient_name(self) -> str:
        return f"{self.patient_last_name}, {self.patient_first_name}"

    @property
    def status_label(self) -> str:
        label = workflow.STATES.get(self.status, self.status)
        if self.status == workflow.APPEAL and self.appeal_level:
            label += f" (level {self.appeal_level})"
        return label

    @property
    def is_open(self) -> bool:
        return self.status in workflow.OPEN

    @property
    def recovered(self) -> Decimal:
        return self.total_paid - self.initial_paid


class ServiceLine(TenantScoped, db.Model):
    __tablename__ = "service_lines"
    __table_args__ = (
        UniqueConstraint("tenant_id", "case_id", "line_no"),
        Index("ix_service_lines_tenant_code", "tenant_id", "code"),
        CheckConstraint("units > 0", name="units_positive"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    line_no: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(5))
    modifiers: Mapped[list] = mapped_column(
        JSON, default=list
    )  # up to four two-character modifiers
    units: Mapped[Decimal] = mapped_column(Numeric(9, 2), default=Decimal("1"))
    service_date: Mapped[date | None] = mapped_column(Date)
    place_of_service: Mapped[str | None] = mapped_column(String(2))
    billed: Mapped[Decimal] = mapped_column(Money)
    allowed: Mapped[Decimal | None] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    patient_resp: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    adjustments: Mapped[list] = mapped_column(JSON, default=list)  # [{"group","reason","amount"}]
    remark_codes: Mapped[list] = mapped_column(JSON, default=list)

    case: Mapped[Case] = relationship(back_populates="lines")

    @property
    def modifier_text(self) -> str:
        return "-".join(self.modifiers or [])


class Payment(TenantScoped, TimestampMixin, db.Model):
    """The case's payment ledger. Reversals and recoupments are negative rows:
    history is never rewritten."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_tenant_paid_on", "tenant_id", "paid_on"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    source: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(80))  # check/EFT/trace number
    is_initial: Mapped[bool] = mapped_column(Boolean, default=False)
    remittance_id: Mapped[int | None] = mapped_column(BigInteger)  # set by the 835 import
    note: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    case: Mapped[Case] = relationship(back_populates="payments")


class Communication(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "communications"
    __table_args__ = (
        Index(
            "ix_communications_tenant_follow_up", "tenant_id", "follow_up_on", "follow_up_done_at"
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    direction: Mapped[str] = mapped_column(String(10))
    occurred_at: Mapped[datetime]
    contact_name: Mapped[str | None] = mapped_column(String(200))
    payer_contact_id: Mapped[int | None] = mapped_column(BigInteger)
    reference_number: Mapped[str | None] = mapped_column(String(80))
    summary: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(500))
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    follow_up_done_at: Mapped[datetime | None]
    actor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    case: Mapped[Case] = relationship()
    actor = relationship("User", lazy="joined")


class Offer(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    party: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Money)
    basis: Mapped[str | None] = mapped_column(String(200))  # e.g. "150% of Medicare"
    offered_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    actor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    case: Mapped[Case] = relationship()


class Appeal(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int] = mapped_column(Integer)
    level_name: Mapped[str | None] = mapped_column(String(60))
    adverse_decision_on: Mapped[date | None] = mapped_column(Date)
    deadline_on: Mapped[date | None] = mapped_column(Date)
    filed_on: Mapped[date | None] = mapped_column(Date)
    method: Mapped[str | None] = mapped_column(String(10))
    tracking_number: Mapped[str | None] = mapped_column(String(80))
    decision_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(30), default="pending")
    amount_awarded: Mapped[Decimal | None] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship()


class SingleCaseAgreement(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "single_case_agreements"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    practice_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("practices.id", ondelete="RESTRICT"), index=True
    )
    payer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("payers.id", ondelete="RESTRICT"), index=True
    )
    authorization_number: Mapped[str | None] = mapped_column(String(80))
    patient_first_name: Mapped[str] = mapped_column(String(100))
    patient_last_name: Mapped[str] = mapped_column(String(100))
    patient_dob: Mapped[date | None] = mapped_column(Date)
    member_id: Mapped[str | None] = mapped_column(String(60))
    codes: Mapped[list] = mapped_column(JSON, default=list)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    visits_allowed: Mapped[int | None] = mapped_column(Integer)
    rate_type: Mapped[str] = mapped_column(String(20))
    rate_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    fixed_rates: Mapped[dict] = mapped_column(JSON, default=dict)  # {"99213": "150.00"}
    status: Mapped[str] = mapped_column(String(12), default="requested")
    signed_on: Mapped[date | None] = mapped_column(Date)
    document_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)

    practice = relationship("Practice", lazy="joined")
    payer = relationship("Payer", lazy="joined")

    __audit_type__ = "sca"


class CaseEvent(TenantScoped, db.Model):
    """The case's timeline: one row for each thing that happened to it."""

    __tablename__ = "case_events"
    __table_args__ = (
        Index("ix_case_events_tenant_case_at", "tenant_id", "case_id", "at"),
        Index("ix_case_events_case_at", "case_id", "at"),  # the FK's ON DELETE CASCADE
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(
        String(20)
    )  # transition, communication, offer, payment, note, ...
    summary: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)
    actor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    is_internal: Mapped[bool] = mapped_column(Boolean, default=False)  # hidden from practice users

    actor = relationship("User", lazy="joined")


class SavedFilter(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(2000))


class CaseCounter(TenantScoped, db.Model):
    """Per-firm case numbers, allocated under a row lock."""

    __tablename__ = "case_counters"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (UniqueConstraint("tenant_id"),)
