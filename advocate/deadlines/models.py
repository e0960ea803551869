"""The deadline data a firm keeps: its closure days and its list of states with a
specified (surprise-billing) state law."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocate.db import IdType, TimestampMixin
from advocate.deadlines.eligibility import ServiceType
from advocate.extensions import db
from tenants import TenantScoped


class ClosureDay(TenantScoped, TimestampMixin, db.Model):
    """A weekday the firm does not count as a business day (e.g. federal offices
    closed by executive order on 2024-12-24)."""

    __tablename__ = "closure_days"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    created_by = relationship("User", lazy="raise")


class SpecifiedStateLaw(TenantScoped, TimestampMixin, db.Model):
    """A state whose surprise-billing law sets the out-of-network rate for fully
    insured plans, and the services that law covers."""

    __tablename__ = "specified_state_laws"
    __table_args__ = (UniqueConstraint("tenant_id", "state"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    state: Mapped[str] = mapped_column(String(2))
    citation: Mapped[str | None] = mapped_column(String(200))
    is_emergency_covered: Mapped[bool] = mapped_column(Boolean, default=True)
    is_facility_covered: Mapped[bool] = mapped_column(Boolean, default=True)
    is_air_ambulance_covered: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    created_by = relationship("User", lazy="raise")

    @property
    def services(self) -> frozenset[ServiceType]:
        """The NSA service types this law sets the rate for."""
        flags = (
            (self.is_emergency_covered, ServiceType.EMERGENCY),
            (self.is_facility_covered, ServiceType.NONEMERGENCY_AT_IN_NETWORK_FACILITY),
            (self.is_air_ambulance_covered, ServiceType.AIR_AMBULANCE),
        )
        return frozenset(s for on, s in flags if on)
