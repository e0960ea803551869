"""Filters narrow every figure the same way; bad filters are named; each
report issues a fixed number of statements whatever the firm's size."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from advocate.cases.models import Payment
from advocate.extensions import db
from advocate.reports.filters import month_keys, months_back, parse_report_filter
from tenants import tenant_scope
from tests.factories import make_payer, make_practice, make_user
from tests.reports.conftest import RANGE, at, count_statements, page_figures, page_tables
from tests.seeders.cases import build_case


def _figures(b, url):
    r = b.get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[-1500:]
    return page_figures(r.get_data(as_text=True))


def test_filters_by_payer_practice_advocate_and_dates(ds, owner_browser):
    acme = _figures(owner_browser, f"/reports/?{RANGE}&payer_id={ds.acme}")
    assert (acme["recovered"], acme["opened"], acme["closed"], acme["win_rate"]) == (
        "2500.00",
        "2",
        "2",
        "100.0",
    )
    both = _figures(owner_browser, f"/reports/?{RANGE}&payer_id={ds.acme}&payer_id={ds.beacon}")
    assert both["recovered"] == "2750.00"
    p2 = _figures(owner_browser, f"/reports/?{RANGE}&practice_id={ds.p2}")
    assert (p2["recovered"], p2["open_cases"], p2["at_stake"]) == ("1050.00", "3", "4000.00")
    ben = _figures(owner_browser, f"/reports/?{RANGE}&assignee_id={ds.ben.user.id}")
    assert (ben["recovered"], ben["deadlines_overdue"], ben["open_cases"]) == ("1250.00", "1", "1")
    nobody = _figures(owner_browser, f"/reports/?{RANGE}&assignee_id=none")
    assert (nobody["open_cases"], nobody["at_stake"], nobody["recovered"]) == (
        "1",
        "2500.00",
        "0.00",
    )
    spring = _figures(owner_browser, "/reports/?from=2026-03-01&to=2026-04-30")
    # March 500 + April 200 + 1000; opened: c4; closed: c1 (won), c2 (lost)
    assert (spring["recovered"], spring["opened"], spring["closed"], spring["win_rate"]) == (
        "1700.00",
        "1",
        "2",
        "50.0",
    )
    # Open cases are today's whatever the range.
    assert spring["open_cases"] == "4"


def test_the_payer_scorecards_follow_the_practice_filter(ds, owner_browser):
    body = owner_browser.get(f"/reports/payers?{RANGE}&practice_id={ds.p1}").get_data(as_text=True)
    rows = page_tables(body)["payers"]
    assert [(r["payer"], r["recovered"], r["median_days"]) for r in rows] == [
        ("Acme Health Plan", "1700.00", "70.0"),
        ("Beacon Care", "0.00", ""),
    ]


def test_bad_filters_are_named_and_nothing_is_guessed(ds, owner_browser):
    r = owner_browser.get("/reports/?from=2026-13-01&payer_id=abc&assignee_id=x1")
    assert r.status_code == 400
    body = r.get_data(as_text=True)
    assert "from: &#39;2026-13-01&#39; is not a date (YYYY-MM-DD)" in body
    assert "payer_id: &#39;abc&#39; is not an id" in body
    assert "assignee_id: &#39;x1&#39; is not a user id" in body
    r = owner_browser.get("/reports/?from=2026-06-01&to=2026-01-01")
    assert r.status_code == 400 and "to: is before from" in r.get_data(as_text=True)
    assert owner_browser.get("/reports/?from=2000-01-01&to=2026-01-01").status_code == 400
    assert owner_browser.get("/reports/cases?figure=nonsense").status_code == 404


def test_the_default_range_is_the_last_twelve_months(db_app):
    class T:
        timezone = "America/New_York"
        id = 1

    f, errors = parse_report_filter({}, tenant=T(), today=date(2026, 11, 26))
    assert errors == []
    assert (f.date_from, f.date_to) == (date(2025, 12, 1), date(2026, 11, 26))
    assert len(f.months) == 12
    assert months_back(date(2026, 2, 10), 13) == date(2025, 1, 1)
    assert month_keys(date(2025, 11, 30), date(2026, 2, 1)) == [
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]
    f, _ = parse_report_filter(
        {"assignee_id": "me"}, tenant=T(), user_id=7, today=date(2026, 11, 26)
    )
    assert f.assignee_id == 7 and f.params(dates=False) == [("assignee_id", "me")]


def _grow(ds, n_payers=6, n_practices=4, n_cases=30):
    """More of everything: payers, practices, advocates, cases with payments."""
    t = ds.firm.tenant
    payers = [make_payer(t, name=f"Extra Payer {i}") for i in range(n_payers)]
    practices = [
        make_practice(t, name=f"Extra Practice {i}", npi=f"19{i:08d}") for i in range(n_practices)
    ]
    people = [make_user(t, "advocate", name=f"Extra Advocate {i}") for i in range(3)]
    ids = []
    for i in range(n_cases):
        ids.append(
            build_case(
                t.id,
                practices[i % n_practices],
                payers[i % n_payers],
                assignee_id=people[i % 3].user.id,
                opened_at=at(f"2026-0{1 + i % 6}-0{1 + i % 9}"),
                status=("negotiating", "closed_won", "closed_lost")[i % 3],
                closed_at=None if i % 3 == 0 else at(f"2026-0{1 + i % 6}-2{i % 9}"),
            )
        )
    with tenant_scope(t.id):
        for i, cid in enumerate(ids):
            db.session.add(
                Payment(
                    case_id=cid,
                    paid_on=date(2026, 1 + i % 6, 10),
                    amount=Decimal("100.00"),
                    source="check",
                    is_initial=False,
                )
            )
        db.session.commit()


def test_each_report_issues_a_bounded_number_of_statements(ds, owner_browser):
    urls = [
        f"/reports/?{RANGE}",
        f"/reports/payers?{RANGE}",
        f"/reports/payers/{ds.acme}?{RANGE}",
        f"/reports/advocates?{RANGE}",
        f"/reports/practices?{RANGE}",
        f"/reports/practices/{ds.p1}?{RANGE}",
        f"/reports/cases?figure=closed&{RANGE}",
        f"/reports/export?{RANGE}&format=csv",
        f"/reports/payers/export?{RANGE}&format=xlsx",
        "/",
        f"/payers/{ds.acme}",
    ]

    def counts():
        out = {}
        for url in urls:
            with count_statements() as seen:
                assert owner_browser.get(url).status_code == 200, url
            out[url] = len(seen)
        return out

    small = counts()
    _grow(ds)
    big = counts()
    assert big == small
    # The report pages themselves: a handful of GROUP BYs plus the filter options, the session
    # and (PostgreSQL) the per-transaction tenant settings.
    assert all(n <= 25 for url, n in small.items() if url.startswith("/reports")), small
