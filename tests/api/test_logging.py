"""Logs: one JSON line per request with its ids, the request id in a header
and on the 500 page, and no patient's name anywhere."""

from __future__ import annotations

import json
import logging

from flask import g

from advocate.logs import REQUEST_LOGGER, JsonFormatter
from tests.factories import (
    api_headers,
    case_payload,
    make_case,
    make_firm,
    make_payer,
    make_practice,
)

PATIENT = ("Zebediah", "Quartermaine")


def test_a_request_about_a_patient_logs_one_json_line_without_the_name(db_app, caplog):
    firm = make_firm("Log Firm")
    practice_id, payer_id = make_practice(firm.tenant), make_payer(firm.tenant)
    case_id = make_case(
        firm.tenant,
        practice_id,
        payer_id,
        patient_first_name=PATIENT[0],
        patient_last_name=PATIENT[1],
    )
    auth = api_headers(firm.owner)
    client = db_app.test_client()
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    got = client.get(f"/api/v1/cases/{case_id}", headers=auth)
    assert got.status_code == 200 and got.get_json()["patient"]["last_name"] == PATIENT[1]
    searched = client.get(f"/api/v1/cases?q={PATIENT[1]}", headers=auth)
    assert searched.status_code == 200
    posted = client.post(
        "/api/v1/cases",
        headers=auth,
        json=case_payload(
            practice_id,
            payer_id,
            patient_first_name=PATIENT[0],
            patient_last_name=PATIENT[1],
            patient_dob="2099-01-01",
        ),
    )
    assert posted.status_code == 422

    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    text = "\n".join(lines)
    for name in PATIENT:
        assert name not in text and name.lower() not in text.lower()
    request_lines = [
        json.loads(formatter.format(r)) for r in caplog.records if r.name == REQUEST_LOGGER
    ]
    assert len(request_lines) == 3
    first = request_lines[0]
    assert first["request_id"] == got.headers["X-Request-ID"]
    assert (first["firm_id"], first["user_id"]) == (firm.tenant.id, firm.owner.user.id)
    assert (first["route"], first["method"], first["status"]) == (
        "/api/v1/cases/<int:case_id>",
        "GET",
        200,
    )
    assert first["sql_count"] > 0 and first["duration_ms"] >= 0
    assert request_lines[1]["route"] == "/api/v1/cases"  # the route's pattern: no query string
    assert request_lines[2]["status"] == 422
    assert len({line["request_id"] for line in request_lines}) == 3


def test_a_well_formed_incoming_request_id_is_kept_and_a_bad_one_replaced(db_app):
    client = db_app.test_client()
    r = client.get("/login", headers={"X-Request-ID": "lb-1234abcd"})
    assert r.headers["X-Request-ID"] == "lb-1234abcd"
    r = client.get("/login", headers={"X-Request-ID": "<script>"})
    assert r.headers["X-Request-ID"] != "<script>" and len(r.headers["X-Request-ID"]) == 32


def test_the_500_page_shows_the_request_id(db_app):
    from advocate.web import _server_error

    with db_app.test_request_context("/cases"):
        g.request_id = "req-0123456789"
        html, status = _server_error(RuntimeError("boom"))
    assert status == 500 and "req-0123456789" in html
