"""The firm's directory of professional associations (specialty societies)."""

from __future__ import annotations

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from advocate.db import IdType, TimestampMixin
from advocate.extensions import db
from tenants import TenantScoped


class Association(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "professional_associations"
    __table_args__ = (
        Index("ix_professional_associations_tenant_specialty", "tenant_id", "specialty"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    specialty: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(500))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<Association {self.id} {self.name!r}>"
