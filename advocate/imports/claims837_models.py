"""What the 837 claims import records: each imported file, the interchanges
it carried, and each claim with what the import did with it.

Uniqueness does the idempotency: a firm cannot import the same file bytes
twice (sha256), nor the same interchange (sender, receiver, ISA13) inside
another file, nor the same claim (its key: patient control number, payer id,
dates of service, frequency code) twice.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocate.db import IdType, TimestampMixin, utcnow
from advocate.extensions import db
from tenants import TenantScoped

Money = Numeric(12, 2)
CLAIM_OUTCOMES = ("created", "updated", "unmatched")
CLAIM_STATUSES = ("done", "open", "dismissed")  # open: an unmatched claim to fix


class X12ClaimFile(TenantScoped, TimestampMixin, db.Model):
    """One imported 837 file."""

    __tablename__ = "x12_claim_files"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sha256"),
        Index("ix_x12_claim_files_tenant_imported", "tenant_id", "imported_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))  # shown only
    kinds: Mapped[str] = mapped_column(String(3))  # "P", "I" or "P+I"
    claim_count: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    unmatched_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0)
    billed_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    source: Mapped[str] = mapped_column(String(10), default="upload")
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    created_by = relationship("User", lazy="joined")

    __audit_type__ = "x12_claim_file"


class X12ClaimInterchange(TenantScoped, db.Model):
    """An interchange (ISA..IEA) of an imported file: never imported twice."""

    __tablename__ = "x12_claim_interchanges"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "sender_id",
            "receiver_id",
            "control_number",
            name="uq_x12_claim_interchanges_isa",
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    file_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("x12_claim_files.id", ondelete="CASCADE"), index=True
    )
    sender_id: Mapped[str] = mapped_column(String(15))
    receiver_id: Mapped[str] = mapped_column(String(15))
    control_number: Mapped[str] = mapped_column(String(9))


class X12Claim(TenantScoped, TimestampMixin, db.Model):
    """One claim (CLM) of an imported file and what the import did with it.

    Patient names are PHI, kept exactly as sent.  ``data`` holds the case
    input (validate_case_input's shape, as JSON) with each line's LX number,
    line control number (REF*6R) and the case line it became (``line_no``):
    what the 835 matching reads."""

    __tablename__ = "x12_claims"
    __table_args__ = (
        UniqueConstraint("tenant_id", "claim_key"),
        Index("ix_x12_claims_tenant_status", "tenant_id", "status", "id"),
        Index("ix_x12_claims_tenant_pcn", "tenant_id", "patient_control_number"),
        Index("ix_x12_claims_case_id", "case_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    file_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("x12_claim_files.id", ondelete="CASCADE"), index=True
    )
    claim_key: Mapped[str] = mapped_column(String(64))  # sha256 of the idempotency key
    kind: Mapped[str] = mapped_column(String(1))  # P or I
    segment_no: Mapped[int] = mapped_column(Integer)
    patient_control_number: Mapped[str] = mapped_column(String(38))  # CLM01
    frequency_code: Mapped[str] = mapped_column(String(2))
    payer_identifier: Mapped[str] = mapped_column(String(80))  # NM1*PR NM109
    payer_name: Mapped[str | None] = mapped_column(String(200))
    billing_npi: Mapped[str | None] = mapped_column(String(10))
    billing_tax_id: Mapped[str | None] = mapped_column(String(20))
    billing_name: Mapped[str | None] = mapped_column(String(200))
    patient_first_name: Mapped[str | None] = mapped_column(String(100))
    patient_last_name: Mapped[str | None] = mapped_column(String(100))
    member_id: Mapped[str | None] = mapped_column(String(80))
    service_from: Mapped[date | None] = mapped_column(Date)
    service_to: Mapped[date | None] = mapped_column(Date)
    charge: Mapped[Decimal] = mapped_column(Money)
    outcome: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="done")
    reason: Mapped[str | None] = mapped_column(String(300))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    case_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("cases.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    file: Mapped[X12ClaimFile] = relationship(lazy="joined", innerjoin=True)

    __audit_type__ = "x12_claim"

    @property
    def is_open(self) -> bool:
        return self.status == "open"
