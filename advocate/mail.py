"""Outgoing email: SMTP when configured; otherwise the outbox (a table plus
.eml files in the instance folder) that the demo shows in the UI, so nothing
is ever silently lost."""

from __future__ import annotations

import smtplib
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from flask import current_app
from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from advocate.db import IdType, utcnow
from advocate.extensions import db
from tenants import current_tenant_id


class OutboxMessage(db.Model):
    """Every message sent, whatever the transport (a record of contact)."""

    __tablename__ = "outbox_messages"
    __table_args__ = {"implicit_returning": False}  # see AuditEvent

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    transport: Mapped[str] = mapped_column(String(10))  # smtp | outbox
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(255))


def send_mail(to: str, subject: str, body: str, *, tenant_id: int | None = None) -> OutboxMessage:
    cfg = current_app.config
    msg = OutboxMessage(
        tenant_id=tenant_id if tenant_id is not None else current_tenant_id(),
        to_addr=to,
        subject=subject,
        body=body,
        transport="smtp" if cfg.get("SMTP_HOST") else "outbox",
    )
    db.session.add(msg)
    em = EmailMessage()
    em["From"] = cfg["MAIL_FROM"]
    em["To"] = to
    em["Subject"] = subject
    em.set_content(body)
    if cfg.get("SMTP_HOST"):
        try:
            with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=10) as smtp:
                if cfg.get("SMTP_STARTTLS"):
                    smtp.starttls()
                if cfg.get("SMTP_USER"):
                    smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"] or "")
                smtp.send_message(em)
            msg.sent_at = utcnow()
        except (OSError, smtplib.SMTPException) as exc:
            msg.error = f"{type(exc).__name__}: {exc}"[:255]
            current_app.logger.warning("SMTP delivery failed: %s", type(exc).__name__)
    else:
        folder = Path(cfg["OUTBOX_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        (folder / f"{stamp}.eml").write_bytes(bytes(em))
        msg.sent_at = utcnow()
    return msg
