"""Fee agreement to invoice through the API: a payment posted over the API
accrues its fee, the invoice is prepared, issued on the firm's (local) Stripe,
fetched and voided, with the services the billing pages use. Another firm's
invoice is a 404; only owners and admins change invoices, as on the web."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.billing import accounts
from advocate.billing.models import FeeLedgerEntry, Invoice
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import (
    api_headers,
    make_case,
    make_firm,
    make_payer,
    make_practice,
    make_user,
)


def _firm(name: str):
    firm = make_firm(name)
    practice_id, payer_id = make_practice(firm.tenant), make_payer(firm.tenant)
    return firm, practice_id, payer_id, api_headers(firm.owner)


def _stripe_key(tenant_id: int) -> None:
    # A key of its own per test: Stripe scopes idempotency keys by API key.
    with tenant_scope(tenant_id):
        accounts.set_test_key(
            tenant_id, f"sk_test_firm_{uuid.uuid4().hex}", days_until_due=15, actor_id=None
        )
        db.session.commit()


def _billed(client, firm, practice_id, payer_id, auth) -> int:
    """A 25% incremental agreement and a 400.00 settlement posted over the API."""
    r = client.post(
        f"/api/v1/practices/{practice_id}/fee-agreements",
        json={"effective_date": "2020-01-01", "percent": "25", "basis": "incremental"},
        headers=auth,
    )
    assert r.status_code == 201, r.get_json()
    case_id = make_case(firm.tenant, practice_id, payer_id)
    r = client.post(
        f"/api/v1/cases/{case_id}/payments",
        json={"paid_on": "2026-03-20", "amount": "400.00", "source": "settlement"},
        headers=auth,
    )
    assert r.status_code == 201, r.get_json()
    fees = r.get_json()["fees"]
    assert [f["amount"] for f in fees] == ["100.00"], fees
    return case_id


def _actions(tenant_id: int, invoice_id: int) -> list[str]:
    with tenant_scope(tenant_id):
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(
                    AuditEvent.object_type == Invoice.__tablename__,
                    AuditEvent.object_id == str(invoice_id),
                )
                .order_by(AuditEvent.id)
            )
        )


def test_a_payment_becomes_an_invoice_issued_on_stripe_fetched_and_voided(stripe_app):
    firm, practice_id, payer_id, auth = _firm("Invoicing Firm")
    _stripe_key(firm.tenant.id)
    client = stripe_app.test_client()
    case_id = _billed(client, firm, practice_id, payer_id, auth)

    r = client.post(f"/api/v1/practices/{practice_id}/invoices", headers=auth)
    assert r.status_code == 201, r.get_json()
    (prepared,) = r.get_json()["items"]
    assert prepared["status"] == "pending" and prepared["kind"] == "settlement"
    assert prepared["total"] == "100.00" and prepared["stripe_invoice_id"] is None
    assert [(ln["case_id"], ln["recovery"], ln["amount"]) for ln in prepared["lines"]] == [
        (case_id, "400.00", "100.00")
    ]
    # Everything is billed: preparing again makes nothing.
    r = client.post(f"/api/v1/practices/{practice_id}/invoices", headers=auth)
    assert r.status_code == 200 and r.get_json()["items"] == []

    inv = prepared["id"]
    r = client.post(f"/api/v1/invoices/{inv}/issue", headers=auth)
    assert r.status_code == 200, r.get_json()
    issued = r.get_json()
    assert issued["status"] == "open" and issued["stripe_invoice_id"]
    assert issued["number"] and issued["hosted_invoice_url"]
    assert (issued["total"], issued["amount_remaining"]) == ("100.00", "100.00")
    # Issuing again is safe: the same Stripe invoice, nothing new.
    again = client.post(f"/api/v1/invoices/{inv}/issue", headers=auth).get_json()
    assert again["stripe_invoice_id"] == issued["stripe_invoice_id"]
    with tenant_scope(firm.tenant.id):
        assert db.session.scalar(select(db.func.count()).select_from(Invoice)) == 1

    fetched = client.get(f"/api/v1/invoices/{inv}", headers=auth)
    assert fetched.status_code == 200
    assert fetched.get_json()["status"] == "open"
    assert fetched.get_json()["lines"] == issued["lines"]

    r = client.post(f"/api/v1/invoices/{inv}/void", headers=auth)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "void"
    # A void invoice cannot be voided again: a conflict, nothing changes.
    r = client.post(f"/api/v1/invoices/{inv}/void", headers=auth)
    assert r.status_code == 409 and r.get_json()["error"]
    assert client.get(f"/api/v1/invoices/{inv}", headers=auth).get_json()["status"] == "void"
    # Audited as on the web.
    actions = _actions(firm.tenant.id, inv)
    assert actions[0] == "invoice.prepared" and "invoice.issued" in actions
    assert actions[-1] == "invoice.void"
    # Its fees are free to bill again.
    r = client.post(f"/api/v1/practices/{practice_id}/invoices", headers=auth)
    assert r.status_code == 201 and r.get_json()["items"][0]["total"] == "100.00"


def test_issuing_without_a_stripe_account_is_a_conflict_and_keeps_the_invoice_pending(db_app):
    firm, practice_id, payer_id, auth = _firm("No Stripe Firm")
    client = db_app.test_client()
    _billed(client, firm, practice_id, payer_id, auth)
    url = f"/api/v1/practices/{practice_id}/invoices"
    keyed = dict(auth, **{"Idempotency-Key": "prepare-1"})
    first = client.post(url, headers=keyed)
    assert first.status_code == 201, first.get_json()
    (prepared,) = first.get_json()["items"]
    # A retry with the same key answers the first answer again and prepares nothing.
    retry = client.post(url, headers=keyed)
    assert retry.status_code == 201 and retry.headers.get("Idempotent-Replayed") == "true"
    assert retry.get_json() == first.get_json()
    with tenant_scope(firm.tenant.id):
        assert db.session.scalar(select(db.func.count()).select_from(Invoice)) == 1
    r = client.post(f"/api/v1/invoices/{prepared['id']}/issue", headers=auth)
    assert r.status_code == 409, r.get_json()
    got = client.get(f"/api/v1/invoices/{prepared['id']}", headers=auth).get_json()
    assert got["status"] == "pending" and got["stripe_invoice_id"] is None
    # A pending invoice never reached Stripe: voiding it needs no Stripe.
    r = client.post(f"/api/v1/invoices/{prepared['id']}/void", headers=auth)
    assert r.status_code == 200 and r.get_json()["status"] == "void"


def test_another_firms_invoice_and_practice_are_404_and_change_nothing(db_app):
    firm_a, practice_a, payer_a, auth_a = _firm("Firm A")
    client = db_app.test_client()
    _billed(client, firm_a, practice_a, payer_a, auth_a)
    (prepared,) = client.post(
        f"/api/v1/practices/{practice_a}/invoices", headers=auth_a
    ).get_json()["items"]
    inv = prepared["id"]
    _firm_b, _p, _y, auth_b = _firm("Firm B")
    assert client.get(f"/api/v1/invoices/{inv}", headers=auth_b).status_code == 404
    assert client.post(f"/api/v1/invoices/{inv}/issue", headers=auth_b).status_code == 404
    assert client.post(f"/api/v1/invoices/{inv}/void", headers=auth_b).status_code == 404
    assert (
        client.post(f"/api/v1/practices/{practice_a}/invoices", headers=auth_b).status_code == 404
    )
    assert client.get("/api/v1/invoices/999999999", headers=auth_a).status_code == 404
    with tenant_scope(firm_a.tenant.id):
        invoice = db.session.get(Invoice, inv)
        assert invoice.status == "pending"
    assert _actions(firm_a.tenant.id, inv) == ["invoice.prepared"]


def test_viewer_and_advocate_tokens_are_refused_as_on_the_web(db_app):
    firm, practice_id, payer_id, auth = _firm("Roles Firm")
    client = db_app.test_client()
    _billed(client, firm, practice_id, payer_id, auth)
    viewer = api_headers(make_user(firm.tenant, "viewer"))
    advocate = api_headers(make_user(firm.tenant, "advocate"))
    practice_user = api_headers(make_user(firm.tenant, "practice_admin", practice_id=practice_id))
    url = f"/api/v1/practices/{practice_id}/invoices"
    for headers in (viewer, advocate):
        assert client.post(url, headers=headers).status_code == 403
    # A practice user's token opens no firm API at all.
    assert client.post(url, headers=practice_user).status_code == 401
    with tenant_scope(firm.tenant.id):
        assert db.session.scalar(select(db.func.count()).select_from(Invoice)) == 0
        assert db.session.scalar(select(db.func.count()).select_from(FeeLedgerEntry)) >= 1
    (prepared,) = client.post(url, headers=auth).get_json()["items"]
    inv = prepared["id"]
    for headers in (viewer, advocate):
        assert client.post(f"/api/v1/invoices/{inv}/issue", headers=headers).status_code == 403
        assert client.post(f"/api/v1/invoices/{inv}/void", headers=headers).status_code == 403
    # Staff read invoices, as on the billing pages.
    assert client.get(f"/api/v1/invoices/{inv}", headers=viewer).status_code == 200
    assert client.get(f"/api/v1/invoices/{inv}", headers=practice_user).status_code == 401
    assert Decimal(client.get(f"/api/v1/invoices/{inv}", headers=auth).get_json()["total"]) == 100
