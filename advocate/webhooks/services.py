"""Outbound webhooks for a firm's own systems.

An event (``emit``) becomes one delivery row per subscribed endpoint in the
caller's transaction; the commit hands the deliveries to an RQ job (retried
with backoff) or, without Redis, sends them at once in a session of their own.
A rolled-back transaction sends nothing. Each POST is signed like Stripe's
scheme: ``Advocate-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body"
with the endpoint's secret>``. Payloads carry ids and states, never a patient's
name. Every attempt's response status and the start of its body are kept;
a delivery can be replayed (a new delivery with the same event).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from urllib.parse import urlsplit

import requests
from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from advocate.audit.services import audit
from advocate.db import utcnow
from advocate.extensions import db
from advocate.webhooks import safe_http
from advocate.webhooks.models import WebhookDelivery, WebhookEndpoint

EVENTS = {
    "case.created": "Case created",
    "case.status_changed": "Case status changed",
    "payment.posted": "Payment posted",
    "fee.accrued": "Fee accrued",
    "deadline.due": "Deadline due",
    "letter_batch.finished": "Letter batch finished",
}
SIGNATURE_HEADER = "Advocate-Signature"
RETRY_INTERVALS = [10, 60, 300, 1800, 7200]  # seconds between attempts (RQ Retry)
TIMEOUT = 10
_PENDING = "advocate_webhooks_pending"


class WebhookError(ValueError):
    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(m for _, m in errors))


def sign(secret: str, timestamp: int, body: str) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    secret: str, header: str, body: str, *, tolerance: int = 300, now: int | None = None
) -> bool:
    """What a receiver does: check the signature and that it is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        ts = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or int(time.time())) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), header)


def create_endpoint(
    *, tenant_id: int, actor, url: str, events: list[str], description: str | None = None
):
    errors = []
    url = (url or "").strip()
    parts = urlsplit(url)
    allowed = ("https", "http") if current_app.config.get("WEBHOOKS_ALLOW_HTTP") else ("https",)
    if parts.scheme not in allowed or not parts.netloc or len(url) > 500:
        errors.append(("url", "Enter an https:// address of your system (at most 500 characters)."))
    else:
        try:
            safe_http.check_url(url)
        except safe_http.UnsafeAddress as exc:
            errors.append(
                ("url", f"This address can't receive webhooks: {exc}. Use a public address.")
            )
    events = [e for e in events or [] if e]
    unknown = [e for e in events if e not in EVENTS]
    if not events or unknown:
        errors.append(("events", "Choose at least one event from the list."))
    if errors:
        raise WebhookError(errors)
    ep = WebhookEndpoint(
        tenant_id=tenant_id,
        url=url,
        events=sorted(set(events)),
        description=(description or None),
        secret="whsec_" + secrets.token_hex(24),
        is_active=True,
    )
    db.session.add(ep)
    db.session.flush()
    forget_endpoints()
    audit(
        "webhook.endpoint_created",
        ep,
        user_id=getattr(actor, "id", None),
        details={"events": ep.events},
    )
    return ep


_ENDPOINTS = "advocate_webhook_endpoints"


def _active_endpoints(tenant_id: int) -> list[WebhookEndpoint]:
    """The firm's active endpoints, read once per transaction (an import that
    opens a thousand cases asks once, not a thousand times)."""
    cache = db.session.info.setdefault(_ENDPOINTS, {})
    if tenant_id not in cache:
        cache[tenant_id] = db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.is_active.is_(True))
            .order_by(WebhookEndpoint.id)
        ).all()
    return cache[tenant_id]


def subscribed(tenant_id: int, event_type: str) -> bool:
    return any(event_type in (ep.events or []) for ep in _active_endpoints(tenant_id))


def forget_endpoints() -> None:
    db.session.info.pop(_ENDPOINTS, None)


def emit(tenant_id: int, event_type: str, data: dict) -> list[WebhookDelivery]:
    """Record the event for every active endpoint that subscribed to it (sent after the commit)."""
    assert event_type in EVENTS, event_type
    endpoints = [ep for ep in _active_endpoints(tenant_id) if event_type in (ep.events or [])]
    if not endpoints:
        return []
    event_id = "evt_" + uuid.uuid4().hex
    payload = json.dumps(
        {
            "id": event_id,
            "type": event_type,
            "created": int(time.time()),
            "firm_id": tenant_id,
            "data": data,
        },
        separators=(",", ":"),
        default=str,
    )
    out = []
    for ep in endpoints:
        d = WebhookDelivery(
            tenant_id=tenant_id,
            endpoint_id=ep.id,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            status="pending",
            attempts=0,
        )
        db.session.add(d)
        out.append(d)
    db.session.flush()
    for d in out:
        _queue_after_commit(d)
    return out


def replay(delivery: WebhookDelivery, *, actor) -> WebhookDelivery:
    again = WebhookDelivery(
        tenant_id=delivery.tenant_id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        payload=delivery.payload,
        status="pending",
        attempts=0,
        replay_of_id=delivery.id,
    )
    db.session.add(again)
    db.session.flush()
    audit(
        "webhook.replayed",
        again,
        user_id=getattr(actor, "id", None),
        details={"replay_of": delivery.id},
    )
    _queue_after_commit(again)
    return again


def _queue_after_commit(d: WebhookDelivery) -> None:
    ep = db.session.get(WebhookEndpoint, d.endpoint_id)
    db.session.info.setdefault(_PENDING, []).append(
        {
            "id": d.id,
            "tenant_id": d.tenant_id,
            "url": ep.url,
            "secret": ep.secret,
            "payload": d.payload,
        }
    )


def _post(url: str, secret: str, payload: str) -> tuple[int | None, str | None, str | None]:
    """(response status, start of the body, error)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Advocate-Webhooks/1",
        SIGNATURE_HEADER: sign(secret, int(time.time()), payload),
    }
    try:
        # Resolved, checked and connected to the checked address (see safe_http).
        r = safe_http.post(url, data=payload.encode(), headers=headers, timeout=TIMEOUT)
    except requests.RequestException as exc:
        if "refused: " in str(exc):  # the SSRF guard: the host is not a public address
            return None, None, "Refused: the address is not public"
        return None, None, f"{type(exc).__name__}"[:255]
    return r.status_code, r.text[:2000], None


def _record(session: Session, delivery_id: int, status_code, body, error, *, final: bool) -> bool:
    d = session.get(WebhookDelivery, delivery_id)
    ok = status_code is not None and 200 <= status_code < 300
    if d is not None:
        d.attempts = (d.attempts or 0) + 1
        d.last_attempt_at = utcnow()
        d.response_status, d.response_body = status_code, body
        d.error = None if ok else (error or f"HTTP {status_code}")
        d.status = "delivered" if ok else ("failed" if final else "retrying")
        if ok:
            d.delivered_at = utcnow()
        session.commit()
    return ok


def deliver(tenant_id: int, delivery_id: int) -> None:
    """RQ job: POST one delivery; raises on failure so RQ retries it (with backoff)."""
    from rq import get_current_job

    from tenants import tenant_scope

    with tenant_scope(tenant_id):
        d = db.session.get(WebhookDelivery, delivery_id)
        if d is None or d.status == "delivered":
            return
        ep = db.session.get(WebhookEndpoint, d.endpoint_id)
        status_code, body, error = _post(ep.url, ep.secret, d.payload)
        job = get_current_job()
        final = job is None or not job.retries_left
        if not _record(db.session, delivery_id, status_code, body, error, final=final):
            raise RuntimeError(f"webhook delivery {delivery_id} failed: {error or status_code}")


def _deliver_inline(item: dict) -> None:
    from tenants import _current_tenant_id

    status_code, body, error = _post(item["url"], item["secret"], item["payload"])
    token = _current_tenant_id.set(int(item["tenant_id"]))  # see advocate.mail._deliver_inline
    try:
        with Session(db.engine) as session:
            _record(session, item["id"], status_code, body, error, final=True)
    finally:
        _current_tenant_id.reset(token)


def _after_commit(session: Session) -> None:
    session.info.pop(_ENDPOINTS, None)
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    from advocate import jobs

    for item in pending:
        if jobs.is_inline():
            _deliver_inline(item)
        else:
            from rq import Retry

            jobs.queue("default").enqueue(
                jobs.run_in_app,
                f"{deliver.__module__}:{deliver.__qualname__}",
                item["tenant_id"],
                item["id"],
                retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            )


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_ENDPOINTS, None)


def install() -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
