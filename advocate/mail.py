"""Outgoing email: SMTP when configured; otherwise the outbox (a table plus
.eml files in the instance folder) that the demo shows in the UI, so nothing
is ever silently lost."""

from __future__ import annotations

import re
import secrets
import smtplib
from collections.abc import Iterable
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
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


# What the outbox table (shown on the firm's Email outbox page) keeps instead of
# a link that carries a secret: only the recipient's own mail has the link.
REDACTED_LINK = "[link sent only to the recipient]"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_text(value: str) -> str:
    """A header value on one line: control characters (CR, LF, NUL, ...) become
    a space, so a stray name can neither inject a header nor stop the mail."""
    return " ".join(_CONTROL.sub(" ", value or "").split())


def redact(body: str, private: Iterable[str]) -> str:
    for value in private:
        if value:
            body = body.replace(value, REDACTED_LINK)
    return body


def build_message(mail_from: str, to: str, subject: str, body: str) -> EmailMessage:
    """The message, its headers built as objects by the email package's SMTP
    policy (which folds, encodes and refuses line breaks), never by joining
    strings."""
    em = EmailMessage(policy=policy.SMTP)
    name, addr = parseaddr(mail_from)
    em["From"] = (
        Address(display_name=header_text(name), addr_spec=addr) if name else Address(addr_spec=addr)
    )
    em["To"] = Address(addr_spec=header_text(to))
    em["Subject"] = header_text(subject)
    em.set_content(body)
    return em


def send_mail(
    to: str,
    subject: str,
    body: str,
    *,
    tenant_id: int | None = None,
    private: Iterable[str] = (),
) -> OutboxMessage:
    """Send (or keep in the outbox folder) one message. `private`: secrets in
    the body (links with tokens) that go to the recipient only: the outbox
    row, which the firm's managers can read, keeps them redacted."""
    cfg = current_app.config
    private = [p for p in private if p]
    em = build_message(cfg["MAIL_FROM"], to, subject, body)
    msg = OutboxMessage(
        tenant_id=tenant_id if tenant_id is not None else current_tenant_id(),
        to_addr=to,
        subject=str(em["Subject"])[:255],
        body=redact(body, private),
        transport="smtp" if cfg.get("SMTP_HOST") else "outbox",
    )
    db.session.add(msg)
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
        # The development transport: the operator's folder holds the full
        # messages (links included), as a mailbox would.
        folder = Path(cfg["OUTBOX_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        (folder / f"{stamp}-{secrets.token_hex(3)}.eml").write_bytes(em.as_bytes())
        msg.sent_at = utcnow()
    return msg
