"""A firm's client practices, their contacts, fee agreements (versioned by
effective date) and authorizations (letters of authorization)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocate.billing.fees import FeeTerms
from advocate.db import IdType, TimestampMixin
from advocate.extensions import db
from advocate.practices.validators import PLACES_OF_SERVICE, mask_tin
from tenants import TenantScoped

PRACTICE_STATUSES = ("active", "paused", "offboarded")
BILLING_CADENCES = ("per_settlement", "monthly")
AUTHORIZATION_SCOPES = ("all", "listed")

CADENCE_LABELS = {"per_settlement": "Per settlement", "monthly": "Monthly statement"}
BASIS_LABELS = {
    "incremental": "Incremental (recovery above the initial payment)",
    "gross": "Gross (the whole final payment)",
}
IDR_BEARER_LABELS = {"firm": "The firm", "practice": "The practice", "split": "Split evenly"}


class Practice(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "practices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "npi"),
        Index("ix_practices_tenant_name", "tenant_id", "name"),
        CheckConstraint("status IN ('active', 'paused', 'offboarded')", name="status"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))  # legal name
    npi: Mapped[str] = mapped_column(String(10))
    tin: Mapped[str] = mapped_column(String(9))  # 9 digits; shown masked only
    specialty: Mapped[str] = mapped_column(String(100))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(2))
    zip: Mapped[str] = mapped_column(String(10))  # 12345 or 12345-6789
    default_pos: Mapped[str] = mapped_column(String(2), default="11")
    phone: Mapped[str | None] = mapped_column(String(40))
    fax: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="active")
    notes: Mapped[str | None] = mapped_column(Text)

    contacts: Mapped[list[PracticeContact]] = relationship(
        back_populates="practice",
        cascade="all, delete-orphan",
        order_by="PracticeContact.id",
        lazy="select",
    )
    agreements: Mapped[list[FeeAgreement]] = relationship(
        back_populates="practice",
        cascade="all, delete-orphan",
        order_by="FeeAgreement.effective_date.desc()",
        lazy="select",
    )
    authorizations: Mapped[list[PracticeAuthorization]] = relationship(
        back_populates="practice",
        cascade="all, delete-orphan",
        order_by="PracticeAuthorization.signed_on.desc()",
        lazy="select",
    )

    @property
    def tin_masked(self) -> str:
        return mask_tin(self.tin)

    @property
    def zip5(self) -> str:
        """The 5-digit ZIP the CMS locality files key on."""
        return self.zip[:5]

    @property
    def pos_label(self) -> str:
        return f"{self.default_pos} · {PLACES_OF_SERVICE.get(self.default_pos, 'Unknown')}"

    @property
    def city_state(self) -> str:
        return f"{self.city}, {self.state}"

    def __repr__(self) -> str:
        return f"<Practice {self.id} {self.npi}>"


class PracticeContact(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "practice_contacts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    practice_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("practices.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    is_primary: Mapped[bool] = mapped_column(default=False)

    practice: Mapped[Practice] = relationship(back_populates="contacts")


class FeeAgreement(TenantScoped, TimestampMixin, db.Model):
    """One version of a practice's fee agreement, in force from its effective
    date until the next version's. Versions are added, never edited, so the
    terms a past fee was charged at stay on record."""

    __tablename__ = "fee_agreements"
    __table_args__ = (
        UniqueConstraint("tenant_id", "practice_id", "effective_date"),
        CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
        CheckConstraint("basis IN ('incremental', 'gross')", name="basis"),
        CheckConstraint("idr_fee_bearer IN ('firm', 'practice', 'split')", name="idr_fee_bearer"),
        CheckConstraint("billing_cadence IN ('per_settlement', 'monthly')", name="billing_cadence"),
        CheckConstraint(
            "cap IS NULL OR minimum IS NULL OR cap >= minimum", name="cap_not_below_minimum"
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    practice_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("practices.id", ondelete="CASCADE"), index=True
    )
    effective_date: Mapped[date] = mapped_column(Date)
    percent: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    basis: Mapped[str] = mapped_column(String(12))
    minimum: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    cap: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    idr_fee_bearer: Mapped[str] = mapped_column(String(10), default="firm")
    billing_cadence: Mapped[str] = mapped_column(String(20), default="per_settlement")
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    practice: Mapped[Practice] = relationship(back_populates="agreements")

    @property
    def terms(self) -> FeeTerms:
        return FeeTerms(
            percent=Decimal(self.percent),
            basis=self.basis,  # type: ignore[arg-type]
            minimum=None if self.minimum is None else Decimal(self.minimum),
            cap=None if self.cap is None else Decimal(self.cap),
        )

    @property
    def basis_label(self) -> str:
        return BASIS_LABELS.get(self.basis, self.basis)

    @property
    def cadence_label(self) -> str:
        return CADENCE_LABELS.get(self.billing_cadence, self.billing_cadence)

    @property
    def idr_bearer_label(self) -> str:
        return IDR_BEARER_LABELS.get(self.idr_fee_bearer, self.idr_fee_bearer)


class PracticeAuthorization(TenantScoped, TimestampMixin, db.Model):
    """A signed letter of authorization / authorized-representative designation."""

    __tablename__ = "practice_authorizations"
    __table_args__ = (
        CheckConstraint("scope IN ('all', 'listed')", name="scope"),
        CheckConstraint(
            "expires_on IS NULL OR expires_on >= signed_on", name="expiry_after_signature"
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    practice_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("practices.id", ondelete="CASCADE"), index=True
    )
    signed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)  # None: until revoked
    scope: Mapped[str] = mapped_column(String(10), default="all")
    # Payer ids (the payers feature's ids) and names as typed, for scope "listed".
    payer_ids: Mapped[list | None] = mapped_column(JSON)
    payer_names: Mapped[list | None] = mapped_column(JSON)
    # The signed document; the documents feature wires uploads to it.
    document_id: Mapped[int | None] = mapped_column(BigInteger)
    revoked_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    practice: Mapped[Practice] = relationship(back_populates="authorizations")

    def is_in_force(self, on: date) -> bool:
        if self.revoked_at is not None:
            return False
        if self.signed_on > on:
            return False
        return self.expires_on is None or on <= self.expires_on

    def covers(self, payer_id: int | None) -> bool:
        if self.scope == "all" or payer_id is None:
            return True
        return payer_id in (self.payer_ids or [])

    def status_on(self, on: date) -> str:
        """valid, expired, revoked or pending (signed after ``on``)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.signed_on > on:
            return "pending"
        if self.expires_on is not None and on > self.expires_on:
            return "expired"
        return "valid"

    @property
    def scope_label(self) -> str:
        if self.scope == "all":
            return "All payers"
        parts = list(self.payer_names or []) + [f"payer #{i}" for i in (self.payer_ids or [])]
        return "Listed payers: " + (", ".join(parts) if parts else "none")
