"""The audit log: append-only. On PostgreSQL the app role may only INSERT and
SELECT it; the ORM refuses updates and deletes on every backend."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocate.db import IdType, utcnow
from advocate.extensions import db

# The actions that may be logged with no firm (kept in step with the database
# policy, tenants.rls.PRE_TENANT_AUDIT_PREFIXES): events before anyone is known
# to belong to a firm. Name any new such event auth.* or signup.*.
PRE_TENANT_PREFIXES = (
    "auth.",
    "signup.",
    "rates.pfs_",
)  # rates.pfs_: the shared CMS fee schedule, loaded by an operator


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_tenant_at", "tenant_id", "at"),
        Index("ix_audit_events_tenant_object", "tenant_id", "object_type", "object_id"),
        # No INSERT ... RETURNING: RLS checks returned rows against the read
        # policy, and a tenantless row (a failed log-in) is readable by no one.
        {"implicit_returning": False},
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    # Nullable: a failed log-in of an unknown address belongs to no firm (on
    # PostgreSQL only the pre-tenant events, PRE_TENANT_PREFIXES, may be).
    # Plain values, no foreign keys: the log outlives a deleted firm or user
    # (HIPAA keeps audit records six years), so nothing cascades into it.
    tenant_id: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64))
    is_phi: Mapped[bool] = mapped_column(default=False)
    ip: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(8))
    path: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    user = relationship(
        "User", primaryjoin="foreign(AuditEvent.user_id) == User.id", lazy="joined", viewonly=True
    )


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target):
    raise PermissionError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise PermissionError("audit events are append-only")
