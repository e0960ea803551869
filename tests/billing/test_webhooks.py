"""Stripe webhooks with real signatures computed with the test secret: forged
and stale events change nothing, an event applies once however often it
arrives, and out-of-order events end in Stripe's final state."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from advocate.audit.models import AuditEvent
from advocate.billing import accounts, invoicing
from advocate.billing.models import Invoice, ProcessedStripeEvent, StripeAccount
from advocate.billing.stripe_api import firm_stripe
from advocate.extensions import db
from advocate.practices.models import Practice
from tenants import tenant_scope
from tenants.models import Tenant
from tests.billing.conftest import WEBHOOK_SECRET
from tests.billing.support import make_books

D = Decimal
URL = "/stripe/webhook"


def signed(payload: str, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> dict:
    ts = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{ts}.{payload}".encode(), hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={ts},v1={mac}", "Content-Type": "application/json"}


def event(
    kind: str,
    obj: dict,
    *,
    event_id: str | None = None,
    account: str | None = None,
    created: int | None = None,
) -> str:
    body = {
        "id": event_id or f"evt_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created or int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "type": kind,
        "data": {"object": obj},
    }
    if account:
        body["account"] = account
    return json.dumps(body)


def deliver(browser, payload: str, headers: dict):
    """POST the raw body, as Stripe does (no session, no CSRF token)."""
    return browser.open(URL, method="POST", data=payload, headers=headers)


def issued_invoice(stripe_app):
    """A firm on a test key with one open invoice of 100.00 on the local Stripe."""
    b = make_books()
    b.agreement(date(2025, 1, 1), "25")
    case_id = b.case("100.00")
    b.pay(case_id, "400.00", date(2026, 3, 3))
    with tenant_scope(b.tenant_id):
        accounts.set_test_key(
            b.tenant_id, f"sk_test_wh_{uuid.uuid4().hex}", days_until_due=15, actor_id=None
        )
        practice = db.session.get(Practice, b.practice_id)
        inv = invoicing.bill_practice(b.tenant_id, practice, today=date(2026, 4, 1), actor_id=None)[
            0
        ]
        db.session.commit()
        return b, inv.id, inv.stripe_invoice_id


def remote(b, stripe_id: str, action: str | None = None):
    with tenant_scope(b.tenant_id):
        fs = firm_stripe(db.session.scalar(select(StripeAccount)))
        if action == "pay":
            return fs.client.v1.invoices.pay(stripe_id, {"paid_out_of_band": True})
        return fs.client.v1.invoices.retrieve(stripe_id)


def state(b, invoice_id: int) -> Invoice:
    with tenant_scope(b.tenant_id):
        db.session.expire_all()
        inv = db.session.get(Invoice, invoice_id)
        db.session.expunge(inv)
        return inv


def counts(b) -> tuple[int, int]:
    with tenant_scope(b.tenant_id):
        events = db.session.scalar(select(func.count()).select_from(ProcessedStripeEvent))
        paid = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "invoice.paid")
        )
        return events, paid


def test_a_bad_signature_is_refused_with_no_side_effects(stripe_app, browser):
    b, invoice_id, stripe_id = issued_invoice(stripe_app)
    remote(b, stripe_id, "pay")
    obj = remote(b, stripe_id).to_dict()
    payload = event("invoice.paid", obj)
    wrong = "whsec_wrong"  # noqa: S105 - a wrong test secret
    for headers in (
        signed(payload, secret=wrong),
        {"Content-Type": "application/json"},
        {"Stripe-Signature": "t=1,v1=abc", "Content-Type": "application/json"},
    ):
        r = deliver(browser, payload, headers)
        assert r.status_code == 400
    # A body changed after signing is refused too.
    headers = signed(payload)
    r = deliver(browser, payload.replace('"paid"', '"void"', 1), headers)
    assert r.status_code == 400
    assert state(b, invoice_id).status == "open"
    assert counts(b) == (0, 0)


def test_a_stale_timestamp_is_refused(stripe_app, browser):
    b, invoice_id, stripe_id = issued_invoice(stripe_app)
    remote(b, stripe_id, "pay")
    payload = event("invoice.paid", remote(b, stripe_id).to_dict())
    r = deliver(browser, payload, signed(payload, at=int(time.time()) - 301))
    assert r.status_code == 400
    assert state(b, invoice_id).status == "open"
    assert counts(b) == (0, 0)
    r = deliver(browser, payload, signed(payload, at=int(time.time()) - 200))
    assert r.status_code == 200 and r.get_json()["outcome"] == "invoice paid"


def test_the_same_event_five_times_has_one_effect(stripe_app, browser):
    b, invoice_id, stripe_id = issued_invoice(stripe_app)
    remote(b, stripe_id, "pay")
    payload = event("invoice.paid", remote(b, stripe_id).to_dict(), event_id="evt_same_five")
    outcomes = []
    for _ in range(5):
        r = deliver(browser, payload, signed(payload))
        assert r.status_code == 200
        outcomes.append(r.get_json()["outcome"])
    assert outcomes == ["invoice paid"] + ["duplicate"] * 4
    inv = state(b, invoice_id)
    assert inv.status == "paid" and inv.amount_paid == D("100.00") and inv.amount_remaining == 0
    assert inv.paid_at is not None
    assert counts(b) == (1, 1)


def test_paid_before_finalized_ends_paid(stripe_app, browser):
    b, invoice_id, stripe_id = issued_invoice(stripe_app)
    finalized_copy = remote(b, stripe_id).to_dict()  # status "open", as sent at finalization
    remote(b, stripe_id, "pay")
    paid_copy = remote(b, stripe_id).to_dict()
    now = int(time.time())
    late_paid = event("invoice.paid", paid_copy, created=now)
    early_finalized = event("invoice.finalized", finalized_copy, created=now - 60)
    for payload in (late_paid, early_finalized):
        r = deliver(browser, payload, signed(payload))
        assert r.status_code == 200
    inv = state(b, invoice_id)
    assert inv.status == "paid" and inv.amount_remaining == 0
    assert counts(b) == (2, 1)


def test_a_stale_event_copy_never_moves_an_invoice_back(stripe_app):
    b, invoice_id, stripe_id = issued_invoice(stripe_app)
    remote(b, stripe_id, "pay")
    with tenant_scope(b.tenant_id):
        inv = db.session.get(Invoice, invoice_id)
        invoicing.refresh_invoice(inv)
        assert inv.status == "paid"
        import stripe

        stale = stripe.Invoice.construct_from(
            dict(remote(b, stripe_id).to_dict(), status="open"), "k"
        )
        assert invoicing.apply_stripe_invoice(inv, stale, authoritative=False) is False
        assert inv.status == "paid"
        db.session.rollback()


def test_void_and_uncollectible_and_payment_failed_events(stripe_app, browser):
    b, invoice_id, stripe_id = issued_invoice(stripe_app)
    payload = event("invoice.payment_failed", remote(b, stripe_id).to_dict())
    assert deliver(browser, payload, signed(payload)).status_code == 200
    inv = state(b, invoice_id)
    assert inv.status == "open" and "payment attempt failed" in inv.last_payment_error
    with tenant_scope(b.tenant_id):
        fs = firm_stripe(db.session.scalar(select(StripeAccount)))
        fs.client.v1.invoices.mark_uncollectible(stripe_id)
    payload = event("invoice.marked_uncollectible", remote(b, stripe_id).to_dict())
    assert deliver(browser, payload, signed(payload)).status_code == 200
    assert state(b, invoice_id).status == "uncollectible"
    with tenant_scope(b.tenant_id):
        fs.client.v1.invoices.void_invoice(stripe_id)
    payload = event("invoice.voided", remote(b, stripe_id).to_dict())
    r = deliver(browser, payload, signed(payload))
    assert r.get_json()["outcome"] == "invoice void"
    assert state(b, invoice_id).status == "void"


def test_an_event_for_another_firm_or_an_unknown_invoice_is_ignored(stripe_app, browser):
    b, invoice_id, stripe_id = issued_invoice(stripe_app)
    other = make_books("Other Firm", npi="9876543213")
    obj = dict(remote(b, stripe_id).to_dict(), metadata={"advocate_tenant": str(other.tenant_id)})
    payload = event("invoice.paid", obj)
    r = deliver(browser, payload, signed(payload))
    assert r.get_json()["outcome"] == "unknown invoice"
    payload = event("invoice.paid", dict(obj, metadata={}))
    assert deliver(browser, payload, signed(payload)).get_json()["outcome"] == "ignored"
    assert state(b, invoice_id).status == "open"


def test_account_updated_enables_the_connected_account_in_order(stripe_app, browser):
    b = make_books()
    with tenant_scope(b.tenant_id):
        tenant = db.session.get(Tenant, b.tenant_id)
        accounts.start_onboarding(
            tenant, return_url="https://a.test/r", refresh_url="https://a.test/f", actor_id=None
        )
        db.session.commit()
        acct = db.session.scalar(select(StripeAccount)).account_id
    now = int(time.time())
    enabled = {
        "id": acct,
        "object": "account",
        "charges_enabled": True,
        "payouts_enabled": True,
        "details_submitted": True,
    }
    older = dict(enabled, charges_enabled=False, payouts_enabled=False)
    for payload in (
        event("account.updated", enabled, account=acct, created=now),
        event("account.updated", older, account=acct, created=now - 30),
    ):
        assert deliver(browser, payload, signed(payload)).status_code == 200
    with tenant_scope(b.tenant_id):
        row = db.session.scalar(select(StripeAccount))
        assert row.charges_enabled and row.payouts_enabled and row.is_ready
