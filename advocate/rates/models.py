"""Rates tables.

Shared reference data (not tenant-scoped, no ``tenant_id``): the CMS Medicare
Physician Fee Schedule, one set of rows per calendar year, loaded by
``flask rates import-pfs`` (``advocate.rates.importer``).  CPT descriptors are
AMA-copyrighted: there is deliberately no description column anywhere.

Tenant-owned: the commercial charge percentiles a firm licenses (FAIR Health
style) and the uploads they came from.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from advocate.db import IdType, TimestampMixin, utcnow
from advocate.extensions import db
from tenants import TenantScoped

# RVUs, GPCIs and conversion factors: CMS publishes 2-4 decimals; the importer
# refuses a value with more than RATE_SCALE decimals rather than let the
# database round it.
RATE_SCALE = 4
Rate = Numeric(12, RATE_SCALE)
Money = Numeric(12, 2)

# ---------------------------------------------------------------------------
# Medicare Physician Fee Schedule (reference data)
# ---------------------------------------------------------------------------


class PfsYear(db.Model):
    """One imported fee schedule year: where it came from and how big it is."""

    __tablename__ = "pfs_years"

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    # The CMS release loaded for the year (A, B, C, D...) and the date it takes
    # effect; importing another release of the year replaces this one's rows.
    release: Mapped[str] = mapped_column(String(2), default="A", server_default="A")
    effective: Mapped[date] = mapped_column(Date)
    rvu_file: Mapped[str] = mapped_column(String(255))
    gpci_file: Mapped[str] = mapped_column(String(255))
    zip_file: Mapped[str] = mapped_column(String(255))
    anes_file: Mapped[str | None] = mapped_column(String(255))
    conversion_factor: Mapped[Decimal] = mapped_column(Rate)
    anes_national_cf: Mapped[Decimal | None] = mapped_column(Rate)
    zip_year_quarter: Mapped[str] = mapped_column(String(5))
    rvu_rows: Mapped[int] = mapped_column(Integer)
    gpci_rows: Mapped[int] = mapped_column(Integer)
    zip_rows: Mapped[int] = mapped_column(Integer)
    anes_rows: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<PfsYear {self.year}>"


class PfsRvu(db.Model):
    """One row of the PPRRVU file: (year, HCPCS, modifier) -> status, RVUs, indicators."""

    __tablename__ = "pfs_rvus"

    year: Mapped[int] = mapped_column(
        SmallInteger, ForeignKey("pfs_years.year", ondelete="CASCADE"), primary_key=True
    )
    hcpcs: Mapped[str] = mapped_column(String(5), primary_key=True)
    modifier: Mapped[str] = mapped_column(String(2), primary_key=True, default="")
    status: Mapped[str] = mapped_column(String(1))
    work_rvu: Mapped[Decimal] = mapped_column(Rate)
    nonfac_pe_rvu: Mapped[Decimal] = mapped_column(Rate)
    fac_pe_rvu: Mapped[Decimal] = mapped_column(Rate)
    mp_rvu: Mapped[Decimal] = mapped_column(Rate)
    is_nonfac_na: Mapped[bool] = mapped_column(Boolean, default=False)
    is_fac_na: Mapped[bool] = mapped_column(Boolean, default=False)
    is_not_used_for_medicare: Mapped[bool] = mapped_column(Boolean, default=False)
    pctc: Mapped[str] = mapped_column(String(1))
    global_days: Mapped[str] = mapped_column(String(3))
    mult_proc: Mapped[str] = mapped_column(String(1))
    bilat_surg: Mapped[str] = mapped_column(String(1))
    asst_surg: Mapped[str] = mapped_column(String(1))
    co_surg: Mapped[str] = mapped_column(String(1))
    team_surg: Mapped[str] = mapped_column(String(1))
    endo_base: Mapped[str] = mapped_column(String(5), default="")
    conv_factor: Mapped[Decimal] = mapped_column(Rate)
    opps_nonfac_pe_rvu: Mapped[Decimal] = mapped_column(Rate)
    opps_fac_pe_rvu: Mapped[Decimal] = mapped_column(Rate)
    opps_mp_rvu: Mapped[Decimal] = mapped_column(Rate)

    # The names advocate.rates.medicare.price() reads (RvuLike).
    @property
    def nonfac_na(self) -> bool:
        return self.is_nonfac_na

    @property
    def fac_na(self) -> bool:
        return self.is_fac_na

    @property
    def not_used_for_medicare(self) -> bool:
        return self.is_not_used_for_medicare

    def __repr__(self) -> str:
        return f"<PfsRvu {self.year} {self.hcpcs}{'-' + self.modifier if self.modifier else ''}>"


class PfsGpci(db.Model):
    """One Medicare locality's geographic practice cost indices."""

    __tablename__ = "pfs_gpcis"

    year: Mapped[int] = mapped_column(
        SmallInteger, ForeignKey("pfs_years.year", ondelete="CASCADE"), primary_key=True
    )
    carrier: Mapped[str] = mapped_column(String(5), primary_key=True)
    locality: Mapped[str] = mapped_column(String(2), primary_key=True)
    state: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(200))
    pw: Mapped[Decimal] = mapped_column(Rate)
    pe: Mapped[Decimal] = mapped_column(Rate)
    mp: Mapped[Decimal] = mapped_column(Rate)

    def __repr__(self) -> str:
        return f"<PfsGpci {self.year} {self.carrier}/{self.locality}>"


class PfsZipLocality(db.Model):
    """ZIP code -> Medicare carrier and pricing locality (the ZIP5 file)."""

    __tablename__ = "pfs_zip_localities"

    year: Mapped[int] = mapped_column(
        SmallInteger, ForeignKey("pfs_years.year", ondelete="CASCADE"), primary_key=True
    )
    zip: Mapped[str] = mapped_column(String(5), primary_key=True)
    state: Mapped[str] = mapped_column(String(2))
    carrier: Mapped[str] = mapped_column(String(5))
    locality: Mapped[str] = mapped_column(String(2))
    rural: Mapped[str] = mapped_column(String(1), default="")  # '' urban, R rural, B super rural
    is_plus_four: Mapped[bool] = mapped_column(Boolean, default=False)
    year_quarter: Mapped[str] = mapped_column(String(5))

    def __repr__(self) -> str:
        return f"<PfsZipLocality {self.year} {self.zip}>"


class PfsAnesCf(db.Model):
    """A locality's anesthesia conversion factor (the ANES file)."""

    __tablename__ = "pfs_anes_cfs"

    year: Mapped[int] = mapped_column(
        SmallInteger, ForeignKey("pfs_years.year", ondelete="CASCADE"), primary_key=True
    )
    carrier: Mapped[str] = mapped_column(String(5), primary_key=True)
    locality: Mapped[str] = mapped_column(String(2), primary_key=True)
    anes_cf: Mapped[Decimal] = mapped_column(Rate)


# ---------------------------------------------------------------------------
# Commercial charge percentiles (tenant-owned: the firm's licensed data)
# ---------------------------------------------------------------------------

PERCENTILES = (50, 60, 70, 75, 80, 85, 90, 95)

IMPORT_PENDING, IMPORT_APPLIED, IMPORT_DISCARDED = "pending", "applied", "discarded"


class PercentileImport(TenantScoped, TimestampMixin, db.Model):
    """An uploaded percentile CSV: kept (bytes and hash) between the preview and
    the confirmation, then its counts once applied."""

    __tablename__ = "percentile_imports"
    __audit_type__ = "percentile_imports"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=IMPORT_PENDING)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    years: Mapped[str] = mapped_column(String(100), default="")
    inserted_count: Mapped[int | None] = mapped_column(Integer)
    updated_count: Mapped[int | None] = mapped_column(Integer)
    # The uploaded bytes, only while pending (cleared on apply or discard).
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_by_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("users.id", ondelete="SET NULL")
    )
    applied_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_percentile_imports_tenant_created", "tenant_id", "created_at"),)


class CommercialPercentile(TenantScoped, TimestampMixin, db.Model):
    """A firm's licensed charge benchmark for one code, modifier, 3-digit ZIP and year."""

    __tablename__ = "commercial_percentiles"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger)
    code: Mapped[str] = mapped_column(String(5))
    modifier: Mapped[str] = mapped_column(String(2), default="")
    zip3: Mapped[str] = mapped_column(String(3))
    p50: Mapped[Decimal] = mapped_column(Money)
    p60: Mapped[Decimal] = mapped_column(Money)
    p70: Mapped[Decimal] = mapped_column(Money)
    p75: Mapped[Decimal] = mapped_column(Money)
    p80: Mapped[Decimal] = mapped_column(Money)
    p85: Mapped[Decimal] = mapped_column(Money)
    p90: Mapped[Decimal] = mapped_column(Money)
    p95: Mapped[Decimal] = mapped_column(Money)
    import_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("percentile_imports.id", ondelete="SET NULL")
    )

    __table_args__ = (
        UniqueConstraint("tenant_id", "year", "code", "modifier", "zip3"),
        Index("ix_commercial_percentiles_tenant_code_zip3", "tenant_id", "code", "zip3"),
    )

    def values(self) -> dict[int, Decimal]:
        return {p: getattr(self, f"p{p}") for p in PERCENTILES}


# ---------------------------------------------------------------------------
# Case benchmarks (tenant-owned: computed from the firm's cases)
# ---------------------------------------------------------------------------


class LineBenchmark(TenantScoped, db.Model):
    """What one service line is worth, as last computed by
    :mod:`advocate.rates.benchmark` (one row per service line).

    Money is for the whole line (all its units).  An amount that could not be
    computed is NULL with the reason beside it, in words.  ``expected`` is the
    line's expected payment under the rule documented in
    :mod:`advocate.rates.benchmark`; ``expected_basis`` names which rule gave it.
    """

    __tablename__ = "line_benchmarks"
    __audit_type__ = "line_benchmark"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    # The line's case (no foreign key of its own: the line's ON DELETE CASCADE,
    # and the case's to its lines, already remove the row with either).
    case_id: Mapped[int] = mapped_column(IdType)
    line_id: Mapped[int] = mapped_column(IdType, ForeignKey("service_lines.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    fee_year: Mapped[int | None] = mapped_column(SmallInteger)
    locality: Mapped[str | None] = mapped_column(String(8))  # "13202-01"
    medicare: Mapped[Decimal | None] = mapped_column(Money)
    medicare_reason: Mapped[str | None] = mapped_column(String(500))
    # [[label, factor, explanation], ...] and notes, as the surgical rules gave them.
    medicare_steps: Mapped[list | None] = mapped_column(JSON)
    zip3: Mapped[str | None] = mapped_column(String(3))
    percentile_year: Mapped[int | None] = mapped_column(SmallInteger)
    p50: Mapped[Decimal | None] = mapped_column(Money)
    p60: Mapped[Decimal | None] = mapped_column(Money)
    p70: Mapped[Decimal | None] = mapped_column(Money)
    p75: Mapped[Decimal | None] = mapped_column(Money)
    p80: Mapped[Decimal | None] = mapped_column(Money)
    p85: Mapped[Decimal | None] = mapped_column(Money)
    p90: Mapped[Decimal | None] = mapped_column(Money)
    p95: Mapped[Decimal | None] = mapped_column(Money)
    percentile_reason: Mapped[str | None] = mapped_column(String(300))
    policy: Mapped[Decimal | None] = mapped_column(Money)
    policy_basis: Mapped[str | None] = mapped_column(String(200))
    policy_reason: Mapped[str | None] = mapped_column(String(300))
    sca: Mapped[Decimal | None] = mapped_column(Money)
    sca_reason: Mapped[str | None] = mapped_column(String(300))
    expected: Mapped[Decimal | None] = mapped_column(Money)
    expected_basis: Mapped[str | None] = mapped_column(String(20))
    expected_reason: Mapped[str] = mapped_column(String(300), default="")
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("tenant_id", "line_id"),
        Index("ix_line_benchmarks_tenant_case", "tenant_id", "case_id", "line_no"),
        # The foreign key's ON DELETE CASCADE (a line deleted).
        Index("ix_line_benchmarks_line", "line_id"),
    )

    def percentiles(self) -> dict[int, Decimal]:
        """The percentiles present on this line ({} when the firm has none)."""
        out = {p: getattr(self, f"p{p}") for p in PERCENTILES}
        return {p: v for p, v in out.items() if v is not None}
