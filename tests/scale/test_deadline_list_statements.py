"""The deadline list counts its rows from its per-advocate summary (the same
terms), not with a second count over the join of every deadline and case:
one statement fewer, and the total still right on every filter and page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from advocate.deadlines import case_services as svc
from advocate.deadlines.case_models import CaseDeadline
from advocate.extensions import db
from tenants import tenant_scope
from tests.deadlines.nsa_support import QueryCounter, make_shop, new_case
from tests.factories import login, make_user

ROW = re.compile(r'data-state="(\w+)" data-kind="(\w+)" data-case="(C-\d+)"')
TOTAL = re.compile(r"Showing [\d,]+–[\d,]+ of ([\d,]+)")


@pytest.fixture()
def shop(db_app):
    return make_shop()


def _add(shop, case_id, n, today, *, first_day=1, done=False):
    with tenant_scope(shop.tenant_id):
        for i in range(n):
            db.session.add(
                CaseDeadline(
                    tenant_id=shop.tenant_id,
                    case_id=case_id,
                    kind="manual",
                    label=f"Item {i}",
                    due_on=today - timedelta(days=first_day + i),
                    rule="Set by hand.",
                    is_manual=True,
                    is_done=done,
                )
            )
        db.session.commit()


def _page(browser, url):
    with QueryCounter(db.engine) as q:
        r = browser.get(url)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    m = TOTAL.search(html)
    return html, (int(m.group(1).replace(",", "")) if m else None), q.statements


def test_the_deadline_list_needs_no_separate_count_and_totals_right(shop, browser):
    other = make_user(shop.firm.tenant, "advocate", name="Olga Other")
    with tenant_scope(shop.tenant_id):
        today = svc.firm_today(shop.tenant_id)
    mine = new_case(shop, service_from="2026-03-02")
    theirs = new_case(shop, service_from="2026-03-02", assignee_id=other.user.id)
    nobody = new_case(shop, service_from="2026-03-02", assignee_id=None)
    _add(shop, mine, 40, today)
    _add(shop, theirs, 15, today)
    _add(shop, nobody, 3, today)
    _add(shop, mine, 7, today, done=True)  # done: not listed, not counted
    login(browser, shop.advocate)

    html, total, stmts = _page(browser, "/deadlines/")
    assert total == 58 and len(ROW.findall(html)) == 50
    # No count(*) over the list's own select (the summary gives the total).
    assert not [s for s in stmts if re.match(r"\s*SELECT count\(\*\)", s, re.I)], stmts
    html, total, _ = _page(browser, "/deadlines/?page=2")
    assert total == 58 and len(ROW.findall(html)) == 8
    html, total, _ = _page(browser, f"/deadlines/?advocate={other.user.id}")
    assert len(ROW.findall(html)) == 15 and total in (15, None)
    html, total, _ = _page(browser, "/deadlines/?advocate=none")
    assert len(ROW.findall(html)) == 3 and total in (3, None)
    # One day: the list is not the summary's (it counts the day itself).
    day = today - timedelta(days=1)
    html, total, _ = _page(browser, f"/deadlines/?due={day.isoformat()}")
    assert len(ROW.findall(html)) == 3 and total in (3, None)
