"""The practice fee statement as a PDF (letters engine, statement layout): its
text, read back with pypdf, holds the ledger's figures for the period; the
firm downloads it from the practice's billing page, the practice from its
portal (its own practice only); every download is audited as an export."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

from pypdf import PdfReader
from sqlalchemy import func, select

from advocate.audit.models import AuditEvent
from advocate.billing import ledger, statements
from advocate.billing.models import FeeLedgerEntry, Invoice
from advocate.cases.models import Case
from advocate.extensions import db
from advocate.practices.models import Practice
from tenants import tenant_scope
from tenants.models import Tenant
from tests.billing.support import make_books
from tests.factories import firm_today, login, make_practice, make_user

D = Decimal
MARCH = ("2026-03-01", "2026-03-31")


def paid_invoice(
    b, number: str, total: str, paid_at: datetime, *, case_id=None, status: str = "paid"
) -> None:
    with tenant_scope(b.tenant_id):
        db.session.add(
            Invoice(
                practice_id=b.practice_id,
                kind="settlement",
                business_key=f"test:{number}",
                case_id=case_id,
                issued_on=date(2026, 2, 20),
                status=status,
                total=D(total),
                amount_paid=D(total) if status == "paid" else D("0"),
                amount_remaining=D("0") if status == "paid" else D(total),
                number=number,
                paid_at=paid_at if status == "paid" else None,
                stripe_invoice_id=f"in_{number}",
            )
        )
        db.session.commit()


def march_books():
    """25 % incremental. Case 1: 100 initial, +400 in February (fee 100), +40 in
    March (fee 10) and a 5.00 courtesy adjustment in March. Case 2: 200 initial,
    +200 in March (fee 50) then an 80.00 recoupment (fee -20). The February fee
    is invoiced and paid on March 31 evening in New York (April 1 in UTC)."""
    b = make_books()
    b.agreement(date(2025, 1, 1), "25")
    c1 = b.case("100.00", number="CLM-1")
    b.pay(c1, "400.00", date(2026, 2, 10))
    c2 = b.case("200.00", number="CLM-2")
    b.pay(c2, "200.00", date(2026, 3, 3))
    b.pay(c1, "40.00", date(2026, 3, 15))
    b.pay(c2, "-80.00", date(2026, 3, 20), source="recoupment")
    with tenant_scope(b.tenant_id):
        ledger.add_manual_entry(
            db.session.get(Case, c1),
            kind="adjustment",
            amount="-5.00",
            reason="Courtesy",
            effective_on=date(2026, 3, 25),
            actor_id=None,
        )
        db.session.commit()
    paid_invoice(b, "INV-0001", "100.00", datetime(2026, 4, 1, 2, 0, tzinfo=UTC), case_id=c1)
    paid_invoice(b, "INV-0002", "7.00", datetime(2026, 4, 1, 5, 0, tzinfo=UTC))  # April 1, local
    paid_invoice(b, "INV-0003", "9.00", datetime(2026, 3, 5, tzinfo=UTC), status="open")
    return b, c1, c2


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def ledger_sum(b, **where) -> Decimal:
    with tenant_scope(b.tenant_id):
        q = select(func.coalesce(func.sum(FeeLedgerEntry.amount), 0)).where(
            FeeLedgerEntry.practice_id == b.practice_id
        )
        if "before" in where:
            q = q.where(FeeLedgerEntry.effective_on < where["before"])
        if "between" in where:
            lo, hi = where["between"]
            q = q.where(FeeLedgerEntry.effective_on >= lo, FeeLedgerEntry.effective_on <= hi)
        total = D(db.session.scalar(q)).quantize(D("0.01"))
        db.session.rollback()
        return total


def test_the_statement_figures_are_the_ledgers(db_app):
    b, c1, c2 = march_books()
    with tenant_scope(b.tenant_id):
        practice = db.session.get(Practice, b.practice_id)
        tenant = db.session.get(Tenant, b.tenant_id)
        st = statements.build_statement(
            practice, date(2026, 3, 1), date(2026, 3, 31), tenant=tenant, today=date(2026, 4, 10)
        )
    assert st.opening == ledger_sum(b, before=date(2026, 3, 1)) == D("100.00")
    assert st.fees == ledger_sum(b, between=(date(2026, 3, 1), date(2026, 3, 31))) == D("35.00")
    assert [
        (c.reference, c.recovered, c.fees, c.adjustments, c.net, c.terms_label) for c in st.cases
    ] == [
        ("C-000001", D("40.00"), D("10.00"), D("-5.00"), D("5.00"), "25.00% incremental"),
        ("C-000002", D("120.00"), D("30.00"), D("0.00"), D("30.00"), "25.00% incremental"),
    ]
    # Paid at 02:00 UTC on April 1 is March 31 in New York: in March. 05:00 UTC is April.
    assert [(r.number, r.paid_on, r.amount, r.label) for r in st.receipts] == [
        ("INV-0001", date(2026, 3, 31), D("100.00"), "Settlement, case C-000001")
    ]
    assert st.closing == D("35.00")
    # The next month opens where March closed.
    with tenant_scope(b.tenant_id):
        april = statements.build_statement(
            practice, date(2026, 4, 1), date(2026, 4, 30), tenant=tenant, today=date(2026, 5, 2)
        )
    assert april.opening == st.closing
    assert [r.number for r in april.receipts] == ["INV-0002"] and april.cases == []
    assert april.closing == D("28.00")


def test_the_firm_downloads_the_pdf_and_its_text_holds_the_figures(db_app, browser):
    b, c1, c2 = march_books()
    login(browser, b.firm.owner)
    html = browser.get(f"/billing/practices/{b.practice_id}/ledger").get_data(as_text=True)
    assert 'data-testid="statement-form"' in html
    assert f'action="/billing/practices/{b.practice_id}/statement.pdf"' in html
    r = browser.get(
        f"/billing/practices/{b.practice_id}/statement.pdf?start={MARCH[0]}&end={MARCH[1]}"
    )
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"] == (
        "attachment; filename=fee-statement-1234567893-20260301-20260331.pdf"
    )
    text = pdf_text(r.data)
    flat = " ".join(text.split())
    assert "Contingency fee statement" in flat and "Lakeside Orthopedics" in flat
    assert "March 1, 2026 – March 31, 2026" in flat
    assert "Opening balance on March 1, 2026 $100.00" in flat
    assert "Fees earned in the period $35.00" in flat
    assert "Payments received in the period -$100.00" in flat
    assert "Balance on March 31, 2026 $35.00" in flat
    assert "C-000001" in flat and "C-000002" in flat
    assert "$40.00" in flat and "$120.00" in flat and "-$5.00" in flat and "-$20.00" not in flat
    assert "INV-0001" in flat and "Settlement, case C-000001" in flat
    assert "INV-0002" not in flat and "INV-0003" not in flat
    assert "CLM-1" not in flat  # no claim numbers, no patient data
    with tenant_scope(b.tenant_id):
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "billing.statement_exported")
        )
        assert event is not None and str(event.object_id) == str(b.practice_id)
        assert event.is_phi is False and event.user_id == b.firm.owner.user.id
        assert event.details["start"] == MARCH[0] and event.details["cases"] == 2
    # The same statement twice is the same file.
    again = browser.get(
        f"/billing/practices/{b.practice_id}/statement.pdf?start={MARCH[0]}&end={MARCH[1]}"
    )
    assert again.data == r.data


def test_a_bad_period_is_refused_with_the_field_named(db_app, browser):
    b = make_books()
    login(browser, b.firm.owner)
    url = f"/billing/practices/{b.practice_id}/statement.pdf"
    r = browser.get(f"{url}?start=2026-03-31&end=2026-03-01")
    assert r.status_code == 302 and r.headers["Location"].endswith(
        f"/billing/practices/{b.practice_id}/ledger"
    )
    html = browser.get(r.headers["Location"]).get_data(as_text=True)
    assert "Statement end: The end of the period is before its start." in html
    r = browser.get(f"{url}?start=March&end=2026-03-01")
    html = browser.get(r.headers["Location"]).get_data(as_text=True)
    assert "Statement start: Enter a date as YYYY-MM-DD." in html
    # No period: the last complete month.
    r = browser.get(url)
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    start, end = statements.default_period(firm_today(b.tenant_id))
    assert f"-{start:%Y%m%d}-{end:%Y%m%d}.pdf" in r.headers["Content-Disposition"]
    assert "No fees were earned in this period." in pdf_text(r.data)


def test_the_practice_downloads_its_own_statement_from_the_portal(db_app, browser):
    b, c1, c2 = march_books()
    other = make_practice(b.firm.tenant, name="Other Clinic", npi="9876543213")
    person = make_user(b.firm.tenant, "practice_user", practice_id=b.practice_id)
    login(browser, person)
    html = browser.get("/billing/statements").get_data(as_text=True)
    assert 'action="/billing/statements/statement.pdf"' in html
    r = browser.get(f"/billing/statements/statement.pdf?start={MARCH[0]}&end={MARCH[1]}")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    flat = " ".join(pdf_text(r.data).split())
    assert "Balance on March 31, 2026 $35.00" in flat and "Lakeside Orthopedics" in flat
    # The firm's download of any practice is closed to practice people.
    for pid in (b.practice_id, other):
        assert browser.get(f"/billing/practices/{pid}/statement.pdf").status_code == 403
    with tenant_scope(b.tenant_id):
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "billing.statement_exported")
        ).all()
        assert [e.user_id for e in events] == [person.user.id]

    # A colleague at the other practice gets the other practice's (empty) statement.
    browser2 = type(browser)(db_app)
    login(browser2, make_user(b.firm.tenant, "practice_user", practice_id=other))
    r = browser2.get(f"/billing/statements/statement.pdf?start={MARCH[0]}&end={MARCH[1]}")
    flat = " ".join(pdf_text(r.data).split())
    assert "Other Clinic" in flat and "Lakeside" not in flat and "C-000001" not in flat
    assert "Balance on March 31, 2026 $0.00" in flat
