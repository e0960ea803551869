"""The dashboard (also the staff landing page) kept a minute per firm and
filter in Redis (advocate.reports.cache): fewer statements when cached, the
same figures, never another firm's or another filter's figures, and the page
still works when Redis is down or not configured."""

from __future__ import annotations

import os

import pytest

from advocate.reports import cache as report_cache
from tests import fake_cache
from tests.factories import login, make_firm, make_user
from tests.reports.conftest import RANGE, count_statements, page_figures


@pytest.fixture()
def fake_redis(db_app, monkeypatch):
    return fake_cache.install(db_app, monkeypatch, "REPORTS_CACHE_SECONDS")


def _get(browser, url):
    with count_statements() as seen:
        r = browser.get(url)
    assert r.status_code == 200, r.status_code
    return r.get_data(as_text=True), len(seen)


def test_a_cached_dashboard_runs_fewer_statements_and_shows_the_same_figures(
    ds, owner_browser, fake_redis
):
    for url in (f"/reports/?{RANGE}", "/"):
        first, n_first = _get(owner_browser, url)
        second, n_second = _get(owner_browser, url)
        # The six whole-firm aggregates are not run again.
        assert n_second <= n_first - 6, (n_first, n_second)
        assert page_figures(second) == page_figures(first)
        assert page_figures(first)["closed"] != "0"
    # The landing page and /reports/ (same default filter) share one entry.
    assert len(fake_redis.data) == 2
    assert all(
        k.startswith(f"{report_cache.PREFIX}dashboard:{ds.firm.tenant.id}:")
        for k in fake_redis.data
    )


def test_another_filter_or_another_firm_never_gets_these_figures(
    ds, owner_browser, make_browser, fake_redis
):
    whole, _ = _get(owner_browser, f"/reports/?{RANGE}")
    one_payer, _ = _get(owner_browser, f"/reports/?{RANGE}&payer_id={ds.beacon}")
    assert page_figures(one_payer) != page_figures(whole)
    # A second firm with no cases, same filter: its own (empty) figures.
    other = make_firm("Second Firm Advocacy")
    b = make_browser("10.8.0.2")
    login(b, other.owner)
    theirs, _ = _get(b, f"/reports/?{RANGE}")
    assert page_figures(theirs)["closed"] == "0"
    assert page_figures(theirs)["recovered"] in ("0", "0.00")
    assert len(fake_redis.data) == 3
    # And the first firm still reads its own.
    again, _ = _get(owner_browser, f"/reports/?{RANGE}")
    assert page_figures(again) == page_figures(whole)


def test_the_dashboard_works_with_redis_down_or_the_cache_off(
    ds, owner_browser, monkeypatch, db_app
):
    monkeypatch.setitem(db_app.config, "REDIS_URL", "redis://cache.invalid:6379/0")
    monkeypatch.setitem(db_app.config, "REPORTS_CACHE_SECONDS", 60)
    monkeypatch.setitem(db_app.extensions, "advocate_reports_cache", fake_cache.DownRedis())
    down, n_down = _get(owner_browser, f"/reports/?{RANGE}")
    monkeypatch.setitem(db_app.config, "REPORTS_CACHE_SECONDS", 0)
    off, n_off = _get(owner_browser, f"/reports/?{RANGE}")
    assert page_figures(down) == page_figures(off)
    _again, n_again = _get(owner_browser, f"/reports/?{RANGE}")
    assert n_again == n_off == n_down  # nothing cached


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs TEST_REDIS_URL")
def test_with_a_real_redis(ds, owner_browser, monkeypatch, db_app):
    from redis import Redis

    url = os.environ["TEST_REDIS_URL"]
    monkeypatch.setitem(db_app.config, "REDIS_URL", url)
    monkeypatch.setitem(db_app.config, "REPORTS_CACHE_SECONDS", 5)
    monkeypatch.delitem(db_app.extensions, "advocate_reports_cache", raising=False)
    client = Redis.from_url(url)
    for k in client.scan_iter(f"{report_cache.PREFIX}dashboard:{ds.firm.tenant.id}:*"):
        client.delete(k)
    try:
        first, n_first = _get(owner_browser, f"/reports/?{RANGE}")
        second, n_second = _get(owner_browser, f"/reports/?{RANGE}")
        assert n_second < n_first
        assert page_figures(second) == page_figures(first)
        keys = list(client.scan_iter(f"{report_cache.PREFIX}dashboard:{ds.firm.tenant.id}:*"))
        assert len(keys) == 1 and 0 < client.ttl(keys[0]) <= 5
    finally:
        for k in client.scan_iter(f"{report_cache.PREFIX}dashboard:{ds.firm.tenant.id}:*"):
            client.delete(k)
        db_app.extensions.pop("advocate_reports_cache", None)


def test_a_practice_user_cannot_reach_the_cached_dashboard(
    ds, owner_browser, make_browser, fake_redis
):
    _get(owner_browser, f"/reports/?{RANGE}")  # the firm's figures are in the cache
    pu = make_user(ds.firm.tenant, "practice_user", practice_id=ds.p1)
    b = make_browser("10.8.0.3")
    login(b, pu)
    assert b.get(f"/reports/?{RANGE}").status_code in (403, 404)
    assert b.get("/").status_code == 302  # to the practice's own portal
