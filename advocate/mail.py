"""Outgoing email: SMTP when configured; otherwise the outbox (a table plus
.eml files in the instance folder) that the demo shows in the UI, so nothing
is ever silently lost.

Mail leaves only after the transaction that wrote it commits: ``send_mail``
records the message (status ``queued``) in the caller's transaction, and the
commit hands it to delivery: an RQ job with retries when Redis is configured,
otherwise at once, in a session of its own, right after the commit. A rolled
back transaction sends nothing. Attempts, errors and the final status are kept
on the message and shown on the outbox page.
"""

from __future__ import annotations

import contextlib
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
from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from advocate.db import IdType, utcnow
from advocate.extensions import db
from tenants import current_tenant_id, tenant_scope

_PENDING = "advocate_mail_pending"
MAX_ATTEMPTS = 4  # the first try and RQ's three retries


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
    # queued -> sent | retrying -> sent | failed
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)


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
    """Record a message in the caller's transaction; it is delivered after the
    commit. `private`: secrets in the body (links with tokens) that go to the
    recipient only: the outbox row, which the firm's managers can read, keeps
    them redacted, and delivery carries the full body in its job."""
    cfg = current_app.config
    private = [p for p in private if p]
    em = build_message(cfg["MAIL_FROM"], to, subject, body)  # refuses what cannot be sent
    msg = OutboxMessage(
        tenant_id=tenant_id if tenant_id is not None else current_tenant_id(),
        to_addr=to,
        subject=str(em["Subject"])[:255],
        body=redact(body, private),
        transport="smtp" if cfg.get("SMTP_HOST") else "outbox",
        status="queued",
        attempts=0,
    )
    db.session.add(msg)
    db.session.flush()
    db.session.info.setdefault(_PENDING, []).append(
        {
            "id": msg.id,
            "tenant_id": msg.tenant_id,
            "to": to,
            "subject": subject,
            "body": body,
            "private": bool(private),
        }  # fmt: skip
    )
    return msg


def _message(to: str, subject: str, body: str) -> EmailMessage:
    return build_message(current_app.config["MAIL_FROM"], to, subject, body)


def _transmit(em: EmailMessage) -> None:
    """Hand one message to SMTP (or write it to the outbox folder). Raises on failure."""
    cfg = current_app.config
    if cfg.get("SMTP_HOST"):
        with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=10) as smtp:
            if cfg.get("SMTP_STARTTLS"):
                smtp.starttls()
            if cfg.get("SMTP_USER"):
                smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"] or "")
            smtp.send_message(em)
    else:
        folder = Path(cfg["OUTBOX_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        (folder / f"{stamp}-{secrets.token_hex(3)}.eml").write_bytes(em.as_bytes())


def _record(session: Session, message_id: int, *, ok: bool, error: str | None, final: bool) -> None:
    msg = session.get(OutboxMessage, message_id)
    if msg is None:  # a message without a firm is not readable by the app role: nothing to record
        return
    msg.attempts = (msg.attempts or 0) + 1
    if ok:
        msg.status, msg.sent_at, msg.error = "sent", utcnow(), None
    else:
        msg.status, msg.error = ("failed" if final else "retrying"), error
    session.commit()


def _scope(tenant_id: int | None):
    return tenant_scope(tenant_id) if tenant_id is not None else contextlib.nullcontext()


def deliver(message_id: int, tenant_id: int | None, content: dict | None = None) -> None:
    """RQ job: send one recorded message; a failure raises so RQ retries it.
    ``content`` carries a message without a firm (a password reset), which the
    app role cannot read back, and one whose row is redacted (a private link)."""
    from rq import get_current_job

    with _scope(tenant_id):
        if tenant_id is not None:
            msg = db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id))
            if msg is None or msg.status == "sent":
                return  # at-least-once: a second run sends nothing
            if content is None:
                content = {"to": msg.to_addr, "subject": msg.subject, "body": msg.body}
        job = get_current_job()
        final = job is None or not job.retries_left
        try:
            _transmit(_message(content["to"], content["subject"], content["body"]))
        except (OSError, smtplib.SMTPException) as exc:
            db.session.rollback()
            if tenant_id is not None:
                _record(
                    db.session,
                    message_id,
                    ok=False,
                    error=f"{type(exc).__name__}: {exc}"[:255],
                    final=final,
                )
            current_app.logger.warning(
                "mail delivery failed",
                extra={"message_id": message_id, "error": type(exc).__name__},
            )
            raise
        if tenant_id is not None:
            _record(db.session, message_id, ok=True, error=None, final=True)


def _deliver_inline(item: dict) -> None:
    """Without Redis: one attempt now, in a session of its own (the committed
    one can emit no more SQL from its after-commit hook)."""
    try:
        _transmit(_message(item["to"], item["subject"], item["body"]))
        ok, error = True, None
    except (OSError, smtplib.SMTPException) as exc:
        ok, error = False, f"{type(exc).__name__}: {exc}"[:255]
        current_app.logger.warning(
            "mail delivery failed", extra={"message_id": item["id"], "error": type(exc).__name__}
        )
    if item["tenant_id"] is None:
        return  # a message without a firm: the app role cannot read it back to record the outcome
    # The firm is set on the context variable only: tenant_scope() would also
    # re-apply it to the committed session, which may emit no more SQL here.
    # The new session applies it itself when it begins (tenants.scoping).
    from tenants import _current_tenant_id

    token = _current_tenant_id.set(int(item["tenant_id"]))
    try:
        with Session(db.engine) as session:
            _record(session, item["id"], ok=ok, error=error, final=True)
    finally:
        _current_tenant_id.reset(token)


def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    from advocate import jobs

    for item in pending:
        if jobs.is_inline():
            _deliver_inline(item)
        else:
            # The row keeps a redacted body: a message with a private link (or
            # without a firm, unreadable by the app role) travels in the job.
            carry = item["tenant_id"] is None or item["private"]
            content = {k: item[k] for k in ("to", "subject", "body")} if carry else None
            jobs.enqueue(deliver, item["id"], item["tenant_id"], content, queue_name="default")


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
