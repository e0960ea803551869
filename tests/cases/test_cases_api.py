"""The cases API: create with lines, read, transitions, communications, offers."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import func, select

from advocate.cases.models import Case, CaseEvent, Payment, ServiceLine
from advocate.extensions import db
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
    b = make_browser(f"10.7.0.{person.membership_id % 250 + 1}")
    login(b, person)
    r = b.post("/account/tokens", {"name": "api test"})
    raw = re.search(r'data-testid="new-token">([^<]+)<', r.get_data(as_text=True)).group(1)
    return {"Authorization": f"Bearer {raw}"}


def _setup(make_browser, role="advocate"):
    firm = make_firm("Api Firm")
    person = make_user(firm.tenant, role)
    practice_id = make_practice(firm.tenant)
    payer_id = make_payer(firm.tenant)
    return firm, person, practice_id, payer_id, _token(make_browser, person)


def _count(tenant_id, model):
    with tenant_scope(tenant_id):
        return db.session.scalar(select(func.count()).select_from(model))


def test_create_case_with_lines_returns_201_and_totals(db_app, make_browser):
    firm, person, practice_id, payer_id, auth = _setup(make_browser)
    client = db_app.test_client()
    r = client.post("/api/v1/cases", json=case_payload(practice_id, payer_id), headers=auth)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["reference"] == "C-000001"
    assert body["status"] == "intake"
    assert body["billed_total"] == "650.00"
    assert body["allowed_total"] == "200.00"
    assert body["total_paid"] == "160.00"
    assert body["initial_paid"] == "160.00"
    # at stake: billed 650 - paid 160 - patient responsibility 40
    assert body["amount_at_stake"] == "450.00"
    assert [ln["code"] for ln in body["lines"]] == ["99213", "20610"]
    assert body["lines"][1]["modifiers"] == ["RT"]
    assert body["payments"][0]["is_initial"] is True
    assert isinstance(body["lines"][0]["billed"], str)


def test_bad_input_is_422_with_field_details_and_nothing_saved(db_app, make_browser):
    firm, person, practice_id, payer_id, auth = _setup(make_browser)
    client = db_app.test_client()
    bad_lines = case_payload(practice_id, payer_id)["lines"]
    bad_lines[0] = dict(bad_lines[0], paid="300.00")  # paid more than billed
    bad_lines[1] = dict(bad_lines[1], units=-1)
    cases = {
        "practice_id": case_payload(999999, payer_id),
        "payer_id": case_payload(practice_id, 999999),
        "lines[1].paid": case_payload(practice_id, payer_id, lines=bad_lines),
        "service_from": case_payload(
            practice_id, payer_id, service_from="2099-01-01", service_to="2099-01-01"
        ),
    }
    for field, payload in cases.items():
        r = client.post("/api/v1/cases", json=payload, headers=auth)
        assert r.status_code == 422, (field, r.get_json())
        fields = [d["field"] for d in r.get_json()["details"]]
        assert field in fields, (field, fields)
    r = client.post(
        "/api/v1/cases", json=case_payload(practice_id, payer_id, lines=bad_lines), headers=auth
    )
    assert "lines[2].units" in [d["field"] for d in r.get_json()["details"]]
    for model in (Case, ServiceLine, Payment, CaseEvent):
        assert _count(firm.tenant.id, model) == 0


def test_get_case_detail_and_another_firms_case_is_404(db_app, make_browser):
    firm, person, practice_id, payer_id, auth = _setup(make_browser)
    other = make_firm("Other")
    other_case = make_case(other.tenant, make_practice(other.tenant), make_payer(other.tenant))
    mine = make_case(firm.tenant, practice_id, payer_id)
    client = db_app.test_client()
    r = client.get(f"/api/v1/cases/{mine}", headers=auth)
    assert r.status_code == 200
    body = r.get_json()
    assert body["patient"]["member_id"] == "W123456789"
    assert {"lines", "payments", "offers", "appeals", "deadlines", "status_history"} <= set(body)
    assert client.get(f"/api/v1/cases/{other_case}", headers=auth).status_code == 404
    from advocate.audit.models import AuditEvent

    with tenant_scope(firm.tenant.id):
        views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.view")).all()
    assert len(views) == 1 and views[0].is_phi and views[0].object_id == str(mine)


def test_transitions_allowed_and_refused_with_reason(db_app, make_browser):
    firm, person, practice_id, payer_id, auth = _setup(make_browser)
    cid = make_case(firm.tenant, practice_id, payer_id)
    client = db_app.test_client()
    url = f"/api/v1/cases/{cid}/transitions"
    r = client.post(url, json={"to": "settled", "agreed_amount": "500.00"}, headers=auth)
    assert r.status_code == 409
    assert "cannot move" in r.get_json()["error"]
    for to in ("gathering_evidence", "ready_to_negotiate", "negotiating"):
        assert client.post(url, json={"to": to}, headers=auth).status_code == 200
    r = client.post(url, json={"to": "settled"}, headers=auth)
    assert r.status_code == 409 and "agreed amount" in r.get_json()["error"]
    r = client.post(url, json={"to": "settled", "agreed_amount": "520.00"}, headers=auth)
    assert r.status_code == 200 and r.get_json()["status"] == "settled"
    history = client.get(f"/api/v1/cases/{cid}", headers=auth).get_json()["status_history"]
    assert [h["to"] for h in history] == [
        "gathering_evidence",
        "ready_to_negotiate",
        "negotiating",
        "settled",
    ]
    assert all(h["actor_id"] == person.user.id for h in history)


def test_communications_and_offers(db_app, make_browser):
    firm, person, practice_id, payer_id, auth = _setup(make_browser)
    cid = make_case(firm.tenant, practice_id, payer_id)
    client = db_app.test_client()
    r = client.post(
        f"/api/v1/cases/{cid}/communications",
        headers=auth,
        json={
            "kind": "call",
            "direction": "outbound",
            "occurred_at": "2026-03-10T15:00:00+00:00",
            "contact_name": "Rep Smith",
            "reference_number": "REF-77",
            "summary": "Asked for reprocessing",
            "follow_up_on": "2026-03-20",
        },
    )
    assert r.status_code == 201, r.get_json()
    r = client.post(
        f"/api/v1/cases/{cid}/communications",
        headers=auth,
        json={"kind": "telegram", "direction": "x"},
    )
    assert r.status_code == 422
    assert {"kind", "direction", "summary"} <= {d["field"] for d in r.get_json()["details"]}
    r = client.post(
        f"/api/v1/cases/{cid}/offers",
        headers=auth,
        json={
            "party": "payer",
            "amount": "300.50",
            "basis": "120% of Medicare",
            "offered_on": "2026-03-11",
        },
    )
    assert r.status_code == 201 and r.get_json()["amount"] == "300.50"
    r = client.post(
        f"/api/v1/cases/{cid}/offers", headers=auth, json={"party": "payer", "amount": "-5"}
    )
    assert r.status_code == 422
    detail = client.get(f"/api/v1/cases/{cid}", headers=auth).get_json()
    assert detail["next_follow_up_on"] == "2026-03-20"
    assert len(detail["offers"]) == 1 and len(detail["communications"]) == 1


def test_viewer_cannot_write(db_app, make_browser):
    firm, person, practice_id, payer_id, auth = _setup(make_browser, role="viewer")
    client = db_app.test_client()
    r = client.post("/api/v1/cases", json=case_payload(practice_id, payer_id), headers=auth)
    assert r.status_code == 403


def test_list_filters_and_pagination(db_app, make_browser):
    firm, person, practice_id, payer_id, auth = _setup(make_browser)
    other_payer = make_payer(firm.tenant, name="Second Plan")
    for i in range(3):
        make_case(firm.tenant, practice_id, payer_id, payer_claim_number=f"A-{i}")
    make_case(firm.tenant, practice_id, other_payer, payer_claim_number="B-1")
    client = db_app.test_client()
    r = client.get(f"/api/v1/cases?payer_id={other_payer}", headers=auth)
    assert r.status_code == 200
    body = r.get_json()
    assert [c["payer_claim_number"] for c in body["items"]] == ["B-1"] and body["next"] is None
    r = client.get("/api/v1/cases?limit=2", headers=auth)
    body = r.get_json()
    assert len(body["items"]) == 2 and body["next"]
    nxt = urlsplit(body["next"])
    second = client.get(f"{nxt.path}?{nxt.query}", headers=auth).get_json()
    assert len(second["items"]) == 2 and second["next"] is None
    claims = [c["payer_claim_number"] for c in body["items"] + second["items"]]
    assert sorted(claims) == ["A-0", "A-1", "A-2", "B-1"]  # each once, newest first
    assert claims == ["B-1", "A-2", "A-1", "A-0"]
    r = client.get("/api/v1/cases?amount_min=abc", headers=auth)
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "amount_min"
