"""Issue 17, item 1: one fee schedule year rule, labelled wherever it falls back.

Only CY2025 is loaded; the case's services are in March 2026. Before the fix
the case page priced the lines at 2025 rates without a word while the letter
showed "—" in every benchmark cell under "as the benchmark figures below
show". Now the case page, both API answers and the letter carry the same
amounts and say "CY2025 rates; CY2026 not loaded"; without any benchmark the
letter neither shows nor claims one, and generating it warns.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import time_machine
from sqlalchemy import select

from advocate.cases.models import Case
from advocate.extensions import db
from advocate.rates.years import FeeYear, combined_label, fee_year_for, missing_current_year
from tenants import tenant_scope
from tests.factories import login
from tests.figures.conftest import api_headers, money, page_amount, stored_letter_text
from tests.letters.conftest import make_setup

LABEL = "CY2025 rates; CY2026 not loaded"


def test_the_year_rule_and_its_label():
    assert fee_year_for(2026, [2024, 2025]) == FeeYear(2026, 2025)
    assert fee_year_for(2026, [2024, 2025]).fallback is True
    assert fee_year_for(2025, [2024, 2025, 2026]) == FeeYear(2025, 2025)
    assert fee_year_for(2025, [2025]).fallback is False
    assert fee_year_for(2023, [2025]).year_used is None
    assert fee_year_for(2026, [2025]).label == LABEL
    assert fee_year_for(2025, [2025]).label == "CY2025 rates"
    assert combined_label([FeeYear(2026, 2025), FeeYear(2025, 2025)]) == ("CY2025 rates · " + LABEL)
    assert missing_current_year(date(2026, 12, 7), [2025]).startswith(
        "The CY2026 Medicare fee schedule is not loaded"
    )
    assert missing_current_year(date(2025, 12, 7), [2025]) is None


def test_fallback_year_is_labelled_and_the_same_on_page_api_and_letter(pfs, browser):
    s = make_setup()  # services on 2026-03-02, practice ZIP 10001
    tid = s.tenant.id
    login(browser, s.advocate)
    client = pfs.test_client()
    headers = api_headers(tid, s.advocate.membership_id)

    bench = client.get(f"/api/v1/cases/{s.case_id}/benchmark", headers=headers).get_json()
    assert bench["case"]["year_used"] == 2025 and bench["case"]["fallback"] is True
    assert bench["case"]["fee_schedule"]["label"] == LABEL
    line_amounts = []
    for ln in bench["lines"]:
        med = ln["medicare"]
        assert (med["year_used"], med["fallback"], med["fee_schedule"]) == (2025, True, LABEL)
        assert med["amount"] is not None
        line_amounts.append(med["amount"])
    assert line_amounts[0] == "101.06"  # 99213, POS 11, Manhattan, CY2025 (the worked example)
    medicare_total = bench["case"]["medicare_total"]

    detail = client.get(f"/api/v1/cases/{s.case_id}", headers=headers).get_json()
    fig = detail["figures"]
    assert fig["fee_schedule"]["fallback"] is True and fig["fee_schedule"]["year_used"] == 2025
    assert fig["medicare_total"] == medicare_total
    assert fig["expected_payment"] == bench["case"]["expected_payment"]
    assert fig["underpayment"] == bench["case"]["underpayment"]

    html = browser.get(f"/cases/{s.case_id}").get_data(as_text=True)
    assert f'data-testid="fee-schedule" data-fallback="true">{LABEL}<' in html
    assert page_amount(html, "medicare") == f"${float(medicare_total):,.2f}"
    assert page_amount(html, "at_stake") == f"${float(fig['amount_at_stake']):,.2f}"

    r = browser.post(f"/letters/cases/{s.case_id}/letters", {"template": "reconsideration"})
    assert r.status_code == 302
    flashed = browser.get(f"/cases/{s.case_id}").get_data(as_text=True)
    assert "earlier fee schedule: " + LABEL in flashed
    text = " ".join(stored_letter_text(tid, s.case_id).split())
    assert LABEL in text  # in the paragraph and the table's note
    for amount in line_amounts:
        assert f"${float(amount):,.2f}" in text
    assert f"${float(medicare_total):,.2f}" in text  # the benchmark column's total


def test_without_any_benchmark_the_letter_neither_shows_nor_claims_one(db_app, browser):
    s = make_setup()  # no fee schedule loaded at all
    login(browser, s.advocate)
    r = browser.post(f"/letters/cases/{s.case_id}/letters", {"template": "appeal_level_1"})
    assert r.status_code == 302
    page = browser.get(f"/cases/{s.case_id}").get_data(as_text=True)
    assert "No Medicare benchmark for this case" in page
    text = stored_letter_text(s.tenant.id, s.case_id)
    assert "benchmark" not in text.lower()
    assert "does not reflect a reasonable value" in " ".join(text.split())


def test_a_firm_template_that_still_claims_a_benchmark_warns(db_app):
    from advocate.letters import document as doc
    from advocate.letters.types import letter_type

    s = make_setup()
    ltype = letter_type("appeal_level_1")
    with tenant_scope(s.tenant.id):
        case = db.session.get(Case, s.case_id)
        data = doc.load_cases([case.id], ltype, date(2026, 12, 7))
        built = doc.build_letter(
            data.cases[case.id],
            ltype,
            subject_tpl="Appeal",
            body_tpl="Paid {{ case.paid_total }}, as the benchmark figures below show.\n\n"
            "{{ claim_table }}",
            tenant=s.tenant,
            sender=doc.Sender("Arlo"),
            today=date(2026, 12, 7),
            data=data,
        )
    assert any("mentions a benchmark the letter does not show" in w for w in built.warnings)
    assert "Benchmark" not in built.document["table"]["columns"]


def test_banner_when_the_current_year_is_missing(pfs, browser, make_browser):
    s = make_setup()
    with time_machine.travel(datetime(2026, 12, 7, 15, 0, tzinfo=UTC), tick=False):
        login(browser, s.advocate)
        for url in ("/", "/rates/medicare"):
            html = browser.get(url).get_data(as_text=True)
            assert 'data-testid="fee-schedule-banner"' in html, url
            assert "The CY2026 Medicare fee schedule is not loaded" in html
            if url == "/rates/medicare":  # the loaded schedule, its sources and row counts
                assert 'data-testid="pfs-year" data-year="2025"' in html
                assert "PPRRVU2025_Oct.csv" in html and "GPCI2025.csv" in html
    with time_machine.travel(datetime(2025, 12, 7, 15, 0, tzinfo=UTC), tick=False):
        other = make_browser("10.9.9.9")
        login(other, s.admin)  # a first log-in for this person (TOTP steps move forward only)
        html = other.get("/rates/medicare").get_data(as_text=True)
        assert 'data-testid="fee-schedule-banner"' not in html


def test_the_sca_check_uses_the_same_year_rule(pfs):
    """cases.services.medicare_amount (the SCA panel) prices a 2026 line at
    2025 rates, labelled, like the benchmark, instead of "not loaded"."""
    from advocate.cases.services import medicare_amount

    s = make_setup()
    with tenant_scope(s.tenant.id):
        case = db.session.scalar(select(Case).where(Case.id == s.case_id))
        fee, why = medicare_amount(case.lines[0], case)
    assert money(fee) == "$101.06"
    assert why.startswith(LABEL)
