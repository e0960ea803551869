"""Stripe webhooks at ``/stripe/webhook``: Stripe's news about invoices and
connected accounts.

* The signature is verified on the raw body with ``STRIPE_WEBHOOK_SECRET``
  (``stripe.Webhook.construct_event``, tolerance 300 s); an unsigned, forged or
  stale event is refused (400) before anything is read or written.
* The firm is found from Stripe's ids before any tenant is in scope: the
  connected account (``event.account`` -> ``tenants.stripe_account_id``), else
  the invoice's ``advocate_tenant`` metadata, which only counts when that firm
  has the invoice (looked up inside its scope) on its own key.
* Each event id is applied once: a ``ProcessedStripeEvent`` row is written in
  the same transaction as the event's effect, and its unique event id makes a
  repeat (or a concurrent duplicate) change nothing.
* Order does not matter: an invoice event re-reads the invoice from Stripe and
  takes that as the truth; an event's own copy (used only when Stripe cannot be
  asked) may only move an invoice forward; account events older than the last
  applied are skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import stripe
from flask import current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from advocate.audit.services import audit
from advocate.auth.access import public
from advocate.billing import accounts, invoicing, webhook_bp
from advocate.billing.models import Invoice, ProcessedStripeEvent, StripeAccount
from advocate.billing.stripe_api import StripeNotConfigured
from advocate.extensions import csrf, db
from tenants import tenant_scope
from tenants.models import Tenant
from tenants.scoping import lookup_stripe_account

TOLERANCE_SECONDS = 300
INVOICE_EVENTS = (
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice.voided",
    "invoice.marked_uncollectible",
)
ACCOUNT_EVENTS = ("account.updated",)


@webhook_bp.route("/webhook", methods=["POST"])
@public
@csrf.exempt
def webhook():
    """Receive a signed Stripe event."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        return jsonify(error="webhooks are not configured"), 503
    try:
        event = stripe.Webhook.construct_event(
            request.get_data(),
            request.headers.get("Stripe-Signature"),
            secret,
            tolerance=TOLERANCE_SECONDS,
        )
    except (ValueError, stripe.SignatureVerificationError):
        return jsonify(error="invalid or stale signature"), 400
    outcome = process_event(event)
    return jsonify(received=True, outcome=outcome)


def _payload(event) -> tuple[dict, str | None]:
    """The event's object as a plain dict (stripe-python 16 objects are not
    dicts) and the connected account it came from."""
    data = event.to_dict()
    return data["data"]["object"], data.get("account") or None


def _tenant_for(event) -> int | None:
    obj, account = _payload(event)
    if account:
        with lookup_stripe_account(account):
            tenant = db.session.scalar(select(Tenant).where(Tenant.stripe_account_id == account))
            return tenant.id if tenant is not None and tenant.is_active else None
    if event.type not in INVOICE_EVENTS:
        return None
    metadata = obj.get("metadata") or {}
    raw = str(metadata.get("advocate_tenant") or "")
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 2**63:
        return None
    # The firm's row is visible only in its own scope (RLS on tenants).
    with tenant_scope(int(raw)):
        tenant = db.session.get(Tenant, int(raw))
        return tenant.id if tenant is not None and tenant.is_active else None


def process_event(event) -> str:
    tenant_id = _tenant_for(event)
    db.session.rollback()  # the unscoped look-up ends here; the event's own transaction follows
    if tenant_id is None:
        return "ignored"
    obj, _account = _payload(event)
    with tenant_scope(tenant_id):
        record = ProcessedStripeEvent(
            tenant_id=tenant_id,
            event_id=event.id,
            event_type=event.type,
            object_id=(obj.get("id") or "")[:255] or None,
            stripe_created_at=datetime.fromtimestamp(int(event.created), UTC),
            outcome="processing",
        )
        db.session.add(record)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            return "duplicate"
        try:
            if event.type in INVOICE_EVENTS:
                record.outcome = _invoice_event(event, record.stripe_created_at)
            elif event.type in ACCOUNT_EVENTS:
                record.outcome = _account_event(event, record.stripe_created_at)
            else:
                record.outcome = "unhandled type"
            db.session.commit()
        except Exception:
            db.session.rollback()  # nothing recorded: Stripe retries the event
            raise
        return record.outcome


def _invoice_event(event, at: datetime) -> str:
    obj, account = _payload(event)
    invoice = db.session.scalar(select(Invoice).where(Invoice.stripe_invoice_id == obj.get("id")))
    if invoice is None or (invoice.stripe_account_id or None) != account:
        return "unknown invoice"
    old = invoice.status
    try:
        invoicing.refresh_invoice(invoice)
    except StripeNotConfigured:
        invoicing.apply_stripe_invoice(invoice, event.data.object, authoritative=False)
    if event.type == "invoice.payment_failed" and invoice.status == "open":
        invoice.last_payment_error = f"A payment attempt failed on {at:%Y-%m-%d}."[:500]
    db.session.flush()
    if invoice.status != old:
        audit(
            f"invoice.{invoice.status}",
            invoice,
            details={"event": event.id, "from": old, "to": invoice.status},
        )
    return f"invoice {invoice.status}"


def _account_event(event, at: datetime) -> str:
    obj, _account = _payload(event)
    row = db.session.scalar(select(StripeAccount).where(StripeAccount.account_id == obj.get("id")))
    if row is None:
        return "unknown account"
    accounts.apply_account(row, event.data.object, at=at)
    db.session.flush()
    audit(
        "stripe_account.updated",
        row,
        details={"event": event.id, "charges_enabled": row.charges_enabled},
    )
    return "account charges enabled" if row.charges_enabled else "account pending"
