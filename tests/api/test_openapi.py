"""The API's OpenAPI 3.1 description: every route described, the document valid,
bodies validated by the described models, responses checked against their schemas."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from advocate.api import openapi
from advocate.extensions import db
from advocate.payers.models import Payer
from tenants import tenant_scope
from tests.factories import api_headers, make_case, make_firm, make_payer, make_practice


def _operations(app):
    for rule in openapi.api_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_api_route_in_the_url_map_is_described(db_app):
    spec = openapi.build_spec(db_app)
    missing = []
    for rule, method in _operations(db_app):
        path, _ = openapi._openapi_path(rule.rule)
        op = spec["paths"].get(path, {}).get(method.lower())
        if openapi.doc_of(db_app.view_functions[rule.endpoint]) is None or op is None:
            missing.append(f"{method} {rule.rule}")
            continue
        assert op["summary"], f"{method} {rule.rule} has no summary (the view's docstring)"
        assert any(s.startswith("2") for s in op["responses"]), (
            f"{method} {rule.rule}: no success response"
        )
    assert not missing, "API routes without @describe: " + ", ".join(missing)
    assert len(list(_operations(db_app))) >= 25


def test_the_document_is_valid_openapi_3_1_and_served(db_app):
    r = db_app.test_client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on an invalid OpenAPI document
    create = doc["paths"]["/api/v1/payers"]["post"]
    schema_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    payer_in = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert "name" in payer_in["required"] and payer_in["additionalProperties"] is False
    assert {"401", "403", "422", "201"} <= set(create["responses"])
    case_in = doc["components"]["schemas"]["CaseIn"]
    assert "practice_id" in case_in["required"] and "lines" in case_in["required"]
    money = doc["components"]["schemas"]["OfferIn"]["properties"]["amount"]
    assert money["type"] == "string" and "pattern" in money


def test_the_reference_page_renders_from_the_spec_without_external_assets(db_app):
    r = db_app.test_client().get("/api/v1/docs")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "POST /api/v1/cases" in html and "Open a case with its service lines." in html
    assert "<script" not in html and "cdn" not in html.lower()
    assert 'id="schema-CaseIn"' in html


def test_a_number_for_a_text_field_is_422_and_creates_nothing(db_app):
    firm = make_firm("Spec Firm")
    headers = api_headers(firm.owner)
    client = db_app.test_client()
    r = client.post("/api/v1/payers", json={"name": 42}, headers=headers)
    assert r.status_code == 422
    assert r.get_json()["details"] == [
        {"field": "name", "message": "Input should be a valid string"}
    ]
    with tenant_scope(firm.tenant.id):
        assert db.session.scalar(select(func.count()).select_from(Payer)) == 0


def test_body_errors_name_nested_fields_and_money_must_be_text(db_app):
    firm = make_firm("Spec Firm")
    headers = api_headers(firm.owner)
    practice_id, payer_id = make_practice(firm.tenant), make_payer(firm.tenant)
    case_id = make_case(firm.tenant, practice_id, payer_id)
    client = db_app.test_client()
    r = client.post(
        f"/api/v1/cases/{case_id}/offers", json={"party": "payer", "amount": 300.5}, headers=headers
    )
    assert r.status_code == 422
    assert r.get_json()["details"][0]["field"] == "amount"
    assert "string" in r.get_json()["details"][0]["message"]
    r = client.post(
        f"/api/v1/cases/{case_id}/offers",
        json={"party": "insurer", "amount": "1.005"},
        headers=headers,
    )
    fields = {d["field"]: d["message"] for d in r.get_json()["details"]}
    assert set(fields) == {"party", "amount"} and "amount" in fields["amount"]
    bad = {
        "practice_id": practice_id,
        "payer_id": payer_id,
        "plan_type": "erisa_self_funded",
        "patient_first_name": "A",
        "patient_last_name": "B",
        "service_from": 1700000000,
        "lines": [
            {"code": "99213", "billed": "10.00"},
            {"code": "99214", "billed": "x", "extra": 1},
        ],
    }
    r = client.post("/api/v1/cases", json=bad, headers=headers)
    assert r.status_code == 422
    fields = {d["field"] for d in r.get_json()["details"]}
    assert fields == {"service_from", "lines[2].billed", "lines[2].extra"}


def test_the_response_check_catches_an_undescribed_field(db_app):
    """The check the tests run on every API response fails when a body leaves its schema."""
    firm = make_firm("Spec Firm")
    headers = api_headers(firm.owner)
    from flask import Response

    with db_app.test_request_context("/api/v1/me", headers=headers):
        from flask import request

        request.url_rule = next(r for r in db_app.url_map.iter_rules() if r.endpoint == "api.me")
        good = Response(
            '{"user": {"id": 1, "name": "a", "email": "b"}, "role": "owner", "tenant": {"id": 1, "name": "F", "slug": "f"}}',
            mimetype="application/json",
        )
        openapi.check_response(good)
        bad = Response('{"user": {"id": "1"}, "role": "owner"}', mimetype="application/json")
        with pytest.raises(AssertionError, match="does not match its schema"):
            openapi.check_response(bad)
        undescribed = Response("{}", status=418, mimetype="application/json")
        with pytest.raises(AssertionError, match="does not list"):
            openapi.check_response(undescribed)
