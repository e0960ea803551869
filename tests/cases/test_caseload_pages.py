"""My caseload and the team board: the right cases in each section and
column, and every caseload page issues a bounded number of queries whatever
its size (counted on the engine)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from advocate.audit.models import AuditEvent
from advocate.cases.queries import tenant_tz
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import login, make_firm, make_payer, make_practice, make_user
from tests.seeders.cases import build_case

ROW = re.compile(r'<tr data-case-id="(\d+)"')


def rows_in(body: str, testid: str) -> list[int]:
    m = re.search(rf'data-testid="{testid}">(.*?)</table>', body, re.S)
    return [int(x) for x in ROW.findall(m.group(1))] if m else []


@contextmanager
def count_queries():
    counter = {"n": 0, "sql": []}

    def before(conn, cursor, statement, params, context, executemany):
        counter["n"] += 1
        counter["sql"].append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _today(firm):
    return datetime.now(ZoneInfo(tenant_tz(firm.tenant))).date()


def test_my_caseload_sections_hold_what_needs_me_today(db_app, browser):
    firm = make_firm("Mine Firm")
    me = make_user(firm.tenant, "advocate", name="Mo Me")
    other = make_user(firm.tenant, "advocate", name="Olly Other")
    p, y = make_practice(firm.tenant), make_payer(firm.tenant)
    t, today = firm.tenant.id, _today(firm)

    def mk(**kw):
        return build_case(t, p, y, **kw)

    overdue = mk(
        assignee_id=me.user.id, status="negotiating", next_deadline_on=today - timedelta(days=2)
    )
    due_today = mk(assignee_id=me.user.id, status="appeal", appeal_level=1, next_deadline_on=today)
    due_in_7 = mk(
        assignee_id=me.user.id, status="intake", next_deadline_on=today + timedelta(days=7)
    )
    later = mk(assignee_id=me.user.id, status="intake", next_deadline_on=today + timedelta(days=8))
    follow = mk(assignee_id=me.user.id, status="sca", next_follow_up_on=today)
    follow_later = mk(
        assignee_id=me.user.id, status="sca", next_follow_up_on=today + timedelta(days=1)
    )
    closed_overdue = mk(
        assignee_id=me.user.id,
        status="closed_lost",
        next_deadline_on=today - timedelta(days=9),
        next_follow_up_on=today - timedelta(days=1),
    )
    others = mk(
        assignee_id=other.user.id,
        status="negotiating",
        next_deadline_on=today - timedelta(days=1),
        next_follow_up_on=today,
    )
    unassigned = mk(status="intake", next_deadline_on=today - timedelta(days=1))

    login(browser, me)
    r = browser.get("/cases/mine")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert rows_in(body, "mine-overdue") == [overdue]
    assert rows_in(body, "mine-due_week") == [due_today, due_in_7, later]
    assert rows_in(body, "mine-follow_ups") == [follow]
    # All my open cases, soonest deadline first, no deadline last.
    assert rows_in(body, "mine-open") == [overdue, due_today, due_in_7, later, follow, follow_later]
    # "later" (in 8 days) is inside the Deadlines page's 10 business days: due soon too.
    assert "Overdue (1)" in body and "Due soon (3)" in body and "Follow-ups due (1)" in body
    for absent in (closed_overdue, others, unassigned):
        assert f'data-case-id="{absent}"' not in body
    with tenant_scope(t):
        ev = db.session.scalar(
            select(AuditEvent).where(AuditEvent.tenant_id == t, AuditEvent.action == "case.list")
        )
    assert ev.is_phi and ev.details == {"view": "mine", "rows": 11, "total": 6}


def test_my_caseload_sections_are_bounded_and_link_to_the_full_list(db_app, browser):
    firm = make_firm("Busy Firm")
    me = make_user(firm.tenant, "advocate")
    p, y = make_practice(firm.tenant), make_payer(firm.tenant)
    today = _today(firm)
    for i in range(23):
        build_case(
            firm.tenant.id,
            p,
            y,
            assignee_id=me.user.id,
            status="negotiating",
            next_deadline_on=today - timedelta(days=1 + i),
        )
    login(browser, me)
    body = browser.get("/cases/mine").get_data(as_text=True)
    assert len(rows_in(body, "mine-overdue")) == 20
    assert "Overdue (23)" in body and "Showing the first 20 of 23." in body
    assert "/cases/?assignee_id=me&amp;overdue=1&amp;sort=deadline" in body
    # "My open cases" pages by 25.
    assert len(rows_in(body, "mine-open")) == 23
    body = browser.get("/cases/mine?per_page=10&page=3").get_data(as_text=True)
    assert len(rows_in(body, "mine-open")) == 3


def test_board_counts_each_status_and_shows_the_largest_cases(db_app, browser):
    firm = make_firm("Board Firm")
    adv = make_user(firm.tenant, "advocate", name="Bea Board")
    p, y = make_practice(firm.tenant), make_payer(firm.tenant)
    y2 = make_payer(firm.tenant, name="Other Payer")
    t = firm.tenant.id
    negotiating = [
        build_case(t, p, y, status="negotiating", amount_at_stake=f"{100 * (i + 1)}.00")
        for i in range(10)
    ]
    appeal = build_case(
        t, p, y, status="appeal", appeal_level=1, amount_at_stake="50.00", assignee_id=adv.user.id
    )
    build_case(t, p, y2, status="appeal", appeal_level=2, amount_at_stake="70.00")
    build_case(t, p, y, status="closed_won")
    build_case(t, p, y, status="closed_won")
    login(browser, firm.owner)
    r = browser.get("/cases/board")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'data-testid="count-negotiating">10<' in body
    assert 'data-testid="count-appeal">2<' in body
    assert 'data-testid="count-intake">0<' in body
    col = re.search(r'data-testid="column-negotiating">(.*?)</section>', body, re.S).group(1)
    shown = re.findall(r">(C-\d{6})<", col)
    # The 8 largest, largest first; the column links to all 10.
    from advocate.cases.models import Case

    with tenant_scope(t):
        refs = {c.id: c.reference for c in db.session.scalars(select(Case))}
    assert shown == [refs[i] for i in reversed(negotiating)][:8]
    assert "$5,500.00 at stake" in col
    assert "All 10" in col and "status=negotiating" in col
    assert re.search(r"Closed – won</a> <span[^>]*>2<", body)
    # Filters narrow the board.
    body = browser.get(f"/cases/board?assignee_id={adv.user.id}").get_data(as_text=True)
    assert 'data-testid="count-appeal">1<' in body and 'data-testid="count-negotiating">0<' in body
    assert refs[appeal] in body
    body = browser.get(f"/cases/board?payer_id={y2}").get_data(as_text=True)
    assert 'data-testid="count-appeal">1<' in body and refs[appeal] not in body


def _spread_cases(firm, n: int, *, payers: int = 40, start: int = 0):
    """n cases over many payers and two advocates, so a per-row lazy load
    would show up as more queries on a bigger page."""
    t = firm.tenant.id
    p = make_practice(
        firm.tenant, name=f"Practice {start}", npi=["1234567893", "9876543213"][start % 2]
    )
    ps = [make_payer(firm.tenant, name=f"Payer {start}-{i:02d}") for i in range(payers)]
    advs = [make_user(firm.tenant, "advocate").user.id for _ in range(2)]
    today = _today(firm)
    for i in range(n):
        build_case(
            t,
            p,
            ps[i % payers],
            assignee_id=advs[i % 2],
            status=("negotiating", "appeal", "intake")[i % 3],
            amount_at_stake=Decimal(100 + i),
            next_deadline_on=today + timedelta(days=i % 9 - 3),
            next_follow_up_on=today - timedelta(days=i % 2),
        )
    return advs


def test_case_list_queries_are_bounded_whatever_the_page_size(db_app, browser):
    firm = make_firm("Count Firm")
    _spread_cases(firm, 120)
    login(browser, firm.owner)
    browser.get("/cases/?per_page=10")  # warm up: first-request work is not the page's
    counts = {}
    for per_page in (10, 100):
        with count_queries() as c:
            r = browser.get(f"/cases/?per_page={per_page}&sort=at_stake")
        assert r.status_code == 200
        assert len(ROW.findall(r.get_data(as_text=True))) == per_page
        counts[per_page] = c["n"]
    assert counts[10] == counts[100], counts
    assert counts[100] <= 15, counts
    # Sorting by a joined name keeps the same bound.
    with count_queries() as c:
        assert browser.get("/cases/?per_page=100&sort=payer").status_code == 200
    assert c["n"] == counts[100]


@pytest.mark.parametrize("url", ["/cases/mine?per_page=10", "/cases/board"])
def test_mine_and_board_queries_do_not_grow_with_the_caseload(db_app, browser, url):
    firm = make_firm("Grow Firm")
    person = make_user(firm.tenant, "advocate")
    _spread_cases(firm, 12, payers=6)
    _assign_all_to(firm, person.user.id)
    login(browser, person)
    browser.get(url)
    with count_queries() as small:
        assert browser.get(url).status_code == 200
    _spread_cases(firm, 120, payers=40, start=1)
    _assign_all_to(firm, person.user.id)
    with count_queries() as big:
        r = browser.get(url)
    assert r.status_code == 200
    assert len(ROW.findall(r.get_data(as_text=True))) > 40 or "board" in url
    assert big["n"] == small["n"], (small["n"], big["n"])
    # The page grew by two statements this round (its "due soon" section now
    # counts as the Deadlines page does); what must hold is that it stays flat.
    assert big["n"] <= 17


def _assign_all_to(firm, user_id):
    from sqlalchemy import update

    from advocate.cases.models import Case

    with tenant_scope(firm.tenant.id):
        db.session.execute(update(Case).values(assignee_id=user_id))
        db.session.commit()


def test_every_caseload_page_shows_only_the_firms_own_cases(db_app, browser):
    """The ORM's tenant filter reaches every subquery (page ids, the board's
    per-status branches, counts); RLS backs it on PostgreSQL."""
    a, b = make_firm("Alpha Pages"), make_firm("Bravo Pages")
    for firm, marker in ((a, "ALPHAMARK"), (b, "BRAVOMARK")):
        p = make_practice(firm.tenant, name=f"{marker} practice")
        y = make_payer(firm.tenant, name=f"{marker} payer")
        today = _today(firm)
        for i in range(12 if firm is a else 3):
            build_case(
                firm.tenant.id,
                p,
                y,
                status=("negotiating", "appeal")[i % 2],
                assignee_id=firm.owner.user.id,
                amount_at_stake=f"{(10 - i) * 1000}.00",
                next_deadline_on=today - timedelta(days=1),
                next_follow_up_on=today,
                patient_last_name=f"{marker}{i}",
            )
    login(browser, b.owner)
    for url in (
        "/cases/",
        "/cases/?sort=payer",
        "/cases/?page=1&per_page=2",
        "/cases/board",
        "/cases/mine",
        "/cases/export.csv",
        "/cases/?status=open&sort=status",
    ):
        r = browser.get(url)
        body = r.get_data(as_text=True)
        assert r.status_code == 200, url
        assert "ALPHAMARK" not in body, url
        assert "BRAVOMARK" in body, url
    body = browser.get("/cases/board").get_data(as_text=True)
    assert 'data-testid="count-negotiating">2<' in body and 'data-testid="count-appeal">1<' in body
    assert "Overdue (3)" in browser.get("/cases/mine").get_data(as_text=True)
    assert "of 3" in browser.get("/cases/?per_page=2").get_data(as_text=True)
