"""A case list's total (cases.queries.count_cases): counted up to
EXACT_COUNT_LIMIT, always exact and fresh there; above it counted in full and
kept CASE_COUNT_CACHE_SECONDS in Redis per firm and filter, never for another
firm or another filter, and counted every time without Redis."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from advocate.cases import queries
from advocate.cases.models import Case
from advocate.extensions import db
from tenants import tenant_scope
from tests import fake_cache
from tests.factories import firm_today, make_case, make_firm, make_payer, make_practice


def _firm(n: int, name: str):
    firm = make_firm(name)
    practice_id = make_practice(firm.tenant, name=f"{name} Practice")
    payer_id = make_payer(firm.tenant, name=f"{name} Plan")
    for _ in range(n):
        make_case(firm.tenant, practice_id, payer_id)
    return firm


def _count(tenant_id: int, **filters) -> int:
    with tenant_scope(tenant_id):
        f = queries.CaseFilter(today=firm_today(tenant_id), **filters)
        n = queries.count_cases(f)
        db.session.rollback()
    return n


def _close_one(tenant_id: int) -> None:
    with tenant_scope(tenant_id):
        cid = db.session.scalar(select(Case.id).order_by(Case.id).limit(1))
        db.session.execute(update(Case).where(Case.id == cid).values(status="withdrawn"))
        db.session.commit()


@pytest.fixture()
def fake_redis(db_app, monkeypatch):
    return fake_cache.install(db_app, monkeypatch, "CASE_COUNT_CACHE_SECONDS")


def test_small_totals_are_exact_and_never_cached(db_app, fake_redis):
    firm = _firm(3, "Small")
    open_ = tuple(queries.workflow.OPEN)
    assert _count(firm.tenant.id) == 3
    assert _count(firm.tenant.id, statuses=open_) == 3
    _close_one(firm.tenant.id)
    assert _count(firm.tenant.id, statuses=open_) == 2  # at once
    assert fake_redis.data == {}


def test_large_totals_are_counted_in_full_and_kept_per_firm_and_filter(
    db_app, fake_redis, monkeypatch
):
    monkeypatch.setattr(queries, "EXACT_COUNT_LIMIT", 2)
    a, b = _firm(4, "Alpha"), _firm(5, "Bravo")
    open_ = tuple(queries.workflow.OPEN)
    assert _count(a.tenant.id) == 4  # above the limit: the full count
    assert _count(b.tenant.id) == 5  # another firm: its own entry
    assert _count(a.tenant.id, statuses=open_) == 4  # another filter: its own entry
    assert len(fake_redis.data) == 3
    _close_one(a.tenant.id)
    # Within the cache time the large total may lag; another filter is counted anew.
    assert _count(a.tenant.id, statuses=open_) == 4
    assert (
        _count(a.tenant.id, statuses=open_, page=3, sort="number") == 4
    )  # page and sort: same entry
    assert _count(a.tenant.id, statuses=("withdrawn",)) == 1  # below the limit: exact
    fake_redis.data.clear()
    assert _count(a.tenant.id, statuses=open_) == 3


def test_without_redis_large_totals_are_counted_every_time(db_app, monkeypatch):
    monkeypatch.setattr(queries, "EXACT_COUNT_LIMIT", 2)
    firm = _firm(4, "Charlie")
    open_ = tuple(queries.workflow.OPEN)
    assert _count(firm.tenant.id, statuses=open_) == 4
    _close_one(firm.tenant.id)
    assert _count(firm.tenant.id, statuses=open_) == 3
