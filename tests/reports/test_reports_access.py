"""Who sees which report: staff see the firm's; a practice person sees only
their practice's report, read only, in the portal (another practice is a
404, whatever the URL or filter says); another firm's payer or practice is
a 404."""

from __future__ import annotations

from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import login, make_firm, make_user
from tests.reports.conftest import RANGE, build_dataset, csv_sections, page_figures, page_table_rows


def _practice_browser(ds, make_browser, practice_id, role="practice_user"):
    person = make_user(ds.firm.tenant, role, practice_id=practice_id)
    b = make_browser("10.8.1.1")
    login(b, person)
    return b


def test_a_practice_user_reads_only_their_practices_report(ds, make_browser):
    b = _practice_browser(ds, make_browser, ds.p2)
    mine = b.get(f"/reports/practice?{RANGE}")
    assert mine.status_code == 200
    body = mine.get_data(as_text=True)
    # Harbor's figures, whatever practice_id the query string asks for.
    assert page_figures(body)["recovered"] == "1050.00"
    sneaky = b.get(f"/reports/practice?{RANGE}&practice_id={ds.p1}").get_data(as_text=True)
    assert page_figures(sneaky)["recovered"] == "1050.00"
    assert b.get(f"/reports/practices/{ds.p2}?{RANGE}").status_code == 200
    # Read only: no drill-down into the staff caseload, no advocate filter, no other practice's name.
    assert "/cases/" not in body and "/reports/cases" not in body and "/deadlines/" not in body
    assert 'name="assignee_id"' not in body and 'name="practice_id"' not in body
    assert "Lakeside" not in body and "Ana Advocate" not in body
    # Its payers only: Acme (c6) and Beacon (c3, c4) are both Harbor's payers.
    assert "Acme Health Plan" in body and "Beacon Care" in body


def test_a_practice_user_gets_404_for_another_practice_and_403_for_firm_reports(ds, make_browser):
    b = _practice_browser(ds, make_browser, ds.p2, role="practice_admin")
    assert b.get(f"/reports/practices/{ds.p1}").status_code == 404
    assert b.get(f"/reports/practices/{ds.p1}/export?format=csv").status_code == 404
    for url in (
        "/reports/",
        "/reports/payers",
        f"/reports/payers/{ds.acme}",
        "/reports/advocates",
        "/reports/practices",
        "/reports/cases?figure=won",
        "/reports/export?format=csv",
    ):
        assert b.get(url).status_code == 403, url


def test_a_practice_users_export_matches_their_page_and_is_audited(ds, make_browser):
    b = _practice_browser(ds, make_browser, ds.p2)
    page = b.get(f"/reports/practices/{ds.p2}?{RANGE}").get_data(as_text=True)
    r = b.get(f"/reports/practices/{ds.p2}/export?{RANGE}&format=csv")
    assert r.status_code == 200
    assert csv_sections(r.get_data(as_text=True)) == page_table_rows(page)
    with tenant_scope(ds.firm.tenant.id):
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "portal.view" in actions and "report.export" in actions


def test_the_portal_nav_offers_the_report(ds, make_browser):
    b = _practice_browser(ds, make_browser, ds.p1)
    body = b.get("/portal/").get_data(as_text=True)
    assert 'href="/reports/practice"' in body


def test_staff_nav_lists_the_reports(ds, make_browser):
    viewer = make_user(ds.firm.tenant, "viewer")
    b = make_browser("10.8.2.2")
    login(b, viewer)
    body = b.get("/reports/").get_data(as_text=True)
    for href in (
        'href="/reports/"',
        'href="/reports/payers"',
        'href="/reports/advocates"',
        'href="/reports/practices"',
    ):
        assert href in body
    assert b.get(f"/reports/payers/{ds.acme}").status_code == 200


def test_another_firms_payer_and_practice_are_404(ds, make_browser):
    other = build_dataset(make_firm("Other Firm"))
    b = make_browser("10.8.3.3")
    login(b, other.owner)
    for url in (
        f"/reports/payers/{ds.acme}",
        f"/reports/payers/{ds.acme}/export?format=csv",
        f"/reports/practices/{ds.p1}",
        f"/reports/practices/{ds.p1}/export?format=xlsx",
    ):
        assert b.get(url).status_code == 404, url
    # Its own dashboard holds only its own cases (the same eight, built again).
    assert (
        page_figures(b.get(f"/reports/?{RANGE}").get_data(as_text=True))["recovered"] == "2750.00"
    )
    # A filter naming the first firm's payer finds nothing of it.
    mixed = page_figures(b.get(f"/reports/?{RANGE}&payer_id={ds.acme}").get_data(as_text=True))
    assert mixed["recovered"] == "0.00" and mixed["open_cases"] == "0"
