"""Billing pages and API: the firm's ledger and invoice views, the practice's
statements in the portal (with the hosted invoice link), reports and their
CSV export, and practice users kept to their own practice."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.auth.models import ApiToken, new_token, token_hash
from advocate.billing import accounts, invoicing
from advocate.billing.models import FeeLedgerEntry, Invoice
from advocate.extensions import db
from advocate.practices.models import Practice
from tenants import tenant_scope
from tests.billing.support import make_books
from tests.factories import firm_today, login, make_practice, make_user

D = Decimal


def invoiced_books(stripe_app):
    b = make_books()
    b.agreement(date(2025, 1, 1), "25")
    case_id = b.case("100.00")
    b.pay(case_id, "400.00", date(2026, 3, 3))
    with tenant_scope(b.tenant_id):
        accounts.set_test_key(
            b.tenant_id, f"sk_test_pages_{uuid.uuid4().hex}", days_until_due=15, actor_id=None
        )
        practice = db.session.get(Practice, b.practice_id)
        inv = invoicing.bill_practice(
            b.tenant_id, practice, today=firm_today(b.tenant_id), actor_id=None
        )[0]
        db.session.commit()
        return b, case_id, inv.id, inv.hosted_invoice_url


def token_for(person) -> dict:
    with tenant_scope(person.tenant_id):
        raw = new_token("adv_")
        db.session.add(
            ApiToken(
                membership_id=person.membership_id,
                name="billing test",
                token_prefix=raw[:8],
                token_hash=token_hash(raw),
            )
        )
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_the_ledger_page_lists_entries_and_takes_a_reasoned_adjustment(db_app, browser):
    b = make_books()
    b.agreement(date(2025, 1, 1), "25")
    case_id = b.case("100.00")
    b.pay(case_id, "400.00", date(2026, 3, 3))
    login(browser, b.firm.owner)
    r = browser.get(f"/billing/practices/{b.practice_id}/ledger")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "$100.00" in html and "recovered above initial payment" in html
    r = browser.post(
        f"/billing/practices/{b.practice_id}/entries",
        {"case_number": "C-000001", "kind": "write_off", "amount": "30", "reason": ""},
    )
    assert r.status_code == 302
    assert len(b.entries(case_id)) == 2  # refused: no reason
    r = browser.post(
        f"/billing/practices/{b.practice_id}/entries",
        {
            "case_number": "C-000001",
            "kind": "write_off",
            "amount": "30",
            "reason": "Practice hardship",
        },
    )
    entries = b.entries(case_id)
    assert [(e.kind, e.amount, e.reason) for e in entries[2:]] == [
        ("write_off", D("-30.00"), "Practice hardship")
    ]
    html = browser.get(f"/billing/practices/{b.practice_id}/ledger").get_data(as_text=True)
    assert "Practice hardship" in html and "$70.00" in html


def test_a_viewer_reads_the_ledger_but_cannot_change_it(db_app, browser):
    b = make_books()
    viewer = make_user(b.firm.tenant, "viewer")
    login(browser, viewer)
    assert browser.get(f"/billing/practices/{b.practice_id}/ledger").status_code == 200
    r = browser.post(
        f"/billing/practices/{b.practice_id}/entries",
        {"case_number": "C-000001", "kind": "adjustment", "amount": "5", "reason": "x"},
    )
    assert r.status_code == 403
    assert browser.post(f"/billing/practices/{b.practice_id}/bill").status_code == 403


def test_the_firm_sees_invoice_status_and_overdue_amounts(stripe_app, browser):
    b, _, invoice_id, hosted = invoiced_books(stripe_app)
    login(browser, b.firm.owner)
    html = browser.get("/billing/").get_data(as_text=True)
    assert hosted in html and 'data-status="open"' in html
    with tenant_scope(b.tenant_id):
        inv = db.session.get(Invoice, invoice_id)
        inv.due_on = firm_today(b.tenant_id) - timedelta(days=2)
        db.session.commit()
    html = browser.get("/billing/").get_data(as_text=True)
    assert "Overdue" in html
    assert '<dd data-testid="overdue-amount">$100.00' in html
    html = browser.get("/billing/?status=paid").get_data(as_text=True)
    assert hosted not in html


def test_invoicing_from_the_ledger_page_sends_the_invoice(stripe_app, browser):
    b = make_books()
    b.agreement(date(2025, 1, 1), "25")
    case_id = b.case("100.00")
    b.pay(case_id, "200.00", date(2026, 3, 3))
    with tenant_scope(b.tenant_id):
        accounts.set_test_key(
            b.tenant_id, f"sk_test_v_{uuid.uuid4().hex}", days_until_due=10, actor_id=None
        )
        db.session.commit()
    login(browser, b.firm.owner)
    r = browser.post(f"/billing/practices/{b.practice_id}/bill")
    assert r.status_code == 302 and r.headers["Location"].endswith("/billing/")
    with tenant_scope(b.tenant_id):
        invoices = db.session.scalars(select(Invoice)).all()
        assert [(i.status, i.total, i.is_sent) for i in invoices] == [("open", D("50.00"), True)]


def test_the_portal_shows_the_practice_its_statement_and_invoice_link(stripe_app, browser):
    b, _, invoice_id, hosted = invoiced_books(stripe_app)
    person = make_user(b.firm.tenant, "practice_user", practice_id=b.practice_id)
    login(browser, person)
    r = browser.get("/billing/statements")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert hosted in html and 'data-testid="hosted-link"' in html
    assert 'data-testid="pdf-link"' in html
    assert "C-000001" in html and "$400.00" in html and "25.00%" in html
    assert '<dd data-testid="balance">$100.00' in html
    assert "Fee statements" in html  # the portal tab
    # Firm pages stay closed to practice people.
    assert browser.get("/billing/").status_code == 403
    assert browser.get(f"/billing/practices/{b.practice_id}/ledger").status_code == 403


def test_a_practice_user_never_sees_another_practices_invoices(stripe_app, browser):
    b, _, invoice_id, hosted = invoiced_books(stripe_app)
    other_practice = make_practice(b.firm.tenant, name="Other Clinic", npi="9876543213")
    person = make_user(b.firm.tenant, "practice_user", practice_id=other_practice)
    login(browser, person)
    html = browser.get("/billing/statements").get_data(as_text=True)
    assert hosted not in html
    # Practice people have no API access at all (tokens are for firm staff).
    headers = token_for(person)
    for url in ("/api/v1/invoices", f"/api/v1/practices/{b.practice_id}/ledger"):
        r = browser.get(url, headers=headers)
        assert r.status_code in (401, 403) and "items" not in (r.get_json() or {})


def test_the_api_lists_the_ledger_and_invoices_by_status(stripe_app, browser):
    b, case_id, invoice_id, hosted = invoiced_books(stripe_app)
    headers = token_for(make_user(b.firm.tenant, "advocate"))
    r = browser.get(f"/api/v1/practices/{b.practice_id}/ledger?limit=1", headers=headers)
    body = r.get_json()
    assert r.status_code == 200 and len(body["items"]) == 1 and body["net_fees"] == "100.00"
    assert body["items"][0]["amount"] == "100.00" and body["items"][0]["case_id"] == case_id
    nxt = urlsplit(body["next"])  # two entries: the second page holds the other
    rest = browser.get(f"{nxt.path}?{nxt.query}", headers=headers).get_json()
    assert len(rest["items"]) == 1 and rest["next"] is None
    assert rest["items"][0]["id"] != body["items"][0]["id"]
    r = browser.get("/api/v1/invoices?status=open", headers=headers)
    items = r.get_json()["items"]
    assert [(i["id"], i["total"], i["hosted_invoice_url"]) for i in items] == [
        (invoice_id, "100.00", hosted)
    ]
    assert browser.get("/api/v1/invoices?status=paid", headers=headers).get_json()["items"] == []
    r = browser.get("/api/v1/invoices?status=bogus", headers=headers)
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "status"


def test_the_report_shows_fees_by_month_and_exports_csv_audited(stripe_app, browser):
    b, _, _, _ = invoiced_books(stripe_app)
    login(browser, b.firm.owner)
    html = browser.get("/billing/reports").get_data(as_text=True)
    assert "2026-03" in html and "$100.00" in html
    r = browser.get("/billing/reports?format=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    lines = r.get_data(as_text=True).strip().splitlines()
    assert lines[0] == "month,practice_id,practice,earned,invoiced,collected,outstanding"
    assert any(line.startswith("2026-03,") and ",100.00," in line for line in lines[1:])
    with tenant_scope(b.tenant_id):
        assert (
            db.session.scalar(
                select(AuditEvent.id).where(AuditEvent.action == "billing.report_exported")
            )
            is not None
        )


def test_the_stripe_settings_take_a_test_key_from_the_owner_only(db_app, browser):
    b = make_books()
    admin = make_user(b.firm.tenant, "admin")
    login(browser, admin)
    assert browser.get("/billing/stripe").status_code == 200
    assert (
        browser.post("/billing/stripe/key", {"api_key": "sk_test_abcdefghijkl"}).status_code == 403
    )
    browser2 = type(browser)(db_app)
    login(browser2, b.firm.owner)
    browser2.post("/billing/stripe/key", {"api_key": "pk_live_nope", "days_until_due": "30"})
    browser2.post(
        "/billing/stripe/key", {"api_key": "sk_test_abcdefghijkl", "days_until_due": "21"}
    )
    with tenant_scope(b.tenant_id):
        row = accounts.firm_account()
        assert row.mode == "key" and row.api_key_last4 == "ijkl" and row.days_until_due == 21
        assert "abcdefghijkl" not in row.api_key_enc  # encrypted at rest
    html = browser2.get("/billing/stripe").get_data(as_text=True)
    assert "····ijkl" in html and "sk_test_abcdefghijkl" not in html


def test_pending_fees_are_posted_from_the_billing_page(db_app, browser):
    b = make_books()
    case_id = b.case("100.00")
    b.pay(case_id, "200.00", date(2026, 2, 1))
    b.agreement(date(2025, 1, 1), "10")
    login(browser, b.firm.owner)
    assert browser.post("/billing/accrue").status_code == 302
    with tenant_scope(b.tenant_id):
        amounts = db.session.scalars(
            select(FeeLedgerEntry.amount).order_by(FeeLedgerEntry.id)
        ).all()
    assert amounts == [D("0.00"), D("20.00")]
