"""The practice portal's cases: a practice person lists their own practice's
cases (filtered, paginated, audited as a PHI read) and opens each read only;
another practice's case is a 404 and nothing can be changed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.cases import services as case_services
from advocate.cases.models import Case
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import login, make_case, make_firm, make_payer, make_practice, make_user


def _text(r) -> str:
    return r.get_data(as_text=True)


@pytest.fixture()
def shop(db_app, make_browser):
    firm = make_firm("Portal Cases Firm")
    t = firm.tenant
    mine = make_practice(t, name="Hudson Valley Orthopedics")
    other = make_practice(t, name="Riverside Anesthesia", npi="9876543213")
    acme = make_payer(t, name="Acme Health Plan")
    keystone = make_payer(t, name="Keystone Health")
    advocate = make_user(t, "advocate")
    cases = {
        "march": make_case(
            t,
            mine,
            acme,
            advocate.user.id,
            patient_last_name="Marchant",
            service_from="2026-03-02",
            service_to="2026-03-02",
        ),
        "april": make_case(
            t,
            mine,
            keystone,
            advocate.user.id,
            patient_last_name="Aprilson",
            service_from="2026-04-06",
            service_to="2026-04-06",
        ),
        "other": make_case(
            t,
            other,
            acme,
            advocate.user.id,
            patient_last_name="Otherpractice",
            service_from="2026-03-10",
            service_to="2026-03-10",
        ),
    }
    with tenant_scope(t.id):
        april = db.session.get(Case, cases["april"])
        case_services.transition(april, "gathering_evidence", actor_id=advocate.user.id)
        case_services.add_note(
            april, actor_id=advocate.user.id, body="SECRET-STRATEGY internal", internal=True
        )
        case_services.add_note(
            april, actor_id=advocate.user.id, body="Shared with the practice", internal=False
        )
        db.session.commit()
    person = make_user(t, "practice_user", practice_id=mine, with_totp=False, name="Pia Practice")
    b = make_browser("10.7.0.1")
    login(b, person)
    return {
        "firm": firm,
        "tid": t.id,
        "mine": mine,
        "other": other,
        "acme": acme,
        "keystone": keystone,
        "cases": cases,
        "person": person,
        "b": b,
        "advocate": advocate,
    }


def _main(html: str) -> str:
    """The page's content, without the header's menus (the log-out form)."""
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def _rows(html: str) -> list[int]:
    import re

    return [int(x) for x in re.findall(r'<tr data-case-id="(\d+)"', html)]


def test_the_list_shows_only_the_practices_own_cases(shop):
    r = shop["b"].get("/portal/cases")
    assert r.status_code == 200
    html = _text(r)
    assert _rows(html) == [shop["cases"]["april"], shop["cases"]["march"]]  # newest service first
    assert "Marchant" in html and "Aprilson" in html
    assert "Otherpractice" not in html and "Riverside" not in html
    # Read only: no forms but the filter bar (GET).
    assert 'method="post"' not in _main(html)


def test_filters_by_status_payer_and_service_date(shop):
    b, c = shop["b"], shop["cases"]
    assert _rows(_text(b.get("/portal/cases?status=gathering_evidence"))) == [c["april"]]
    assert _rows(_text(b.get("/portal/cases?status=intake"))) == [c["march"]]
    assert _rows(_text(b.get("/portal/cases?status=closed"))) == []
    assert set(_rows(_text(b.get("/portal/cases?status=open")))) == {c["april"], c["march"]}
    assert _rows(_text(b.get(f"/portal/cases?payer={shop['acme']}"))) == [c["march"]]
    assert _rows(_text(b.get("/portal/cases?date_from=2026-04-01"))) == [c["april"]]
    assert _rows(_text(b.get("/portal/cases?date_to=2026-03-31"))) == [c["march"]]
    # The payer filter lists the payers of the practice's cases only.
    html = _text(b.get("/portal/cases"))
    assert f'<option value="{shop["keystone"]}"' in html
    # What does not parse is named, and ignored.
    r = b.get("/portal/cases?date_from=31/03/2026&status=bogus&payer=x")
    assert r.status_code == 200
    body = _text(r)
    assert "Service from: &#39;31/03/2026&#39; is not a date" in body
    assert (
        "Status: choose one from the list." in body and "Payer: choose one from the list." in body
    )
    assert set(_rows(body)) == {c["april"], c["march"]}


def test_the_list_is_paginated_without_a_query_per_row(shop, db_app):
    from tests.cases.test_case_detail_support import QueryCounter

    t = shop["firm"].tenant
    for i in range(3):
        make_case(
            t,
            shop["mine"],
            shop["acme"],
            service_from=(date(2026, 1, 5) + timedelta(days=i)).isoformat(),
            service_to=(date(2026, 1, 5) + timedelta(days=i)).isoformat(),
        )
    b = shop["b"]
    b.get("/portal/cases")
    with QueryCounter(db.engine) as few:
        assert b.get("/portal/cases").status_code == 200
    for i in range(30):
        make_case(
            t,
            shop["mine"],
            shop["keystone"],
            service_from=(date(2025, 6, 2) + timedelta(days=i)).isoformat(),
            service_to=(date(2025, 6, 2) + timedelta(days=i)).isoformat(),
        )
    with QueryCounter(db.engine) as many:
        r = b.get("/portal/cases")
    assert r.status_code == 200
    assert len(_rows(_text(r))) == db_app.config["PAGE_SIZE"] < 35
    assert many.count == few.count, (few.count, many.count)
    assert len(_rows(_text(b.get("/portal/cases?page=2")))) == 35 - db_app.config["PAGE_SIZE"]


def test_the_list_is_audited_as_a_phi_read(shop):
    shop["b"].get("/portal/cases?status=open")
    with tenant_scope(shop["tid"]):
        events = list(
            db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "portal.view", AuditEvent.user_id == shop["person"].user.id
                )
            )
        )
    pages = [e for e in events if (e.details or {}).get("page") == "cases"]
    assert len(pages) == 1 and pages[0].is_phi
    assert pages[0].object_id == str(shop["mine"])


def test_a_case_opens_read_only_without_internal_notes(shop):
    b, c = shop["b"], shop["cases"]
    r = b.get(f"/cases/{c['april']}")
    assert r.status_code == 200
    html = _text(r)
    assert "Shared with the practice" in html
    assert "SECRET-STRATEGY" not in html
    assert 'action="/cases/' not in html and 'method="post"' not in _main(html)  # no edit controls
    assert (
        'data-testid="case-deadlines"' in html and 'data-testid="case-letters"' not in html
    )  # no letters yet
    assert 'href="/portal/cases"' in html  # back to the list
    with tenant_scope(shop["tid"]):
        viewed = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "case.view",
                AuditEvent.object_id == str(c["april"]),
                AuditEvent.user_id == shop["person"].user.id,
            )
        )
    assert viewed is not None and viewed.is_phi


def test_another_practices_case_is_404_and_changes_are_refused(shop):
    b, c = shop["b"], shop["cases"]
    assert b.get(f"/cases/{c['other']}").status_code == 404
    for url, data in (
        (f"/cases/{c['april']}/transition", {"to": "ready_to_negotiate"}),
        (f"/cases/{c['april']}/notes", {"note-body": "hello"}),
        (f"/cases/{c['other']}/transition", {"to": "ready_to_negotiate"}),
    ):
        assert b.post(url, data).status_code in (403, 404), url
    with tenant_scope(shop["tid"]):
        db.session.expire_all()
        assert db.session.get(Case, c["april"]).status == "gathering_evidence"


def test_home_summarises_the_practices_cases(shop):
    html = _text(shop["b"].get("/portal/"))
    assert 'data-testid="portal-open-cases">2<' in html
    assert f'href="/cases/{shop["cases"]["april"]}"' in html
    assert f'href="/cases/{shop["cases"]["other"]}"' not in html
    assert 'href="/portal/cases"' in html


def test_staff_cannot_open_the_portal_list(shop, make_browser):
    b = make_browser("10.7.0.9")
    login(b, shop["advocate"])
    assert b.get("/portal/cases").status_code == 403
