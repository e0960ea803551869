"""Tenant (a firm) and Membership (a person's role in a firm).

Neither uses the ORM's automatic tenant filter: the log-in flow must find a
person's memberships before any tenant is known. On PostgreSQL, memberships
still carry row-level security (visible to their tenant, or to the user whose
id is set for the transaction).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocate.db import IdType, TimestampMixin
from advocate.extensions import db

OWNER, ADMIN, ADVOCATE, VIEWER = "owner", "admin", "advocate", "viewer"
PRACTICE_ADMIN, PRACTICE_USER = "practice_admin", "practice_user"

STAFF_ROLES = (OWNER, ADMIN, ADVOCATE, VIEWER)
PRACTICE_ROLES = (PRACTICE_ADMIN, PRACTICE_USER)
ALL_ROLES = STAFF_ROLES + PRACTICE_ROLES
MANAGER_ROLES = (OWNER, ADMIN)
WORKER_ROLES = (OWNER, ADMIN, ADVOCATE)

ROLE_LABELS = {
    OWNER: "Owner",
    ADMIN: "Admin",
    ADVOCATE: "Advocate",
    VIEWER: "Viewer",
    PRACTICE_ADMIN: "Practice admin",
    PRACTICE_USER: "Practice user",
}


class Tenant(TimestampMixin, db.Model):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    zip: Mapped[str | None] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(40))
    fax: Mapped[str | None] = mapped_column(String(40))
    letterhead_name: Mapped[str | None] = mapped_column(String(200))
    letterhead_tagline: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    stripe_account_id: Mapped[str | None] = mapped_column(String(64), unique=True)

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class Membership(TimestampMixin, db.Model):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        Index("ix_memberships_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    # Practice users belong to exactly one practice of the firm.
    practice_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("practices.id"), index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None]
    # The role of whoever deactivated this person: only that rank or above may
    # reactivate them (a firm's deactivation outranks a practice admin).
    deactivated_by_role: Mapped[str | None] = mapped_column(String(20))
    last_login_at: Mapped[datetime | None]

    tenant: Mapped[Tenant] = relationship(lazy="joined")
    user = relationship("User", back_populates="memberships", lazy="joined")

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_practice(self) -> bool:
        return self.role in PRACTICE_ROLES

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def has_role(self, *roles: str) -> bool:
        return self.is_active and self.role in roles
