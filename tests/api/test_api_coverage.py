"""What a firm does in the browser, through the API: fee agreements, payments
with their fee accrual, documents, appeals, single case agreements; cursor
pagination; another firm's ids are 404."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

from sqlalchemy import func, select

from advocate.billing.models import FeeLedgerEntry
from advocate.cases.models import Payment
from advocate.documents.models import Document
from advocate.extensions import db
from tenants import tenant_scope
from tests.documents.samples import pdf
from tests.factories import api_headers, make_case, make_firm, make_payer, make_practice


def _firm(name="Api Firm"):
    firm = make_firm(name)
    practice_id, payer_id = make_practice(firm.tenant), make_payer(firm.tenant)
    return firm, practice_id, payer_id, api_headers(firm.owner)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def test_fee_agreement_versions_are_created_and_listed_newest_first_with_a_cursor(db_app):
    firm, practice_id, _payer, auth = _firm()
    client = db_app.test_client()
    url = f"/api/v1/practices/{practice_id}/fee-agreements"
    r = client.post(
        url,
        json={"effective_date": "2025-01-01", "percent": "25", "basis": "incremental"},
        headers=auth,
    )
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["percent"], r.get_json()["billing_cadence"]) == ("25.00", "per_settlement")
    r = client.post(
        url,
        json={
            "effective_date": "2026-01-01",
            "percent": "30.5",
            "basis": "gross",
            "minimum": "50.00",
            "billing_cadence": "monthly",
        },
        headers=auth,
    )
    assert r.status_code == 201
    # Versions are added, not overwritten: the same date again is refused, naming the field.
    r = client.post(
        url, json={"effective_date": "2026-01-01", "percent": "10", "basis": "gross"}, headers=auth
    )
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "effective_date"
    r = client.post(
        url, json={"effective_date": "2026-02-01", "percent": "10", "basis": "net"}, headers=auth
    )
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "basis"

    first = client.get(url + "?limit=1", headers=auth).get_json()
    assert [a["effective_date"] for a in first["items"]] == ["2026-01-01"]
    second = client.get(_path(first["next"]), headers=auth).get_json()
    assert [a["effective_date"] for a in second["items"]] == ["2025-01-01"]
    assert second["next"] is None
    r = client.get(url + "?cursor=garbage", headers=auth)
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "cursor"


def test_a_settlement_payment_accrues_its_fee_and_a_recoupment_is_negative(db_app):
    firm, practice_id, payer_id, auth = _firm()
    client = db_app.test_client()
    client.post(
        f"/api/v1/practices/{practice_id}/fee-agreements",
        json={"effective_date": "2020-01-01", "percent": "25", "basis": "incremental"},
        headers=auth,
    )
    case_id = make_case(firm.tenant, practice_id, payer_id)
    url = f"/api/v1/cases/{case_id}/payments"
    r = client.post(
        url,
        json={
            "paid_on": "2026-03-20",
            "amount": "400.00",
            "source": "settlement",
            "reference": "CHK 1001",
        },
        headers=auth,
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["payment"]["amount"] == "400.00" and body["payment"]["source"] == "settlement"
    with tenant_scope(firm.tenant.id):
        entries = db.session.scalars(
            select(FeeLedgerEntry).where(FeeLedgerEntry.payment_id == body["payment"]["id"])
        ).all()
    assert entries, "posting a payment accrues its fee"
    assert [e["id"] for e in body["fees"]] == [e.id for e in entries]
    assert Decimal(body["fees"][0]["amount"]) == entries[0].amount
    r = client.post(
        url, json={"paid_on": "2026-03-21", "amount": "50.00", "source": "recoupment"}, headers=auth
    )
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "amount"
    r = client.post(
        url,
        json={"paid_on": "2026-03-21", "amount": "-50.00", "source": "recoupment"},
        headers=auth,
    )
    assert r.status_code == 201
    r = client.post(
        url, json={"paid_on": "2026-03-21", "amount": "5.00", "source": "remittance"}, headers=auth
    )
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "source"
    listed = client.get(url, headers=auth).get_json()
    assert [p["amount"] for p in listed["items"]] == ["160.00", "400.00", "-50.00"]


def test_documents_upload_list_and_download_through_a_short_lived_link(db_app):
    firm, practice_id, payer_id, auth = _firm()
    case_id = make_case(firm.tenant, practice_id, payer_id)
    client = db_app.test_client()
    content = pdf("EOB for the API")
    r = client.post(
        "/api/v1/documents",
        headers=auth,
        content_type="multipart/form-data",
        data={
            "owner_type": "case",
            "owner_id": str(case_id),
            "category": "eob",
            "file": (__import__("io").BytesIO(content), "eob.pdf"),
        },
    )
    assert r.status_code == 201, r.get_json()
    doc = r.get_json()
    assert (doc["kind"], doc["size_bytes"], doc["owner_id"]) == ("pdf", len(content), case_id)
    listed = client.get(
        f"/api/v1/documents?owner_type=case&owner_id={case_id}", headers=auth
    ).get_json()
    assert [d["id"] for d in listed["items"]] == [doc["id"]]
    link = client.get(f"/api/v1/documents/{doc['id']}/link", headers=auth).get_json()
    assert link["expires_in"] == 300
    got = client.get(_path(link["url"]))  # no token needed: the link is the credential
    assert got.status_code == 200 and got.data == content
    got.close()
    assert client.get(_path(link["url"]) + "x").status_code == 404  # a forged token
    r = client.post(
        "/api/v1/documents",
        headers=auth,
        content_type="multipart/form-data",
        data={"owner_type": "case", "owner_id": str(case_id), "category": "nonsense"},
    )
    assert r.status_code == 422 and {d["field"] for d in r.get_json()["details"]} == {
        "category",
        "file",
    }


def test_appeals_and_single_case_agreements(db_app):
    firm, practice_id, payer_id, auth = _firm()
    case_id = make_case(firm.tenant, practice_id, payer_id)
    client = db_app.test_client()
    r = client.post(
        f"/api/v1/cases/{case_id}/appeals",
        json={"level": 1, "filed_on": "2026-03-10", "method": "fax"},
        headers=auth,
    )
    assert r.status_code == 201, r.get_json()
    appeal_id = r.get_json()["id"]
    r = client.post(
        f"/api/v1/cases/{case_id}/appeals/{appeal_id}/decision",
        json={"outcome": "overturned", "decision_on": "2026-03-20", "amount_awarded": "120.00"},
        headers=auth,
    )
    assert r.status_code == 200 and r.get_json()["amount_awarded"] == "120.00"
    assert [
        a["id"]
        for a in client.get(f"/api/v1/cases/{case_id}/appeals", headers=auth).get_json()["items"]
    ] == [appeal_id]
    sca = {
        "practice_id": practice_id,
        "payer_id": payer_id,
        "patient_first_name": "Jane",
        "patient_last_name": "Doe",
        "codes": ["99213"],
        "rate_type": "fixed",
        "fixed_rates": {"99213": "150.00"},
    }
    r = client.post("/api/v1/scas", json=sca, headers=auth)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["fixed_rates"] == {"99213": "150.00"}
    r = client.post("/api/v1/scas", json=dict(sca, document_id=999999), headers=auth)
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "document_id"
    assert len(client.get("/api/v1/scas", headers=auth).get_json()["items"]) == 1


def test_another_firms_ids_are_404_and_change_nothing(db_app):
    firm_a, practice_a, payer_a, _auth_a = _firm("Firm A")
    case_a = make_case(firm_a.tenant, practice_a, payer_a)
    _firm_b, _p, _y, auth_b = _firm("Firm B")
    client = db_app.test_client()
    assert (
        client.get(f"/api/v1/practices/{practice_a}/fee-agreements", headers=auth_b).status_code
        == 404
    )
    r = client.post(
        f"/api/v1/practices/{practice_a}/fee-agreements",
        json={"effective_date": "2025-01-01", "percent": "25", "basis": "incremental"},
        headers=auth_b,
    )
    assert r.status_code == 404
    r = client.post(
        f"/api/v1/cases/{case_a}/payments",
        json={"paid_on": "2026-03-20", "amount": "1.00", "source": "check"},
        headers=auth_b,
    )
    assert r.status_code == 404
    r = client.post(
        "/api/v1/documents",
        headers=auth_b,
        content_type="multipart/form-data",
        data={
            "owner_type": "case",
            "owner_id": str(case_a),
            "category": "eob",
            "file": (__import__("io").BytesIO(pdf()), "x.pdf"),
        },
    )
    assert r.status_code == 404
    r = client.post(
        "/api/v1/scas",
        headers=auth_b,
        json={
            "practice_id": practice_a,
            "payer_id": payer_a,
            "patient_first_name": "J",
            "patient_last_name": "D",
            "codes": ["99213"],
            "rate_type": "fixed",
            "fixed_rates": {"99213": "1.00"},
        },
    )
    assert r.status_code == 422 and {d["field"] for d in r.get_json()["details"]} >= {
        "practice_id",
        "payer_id",
    }
    with tenant_scope(firm_a.tenant.id):
        assert (
            db.session.scalar(select(func.count()).select_from(Payment)) == 1
        )  # the initial payment only
        assert db.session.scalar(select(func.count()).select_from(Document)) == 0


def test_a_cases_deadlines_are_added_by_hand_and_marked_done(db_app):
    from tests.factories import firm_today

    firm, practice_id, payer_id, auth = _firm()
    case_id = make_case(firm.tenant, practice_id, payer_id)
    client = db_app.test_client()
    due = firm_today(firm.tenant.id).isoformat()
    r = client.post(
        f"/api/v1/cases/{case_id}/deadlines",
        json={"label": "Call the payer", "due_on": due},
        headers=auth,
    )
    assert r.status_code == 201, r.get_json()
    [manual] = [d for d in r.get_json()["deadlines"] if d["is_manual"]]
    assert (manual["label"], manual["due_on"], manual["is_done"]) == ("Call the payer", due, False)
    r = client.post(f"/api/v1/cases/{case_id}/deadlines/{manual['id']}/done", json={}, headers=auth)
    assert r.status_code == 200
    assert [d["is_done"] for d in r.get_json()["deadlines"] if d["id"] == manual["id"]] == [True]
    r = client.post(
        f"/api/v1/cases/{case_id}/deadlines",
        json={"label": "x", "due_on": "tomorrow"},
        headers=auth,
    )
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "due_on"
    r = client.post(f"/api/v1/cases/{case_id}/deadlines/999999/done", json={}, headers=auth)
    assert r.status_code == 404
