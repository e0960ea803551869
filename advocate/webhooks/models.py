"""A firm's webhook endpoints and every delivery made to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from advocate.db import IdType, TimestampMixin
from advocate.extensions import db
from tenants import TenantScoped


class WebhookEndpoint(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(80))
    events: Mapped[list] = mapped_column(JSON, default=list)
    description: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class WebhookDelivery(TenantScoped, TimestampMixin, db.Model):
    """One attempt series of one event to one endpoint (a replay is a new delivery)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_tenant_endpoint", "tenant_id", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(10), default="pending"
    )  # pending, retrying, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(String(2000))
    error: Mapped[str | None] = mapped_column(String(255))
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    replay_of_id: Mapped[int | None] = mapped_column(BigInteger)
