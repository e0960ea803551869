"""Invoices on the firm's Stripe over real HTTP (stripe-python -> the fake
server -> localstripe): one line per case, finalized and sent, and a retry
(even after a rolled-back transaction) never makes a second invoice."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from advocate.billing import accounts, invoicing
from advocate.billing.models import Invoice, InvoiceEntry, InvoiceLine, StripeAccount
from advocate.billing.stripe_api import firm_stripe, idempotency_key
from advocate.extensions import db
from advocate.practices.models import Practice
from tenants import tenant_scope
from tenants.models import Tenant
from tests.billing.conftest import fake_stats
from tests.billing.support import make_books

D = Decimal
TODAY = date(2026, 4, 10)


def with_test_key(b, key: str | None = None) -> None:
    # A key of its own per test: ids restart with each test's empty tables, and
    # Stripe scopes idempotency keys by API key (or connected account).
    key = key or f"sk_test_firm_{uuid.uuid4().hex}"
    with tenant_scope(b.tenant_id):
        accounts.set_test_key(b.tenant_id, key, days_until_due=15, actor_id=None)
        db.session.commit()


def billed_books(cadence: str = "per_settlement"):
    b = make_books()
    b.agreement(date(2025, 1, 1), "25", cadence=cadence)
    c1 = b.case("100.00", number="CLM-A")
    b.pay(c1, "400.00", date(2026, 3, 3))
    c2 = b.case("200.00", number="CLM-B")
    b.pay(c2, "200.00", date(2026, 3, 20))
    return b, c1, c2


def test_a_settlement_invoice_is_created_finalized_and_sent_once_per_case(stripe_app):
    b, c1, c2 = billed_books()
    with_test_key(b)
    with tenant_scope(b.tenant_id):
        practice = db.session.get(Practice, b.practice_id)
        invoices = invoicing.bill_practice(b.tenant_id, practice, today=TODAY, actor_id=None)
        db.session.commit()
        assert [i.kind for i in invoices] == ["settlement", "settlement"]
        first = invoices[0]
        assert first.status == "open" and first.is_sent
        assert first.total == D("100.00") and first.amount_remaining == D("100.00")
        assert first.number.startswith("FAKE-")
        assert first.hosted_invoice_url and first.invoice_pdf
        lines = db.session.scalars(
            select(InvoiceLine).where(InvoiceLine.invoice_id == first.id)
        ).all()
        assert [(ln.case_id, ln.recovery, ln.basis, ln.percent, ln.amount) for ln in lines] == [
            (c1, D("400.00"), "incremental", D("25.00"), D("100.00"))
        ]
        assert "recovered 400.00, incremental basis, 25.00%" in lines[0].description
        # The Stripe invoice holds exactly that line, in cents.
        fs = firm_stripe(db.session.scalar(select(StripeAccount)))
        remote = fs.client.v1.invoices.retrieve(first.stripe_invoice_id)
        assert remote.status == "open" and remote.total == 10000
        assert [ln.amount for ln in remote.lines.data] == [10000]
        assert remote.metadata.to_dict()["advocate_business_key"] == first.business_key
        # Everything is billed: a second run makes nothing new.
        assert invoicing.bill_practice(b.tenant_id, practice, today=TODAY, actor_id=None) == []


def test_a_retried_invoice_creation_makes_one_invoice(stripe_app, stripe_server):
    b, c1, _ = billed_books()
    with_test_key(b)
    before = fake_stats(stripe_server)["invoices_created"]
    with tenant_scope(b.tenant_id):
        practice = db.session.get(Practice, b.practice_id)
        prepared = invoicing.prepare_invoices(b.tenant_id, practice, today=TODAY, actor_id=None)
        db.session.commit()
        invoice_id = prepared[0].id
        # The first attempt reaches Stripe, then the process dies before its commit.
        invoicing.issue_invoice(db.session.get(Invoice, invoice_id))
        first_remote = db.session.get(Invoice, invoice_id).stripe_invoice_id
        db.session.rollback()
        assert db.session.get(Invoice, invoice_id).stripe_invoice_id is None
        # The retry sends the same idempotency keys: Stripe answers with the first invoice.
        again = invoicing.issue_invoice(db.session.get(Invoice, invoice_id))
        db.session.commit()
        assert again.stripe_invoice_id == first_remote
        assert again.status == "open"
        customer = db.session.scalar(
            select(Invoice.stripe_invoice_id).where(Invoice.id == invoice_id)
        )
        fs = firm_stripe(db.session.scalar(select(StripeAccount)))
        remote = fs.client.v1.invoices.retrieve(customer)
        assert [ln.amount for ln in remote.lines.data] == [10000]  # one item, not two
    stats = fake_stats(stripe_server)
    assert stats["invoices_created"] - before == 1
    assert stats["replayed"] >= 2  # the invoice and its item came back from the replay cache


def test_stripe_python_gets_the_first_response_for_a_repeated_idempotency_key(stripe_app):
    b = make_books()
    with_test_key(b)
    with tenant_scope(b.tenant_id):
        fs = firm_stripe(db.session.scalar(select(StripeAccount)))
        cust = fs.client.v1.customers.create(
            {"name": "Idem"}, fs.options(idempotency_key("x", b.tenant_id))
        )
        key = idempotency_key("t", b.tenant_id, "retry-test", "invoice")
        params = {"customer": cust.id, "collection_method": "send_invoice", "days_until_due": 30}
        one = fs.client.v1.invoices.create(params, fs.options(key))
        two = fs.client.v1.invoices.create(params, fs.options(key))
        assert one.id == two.id
        listed = fs.client.v1.invoices.list({"customer": cust.id})
        assert [i.id for i in listed.data] == [one.id]
        # The same key with other parameters is refused, as Stripe does.
        import stripe

        with pytest.raises(stripe.IdempotencyError):
            fs.client.v1.invoices.create(dict(params, days_until_due=10), fs.options(key))


def test_a_monthly_statement_bills_last_month_in_one_invoice(stripe_app):
    b, c1, c2 = billed_books(cadence="monthly")
    b.pay(c1, "40.00", date(2026, 4, 2))  # April: next month's statement
    with_test_key(b)
    with tenant_scope(b.tenant_id):
        practice = db.session.get(Practice, b.practice_id)
        invoices = invoicing.bill_practice(b.tenant_id, practice, today=TODAY, actor_id=None)
        db.session.commit()
        assert len(invoices) == 1
        inv = invoices[0]
        assert inv.kind == "monthly" and inv.business_key.endswith(":monthly:2026-03")
        assert (inv.period_start, inv.period_end) == (date(2026, 3, 1), date(2026, 3, 31))
        assert inv.total == D("150.00")
        lines = db.session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == inv.id)
            .order_by(InvoiceLine.case_id)
        ).all()
        assert [(ln.case_id, ln.amount) for ln in lines] == [(c1, D("100.00")), (c2, D("50.00"))]
        assert invoicing.bill_practice(b.tenant_id, practice, today=TODAY, actor_id=None) == []
        # In May, April's 10.00 is billed.
        may = invoicing.bill_practice(b.tenant_id, practice, today=date(2026, 5, 3), actor_id=None)
        db.session.commit()
        assert [(i.business_key.rsplit(":", 1)[1], i.total) for i in may] == [
            ("2026-04", D("10.00"))
        ]


def test_a_voided_invoice_returns_its_fees_to_be_billed_again(stripe_app):
    b, c1, _ = billed_books()
    with_test_key(b)
    with tenant_scope(b.tenant_id):
        practice = db.session.get(Practice, b.practice_id)
        first = invoicing.bill_practice(b.tenant_id, practice, today=TODAY, actor_id=None)[0]
        db.session.commit()
        invoicing.change_invoice(first, "void", actor_id=None)
        db.session.commit()
        assert first.status == "void"
        again = invoicing.bill_practice(b.tenant_id, practice, today=TODAY, actor_id=None)
        db.session.commit()
        redo = [i for i in again if i.case_id == c1][0]
        assert redo.business_key == first.business_key + ":r1"
        assert redo.stripe_invoice_id != first.stripe_invoice_id
        assert db.session.query(InvoiceEntry).filter_by(invoice_id=redo.id).count() == 2


def test_connect_onboarding_then_invoices_on_the_connected_account(stripe_app, stripe_server):
    b, c1, _ = billed_books()
    with tenant_scope(b.tenant_id):
        tenant = db.session.get(Tenant, b.tenant_id)
        url = accounts.start_onboarding(
            tenant,
            return_url="https://advocate.test/r",
            refresh_url="https://advocate.test/f",
            actor_id=None,
        )
        db.session.commit()
        row = db.session.scalar(select(StripeAccount))
        assert url.endswith(row.account_id) and tenant.stripe_account_id == row.account_id
        assert not row.is_ready
        practice = db.session.get(Practice, b.practice_id)
        prepared = invoicing.prepare_invoices(b.tenant_id, practice, today=TODAY, actor_id=None)
        with pytest.raises(Exception, match="onboarding"):
            invoicing.issue_invoice(prepared[0])
        db.session.rollback()
        req = urllib.request.Request(  # noqa: S310 - local test server
            f"{stripe_server}/_fake/accounts/{row.account_id}/complete", data=b"", method="POST"
        )
        with urllib.request.urlopen(req, timeout=5) as r:  # noqa: S310 - local test server
            assert json.loads(r.read())["charges_enabled"] is True
        accounts.refresh_account(row)
        db.session.commit()
        assert row.is_ready and row.status_label == "Connected"
        invoices = invoicing.bill_practice(b.tenant_id, practice, today=TODAY, actor_id=None)
        db.session.commit()
        assert invoices[0].status == "open"
        assert invoices[0].stripe_account_id == row.account_id
