"""Retries after Stripe has forgotten the idempotency keys (kept 24 hours): an
invoice prepared long ago with no Stripe id yet is looked up by its business
key before anything is created, so a late retry never makes a second invoice
(nor a second line), with Stripe's search or, where search is not offered,
the customer's invoice list."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from advocate.billing import invoicing
from advocate.billing.models import Invoice, InvoiceLine, StripeAccount, StripeCustomer
from advocate.billing.stripe_api import firm_stripe
from advocate.db import utcnow
from advocate.extensions import db
from advocate.practices.models import Practice
from tenants import tenant_scope
from tests.billing.conftest import fake_stats
from tests.billing.test_stripe_invoicing import TODAY, billed_books, with_test_key

D = Decimal


def fake_post(base: str, path: str, **form) -> dict:
    req = urllib.request.Request(  # noqa: S310 - local test server
        f"{base}{path}", data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    with urllib.request.urlopen(req, timeout=5) as r:  # noqa: S310 - local test server
        return json.loads(r.read())


def age(invoice_id: int, hours: int) -> None:
    """Pretend the invoice was prepared ``hours`` ago."""
    inv = db.session.get(Invoice, invoice_id)
    inv.created_at = utcnow() - timedelta(hours=hours)
    db.session.commit()


def remote_invoices_for(fs, business_key: str) -> list:
    found = fs.client.v1.invoices.search(
        {"query": f"metadata['advocate_business_key']:'{business_key}'"}, fs.options()
    )
    return list(found.data)


def test_a_late_retry_after_the_keys_expired_adopts_the_first_invoice(stripe_app, stripe_server):
    b, c1, _ = billed_books()
    api_key = f"sk_test_late_{uuid.uuid4().hex}"
    with_test_key(b, api_key)
    before = fake_stats(stripe_server)
    with tenant_scope(b.tenant_id):
        practice = db.session.get(Practice, b.practice_id)
        prepared = invoicing.prepare_invoices(b.tenant_id, practice, today=TODAY, actor_id=None)
        db.session.commit()
        invoice_id = prepared[0].id
        # The first attempt goes all the way on Stripe, then the process dies before its commit.
        invoicing.issue_invoice(db.session.get(Invoice, invoice_id))
        first_remote = db.session.get(Invoice, invoice_id).stripe_invoice_id
        db.session.rollback()
        assert fake_stats(stripe_server)["searched"] == before["searched"]  # fresh: no lookup
        age(invoice_id, 36)
    # A day and a half later Stripe no longer knows the idempotency keys.
    assert fake_post(stripe_server, "/_fake/idempotency/expire", api_key=api_key)["expired"] >= 3
    with tenant_scope(b.tenant_id):
        again = invoicing.issue_invoice(db.session.get(Invoice, invoice_id))
        db.session.commit()
        assert fake_stats(stripe_server)["searched"] - before["searched"] == 1  # looked it up
        assert again.stripe_invoice_id == first_remote
        assert (again.status, again.total, again.is_sent) == ("open", D("100.00"), True)
        assert again.number.startswith("FAKE-") and again.hosted_invoice_url
        items = db.session.scalars(
            select(InvoiceLine.stripe_invoice_item_id).where(InvoiceLine.invoice_id == invoice_id)
        ).all()
        assert len(items) == 1 and items[0].startswith("ii_")
        fs = firm_stripe(db.session.scalar(select(StripeAccount)))
        remote = fs.client.v1.invoices.retrieve(first_remote)
        assert [ln.amount for ln in remote.lines.data] == [10000]
        assert [i.id for i in remote_invoices_for(fs, again.business_key)] == [first_remote]
    stats = fake_stats(stripe_server)
    assert stats["invoices_created"] - before["invoices_created"] == 1
    assert stats["items_created"] - before["items_created"] == 1


def _half_made(b, cadence: str = "monthly"):
    """A monthly invoice of two cases whose earlier attempt (keys long expired)
    created the Stripe invoice and the first case's item, then died."""
    with tenant_scope(b.tenant_id):
        practice = db.session.get(Practice, b.practice_id)
        inv = invoicing.prepare_invoices(b.tenant_id, practice, today=TODAY, actor_id=None)[0]
        db.session.commit()
        fs = firm_stripe(db.session.scalar(select(StripeAccount)))
        customer_id = invoicing.ensure_customer(b.tenant_id, practice, fs)
        db.session.commit()
        lines = db.session.scalars(
            select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id).order_by(InvoiceLine.id)
        ).all()
        remote = fs.client.v1.invoices.create(
            {
                "customer": customer_id,
                "collection_method": "send_invoice",
                "days_until_due": 15,
                "auto_advance": False,
                "currency": "usd",
                "metadata": {
                    "advocate_tenant": str(b.tenant_id),
                    "advocate_business_key": inv.business_key,
                },
            },
            fs.options(),
        )
        fs.client.v1.invoice_items.create(
            {
                "customer": customer_id,
                "invoice": remote.id,
                "amount": invoicing.cents(lines[0].amount),
                "currency": "usd",
                "description": lines[0].description,
                "metadata": {"advocate_case": str(lines[0].case_id)},
            },
            fs.options(),
        )
        age(inv.id, 30)
        return inv.id, remote.id


def test_a_late_retry_completes_a_half_made_invoice_without_repeating_a_line(
    stripe_app, stripe_server
):
    b, c1, c2 = billed_books(cadence="monthly")
    with_test_key(b)
    invoice_id, remote_id = _half_made(b)
    before = fake_stats(stripe_server)
    with tenant_scope(b.tenant_id):
        inv = invoicing.issue_invoice(db.session.get(Invoice, invoice_id))
        db.session.commit()
        assert inv.stripe_invoice_id == remote_id
        assert (inv.status, inv.total) == ("open", D("150.00"))
        fs = firm_stripe(db.session.scalar(select(StripeAccount)))
        remote = fs.client.v1.invoices.retrieve(remote_id)
        assert sorted(ln.amount for ln in remote.lines.data) == [5000, 10000]
        assert {ln.metadata.to_dict()["advocate_case"] for ln in remote.lines.data} == {
            str(c1),
            str(c2),
        }
        assert len(remote_invoices_for(fs, inv.business_key)) == 1
        # Done: another run changes nothing.
        invoicing.issue_invoice(inv)
        db.session.commit()
    stats = fake_stats(stripe_server)
    assert stats["invoices_created"] == before["invoices_created"]
    assert stats["items_created"] - before["items_created"] == 1  # only the missing case


def test_where_search_is_not_offered_the_customers_invoices_are_listed(stripe_app, stripe_server):
    b, _, _ = billed_books(cadence="monthly")
    api_key = f"sk_test_nosearch_{uuid.uuid4().hex}"
    with_test_key(b, api_key)
    fake_post(stripe_server, "/_fake/search/off", api_key=api_key)
    invoice_id, remote_id = _half_made(b)
    with tenant_scope(b.tenant_id):
        # Newer invoices of the same customer come first in the list.
        fs = firm_stripe(db.session.scalar(select(StripeAccount)))
        customer_id = db.session.scalar(select(StripeCustomer.customer_id))
        for n in range(3):
            fs.client.v1.invoices.create(
                {
                    "customer": customer_id,
                    "collection_method": "send_invoice",
                    "days_until_due": 15,
                    "metadata": {"advocate_business_key": f"other:{n}"},
                },
                fs.options(),
            )
        found = invoicing.find_remote_invoice(
            fs, customer_id, db.session.get(Invoice, invoice_id).business_key
        )
        assert found is not None and found.id == remote_id
    before = fake_stats(stripe_server)
    with tenant_scope(b.tenant_id):
        inv = invoicing.issue_invoice(db.session.get(Invoice, invoice_id))
        db.session.commit()
        assert (inv.stripe_invoice_id, inv.status, inv.total) == (remote_id, "open", D("150.00"))
    stats = fake_stats(stripe_server)
    assert stats["invoices_created"] == before["invoices_created"]
    assert stats["listed"] > before["listed"]


def test_a_late_retry_of_an_invoice_that_never_reached_stripe_creates_it(stripe_app, stripe_server):
    b, _, _ = billed_books()
    with_test_key(b)
    with tenant_scope(b.tenant_id):
        practice = db.session.get(Practice, b.practice_id)
        ids = [
            i.id
            for i in invoicing.prepare_invoices(b.tenant_id, practice, today=TODAY, actor_id=None)
        ]
        db.session.commit()
        age(ids[0], 48)
    before = fake_stats(stripe_server)
    with tenant_scope(b.tenant_id):
        inv = invoicing.issue_invoice(db.session.get(Invoice, ids[0]))
        db.session.commit()
        assert inv.status == "open" and inv.stripe_invoice_id
    stats = fake_stats(stripe_server)
    assert stats["searched"] - before["searched"] == 1
    assert stats["invoices_created"] - before["invoices_created"] == 1


def _lost_customer_then_late_retry(stripe_server, *, search: bool):
    """ensure_customer makes the customer, the commit is lost, Stripe forgets
    the idempotency key; the retry must find that customer, not make another."""
    b, _c1, _ = billed_books()
    api_key = f"sk_test_customer_{uuid.uuid4().hex}"
    with_test_key(b, api_key)
    if not search:
        fake_post(stripe_server, "/_fake/search/off", api_key=api_key)
    with tenant_scope(b.tenant_id):
        practice = db.session.get(Practice, b.practice_id)
        fs = firm_stripe(db.session.scalar(select(StripeAccount)))
        first = invoicing.ensure_customer(b.tenant_id, practice, fs)
        db.session.rollback()  # the process died before its commit
        assert db.session.scalar(select(StripeCustomer)) is None
    assert fake_post(stripe_server, "/_fake/idempotency/expire", api_key=api_key)["expired"] >= 1
    with tenant_scope(b.tenant_id):
        practice = db.session.get(Practice, b.practice_id)
        again = invoicing.ensure_customer(b.tenant_id, practice, fs)
        db.session.commit()
        stored = db.session.scalar(select(StripeCustomer.customer_id))
    listed = [c.id for c in fs.client.v1.customers.list({"limit": 100}, fs.options()).data]
    return first, again, stored, listed


def test_a_late_retry_adopts_the_customer_an_earlier_attempt_made(stripe_app, stripe_server):
    before = fake_stats(stripe_server)
    first, again, stored, listed = _lost_customer_then_late_retry(stripe_server, search=True)
    assert fake_stats(stripe_server)["customers_searched"] - before["customers_searched"] == 2
    assert again == first == stored
    assert listed == [first]  # one customer on the firm's Stripe


def test_without_search_the_customer_list_is_read(stripe_app, stripe_server):
    before = fake_stats(stripe_server)
    first, again, stored, listed = _lost_customer_then_late_retry(stripe_server, search=False)
    assert again == first == stored and listed == [first]
    assert fake_stats(stripe_server)["customers_listed"] > before["customers_listed"]
