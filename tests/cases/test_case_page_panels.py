"""The case page's deadlines and letters panels, and the recompute hooks:
filing or deciding an appeal, a communication with a follow-up (and its
completion), a status change and an 835 posting that brings the initial
payment each recompute the case's stored deadlines, which the case page
shows with their rules. The page's query count stays flat."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from advocate.cases.models import Appeal, Case, Communication
from advocate.db import utcnow
from advocate.extensions import db
from advocate.letters.models import DONE, Letter
from tenants import tenant_scope
from tests.cases.test_case_detail_support import QueryCounter, logged_in
from tests.deadlines.nsa_support import add_policy, deadlines, make_shop, new_case
from tests.factories import make_user

SERVICE = "2026-03-02"


@pytest.fixture()
def shop(db_app):
    s = make_shop()
    add_policy(s, timely_filing_days=90, levels=(("Level 1 appeal", 180), ("Level 2 appeal", 60)))
    return s


def _html(b, case_id) -> str:
    r = b.get(f"/cases/{case_id}")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def _panel(html: str) -> str:
    return html.split('data-testid="case-deadlines"', 1)[1].split("</section>", 1)[0]


def test_the_case_page_shows_the_stored_deadlines_with_their_rules(shop, browser):
    case_id = new_case(shop, service_from=SERVICE)  # intake computes them
    assert "timely_filing" in deadlines(shop, case_id)
    html = _html(logged_in(browser, shop.advocate), case_id)
    assert "css/deadlines.css" in html
    panel = _panel(html)
    assert 'data-kind="timely_filing"' in panel
    assert "90 calendar days after 2026-03-02, the first date of service" in panel
    # Workers get the done / by-hand forms, which come back to the case page.
    assert f'action="/cases/{case_id}/deadlines"' in panel and 'name="next" value="case"' in panel
    assert f'href="/cases/{case_id}/nsa"' in panel


def test_filing_and_deciding_an_appeal_updates_the_deadlines(shop, browser):
    case_id = new_case(shop, service_from=SERVICE)
    b = logged_in(browser, shop.advocate)
    r = b.post(
        f"/cases/{case_id}/appeals",
        {"appeal-level": "1", "appeal-adverse_decision_on": "2026-04-01"},
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:400]
    rows = deadlines(shop, case_id)
    assert rows["appeal_l1"].due_on == date(2026, 9, 28) and not rows["appeal_l1"].is_done
    panel = _panel(_html(b, case_id))
    assert 'data-kind="appeal_l1"' in panel and "180 calendar days after 2026-04-01" in panel
    with tenant_scope(shop.tenant_id):
        appeal_id = db.session.scalar(select(Appeal.id).where(Appeal.case_id == case_id))
        assert db.session.get(Case, case_id).next_deadline_on == date(2026, 9, 28)
    r = b.post(
        f"/cases/{case_id}/appeals/{appeal_id}",
        {f"appeal{appeal_id}-outcome": "pending", f"appeal{appeal_id}-filed_on": "2026-05-01"},
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:400]
    assert deadlines(shop, case_id)["appeal_l1"].is_done
    assert 'data-kind="appeal_l1" data-state="done"' in _panel(_html(b, case_id))


def test_a_follow_up_becomes_a_deadline_until_it_is_done(shop, browser):
    case_id = new_case(shop, service_from=SERVICE)
    b = logged_in(browser, shop.advocate)
    follow_up = (utcnow().date() + timedelta(days=10)).isoformat()
    r = b.post(
        f"/cases/{case_id}/communications",
        {
            "comm-kind": "call",
            "comm-direction": "outbound",
            "comm-summary": "Called the claims line",
            "comm-occurred_at": (utcnow() - timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M"),
            "comm-follow_up_on": follow_up,
        },
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:400]
    row = deadlines(shop, case_id)["follow_up"]
    assert row.due_on.isoformat() == follow_up and not row.is_done
    assert 'data-kind="follow_up"' in _panel(_html(b, case_id))
    with tenant_scope(shop.tenant_id):
        comm_id = db.session.scalar(
            select(Communication.id).where(Communication.case_id == case_id)
        )
    assert b.post(f"/cases/{case_id}/communications/{comm_id}/done", {}).status_code == 303
    assert deadlines(shop, case_id)["follow_up"].is_done


def test_a_status_change_recomputes(shop, browser):
    case_id = new_case(shop, service_from=SERVICE)
    b = logged_in(browser, shop.advocate)
    b.post(
        f"/cases/{case_id}/appeals",
        {"appeal-level": "1", "appeal-adverse_decision_on": "2026-04-01"},
    )
    assert not deadlines(shop, case_id)["appeal_l1"].is_done
    assert b.post(f"/cases/{case_id}/transition", {"to": "withdrawn"}).status_code == 303
    assert deadlines(shop, case_id)["appeal_l1"].is_done  # nothing left to file on a withdrawn case
    with tenant_scope(shop.tenant_id):
        assert db.session.get(Case, case_id).next_deadline_on is None


def test_practice_users_see_the_deadlines_without_the_forms(shop, make_browser):
    case_id = new_case(shop, service_from=SERVICE)
    person = make_user(shop.tenant, "practice_user", practice_id=shop.practice_id, with_totp=False)
    b = logged_in(make_browser("10.9.0.1"), person)
    panel = _panel(_html(b, case_id))
    assert 'data-kind="timely_filing"' in panel
    assert "<form" not in panel and "/nsa" not in panel


def test_an_835_posting_the_initial_payment_starts_the_nsa_deadlines(db_app):
    from tests.imports.remit_support import build_setup
    from tests.imports.test_remittance_posting import claim, file_of, run

    s = build_setup()
    case_id = s.case("CN-NSA", "PCN-NSA", paid=False)
    untouched = s.case("CN-PAID", "PCN-PAID")  # already has its initial payment
    with tenant_scope(s.tenant_id):
        case = db.session.get(Case, case_id)
        case.is_nsa_eligible = True
        assert case.initial_payment_received_on is None
        db.session.commit()
    before = deadlines(s, case_id)
    assert "nsa_notice" not in before
    run(s, file_of(claim("PCN-NSA", "CN-NSA", "120"), claim("PCN-PAID", "CN-PAID", "10")))
    rows = deadlines(s, case_id)
    assert (
        "nsa_notice" in rows and "2024-06-14" in rows["nsa_notice"].rule
    )  # the remittance's payment date
    with tenant_scope(s.tenant_id):
        db.session.expire_all()
        assert db.session.get(Case, case_id).initial_payment_received_on == date(2024, 6, 14)
        assert db.session.get(Case, untouched).initial_payment_received_on is not None


def _letter(shop, case_id, n=1):
    with tenant_scope(shop.tenant_id):
        for _ in range(n):
            db.session.add(
                Letter(
                    tenant_id=shop.tenant_id,
                    case_id=case_id,
                    letter_type="reconsideration",
                    status=DONE,
                    rendered_at=utcnow(),
                )
            )
        db.session.commit()


def test_the_letters_panel_lists_the_cases_letters(shop, browser, make_browser):
    case_id = new_case(shop, service_from=SERVICE)
    other = new_case(shop, service_from=SERVICE)
    _letter(shop, case_id)
    _letter(shop, other)
    b = logged_in(browser, shop.advocate)
    html = _html(b, case_id)
    table = html.split('data-testid="case-letters"', 1)[1].split("</table>", 1)[0]
    assert table.count("data-letter-id=") == 1
    assert "Initial reconsideration / underpayment dispute" in table
    assert f'action="/letters/cases/{case_id}/letters"' in html  # workers may generate
    viewer = make_user(shop.tenant, "viewer")
    vhtml = _html(logged_in(make_browser("10.9.0.2"), viewer), case_id)
    assert 'data-testid="case-letters"' in vhtml and "/letters/cases/" not in vhtml


def test_the_page_with_its_panels_does_not_query_per_row(shop, browser):
    small = new_case(shop, service_from=SERVICE)
    big = new_case(shop, service_from=SERVICE)
    b = logged_in(browser, shop.advocate)
    for case_id, n in ((small, 1), (big, 8)):
        _letter(shop, case_id, n)
        for i in range(n):
            b.post(
                f"/cases/{case_id}/appeals",
                {
                    "appeal-level": str(1 + i % 2),
                    "appeal-adverse_decision_on": f"2026-04-{1 + i:02d}",
                },
            )
    b.get(f"/cases/{small}")

    def queries(case_id):
        with QueryCounter(db.engine) as qc:
            assert b.get(f"/cases/{case_id}").status_code == 200
        return qc.count

    q_small, q_big = queries(small), queries(big)
    assert q_big == q_small, (q_small, q_big)
