"""GET/POST /api/v1/practices and GET /api/v1/practices/<id>."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from advocate.practices.models import Practice
from tests.factories import firm_today, make_firm, make_user
from tests.practices.practice_helpers import (
    add_agreement,
    add_authorization,
    add_practice,
    api_token,
    count,
    practice_data,
)


def _auth(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture()
def api(db_app, browser):
    firm = make_firm("Acme Advocacy")
    admin = make_user(firm.tenant, "admin")
    browser.firm = firm
    browser.token = api_token(admin)
    return browser


def test_post_creates_a_practice_and_masks_the_tin(api):
    body = {k: v for k, v in practice_data(npi="1234567893", tin="98-7654321").items() if v}
    r = api.open("/api/v1/practices", method="POST", json=body, headers=_auth(api.token))
    assert r.status_code == 201, r.get_json()
    data = r.get_json()
    assert isinstance(data["id"], int)
    assert data["tin"] == "XX-XXX4321" and "987654321" not in r.get_data(as_text=True)
    assert data["npi"] == "1234567893" and data["authorization_status"] == "missing"
    assert r.headers["Location"].endswith(f"/api/v1/practices/{data['id']}")
    got = api.get(f"/api/v1/practices/{data['id']}", headers=_auth(api.token))
    assert got.status_code == 200 and got.get_json()["name"] == body["name"]
    assert got.get_json()["tin"] == "XX-XXX4321"


def test_post_minimal_fields(api):
    body = {
        "name": "Harbor Spine",
        "npi": "1234567893",
        "tin": "123456789",
        "specialty": "Neurosurgery",
        "address_line1": "2 Dock St",
        "city": "Boston",
        "state": "MA",
        "zip": "02110-1234",
    }
    r = api.open("/api/v1/practices", method="POST", json=body, headers=_auth(api.token))
    assert r.status_code == 201
    data = r.get_json()
    assert (data["default_pos"], data["status"], data["zip"]) == ("11", "active", "02110-1234")


def test_invalid_input_is_a_422_with_field_details_and_nothing_saved(api):
    body = practice_data(npi="1234567890", tin="12-34", zip="9")
    r = api.open("/api/v1/practices", method="POST", json=body, headers=_auth(api.token))
    assert r.status_code == 422
    data = r.get_json()
    assert data["error"]
    fields = {d["field"]: d["message"] for d in data["details"]}
    assert set(fields) == {"npi", "tin", "zip"}
    assert "check digit" in fields["npi"]
    assert count(api.firm.tenant.id, Practice) == 0


@pytest.mark.parametrize("payload", [None, [], "text", 5])
def test_a_body_that_is_not_an_object_is_a_422(api, payload):
    kwargs = (
        {"data": "not json", "content_type": "application/json"}
        if payload is None
        else {"json": payload}
    )
    r = api.open("/api/v1/practices", method="POST", headers=_auth(api.token), **kwargs)
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "body"


def test_a_duplicate_npi_is_a_422(api):
    add_practice(api.firm.tenant.id, npi="1234567893")
    r = api.open(
        "/api/v1/practices",
        method="POST",
        json=practice_data(npi="1234567893"),
        headers=_auth(api.token),
    )
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "npi"


def test_get_is_paginated(api):
    tid = api.firm.tenant.id
    for i in range(7):
        add_practice(tid, name=f"P{i}")
    add_practice(make_firm("Other").tenant.id, name="Not ours")
    names, url = [], "/api/v1/practices?limit=3"
    while url:  # follow `next`: three pages of 3, 3 and 1
        r = api.get(url, headers=_auth(api.token))
        assert r.status_code == 200
        data = r.get_json()
        assert len(data["items"]) <= 3
        assert all(p["tin"].startswith("XX-XXX") for p in data["items"])
        names.append([p["name"] for p in data["items"]])
        url = data["next"] and "{0.path}?{0.query}".format(urlsplit(data["next"]))
    assert names == [["P0", "P1", "P2"], ["P3", "P4", "P5"], ["P6"]]  # not "Not ours"
    default = api.get("/api/v1/practices", headers=_auth(api.token)).get_json()
    assert len(default["items"]) == 7 and default["next"] is None
    search = api.get("/api/v1/practices?q=p3", headers=_auth(api.token)).get_json()
    assert [p["name"] for p in search["items"]] == ["P3"]


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=x", "cursor=garbage", "page=2", "per_page=3", "status=gone"],
)
def test_bad_paging_is_a_422(api, query):
    r = api.get(f"/api/v1/practices?{query}", headers=_auth(api.token))
    assert r.status_code == 422 and r.get_json()["details"]


def test_get_one_includes_authorization_status_and_agreement_in_force(api):
    tid = api.firm.tenant.id
    pid = add_practice(tid)
    today = firm_today(tid)
    add_agreement(tid, pid, date(2024, 1, 1), "25.00")
    add_agreement(tid, pid, today - timedelta(days=1), "22.50", cap=None)
    add_authorization(tid, pid, today - timedelta(days=3))
    data = api.get(f"/api/v1/practices/{pid}", headers=_auth(api.token)).get_json()
    assert data["authorization_status"] == "valid"
    assert data["fee_agreement"]["percent"] == "22.50"


def test_another_firms_practice_is_a_404(api):
    pid = add_practice(make_firm("Other").tenant.id)
    r = api.get(f"/api/v1/practices/{pid}", headers=_auth(api.token))
    assert r.status_code == 404 and r.is_json


def test_readers_list_but_only_managers_create(db_app, browser):
    firm = make_firm()
    raw = api_token(make_user(firm.tenant, "viewer"))
    assert browser.get("/api/v1/practices", headers=_auth(raw)).status_code == 200
    r = browser.open("/api/v1/practices", method="POST", json=practice_data(), headers=_auth(raw))
    assert r.status_code == 403
    assert count(firm.tenant.id, Practice) == 0


def test_practice_people_cannot_use_the_api(db_app, browser):
    firm = make_firm()
    pid = add_practice(firm.tenant.id)
    raw = api_token(make_user(firm.tenant, "practice_admin", practice_id=pid, with_totp=False))
    assert browser.get("/api/v1/practices", headers=_auth(raw)).status_code == 401
    assert browser.get(f"/api/v1/practices/{pid}", headers=_auth(raw)).status_code == 401
