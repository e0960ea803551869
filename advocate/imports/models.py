"""What the importers record: 835 files and their transactions and claims, the
review list of claims no case was found for, claim CSV imports, the firm's
import settings and its saved header mapping.

A file is recorded only when it was posted: an invalid file writes nothing.
Uniqueness does the idempotency: a firm cannot post the same file bytes twice
(sha256) nor the same payment transaction twice, even inside another file
(payer id, TRN trace number, ST control number).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
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
ZERO = Decimal("0.00")
DEFAULT_CO45_THRESHOLD = Decimal("25.00")

OUTCOMES = ("matched", "created", "unmatched")
UNMATCHED_STATUSES = ("open", "case_created", "dismissed")
SOURCES = ("upload", "api", "cli")


class ImportSettings(TenantScoped, TimestampMixin, db.Model):
    """Per-firm import settings (one row per firm, created on first change)."""

    __tablename__ = "import_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    # An unmatched 835 claim whose CO-45 total is above this becomes a new case.
    co45_threshold: Mapped[Decimal] = mapped_column(Money, default=DEFAULT_CO45_THRESHOLD)
    updated_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    __audit_type__ = "import_settings"


class Remittance(TenantScoped, TimestampMixin, db.Model):
    """One posted 835 file."""

    __tablename__ = "remittances"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sha256"),
        Index("ix_remittances_tenant_imported", "tenant_id", "imported_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))  # shown only, never a storage key
    payer_name: Mapped[str | None] = mapped_column(String(200))
    transaction_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_transaction_count: Mapped[int] = mapped_column(Integer, default=0)
    claim_count: Mapped[int] = mapped_column(Integer, default=0)
    matched_count: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    unmatched_count: Mapped[int] = mapped_column(Integer, default=0)
    total_paid: Mapped[Decimal] = mapped_column(
        Money, default=ZERO
    )  # sum of CLP04, reversals negative
    payment_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)  # sum of BPR02
    status: Mapped[str] = mapped_column(String(12), default="posted")
    source: Mapped[str] = mapped_column(String(10), default="upload")
    # How the bytes were read (ascii, utf-8, latin-1) and, for a fixed-width wrapped
    # file, its line width: the file's own shape, shown on its page.
    encoding: Mapped[str | None] = mapped_column(String(10))
    wrapped_width: Mapped[int | None] = mapped_column(Integer)
    plb_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)  # sum of PLB amounts
    # Problems that did not stop the post, e.g. a BPR02 that is not sum(CLP04) - sum(PLB):
    # [{"transaction", "segment", "element", "message"}] (amounts and positions, no PHI).
    warnings: Mapped[list | None] = mapped_column(JSON, default=list)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    created_by = relationship("User", lazy="joined")

    __audit_type__ = "remittance"


class RemittanceTransaction(TenantScoped, db.Model):
    """One ST..SE payment advice of a posted file."""

    __tablename__ = "remittance_transactions"
    __table_args__ = (
        # The same payment is never posted twice, whatever file carries it.
        UniqueConstraint(
            "tenant_id",
            "payer_identifier",
            "trace_number",
            "control_number",
            name="uq_remittance_transactions_payment",  # the default name passes PostgreSQL's 63
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    remittance_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("remittances.id", ondelete="CASCADE"), index=True
    )
    payer_identifier: Mapped[str] = mapped_column(String(80))  # REF*2U / N104, else TRN03
    trace_number: Mapped[str] = mapped_column(String(80))  # TRN02
    control_number: Mapped[str] = mapped_column(String(20))  # ST02
    payer_name: Mapped[str | None] = mapped_column(String(200))
    payee_name: Mapped[str | None] = mapped_column(String(200))
    payee_npi: Mapped[str | None] = mapped_column(String(10))
    payment_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    payment_method: Mapped[str | None] = mapped_column(String(10))
    payment_date: Mapped[date | None] = mapped_column(Date)
    claim_count: Mapped[int] = mapped_column(Integer, default=0)


class RemittanceAdjustment(TenantScoped, db.Model):
    """One provider-level adjustment (a PLB reason/reference/amount) of a posted file.

    A positive amount is money the payer keeps (WO overpayment recovery, FB
    forwarding balance), a negative one money it adds (L6 interest): BPR02 =
    sum(CLP04) - sum(PLB amounts).  A WO naming a claim a case of the firm
    carries posts on that case as a recoupment (``case_id``, ``payment_id``)."""

    __tablename__ = "remittance_adjustments"
    __table_args__ = (
        Index("ix_remittance_adjustments_tenant_remittance", "tenant_id", "remittance_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    remittance_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("remittances.id", ondelete="CASCADE")
    )
    transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("remittance_transactions.id", ondelete="CASCADE"), index=True
    )
    segment_no: Mapped[int] = mapped_column(Integer)
    provider_identifier: Mapped[str] = mapped_column(String(80))  # PLB01
    fiscal_period_date: Mapped[date | None] = mapped_column(Date)  # PLB02
    reason: Mapped[str] = mapped_column(String(4))  # PLB03-01: WO, L6, FB, 72, CS, ...
    reference: Mapped[str | None] = mapped_column(String(80))  # PLB03-02
    amount: Mapped[Decimal] = mapped_column(Money)  # PLB04, as written
    case_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    payment_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("payments.id", ondelete="SET NULL")
    )

    @property
    def reason_label(self) -> str:
        return PLB_REASONS.get(self.reason, self.reason)


PLB_REASONS = {
    "WO": "overpayment recovery",
    "L6": "interest owed",
    "FB": "forwarding balance",
    "72": "authorized return",
    "CS": "adjustment",
    "J1": "nonreimbursable",
    "WU": "unspecified recovery",
    "B2": "rebate",
    "AP": "acceleration of benefits",
    "BD": "bad debt adjustment",
    "CV": "capital passthru",
    "IR": "internal revenue service withholding",
    "LE": "levy",
    "L3": "penalty",
    "50": "late charge",
    "51": "interest penalty charge",
}


class RemittanceClaim(TenantScoped, db.Model):
    """One CLP of a posted file and what posting did with it."""

    __tablename__ = "remittance_claims"
    __table_args__ = (
        Index("ix_remittance_claims_tenant_remittance", "tenant_id", "remittance_id", "seq"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    remittance_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("remittances.id", ondelete="CASCADE")
    )
    transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("remittance_transactions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)  # position in the file, from 1
    segment_no: Mapped[int] = mapped_column(Integer)
    patient_control_number: Mapped[str] = mapped_column(String(60))  # CLP01
    payer_claim_number: Mapped[str | None] = mapped_column(String(60))  # CLP07
    status_code: Mapped[str] = mapped_column(String(4))  # CLP02
    charge: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money)  # CLP04 as written
    amount_posted: Mapped[Decimal] = mapped_column(Money)  # signed: reversals negative
    patient_responsibility: Mapped[Decimal | None] = mapped_column(Money)
    co45_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    remark_codes: Mapped[list] = mapped_column(JSON, default=list)
    is_nsa_remark: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(300))
    case_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    payment_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("payments.id", ondelete="SET NULL")
    )

    @property
    def is_reversal(self) -> bool:
        return self.status_code == "22"


class UnmatchedClaim(TenantScoped, TimestampMixin, db.Model):
    """A posted claim no case was found for: reviewed, then turned into a case
    or dismissed. Holds what a case needs (patient names are PHI)."""

    __tablename__ = "unmatched_claims"
    __table_args__ = (
        UniqueConstraint("tenant_id", "remittance_claim_id"),
        Index("ix_unmatched_claims_tenant_status", "tenant_id", "status", "id"),
        Index("ix_unmatched_claims_case_id", "case_id"),  # the FK's ON DELETE SET NULL
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    remittance_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("remittances.id", ondelete="CASCADE"), index=True
    )
    remittance_claim_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("remittance_claims.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(12), default="open")
    reason: Mapped[str] = mapped_column(String(300))
    payer_name: Mapped[str | None] = mapped_column(String(200))
    payer_identifier: Mapped[str | None] = mapped_column(String(80))
    payee_npi: Mapped[str | None] = mapped_column(String(10))
    patient_first_name: Mapped[str | None] = mapped_column(String(100))
    patient_last_name: Mapped[str | None] = mapped_column(String(100))
    member_id: Mapped[str | None] = mapped_column(String(60))
    patient_control_number: Mapped[str] = mapped_column(String(60))
    payer_claim_number: Mapped[str | None] = mapped_column(String(60))
    status_code: Mapped[str] = mapped_column(String(4))
    charge: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money)  # signed, as it would be posted
    co45_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    paid_on: Mapped[date | None] = mapped_column(Date)
    trace_number: Mapped[str | None] = mapped_column(String(80))
    service_from: Mapped[date | None] = mapped_column(Date)
    service_to: Mapped[date | None] = mapped_column(Date)
    # Everything else a case needs: place of service, rendering NPI, filing
    # indicator, remark codes and the service lines (validate_case_input shape).
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    case_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("cases.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    remittance: Mapped[Remittance] = relationship(lazy="joined", innerjoin=True)

    __audit_type__ = "unmatched_claim"

    @property
    def is_reversal(self) -> bool:
        return self.status_code == "22"

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class ClaimImport(TenantScoped, TimestampMixin, db.Model):
    """One imported claims CSV."""

    __tablename__ = "claim_imports"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sha256"),
        Index("ix_claim_imports_tenant_imported", "tenant_id", "imported_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str | None] = mapped_column(String(255))
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    claim_count: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    existing_count: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(10), default="upload")
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    created_by = relationship("User", lazy="joined")

    __audit_type__ = "claim_import"


IDENTIFIER_KINDS = ("payer_id", "npi", "tin")


class IdentifierAlias(TenantScoped, TimestampMixin, db.Model):
    """An identifier a payer's 835s use and what it means in the firm: a payer id
    (N1*PR REF*2U / N104 / TRN03) for one of its payers, a payee NPI or TIN for
    one of its practices.  Added from the unmatched list ("the fix in place");
    posting looks here after the payer's and practice's own identifiers."""

    __tablename__ = "import_identifier_aliases"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # payer_id, npi, tin
    value: Mapped[str] = mapped_column(String(80))
    payer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("payers.id", ondelete="CASCADE"), index=True
    )
    practice_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("practices.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    __audit_type__ = "identifier_alias"


class HeaderAlias(TenantScoped, TimestampMixin, db.Model):
    """The firm's saved header mapping: a column name its files use, and the
    import column it means."""

    __tablename__ = "import_header_aliases"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "header_key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "claims"
    header: Mapped[str] = mapped_column(String(200))  # as written in the file
    header_key: Mapped[str] = mapped_column(String(200))  # csvimport.normalise_header(header)
    column: Mapped[str] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    __audit_type__ = "header_alias"
