"""The firm's payer directory and each payer's out-of-network policy, versioned
by effective date per plan type."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocate.db import IdType, TimestampMixin
from advocate.extensions import db
from advocate.payers.defaults import (
    PERCENT_BOUNDS,
    plan_type_label,
    pricing_method_label,
)
from tenants import TenantScoped


class Payer(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "payers"
    __table_args__ = (UniqueConstraint("tenant_id", "name_key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name as compared: case-folded, whitespace collapsed (one per firm).
    name_key: Mapped[str] = mapped_column(String(200))
    edi_payer_id: Mapped[str | None] = mapped_column(String(40))
    plan_types: Mapped[list] = mapped_column(JSON, default=list)
    claims_address: Mapped[str | None] = mapped_column(Text)
    claims_fax: Mapped[str | None] = mapped_column(String(40))
    appeals_address: Mapped[str | None] = mapped_column(Text)
    appeals_fax: Mapped[str | None] = mapped_column(String(40))
    portal_url: Mapped[str | None] = mapped_column(String(500))
    provider_phone: Mapped[str | None] = mapped_column(String(40))
    appeals_phone: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)

    contacts: Mapped[list[PayerContact]] = relationship(
        back_populates="payer", cascade="all, delete-orphan", order_by="PayerContact.name"
    )
    policies: Mapped[list[PayerPolicy]] = relationship(
        back_populates="payer",
        cascade="all, delete-orphan",
        order_by=lambda: [PayerPolicy.plan_type, PayerPolicy.effective_date.desc()],
    )

    @property
    def plan_type_labels(self) -> list[str]:
        return [plan_type_label(p) for p in (self.plan_types or [])]

    def __repr__(self) -> str:
        return f"<Payer {self.id} {self.name!r}>"


class PayerContact(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "payer_contacts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    payer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("payers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(120))
    direct_line: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    notes: Mapped[str | None] = mapped_column(Text)

    payer: Mapped[Payer] = relationship(back_populates="contacts")


class PayerPolicy(TenantScoped, TimestampMixin, db.Model):
    """One version of a payer's OON policy for one plan type. It applies from
    `effective_date` until the next version's effective date, or until
    `end_date` (exclusive) when the payer withdrew it."""

    __tablename__ = "payer_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "payer_id", "plan_type", "effective_date"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    payer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("payers.id", ondelete="CASCADE"), index=True
    )
    plan_type: Mapped[str] = mapped_column(String(40))
    effective_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)

    pricing_method: Mapped[str] = mapped_column(String(40))
    pricing_percent: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    commercial_percentile: Mapped[int | None] = mapped_column(Integer)
    benchmark_name: Mapped[str | None] = mapped_column(String(120))

    timely_filing_days: Mapped[int] = mapped_column(Integer)
    # None: the firm does not know whether the payer grants SCAs.
    is_sca_available: Mapped[bool | None]
    sca_how_to_request: Mapped[str | None] = mapped_column(Text)
    nsa_notes: Mapped[str | None] = mapped_column(Text)
    limitations: Mapped[str | None] = mapped_column(Text)

    # Where the firm learned it: a document, a web page, a representative.
    source_document: Mapped[str | None] = mapped_column(String(300))
    source_url: Mapped[str | None] = mapped_column(String(500))
    source_rep_name: Mapped[str | None] = mapped_column(String(200))
    source_rep_date: Mapped[date | None] = mapped_column(Date)
    source_reference: Mapped[str | None] = mapped_column(String(100))

    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    payer: Mapped[Payer] = relationship(back_populates="policies")
    appeal_levels: Mapped[list[PayerAppealLevel]] = relationship(
        back_populates="policy", cascade="all, delete-orphan", order_by="PayerAppealLevel.level"
    )
    created_by = relationship("User", foreign_keys=[created_by_id], viewonly=True)
    updated_by = relationship("User", foreign_keys=[updated_by_id], viewonly=True)

    @property
    def plan_type_label(self) -> str:
        return plan_type_label(self.plan_type)

    @property
    def pricing_method_label(self) -> str:
        return pricing_method_label(self.pricing_method)

    @property
    def pricing_summary(self) -> str:
        """'140% of Medicare', '80% of the 80th percentile (FAIR Health)', ..."""
        pct = None if self.pricing_percent is None else f"{self.pricing_percent.normalize():f}%"
        if self.pricing_method == "medicare_percent" and pct:
            return f"{pct} of Medicare"
        if self.pricing_method == "commercial_percentile" and pct:
            bench = f" ({self.benchmark_name})" if self.benchmark_name else ""
            nth = _ordinal(self.commercial_percentile) if self.commercial_percentile else "a"
            return f"{pct} of the {nth} percentile{bench}"
        if self.pricing_method == "billed_percent" and pct:
            return f"{pct} of billed charges"
        return self.pricing_method_label

    @property
    def takes_percent(self) -> bool:
        return self.pricing_method in PERCENT_BOUNDS

    def appeal_level(self, level: int) -> PayerAppealLevel | None:
        return next((a for a in self.appeal_levels if a.level == level), None)

    def __repr__(self) -> str:
        return f"<PayerPolicy {self.id} payer={self.payer_id} {self.plan_type} from {self.effective_date}>"


class PayerAppealLevel(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "payer_appeal_levels"
    __table_args__ = (UniqueConstraint("tenant_id", "policy_id", "level"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    policy_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("payer_policies.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(80))
    window_days: Mapped[int] = mapped_column(Integer)
    submit_to_address: Mapped[str | None] = mapped_column(Text)
    submit_to_fax: Mapped[str | None] = mapped_column(String(40))
    submit_to_portal_url: Mapped[str | None] = mapped_column(String(500))

    policy: Mapped[PayerPolicy] = relationship(back_populates="appeal_levels")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
