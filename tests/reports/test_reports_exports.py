"""Exports carry exactly the figures on screen: every report's CSV and XLSX
are compared, table by table and cell by cell, with the page's own values;
and every export is audited."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.extensions import db
from tenants import tenant_scope
from tests.reports.conftest import RANGE, csv_sections, page_table_rows, xlsx_sections

FILTERS = [RANGE, f"{RANGE}&assignee_id=none", "from=2026-02-01&to=2026-04-30"]


def _reports(ds):
    return [
        ("/reports/", "/reports/export"),
        ("/reports/payers", "/reports/payers/export"),
        (f"/reports/payers/{ds.acme}", f"/reports/payers/{ds.acme}/export"),
        ("/reports/advocates", "/reports/advocates/export"),
        ("/reports/practices", "/reports/practices/export"),
        (f"/reports/practices/{ds.p1}", f"/reports/practices/{ds.p1}/export"),
    ]


@pytest.mark.parametrize("query", FILTERS)
def test_csv_and_xlsx_match_the_page(ds, owner_browser, query):
    for page_url, export_url in _reports(ds):
        page = owner_browser.get(f"{page_url}?{query}")
        assert page.status_code == 200
        on_screen = page_table_rows(page.get_data(as_text=True))
        assert on_screen[0], page_url  # the figures

        r = owner_browser.get(f"{export_url}?{query}&format=csv")
        assert r.status_code == 200 and r.mimetype == "text/csv"
        assert "attachment" in r.headers["Content-Disposition"]
        assert csv_sections(r.get_data(as_text=True)) == on_screen, page_url

        x = owner_browser.get(f"{export_url}?{query}&format=xlsx")
        assert x.status_code == 200
        assert x.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert xlsx_sections(x.get_data()) == on_screen, page_url


def test_the_export_links_carry_the_page_filters(ds, owner_browser):
    body = owner_browser.get(f"/reports/payers?{RANGE}&payer_id={ds.beacon}").get_data(as_text=True)
    assert (
        f"/reports/payers/export?from=2026-01-01&amp;to=2026-06-30&amp;payer_id={ds.beacon}&amp;format=csv"
        in body
    )
    assert "format=xlsx" in body


def test_the_csv_header_names_the_report_and_its_filters(ds, owner_browser):
    text = owner_browser.get(f"/reports/export?{RANGE}&payer_id={ds.acme}&format=csv").get_data(
        as_text=True
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[:4] == [
        ["Report", "Firm dashboard"],
        ["From", "2026-01-01"],
        ["To", "2026-06-30"],
        ["Payers", "Acme Health Plan"],
    ]
    assert ["Figure", "Value"] in rows and ["Recovered", "2500.00"] in rows


def test_exports_are_audited(ds, owner_browser):
    owner_browser.get(f"/reports/advocates/export?{RANGE}&format=xlsx")
    owner_browser.get(f"/reports/payers/{ds.acme}/export?{RANGE}&format=csv")
    with tenant_scope(ds.firm.tenant.id):
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "report.export").order_by(AuditEvent.id)
        ).all()
    assert [(e.object_type, e.details["report"], e.details["format"]) for e in events] == [
        ("report", "advocates", "xlsx"),
        ("payers", "payer", "csv"),
    ]
    assert events[1].object_id == str(ds.acme)
    assert events[0].details["from"] == "2026-01-01" and events[0].user_id == ds.owner.user.id


def test_a_bad_format_or_filter_is_refused(ds, owner_browser):
    assert owner_browser.get(f"/reports/export?{RANGE}&format=pdf").status_code == 400
    r = owner_browser.get("/reports/export?from=yesterday&format=csv")
    assert r.status_code == 400 and "from: 'yesterday' is not a date" in r.get_data(as_text=True)
