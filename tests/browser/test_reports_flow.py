"""The reports in a real browser: the owner opens the dashboard (the landing
page), the firm dashboard, the payer scorecards and one payer's, the
advocate workload, the practice reports and one practice's, and downloads
an export; a practice user opens their practice's report. Every page
renders its charts with no console error (a CSP violation is one) and is
saved as a screenshot under $ADVOCATE_ARTIFACTS/screenshots/reports."""

from __future__ import annotations

import re

import pyotp
import pytest

from tests.factories import make_user
from tests.reports.conftest import RANGE, build_dataset

pytestmark = pytest.mark.browser


def _log_in(page, base, person, heading):
    page.goto(f"{base}/login")
    page.locator("#email").fill(person.user.email)
    page.locator("#password").fill(person.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/login/two-factor$"))
    page.locator("#code").fill(pyotp.TOTP(person.totp_secret).now())
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name=heading).first.wait_for()


def test_each_report_opens_with_its_charts(db_app, live_server, chromium, screenshot_dir):
    ds = build_dataset()
    shots = screenshot_dir / "reports"
    shots.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _log_in(page, live_server, ds.owner, "Dashboard")
    page.get_by_test_id("report-filters").wait_for()
    page.screenshot(path=str(shots / "00-landing.png"), full_page=True)

    pages = [
        ("01-dashboard", f"/reports/?{RANGE}", "Firm dashboard", 3),
        ("02-payer-scorecards", f"/reports/payers?{RANGE}", "Payer scorecards", 4),
        ("03-payer-acme", f"/reports/payers/{ds.acme}?{RANGE}", "Acme Health Plan: scorecard", 4),
        ("04-advocates", f"/reports/advocates?{RANGE}", "Advocate workload and results", 3),
        ("05-practices", f"/reports/practices?{RANGE}", "Practice reports", 1),
        (
            "06-practice-lakeside",
            f"/reports/practices/{ds.p1}?{RANGE}",
            "Lakeside Orthopedics: report",
            3,
        ),
        (
            "07-drilldown-won",
            f"/reports/cases?figure=won&{RANGE}",
            "Cases closed won or partly won in the range",
            0,
        ),
        ("08-payer-page", f"/payers/{ds.beacon}", "Beacon Care", 0),
    ]
    for name, url, heading, charts in pages:
        page.goto(f"{live_server}{url}")
        page.get_by_role("heading", name=heading, exact=True).first.wait_for()
        assert page.locator("svg.chart[role=img]").count() == charts, name
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    # Filters apply from the form; the chart's data table opens.
    page.goto(f"{live_server}/reports/?{RANGE}")
    page.locator("#r-payer").select_option(str(ds.acme))
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(rf"payer_id={ds.acme}"))
    assert page.locator('[data-figure="recovered"]').get_attribute("data-value") == "2500.00"
    page.get_by_text("Data table: Money recovered by month").click()
    page.screenshot(path=str(shots / "09-dashboard-filtered.png"), full_page=True)
    with page.expect_download() as dl:
        page.get_by_test_id("export-xlsx").click()
    assert dl.value.suggested_filename.endswith(".xlsx")

    # Print: the navigation and filters drop out, the figures and charts stay.
    page.emulate_media(media="print")
    assert not page.locator("[data-testid=report-filters]").is_visible()
    assert page.locator("svg.chart").first.is_visible()
    page.pdf(path=str(shots / "10-dashboard-print.pdf"))
    page.emulate_media(media="screen")
    context.close()

    # A practice user: their practice's report, from the portal's navigation.
    person = make_user(ds.firm.tenant, "practice_user", practice_id=ds.p2)
    context = chromium.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _log_in(page, live_server, person, "Harbor Emergency Physicians")
    page.get_by_role("link", name="Reports").click()
    page.get_by_role("heading", name="Harbor Emergency Physicians: report").wait_for()
    page.goto(f"{live_server}/reports/practice?{RANGE}")
    assert page.locator('[data-figure="recovered"]').get_attribute("data-value") == "1050.00"
    page.screenshot(path=str(shots / "11-portal-practice-report.png"), full_page=True)
    context.close()
    assert errors == []
