"""Who sees what on the case page: practice users read their own practice's
cases only, never the firm's target, floor, suggested counter or internal
events, and cannot change anything; viewers read but cannot change; every
view is audited as a PHI read; and the page's query count does not grow with
the case."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.cases import services
from advocate.cases.models import Case, CaseEvent, Communication, Offer, Payment
from advocate.extensions import db
from tenants import tenant_scope
from tests.cases.test_case_detail_support import (
    QueryCounter,
    count,
    days_ago,
    load,
    logged_in,
    make_case,
    make_shop,
    text_of,
)
from tests.factories import make_practice, make_user

TARGET, FLOOR = "4321.09", "3210.98"


@pytest.fixture()
def shop(db_app):
    return make_shop()


def _worked_case(shop) -> int:
    """A case with target/floor, a payer offer (so a suggestion shows), an
    internal note, a shared note and an open follow-up."""
    case_id = make_case(shop, status="negotiating")
    with tenant_scope(shop.tenant_id):
        case = load(case_id)
        actor = shop.advocate.user.id
        services.set_negotiation_limits(
            case, actor_id=actor, data={"target_amount": TARGET, "floor_amount": FLOOR}
        )
        services.add_offer(
            case,
            actor_id=actor,
            data={"party": "payer", "amount": "3000.00", "offered_on": days_ago(1)},
        )
        services.add_note(
            case, actor_id=actor, body="SECRET-STRATEGY: they cave at month end", internal=True
        )
        services.add_note(
            case, actor_id=actor, body="Records received from the practice", internal=False
        )
        services.add_communication(
            case,
            actor_id=actor,
            data={
                "kind": "call",
                "direction": "outbound",
                "summary": "Called claims",
                "follow_up_on": days_ago(-3),
            },
        )
        db.session.commit()
    return case_id


def _practice_person(shop, practice_id=None):
    return make_user(
        shop.firm.tenant,
        "practice_user",
        practice_id=practice_id or shop.practice_id,
        with_totp=False,
        name="Pia Practice",
    )


FORBIDDEN_FOR_PRACTICE = (
    TARGET,
    "4,321.09",
    FLOOR,
    "3,210.98",
    "SECRET-STRATEGY",
    "Suggested counteroffer",
    "Walk-away floor",
    "Our target",
    "Negotiation limits set",
    'data-testid="next-steps"',
    'action="/cases/',
    "Staff only",
)


def test_staff_see_target_floor_suggestion_and_internal_notes(shop, browser):
    case_id = _worked_case(shop)
    text = text_of(logged_in(browser, shop.advocate).get(f"/cases/{case_id}"))
    for s in (
        "$4,321.09",
        "$3,210.98",
        "SECRET-STRATEGY",
        "Suggested counteroffer",
        "Negotiation limits set",
    ):
        assert s in text, s


def test_a_practice_user_reads_their_own_case_without_the_firms_strategy(shop, browser):
    case_id = _worked_case(shop)
    person = _practice_person(shop)
    r = logged_in(browser, person).get(f"/cases/{case_id}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    with tenant_scope(shop.tenant_id):
        ref = load(case_id).reference
    assert ref in html and "Records received from the practice" in html and "Called claims" in html
    for secret in FORBIDDEN_FOR_PRACTICE:
        assert secret not in html, secret
    assert "<form" not in html.split("<main", 1)[1]  # read-only: not a single form on the page body


def test_a_practice_user_gets_404_for_another_practices_case(shop, browser):
    other_practice = make_practice(shop.firm.tenant, name="Other Clinic", npi="9876543213")
    case_id = make_case(shop)
    person = _practice_person(shop, practice_id=other_practice)
    assert logged_in(browser, person).get(f"/cases/{case_id}").status_code == 404


def _all_posts(case_id, ids):
    return [
        (f"/cases/{case_id}/transition", {"to": "gathering_evidence"}),
        (
            f"/cases/{case_id}/communications",
            {"comm-kind": "call", "comm-direction": "inbound", "comm-summary": "x"},
        ),
        (f"/cases/{case_id}/communications/{ids['comm']}/done", {}),
        (f"/cases/{case_id}/offers", {"offer-party": "payer", "offer-amount": "10"}),
        (f"/cases/{case_id}/offers/{ids['offer']}/accept", {}),
        (f"/cases/{case_id}/appeals", {"appeal-level": "1"}),
        (
            f"/cases/{case_id}/payments",
            {"pay-paid_on": days_ago(1), "pay-amount": "5", "pay-source": "check"},
        ),
        (f"/cases/{case_id}/notes", {"note-body": "hello"}),
        (f"/cases/{case_id}/negotiation", {"neg-target_amount": "1", "neg-floor_amount": "1"}),
        (f"/cases/{case_id}/sca", {"sca-sca_id": ""}),
        ("/cases/new", {}),
        ("/cases/scas/new", {}),
    ]


def _snapshot(shop, case_id):
    with tenant_scope(shop.tenant_id):
        db.session.expire_all()
        case = load(case_id)
        return (
            case.status,
            case.target_amount,
            case.next_follow_up_on,
            count(CaseEvent, shop.tenant_id),
            count(Payment, shop.tenant_id),
            count(Offer, shop.tenant_id),
            count(Communication, shop.tenant_id),
            count(Case, shop.tenant_id),
        )


@pytest.mark.parametrize("role", ["practice_user", "practice_admin", "viewer"])
def test_practice_users_and_viewers_cannot_change_anything(shop, browser, role):
    case_id = _worked_case(shop)
    with tenant_scope(shop.tenant_id):
        ids = {
            "comm": db.session.scalar(select(Communication.id)),
            "offer": db.session.scalar(select(Offer.id)),
        }
    kw = (
        {"practice_id": shop.practice_id, "with_totp": False} if role.startswith("practice") else {}
    )
    person = make_user(shop.firm.tenant, role, **kw)
    b = logged_in(browser, person)
    before = _snapshot(shop, case_id)
    for url, data in _all_posts(case_id, ids):
        r = b.post(url, data)
        assert r.status_code in (403, 404), (role, url, r.status_code)
    assert _snapshot(shop, case_id) == before
    if role == "viewer":
        r = b.get(f"/cases/{case_id}")
        assert r.status_code == 200 and "$4,321.09" in text_of(r)  # staff: reads the strategy
        assert 'data-testid="next-steps"' not in r.get_data(as_text=True)


def test_every_view_of_a_case_is_audited_as_phi(shop, browser, make_browser):
    case_id = make_case(shop)
    b = logged_in(browser, shop.advocate)
    b.get(f"/cases/{case_id}")
    b.get(f"/cases/{case_id}?page=2")
    person = _practice_person(shop)
    logged_in(make_browser("10.0.0.9"), person).get(f"/cases/{case_id}")
    with tenant_scope(shop.tenant_id):
        views = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.view").order_by(AuditEvent.id)
        ).all()
    assert [(v.is_phi, v.object_type, v.object_id, v.user_id) for v in views] == [
        (True, "case", str(case_id), shop.advocate.user.id),
        (True, "case", str(case_id), shop.advocate.user.id),
        (True, "case", str(case_id), person.user.id),
    ]
    # A refused action re-shows the page: that is a PHI read too.
    b2 = b
    b2.post(f"/cases/{case_id}/transition", {"to": "paid"})
    with tenant_scope(shop.tenant_id):
        assert (
            len(
                db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.view")).all()
            )
            == 4
        )
    # A 404 is not a view.
    b2.get(f"/cases/{case_id + 999}")
    with tenant_scope(shop.tenant_id):
        assert (
            len(
                db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.view")).all()
            )
            == 4
        )


def _grow(shop, case_id, n):
    with tenant_scope(shop.tenant_id):
        case = load(case_id)
        actor = shop.advocate.user.id
        for i in range(n):
            services.add_communication(
                case,
                actor_id=actor,
                data={
                    "kind": "call",
                    "direction": "outbound",
                    "summary": f"call {i}",
                    "follow_up_on": days_ago(-i - 1),
                },
            )
            services.add_offer(
                case,
                actor_id=actor,
                data={"party": "payer", "amount": f"{100 + i}.00", "offered_on": days_ago(1)},
            )
            services.file_appeal(
                case, actor_id=actor, data={"level": 1 + i % 4, "adverse_decision_on": days_ago(5)}
            )
            services.add_payment(
                case,
                amount=Decimal("10.00"),
                paid_on=(case.service_from + timedelta(days=i)),
                source="check",
                reference=f"C{i}",
                actor_id=actor,
            )
            services.add_note(case, actor_id=actor, body=f"note {i}", internal=bool(i % 2))
        db.session.commit()


def test_the_case_page_does_not_query_per_row(shop, browser, db_app):
    small = make_case(shop, lines=[{"code": "99213", "billed": "200.00"}])
    lines = [
        {
            "code": "99213",
            "billed": "200.00",
            "paid": "50.00",
            "adjustments": [{"group": "CO", "reason": "45", "amount": "150.00"}],
        }
        for _ in range(12)
    ]
    big = make_case(shop, lines=lines)
    _grow(shop, small, 1)
    _grow(shop, big, 12)
    b = logged_in(browser, shop.advocate)
    b.get(f"/cases/{small}")  # warm up (templates, first-request work)

    def queries(case_id):
        with QueryCounter(db.engine) as qc:
            r = b.get(f"/cases/{case_id}")
        assert r.status_code == 200
        return qc.count

    q_small, q_big = queries(small), queries(big)
    assert q_big == q_small, (q_small, q_big)
    assert q_big < 40
