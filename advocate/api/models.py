"""The API's own tables: idempotency keys (per firm and token)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from advocate.db import IdType, TimestampMixin
from advocate.extensions import db
from tenants import TenantScoped


class IdempotencyKey(TenantScoped, TimestampMixin, db.Model):
    """A POST made with an Idempotency-Key: the request's fingerprint and, once
    answered, the answer to replay (status_code NULL while it is in progress)."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_id", "key"),
        Index("ix_api_idempotency_keys_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    token_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("api_tokens.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[dict | None] = mapped_column(JSON)
    expires_at: Mapped[datetime]
