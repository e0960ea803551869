"""A stored file attached to one owner (a practice, payer, payer policy,
association or case) of the same firm.

The owner is generic (`owner_type`, `owner_id`) so features can attach
documents without a migration here; `advocate.documents.owners` holds the
loaders that prove an owner exists in the current firm.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocate.db import IdType, TimestampMixin
from advocate.extensions import db
from tenants import TenantScoped

CATEGORIES: list[tuple[str, str]] = [
    ("eob", "EOB / remittance"),
    ("medical_records", "Medical records"),
    ("operative_note", "Operative note"),
    ("correspondence", "Correspondence"),
    ("authorization", "Authorization"),
    ("sca", "Single case agreement"),
    ("appeal_decision", "Appeal decision"),
    ("other", "Other"),
]
CATEGORY_LABELS = dict(CATEGORIES)


class Document(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("tenant_id", "storage_key"),
        Index("ix_documents_tenant_owner", "tenant_id", "owner_type", "owner_id"),
        Index("ix_documents_tenant_sha256", "tenant_id", "sha256"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int] = mapped_column(BigInteger)
    category: Mapped[str] = mapped_column(String(30))
    # The uploaded name, cleaned; shown and offered on download, never used as a key.
    filename: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(10))  # sniffed: pdf, png, jpeg, tiff, docx, text
    content_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255))
    duplicate_of_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("documents.id", ondelete="SET NULL")
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    deleted_at: Mapped[datetime | None]
    deleted_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    # Set by `flask documents sweep` when the stored object has gone missing.
    is_missing: Mapped[bool] = mapped_column(Boolean, default=False)
    missing_since: Mapped[datetime | None]

    uploaded_by = relationship("User", foreign_keys=[uploaded_by_id], lazy="raise", viewonly=True)
    deleted_by = relationship("User", foreign_keys=[deleted_by_id], lazy="raise", viewonly=True)
    duplicate_of = relationship("Document", remote_side=[id], lazy="raise", viewonly=True)

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS.get(self.category, self.category)

    @property
    def kind_label(self) -> str:
        from advocate.documents.filetypes import KINDS

        kind = KINDS.get(self.kind)
        return kind.label if kind else self.kind

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def __repr__(self) -> str:
        return f"<Document {self.id} {self.owner_type}:{self.owner_id}>"
