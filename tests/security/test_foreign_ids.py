"""Every id a request names must be one of the firm's own rows (issue 15,
item 4): another firm's id, an unknown id or a value that is no id at all is a
field error (422 on the API, a form error on the web), never a 500 and never
stored."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from advocate.cases.models import Case, SingleCaseAgreement
from advocate.extensions import db
from advocate.ownership import ForeignIdError, parse_id, require_member, require_own
from advocate.practices.models import Practice, PracticeAuthorization
from tenants import tenant_scope
from tests.factories import (
    case_payload,
    login,
    make_case,
    make_firm,
    make_payer,
    make_practice,
    make_user,
)


def _token(make_browser, person) -> dict:
    b = make_browser(f"10.8.0.{person.membership_id % 250 + 1}")
    login(b, person)
    r = b.post("/account/tokens", {"name": "security test"})
    raw = re.search(r'data-testid="new-token">([^<]+)<', r.get_data(as_text=True)).group(1)
    return {"Authorization": f"Bearer {raw}"}


def _count(tenant_id, model) -> int:
    with tenant_scope(tenant_id):
        return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture()
def two_firms(db_app, make_browser):
    mine = make_firm("Mine")
    theirs = make_firm("Theirs")
    me = make_user(mine.tenant, "advocate")
    return {
        "mine": mine,
        "theirs": theirs,
        "me": me,
        "practice": make_practice(mine.tenant),
        "payer": make_payer(mine.tenant),
        "their_practice": make_practice(theirs.tenant),
        "their_payer": make_payer(theirs.tenant),
        "their_advocate": make_user(theirs.tenant, "advocate"),
        "auth": _token(make_browser, me),
    }


def test_api_case_with_another_firms_assignee_is_422_and_nothing_stored(two_firms, db_app):
    f = two_firms
    client = db_app.test_client()
    payload = case_payload(f["practice"], f["payer"], assignee_id=f["their_advocate"].user.id)
    r = client.post("/api/v1/cases", json=payload, headers=f["auth"])
    assert r.status_code == 422, r.get_json()
    assert [d["field"] for d in r.get_json()["details"]] == ["assignee_id"]
    assert _count(f["mine"].tenant.id, Case) == 0
    assert _count(f["theirs"].tenant.id, Case) == 0


@pytest.mark.parametrize(
    "field,value",
    [
        ("assignee_id", 987654321),  # no such user
        ("assignee_id", "abc"),
        ("assignee_id", 2**70),  # beyond bigint: was a database error (500)
        ("assignee_id", True),
        ("practice_id", 987654321),
        ("practice_id", 2**70),
        ("practice_id", "1; DROP TABLE cases"),
        ("payer_id", -4),
        ("payer_id", 2**63),
    ],
)
def test_api_case_with_unknown_or_malformed_ids_is_422_not_500(two_firms, db_app, field, value):
    f = two_firms
    client = db_app.test_client()
    r = client.post(
        "/api/v1/cases",
        json={**case_payload(f["practice"], f["payer"]), field: value},
        headers=f["auth"],
    )
    assert r.status_code == 422, (r.status_code, r.get_data(as_text=True)[:300])
    assert field in [d["field"] for d in r.get_json()["details"]]
    assert _count(f["mine"].tenant.id, Case) == 0


def test_api_case_with_another_firms_practice_or_payer_is_422(two_firms, db_app):
    f = two_firms
    client = db_app.test_client()
    for field, value in (("practice_id", f["their_practice"]), ("payer_id", f["their_payer"])):
        r = client.post(
            "/api/v1/cases",
            json={**case_payload(f["practice"], f["payer"]), field: value},
            headers=f["auth"],
        )
        assert r.status_code == 422
        assert [d["field"] for d in r.get_json()["details"]] == [field]
    assert _count(f["mine"].tenant.id, Case) == 0


def test_assignee_must_be_an_active_worker_of_the_firm(two_firms, db_app):
    f = two_firms
    client = db_app.test_client()
    viewer = make_user(f["mine"].tenant, "viewer")
    gone = make_user(f["mine"].tenant, "advocate")
    with tenant_scope(f["mine"].tenant.id):
        from tenants.models import Membership

        db.session.get(Membership, gone.membership_id).is_active = False
        db.session.commit()
    for person in (viewer, gone):
        r = client.post(
            "/api/v1/cases",
            json=case_payload(f["practice"], f["payer"], assignee_id=person.user.id),
            headers=f["auth"],
        )
        assert r.status_code == 422
    ok = make_user(f["mine"].tenant, "advocate")
    r = client.post(
        "/api/v1/cases",
        json=case_payload(f["practice"], f["payer"], assignee_id=ok.user.id),
        headers=f["auth"],
    )
    assert r.status_code == 201 and r.get_json()["assignee_id"] == ok.user.id


def test_web_intake_refuses_another_firms_assignee_on_the_form(two_firms, browser):
    f = two_firms
    login(browser, f["me"])
    data = {
        "practice_id": f["practice"],
        "payer_id": f["payer"],
        "plan_type": "erisa_self_funded",
        "patient_first_name": "Jane",
        "patient_last_name": "Doe",
        "service_from": "2026-03-02",
        "service_to": "2026-03-02",
        "place_of_service": "11",
        "service_type": "other",
        "assignee_id": str(f["their_advocate"].user.id),
        "lines-0-code": "99213",
        "lines-0-units": "1",
        "lines-0-billed": "250.00",
        "lines-0-paid": "0",
    }
    r = browser.post("/cases/new", data)
    assert r.status_code == 422
    assert "not an active member of this firm" in r.get_data(as_text=True)
    assert _count(f["mine"].tenant.id, Case) == 0


def test_bulk_assign_to_another_firms_user_is_refused(two_firms, browser):
    f = two_firms
    case_id = make_case(f["mine"].tenant, f["practice"], f["payer"])
    login(browser, f["me"])
    r = browser.post(
        "/cases/assign", {"case_id": [case_id], "assignee_id": f["their_advocate"].user.id}
    )
    assert r.status_code == 302
    assert "not an active member of this firm" in browser.get("/cases/").get_data(as_text=True)
    r = browser.post("/cases/assign", {"case_id": [case_id], "assignee_id": str(2**70)})
    assert r.status_code == 302
    with tenant_scope(f["mine"].tenant.id):
        db.session.expire_all()
        assert db.session.get(Case, case_id).assignee_id is None


def test_authorization_with_another_firms_payer_is_refused(two_firms, browser):
    f = two_firms
    owner = f["mine"].owner
    login(browser, owner)
    url = f"/practices/{f['practice']}/authorizations/new"
    r = browser.post(
        url,
        {
            "signed_on": "2026-01-05",
            "scope": "listed",
            "payer_ids": f"{f['payer']}, {f['their_payer']}",
        },
    )
    assert r.status_code in (200, 422)
    assert f"unknown payer: {f['their_payer']} is not one of this firm&#39;s" in r.get_data(
        as_text=True
    )
    assert _count(f["mine"].tenant.id, PracticeAuthorization) == 0
    r = browser.post(
        url, {"signed_on": "2026-01-05", "scope": "listed", "payer_ids": str(f["payer"])}
    )
    assert r.status_code == 302
    with tenant_scope(f["mine"].tenant.id):
        assert db.session.scalar(select(PracticeAuthorization.payer_ids)) == [f["payer"]]


def test_sca_link_to_another_firms_agreement_or_an_overflowing_id_is_refused(two_firms, browser):
    f = two_firms
    case_id = make_case(f["mine"].tenant, f["practice"], f["payer"])
    their_case = make_case(f["theirs"].tenant, f["their_practice"], f["their_payer"])
    from advocate.cases.services import create_sca

    with tenant_scope(f["theirs"].tenant.id):
        sca = create_sca(
            tenant_id=f["theirs"].tenant.id,
            actor_id=None,
            data={
                "practice_id": f["their_practice"],
                "payer_id": f["their_payer"],
                "patient_first_name": "Jane",
                "patient_last_name": "Doe",
                "codes": "99213",
                "rate_type": "medicare_percent",
                "rate_percent": "120",
                "status": "requested",
            },
        )
        their_sca = sca.id
        db.session.commit()
    assert their_case
    login(browser, f["me"])
    for value in (str(their_sca), str(2**70), "x"):
        r = browser.post(f"/cases/{case_id}/sca", {"sca_id": value})
        assert r.status_code in (303, 422), r.status_code
        with tenant_scope(f["mine"].tenant.id):
            db.session.expire_all()
            assert db.session.get(Case, case_id).sca_id is None
    assert _count(f["mine"].tenant.id, SingleCaseAgreement) == 0


def test_the_shared_helper(two_firms):
    f = two_firms
    with tenant_scope(f["mine"].tenant.id):
        assert require_own(Practice, str(f["practice"]), field="practice_id").id == f["practice"]
        assert require_own(Practice, "", field="practice_id", required=False) is None
        for bad in (f["their_practice"], 0, -1, 2**63, "1.5", " ", [1], {"id": 1}, "1\x00"):
            if bad == " ":
                with pytest.raises(ForeignIdError, match="is required"):
                    require_own(Practice, bad, field="practice_id")
                continue
            with pytest.raises(ForeignIdError) as err:
                require_own(Practice, bad, field="practice_id")
            assert err.value.code == 422 and err.value.errors[0][0] == "practice_id"
        with pytest.raises(ForeignIdError):
            require_member(f["their_advocate"].user.id)
        assert require_member(f["me"].user.id).id == f["me"].user.id
        assert require_member(f["mine"].owner.user.id).id == f["mine"].owner.user.id
    assert parse_id(" 42 ", field="x") == 42
