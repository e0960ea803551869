"""The case list: each filter narrows to exactly the right cases, bad values
are shown naming their parameter (never a 500), sorting and pagination are
stable, the page is audited as a PHI read, and practice users never get in."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.cases.queries import parse_case_filter
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import login, make_firm, make_payer, make_practice, make_user
from tests.seeders.cases import build_case

ROW = re.compile(r'<tr data-case-id="(\d+)"')


def shown(r) -> list[int]:
    return [int(x) for x in ROW.findall(r.get_data(as_text=True))]


@pytest.fixture()
def firm_cases(db_app, browser):
    """Four cases that differ in every filtered column, the owner logged in."""
    firm = make_firm("Filter Firm")
    adv = make_user(firm.tenant, "advocate", name="Ada Advocate")
    p1 = make_practice(firm.tenant, name="Alder Practice")
    p2 = make_practice(firm.tenant, name="Birch Practice", npi="9876543213")
    y1 = make_payer(firm.tenant, name="Aetna Test")
    y2 = make_payer(firm.tenant, name="Zenith Test")
    from zoneinfo import ZoneInfo

    from advocate.cases.queries import tenant_tz

    today = datetime.now(ZoneInfo(tenant_tz(firm.tenant))).date()
    t = firm.tenant.id
    ids = {
        "c1": build_case(
            t,
            p1,
            y1,
            status="intake",
            amount_at_stake="100.00",
            assignee_id=adv.user.id,
            opened_at=datetime(2026, 1, 10, 15, tzinfo=UTC),
            service_from=date(2025, 12, 1),
            is_nsa_eligible=True,
            next_deadline_on=today - timedelta(days=1),
            payer_claim_number="CLM-A1",
            patient_control_number="ACCT77",
        ),
        "c2": build_case(
            t,
            p2,
            y2,
            status="negotiating",
            amount_at_stake="5000.00",
            opened_at=datetime(2026, 2, 15, 15, tzinfo=UTC),
            service_from=date(2026, 1, 20),
            is_nsa_eligible=False,
            next_deadline_on=today + timedelta(days=3),
        ),
        "c3": build_case(
            t,
            p1,
            y2,
            status="closed_won",
            amount_at_stake="0.00",
            assignee_id=firm.owner.user.id,
            # 2026-03-02 03:30 UTC is still 1 March in New York, the firm's zone.
            opened_at=datetime(2026, 3, 2, 3, 30, tzinfo=UTC),
            service_from=date(2026, 2, 10),
            next_deadline_on=today - timedelta(days=5),
        ),
        "c4": build_case(
            t,
            p2,
            y1,
            status="appeal",
            appeal_level=2,
            amount_at_stake="750.50",
            assignee_id=adv.user.id,
            opened_at=datetime(2026, 3, 20, 15, tzinfo=UTC),
            service_from=date(2026, 3, 1),
            service_to=date(2026, 3, 4),
        ),
    }
    login(browser, firm.owner)
    return {
        "firm": firm,
        "adv": adv,
        "p1": p1,
        "p2": p2,
        "y1": y1,
        "y2": y2,
        "ids": ids,
        "browser": browser,
    }


FILTERS = [
    ("status=intake", {"c1"}),
    ("status=intake&status=appeal", {"c1", "c4"}),
    ("status=open", {"c1", "c2", "c4"}),
    ("status=closed", {"c3"}),
    ("payer_id={y1}", {"c1", "c4"}),
    ("payer_id={y1}&payer_id={y2}", {"c1", "c2", "c3", "c4"}),
    ("practice_id={p2}", {"c2", "c4"}),
    ("assignee_id={adv}", {"c1", "c4"}),
    ("assignee_id=me", {"c3"}),
    ("assignee_id=none", {"c2"}),
    ("opened_from=2026-02-01", {"c2", "c3", "c4"}),
    ("opened_to=2026-03-01", {"c1", "c2", "c3"}),
    ("opened_from=2026-02-01&opened_to=2026-03-01", {"c2", "c3"}),
    ("opened_from=2026-03-02", {"c4"}),
    ("service_from=2026-01-20", {"c2", "c3", "c4"}),
    ("service_to=2026-01-19", {"c1"}),
    ("service_from=2026-03-03&service_to=2026-03-03", {"c4"}),
    ("amount_min=750.50", {"c2", "c4"}),
    ("amount_max=750.50", {"c1", "c3", "c4"}),
    ("amount_min=100&amount_max=1000", {"c1", "c4"}),
    ("overdue=1", {"c1"}),
    ("overdue=0", {"c2", "c3", "c4"}),
    ("nsa=1", {"c1"}),
    ("nsa=0", {"c2", "c3", "c4"}),
    ("nsa=unknown", {"c3", "c4"}),
    ("q=CLM-A1", {"c1"}),
    ("q=acct77", {"c1"}),
    ("q=C-000002", {"c2"}),
    ("q=3", {"c3"}),
    ("q=Tester1", set()),  # patient names are not searchable here
    ("status=open&payer_id={y1}&amount_min=500", {"c4"}),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS)
def test_each_filter_narrows_to_exactly_the_matching_cases(firm_cases, query, expected):
    fc = firm_cases
    url = "/cases/?" + query.format(y1=fc["y1"], y2=fc["y2"], p2=fc["p2"], adv=fc["adv"].user.id)
    r = fc["browser"].get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    want = {fc["ids"][k] for k in expected}
    assert set(shown(r)) == want


def test_unfiltered_list_shows_every_case_with_patient_payer_and_practice(firm_cases):
    r = firm_cases["browser"].get("/cases/")
    body = r.get_data(as_text=True)
    assert set(shown(r)) == set(firm_cases["ids"].values())
    assert "Aetna Test" in body and "Birch Practice" in body and "Ada Advocate" in body
    assert "C-000001" in body
    assert re.search(r"Tester\d+, Pat\d+", body)
    # "Opened" is the firm's day (New York), as the opened_from/opened_to filters read it.
    c3_row = re.search(rf'<tr data-case-id="{firm_cases["ids"]["c3"]}".*?</tr>', body, re.S).group(
        0
    )
    assert "2026-03-01" in c3_row and "2026-03-02" not in c3_row


BAD = [
    ("amount_min=abc", "amount_min: &#39;abc&#39; is not an amount"),
    ("amount_max=-5", "amount_max: cannot be negative"),
    ("amount_min=900&amount_max=100", "amount_max: is less than amount_min"),
    ("opened_from=2026-13-01", "opened_from: &#39;2026-13-01&#39; is not a date"),
    ("service_to=yesterday", "service_to: &#39;yesterday&#39; is not a date"),
    ("opened_from=2026-03-01&opened_to=2026-02-01", "opened_to: is before opened_from"),
    ("status=bogus", "status: &#39;bogus&#39; is not a case status"),
    ("payer_id=abc", "payer_id: &#39;abc&#39; is not an id"),
    ("practice_id=1.5", "practice_id: &#39;1.5&#39; is not an id"),
    ("assignee_id=bob", "assignee_id: &#39;bob&#39; is not a user id"),
    ("overdue=maybe", "overdue: &#39;maybe&#39; is not 1 or 0"),
    ("nsa=2", "nsa: &#39;2&#39; is not 1, 0 or unknown"),
    ("sort=patient", "sort: &#39;patient&#39; is not one of"),
    ("dir=up", "dir: &#39;up&#39; is not asc or desc"),
    ("per_page=500", "per_page: must be 1 to 200"),
    ("page=0", "page: must be 1 to"),
    ("page=x", "page: &#39;x&#39; is not a whole number"),
    ("q=" + "9" * 61, "q: is longer than 60 characters"),
]


@pytest.mark.parametrize(("query", "message"), BAD)
def test_a_bad_filter_value_is_shown_naming_its_parameter(firm_cases, query, message):
    r = firm_cases["browser"].get("/cases/?" + query)
    body = r.get_data(as_text=True)
    assert r.status_code == 400
    assert message in body
    assert 'data-testid="filter-errors"' in body
    assert shown(r) == []  # nothing listed under a filter that was not applied


def test_bad_values_on_board_and_export_are_errors_too(firm_cases):
    b = firm_cases["browser"]
    r = b.get("/cases/board?amount_min=abc")
    assert r.status_code == 400 and "amount_min: &#39;abc&#39; is not an amount" in r.get_data(
        as_text=True
    )
    r = b.get("/cases/export.csv?opened_to=never")
    assert r.status_code == 400 and "opened_to: 'never' is not a date" in r.get_data(as_text=True)
    r = b.get("/cases/mine?page=zero")
    assert r.status_code == 400 and "page: &#39;zero&#39; is not a whole number" in r.get_data(
        as_text=True
    )


def test_sorting_by_each_key_and_direction(firm_cases):
    fc, ids = firm_cases, firm_cases["ids"]
    b = fc["browser"]

    def order(q):
        r = b.get("/cases/?" + q)
        assert r.status_code == 200
        return [k for i in shown(r) for k, v in ids.items() if v == i]

    assert order("sort=at_stake&dir=asc") == ["c3", "c1", "c4", "c2"]
    assert order("sort=at_stake") == ["c2", "c4", "c1", "c3"]  # largest first by default
    assert order("") == ["c4", "c3", "c2", "c1"]  # newest first
    assert order("sort=opened&dir=asc") == ["c1", "c2", "c3", "c4"]
    assert order("sort=number&dir=desc") == ["c4", "c3", "c2", "c1"]
    assert order("sort=service&dir=asc") == ["c1", "c2", "c3", "c4"]
    # Workflow order: intake, negotiating, appeal ... closed.
    assert order("sort=status") == ["c1", "c2", "c4", "c3"]
    assert order("sort=payer") == ["c1", "c4", "c2", "c3"]  # Aetna (c1, c4 by id), then Zenith
    assert order("sort=payer&dir=desc") == ["c3", "c2", "c4", "c1"]
    assert order("sort=practice") == ["c1", "c3", "c2", "c4"]
    # Cases without a deadline come last whichever the direction.
    assert order("sort=deadline") == ["c3", "c1", "c2", "c4"]
    assert order("sort=deadline&dir=desc") == ["c2", "c1", "c3", "c4"]


def test_pagination_walks_every_case_once_with_ties_broken_by_id(db_app, browser):
    firm = make_firm("Pages Firm")
    p = make_practice(firm.tenant)
    y = make_payer(firm.tenant)
    amounts = ["10.00", "20.00", "20.00", "20.00", "30.00", "40.00", "50.00"]
    ids = [build_case(firm.tenant.id, p, y, amount_at_stake=a) for a in amounts]
    login(browser, firm.owner)
    seen = []
    for n in (1, 2, 3):
        r = browser.get(f"/cases/?sort=at_stake&dir=asc&per_page=3&page={n}")
        body = r.get_data(as_text=True)
        assert r.status_code == 200
        seen += shown(r)
        assert f"Showing {3 * (n - 1) + 1}–{min(3 * n, 7)} of 7" in body
    assert seen == ids  # ascending amount, the three 20.00 cases in id order
    r = browser.get("/cases/?sort=at_stake&dir=asc&per_page=3&page=9")
    assert r.status_code == 200 and shown(r) == []
    assert "No cases on this page" in r.get_data(as_text=True)
    # Sort links keep the filters and go back to page 1.
    r = browser.get("/cases/?amount_min=20&per_page=3&page=2")
    body = r.get_data(as_text=True)
    assert re.search(
        r'href="/cases/\?[^"]*amount_min=20[^"]*sort=at_stake', body.replace("&amp;", "&")
    )
    assert "page=2&amp;sort" not in body


def test_the_list_is_audited_once_as_a_phi_read_with_counts_only(firm_cases):
    fc = firm_cases
    r = fc["browser"].get("/cases/?status=open&per_page=2")
    assert r.status_code == 200
    t = fc["firm"].tenant.id
    with tenant_scope(t):
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.tenant_id == t, AuditEvent.action == "case.list")
        ).all()
    assert len(rows) == 1
    ev = rows[0]
    assert ev.is_phi is True and ev.user_id == fc["firm"].owner.user.id
    assert ev.details == {"view": "list", "rows": 2, "total": 3, "page": 1}


def test_practice_users_never_reach_the_caseload(firm_cases, make_browser):
    fc = firm_cases
    pu = make_user(fc["firm"].tenant, "practice_admin", practice_id=fc["p1"])
    b = make_browser("10.9.9.9")
    login(b, pu)
    for url in ("/cases/", "/cases/mine", "/cases/board", "/cases/export.csv"):
        assert b.get(url).status_code == 403, url
    assert (
        b.post("/cases/assign", {"case_id": fc["ids"]["c1"], "assignee_id": "none"}).status_code
        == 403
    )
    assert b.post("/cases/filters", {"name": "x", "query": ""}).status_code == 403


def test_parse_case_filter_serves_the_api_with_plain_dicts():
    f, errors = parse_case_filter(
        {
            "status": ["open", "appeal"],
            "payer_id": "7",
            "amount_min": "1,000",
            "assignee_id": "me",
            "per_page": "200",
        },
        user_id=42,
    )
    assert errors == []
    assert "appeal" in f.statuses and "closed_won" not in f.statuses
    assert f.payer_ids == (7,) and f.assignee_id == 42 and f.per_page == 200
    assert str(f.amount_min) == "1000.00"
    _, errors = parse_case_filter({"amount_min": "abc", "assignee_id": "me"})
    assert [e.field for e in errors] == ["assignee_id", "amount_min"]
    assert errors[1] == "amount_min: 'abc' is not an amount"
    assert errors[1].message == "'abc' is not an amount"
