"""The deadline pages: the list (next 10 business days, overdue first, by
advocate, filtered, paginated), the month calendar, a case's NSA track page
(with the IDR offer guard on its form), deadlines by hand, and who may do what."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from advocate.deadlines import case_services as svc
from advocate.deadlines.case_models import CaseDeadline
from advocate.extensions import db
from tenants import tenant_scope
from tests.deadlines.nsa_support import deadlines, dispute, load_case, make_shop, new_case, text_of
from tests.factories import login, make_user

ROW = re.compile(r'data-state="(\w+)" data-kind="(\w+)" data-case="(C-\d+)"')


@pytest.fixture()
def shop(db_app):
    return make_shop()


def _manual(
    shop, case_id: int, label: str, due: date, *, done: bool = False, kind: str = "manual"
) -> int:
    with tenant_scope(shop.tenant_id):
        row = CaseDeadline(
            tenant_id=shop.tenant_id,
            case_id=case_id,
            kind=kind,
            label=label,
            due_on=due,
            rule="Set by hand.",
            is_manual=True,
            is_done=done,
        )
        db.session.add(row)
        db.session.flush()
        rid = row.id
        db.session.commit()
    return rid


def _ref(shop, case_id):
    with tenant_scope(shop.tenant_id):
        return load_case(case_id).reference


def test_the_list_shows_overdue_first_then_the_next_10_business_days_by_advocate(shop, browser):
    other = make_user(shop.tenant, "advocate", name="Blair Advocate")
    with tenant_scope(shop.tenant_id):
        today = svc.firm_today(shop.tenant_id)
        horizon = svc.due_horizon(shop.tenant_id, today)
        cal = svc.calendar_for(shop.tenant_id)
    mine = new_case(shop, service_from="2026-03-02")
    theirs = new_case(shop, service_from="2026-03-02", assignee_id=other.user.id)
    closed = new_case(shop, service_from="2026-03-02")
    with tenant_scope(shop.tenant_id):
        load_case(closed).status = "closed_lost"
        db.session.commit()
    soon = cal.nth_business_day_after(today, 2)
    _manual(shop, mine, "Send records", soon)
    _manual(shop, mine, "Call the payer back", today - timedelta(days=6))  # overdue
    _manual(shop, theirs, "File the corrected claim", cal.nth_business_day_after(today, 1))
    _manual(shop, theirs, "Old and overdue", today - timedelta(days=30))  # overdue, older
    _manual(shop, theirs, "Beyond the horizon", horizon + timedelta(days=1))
    _manual(shop, theirs, "Already done", today - timedelta(days=2), done=True)
    _manual(
        shop, theirs, "A milestone behind us", today - timedelta(days=1), kind="nsa_negotiation_end"
    )
    _manual(shop, closed, "On a closed case", today - timedelta(days=1))

    login(browser, shop.advocate)
    r = browser.get("/deadlines/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    rows = ROW.findall(html)
    ref_mine, ref_theirs = _ref(shop, mine), _ref(shop, theirs)
    assert rows == [
        ("overdue", "manual", ref_theirs),
        ("overdue", "manual", ref_mine),
        ("open", "manual", ref_theirs),
        ("open", "manual", ref_mine),
    ]
    text = text_of(r)
    assert (
        "Old and overdue" in text
        and "Beyond the horizon" not in text
        and "Already done" not in text
    )
    assert "On a closed case" not in text and "A milestone behind us" not in text
    assert "Overdue 1 business day" not in text  # 6 calendar days back is more than one
    assert 'class="deadline-overdue"' in html
    # The summary by advocate: Blair has 1 overdue of 2, Arlo 1 of 2.
    summary = re.findall(r'<tr data-advocate="(\d+|none)">.*?</tr>', html, re.S)
    assert summary == [str(other.user.id), str(shop.advocate.user.id)] or summary == [
        str(shop.advocate.user.id),
        str(other.user.id),
    ]

    # Filtered by advocate ("me" is the person looking).
    rows = ROW.findall(browser.get("/deadlines/?advocate=me").get_data(as_text=True))
    assert [r[2] for r in rows] == [ref_mine, ref_mine]
    rows = ROW.findall(browser.get(f"/deadlines/?advocate={other.user.id}").get_data(as_text=True))
    assert [r[2] for r in rows] == [ref_theirs, ref_theirs]
    assert ROW.findall(browser.get("/deadlines/?advocate=none").get_data(as_text=True)) == []
    # One day only (the calendar's "+N more").
    rows = ROW.findall(browser.get(f"/deadlines/?due={soon.isoformat()}").get_data(as_text=True))
    assert rows == [("open", "manual", ref_mine)]


def test_the_list_is_paginated(shop, browser):
    case_id = new_case(shop, service_from="2026-03-02")
    with tenant_scope(shop.tenant_id):
        today = svc.firm_today(shop.tenant_id)
        for i in range(55):
            db.session.add(
                CaseDeadline(
                    tenant_id=shop.tenant_id,
                    case_id=case_id,
                    kind="manual",
                    label=f"Item {i}",
                    due_on=today - timedelta(days=i + 1),
                    rule="Set by hand.",
                    is_manual=True,
                )
            )
        db.session.commit()
    login(browser, shop.advocate)
    assert len(ROW.findall(browser.get("/deadlines/").get_data(as_text=True))) == 50
    page2 = browser.get("/deadlines/?page=2").get_data(as_text=True)
    assert len(ROW.findall(page2)) == 5
    assert "Showing 51–55 of 55" in page2


def test_the_calendar_shows_a_month_with_holidays_and_overdue_items(shop, browser):
    case_id = new_case(shop, service_from="2026-03-02")
    _manual(shop, case_id, "Send the records", date(2026, 7, 15))
    _manual(shop, case_id, "Done already", date(2026, 7, 16), done=True)
    login(browser, shop.advocate)
    r = browser.get("/deadlines/calendar?month=2026-07")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'data-month="2026-07"' in html
    cell = re.search(r'data-date="2026-07-15">(.*?)</td>', html, re.S).group(1)
    assert "Send the records" in cell and "is-overdue" in cell and _ref(shop, case_id) in cell
    assert "is-done" in re.search(r'data-date="2026-07-16">(.*?)</td>', html, re.S).group(1)
    independence = re.search(
        r'class="cal-day([^"]*)" data-date="2026-07-03">(.*?)</td>', html, re.S
    )
    assert "is-closed" in independence.group(
        1
    ) and "Independence Day (observed)" in independence.group(2)
    # The grid runs Monday to Sunday: June 29 starts it, August 2 ends it.
    assert 'data-date="2026-06-29"' in html and 'data-date="2026-08-02"' in html
    assert 'data-date="2026-06-28"' not in html
    assert "2 deadlines on open cases, 1 overdue" in text_of(r)
    assert browser.get("/deadlines/calendar?month=2026-13").status_code == 400
    assert browser.get("/deadlines/calendar?month=nope").status_code == 400


def test_the_nsa_page_records_the_track_and_refuses_medicare_in_an_idr_offer(shop, browser):
    case_id = new_case(shop, service_from="2026-02-27", initial_payment_received_on="2026-03-02")
    with tenant_scope(shop.tenant_id):
        load_case(case_id).status = "negotiating"
        db.session.commit()
    login(browser, shop.advocate)
    url = f"/cases/{case_id}/nsa"
    r = browser.get(url)
    assert r.status_code == 200
    assert f'href="/cases/{case_id}"' in r.get_data(as_text=True)  # back to the case
    assert "Doe" not in text_of(r)  # no patient names on the NSA page

    def post(action, prefix, **fields):
        data = {"action": action, **{f"{prefix}-{k}": v for k, v in fields.items()}}
        return browser.post(url, data)

    assert (
        post(
            "eligibility", "elig", service_type="emergency", state="", facility_in_network=""
        ).status_code
        == 303
    )
    assert (
        post(
            "notice",
            "notice",
            notice_sent_on="2026-03-10",
            qpa="700.00",
            offer="1400.00",
            method="portal",
        ).status_code
        == 303
    )
    assert (
        post(
            "initiate", "idr", initiated_on="2026-04-22", idr_reference="DISP-9", idr_kind="single"
        ).status_code
        == 303
    )
    assert (
        post("idre", "idre", idre_name="Arbitration Co", selected_on="2026-04-27").status_code
        == 303
    )

    r = post(
        "idr_offers",
        "idroffer",
        our_offer="1300.00",
        their_offer="",
        offers_submitted_on="2026-05-08",
        offer_basis="We ask for 150% of Medicare, close to the FAIR Health 80th percentile.",
    )
    assert r.status_code == 422
    text = text_of(r)
    assert "mentions Medicare" in text and "mentions FAIR Health" in text
    assert dispute(shop, case_id).our_offer is None

    r = post(
        "idr_offers",
        "idroffer",
        our_offer="1300.00",
        their_offer="700.00",
        offers_submitted_on="2026-05-08",
        offer_basis="The acuity of the case and the surgeon's training justify the offer.",
    )
    assert r.status_code == 303
    page = text_of(browser.get(url))
    assert "$1,300.00 (185.7% of the QPA)" in page
    assert "$700.00 (100.0% of the QPA)" in page
    rows = deadlines(shop, case_id)
    assert rows["offers_due"].is_done and rows["determination_due"].due_on == date(2026, 6, 9)
    with tenant_scope(shop.tenant_id):
        assert load_case(case_id).status == "nsa_idr"


def test_the_nsa_page_shows_a_validation_error_on_its_field(shop, browser):
    case_id = new_case(shop, service_from="2026-02-27", initial_payment_received_on="2026-03-02")
    login(browser, shop.advocate)
    r = browser.post(
        f"/cases/{case_id}/nsa",
        {
            "action": "notice",
            "notice-notice_sent_on": "2026-02-01",
            "notice-qpa": "abc",
            "notice-offer": "100",
        },
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert re.search(r'id="notice-qpa-error">\s*<li>&#39;abc&#39; is not an amount</li>', html)
    assert "is before received" in text_of(r)
    assert dispute(shop, case_id) is None


def test_deadlines_by_hand_and_done_marks_from_the_page(shop, browser):
    case_id = new_case(shop, service_from="2026-03-02")
    login(browser, shop.advocate)
    r = browser.post(
        f"/cases/{case_id}/deadlines",
        {
            "manual-label": "Send the operative note",
            "manual-due_on": "2026-12-01",
            "manual-note": "",
        },
    )
    assert r.status_code == 303
    row = deadlines(shop, case_id)["manual"]
    assert row.label == "Send the operative note" and not row.is_done
    row_id = row.id
    with tenant_scope(shop.tenant_id):
        assert load_case(case_id).next_deadline_on == date(2026, 12, 1)
    r = browser.post(f"/cases/{case_id}/deadlines/{row_id}/done", {"done": "1"})
    assert r.status_code == 303
    assert deadlines(shop, case_id)["manual"].is_done
    with tenant_scope(shop.tenant_id):
        assert load_case(case_id).next_deadline_on is None
    r = browser.post(f"/cases/{case_id}/deadlines", {"manual-label": "", "manual-due_on": "soon"})
    assert r.status_code == 422
    assert "What is due: is required" in text_of(r) and "'soon' is not a date" in text_of(r)


def test_who_may_see_and_change_deadlines(shop, make_browser):
    case_id = new_case(shop, service_from="2026-03-02")
    viewer = make_user(shop.tenant, "viewer")
    practice_user = make_user(shop.tenant, "practice_admin", practice_id=shop.practice_id)
    b = make_browser("10.1.0.1")
    login(b, viewer)
    assert b.get("/deadlines/").status_code == 200
    assert b.get("/deadlines/calendar").status_code == 200
    page = b.get(f"/cases/{case_id}/nsa")
    assert page.status_code == 200 and 'data-testid="form-notice"' not in page.get_data(
        as_text=True
    )
    assert (
        b.post(
            f"/cases/{case_id}/nsa", {"action": "received", "recv-received_on": "2026-03-02"}
        ).status_code
        == 403
    )
    assert (
        b.post(
            f"/cases/{case_id}/deadlines", {"manual-label": "x", "manual-due_on": "2026-12-01"}
        ).status_code
        == 403
    )
    p = make_browser("10.1.0.2")
    login(p, practice_user)
    for url in ("/deadlines/", "/deadlines/calendar", f"/cases/{case_id}/nsa"):
        assert p.get(url).status_code == 403, url
    with tenant_scope(shop.tenant_id):
        assert (
            db.session.scalars(select(CaseDeadline).where(CaseDeadline.case_id == case_id)).all()
            == []
        )


def test_the_list_and_the_calendar_issue_no_query_per_row(shop, browser):
    from tests.deadlines.nsa_support import QueryCounter

    login(browser, shop.advocate)
    with tenant_scope(shop.tenant_id):
        today = svc.firm_today(shop.tenant_id)

    def add_cases(n):
        for i in range(n):
            cid = new_case(shop, service_from="2026-03-02")
            _manual(shop, cid, f"Item {i}", today - timedelta(days=i % 20))

    def counts():
        with QueryCounter(db.engine) as q1:
            assert browser.get("/deadlines/").status_code == 200
        with QueryCounter(db.engine) as q2:
            assert browser.get(f"/deadlines/calendar?month={today:%Y-%m}").status_code == 200
        return q1.count, q2.count

    add_cases(2)
    few = counts()
    add_cases(12)
    assert counts() == few
