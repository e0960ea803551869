"""Letters: firm templates (copied from a system template, versioned),
generated letters, and bulk batches.

A `Letter` is also the work item of a batch: its `status` moves
pending -> rendering (claimed with a lease) -> done | failed | cancelled.
A worker that dies leaves `rendering` rows whose lease expires; any later
job re-claims them. The PDF goes to a key derived from the letter's id, so a
letter rendered twice is written twice to the same object, and only the job
still holding the lease files it as a case document.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocate.db import IdType, TimestampMixin
from advocate.extensions import db
from tenants import TenantScoped

PENDING, RENDERING, DONE, FAILED, CANCELLED = "pending", "rendering", "done", "failed", "cancelled"
LETTER_STATUSES = (PENDING, RENDERING, DONE, FAILED, CANCELLED)
BATCH_RUNNING, BATCH_FINISHED, BATCH_CANCELLED = "running", "finished", "cancelled"


class LetterTemplate(TenantScoped, TimestampMixin, db.Model):
    """A firm's own template for one letter type (a copy of a system
    template, then edited). Its text lives in versions; the newest is used."""

    __tablename__ = "letter_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    letter_type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False)
    current_version_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    versions: Mapped[list[LetterTemplateVersion]] = relationship(
        back_populates="template",
        order_by="LetterTemplateVersion.number.desc()",
        lazy="select",
        cascade="all, delete-orphan",
    )

    __audit_type__ = "letter_template"


class LetterTemplateVersion(TenantScoped, db.Model):
    """One saved text of a template; never changed once written."""

    __tablename__ = "letter_template_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "template_id", "number"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    template_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("letter_templates.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]

    template: Mapped[LetterTemplate] = relationship(back_populates="versions")
    created_by = relationship("User", lazy="joined")

    __audit_type__ = "letter_template_version"


class LetterBatch(TenantScoped, TimestampMixin, db.Model):
    """Letters of one type for the cases a caseload filter chose."""

    __tablename__ = "letter_batches"
    __table_args__ = (Index("ix_letter_batches_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    letter_type: Mapped[str] = mapped_column(String(40))
    template_version_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("letter_template_versions.id", ondelete="RESTRICT")
    )
    filter_query: Mapped[str] = mapped_column(String(2000), default="")
    letter_date: Mapped[date] = mapped_column(Date)
    total: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default=BATCH_RUNNING)
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    created_by = relationship("User", lazy="joined")

    __audit_type__ = "letter_batch"


class Letter(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "letters"
    __table_args__ = (
        Index("ix_letters_tenant_batch_status", "tenant_id", "batch_id", "status"),
        Index("ix_letters_tenant_case", "tenant_id", "case_id"),
        Index("ix_letters_case_id", "case_id"),  # the FK's ON DELETE CASCADE
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    batch_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("letter_batches.id", ondelete="CASCADE")
    )
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id", ondelete="CASCADE"))
    letter_type: Mapped[str] = mapped_column(String(40))
    template_version_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("letter_template_versions.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    leased_until: Mapped[datetime | None]
    storage_key: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    document_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("documents.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(String(1000))
    rendered_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )

    __audit_type__ = "letter"
