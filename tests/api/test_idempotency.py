"""Idempotency-Key on API POSTs: a retry returns the first answer and creates nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from advocate.api.models import IdempotencyKey
from advocate.cases.models import Case
from advocate.db import utcnow
from advocate.extensions import db
from advocate.payers.models import Payer
from tenants import tenant_scope
from tests.factories import api_headers, case_payload, make_firm, make_payer, make_practice


def _count(tenant_id, model):
    with tenant_scope(tenant_id):
        return db.session.scalar(select(func.count()).select_from(model))


def test_a_retry_with_the_same_key_and_body_returns_the_first_answer_and_creates_nothing(db_app):
    firm = make_firm("Idem Firm")
    headers = {**api_headers(firm.owner), "Idempotency-Key": "payer-create-1"}
    client = db_app.test_client()
    first = client.post("/api/v1/payers", json={"name": "Northstar", "notes": "a"}, headers=headers)
    assert first.status_code == 201
    # The same data written in another order is the same body.
    again = client.post("/api/v1/payers", json={"notes": "a", "name": "Northstar"}, headers=headers)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(firm.tenant.id, Payer) == 1


def test_the_same_key_with_another_body_is_422_and_a_new_key_creates(db_app):
    firm = make_firm("Idem Firm")
    auth = api_headers(firm.owner)
    client = db_app.test_client()
    assert (
        client.post(
            "/api/v1/payers", json={"name": "A"}, headers={**auth, "Idempotency-Key": "k1"}
        ).status_code
        == 201
    )
    r = client.post("/api/v1/payers", json={"name": "B"}, headers={**auth, "Idempotency-Key": "k1"})
    assert r.status_code == 422
    assert r.get_json()["details"][0]["field"] == "Idempotency-Key"
    assert (
        client.post(
            "/api/v1/payers", json={"name": "B"}, headers={**auth, "Idempotency-Key": "k2"}
        ).status_code
        == 201
    )
    assert _count(firm.tenant.id, Payer) == 2


def test_keys_belong_to_one_token_and_expire(db_app):
    firm = make_firm("Idem Firm")
    one, two = api_headers(firm.owner, "one"), api_headers(firm.owner, "two")
    client = db_app.test_client()
    body = {"name": "Same"}
    assert (
        client.post(
            "/api/v1/payers", json=body, headers={**one, "Idempotency-Key": "k"}
        ).status_code
        == 201
    )
    # Another token's key of the same name is its own: it runs (and the name is now taken).
    r = client.post("/api/v1/payers", json=body, headers={**two, "Idempotency-Key": "k"})
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "name"
    with tenant_scope(firm.tenant.id):
        db.session.execute(
            update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    r = client.post("/api/v1/payers", json=body, headers={**one, "Idempotency-Key": "k"})
    assert (
        r.status_code == 422 and "Idempotent-Replayed" not in r.headers
    )  # ran again: an expired key is new


def test_a_stored_business_error_is_replayed_and_an_invalid_body_is_not_stored(db_app):
    firm = make_firm("Idem Firm")
    auth = {**api_headers(firm.owner), "Idempotency-Key": "case-1"}
    practice_id, payer_id = make_practice(firm.tenant), make_payer(firm.tenant)
    client = db_app.test_client()
    # A body the model refuses is not recorded: the corrected body may use the key.
    r = client.post("/api/v1/cases", json={"practice_id": "x"}, headers=auth)
    assert r.status_code == 422
    r1 = client.post("/api/v1/cases", json=case_payload(practice_id, payer_id), headers=auth)
    r2 = client.post("/api/v1/cases", json=case_payload(practice_id, payer_id), headers=auth)
    assert (r1.status_code, r2.status_code) == (201, 201)
    assert r1.get_json()["id"] == r2.get_json()["id"]
    assert _count(firm.tenant.id, Case) == 1


def test_a_key_is_refused_while_its_first_request_runs(db_app):
    firm = make_firm("Idem Firm")
    auth = api_headers(firm.owner)
    client = db_app.test_client()
    client.post("/api/v1/payers", json={"name": "A"}, headers={**auth, "Idempotency-Key": "busy"})
    with tenant_scope(firm.tenant.id):
        db.session.execute(update(IdempotencyKey).values(status_code=None))  # as if still running
        db.session.commit()
    r = client.post(
        "/api/v1/payers", json={"name": "A"}, headers={**auth, "Idempotency-Key": "busy"}
    )
    assert r.status_code == 409
    r = client.post("/api/v1/payers", json={"name": "A"}, headers={**auth, "Idempotency-Key": " "})
    assert r.status_code == 422


def test_a_multipart_upload_retried_with_its_key_is_stored_once(db_app):
    import io

    from advocate.documents.models import Document
    from tests.documents.samples import pdf
    from tests.factories import make_case

    firm = make_firm("Idem Firm")
    case_id = make_case(firm.tenant, make_practice(firm.tenant), make_payer(firm.tenant))
    auth = {**api_headers(firm.owner), "Idempotency-Key": "upload-1"}
    client = db_app.test_client()

    def upload(content):
        return client.post(
            "/api/v1/documents",
            headers=auth,
            content_type="multipart/form-data",
            data={
                "owner_type": "case",
                "owner_id": str(case_id),
                "category": "eob",
                "file": (io.BytesIO(content), "eob.pdf"),
            },
        )

    first, again = upload(pdf("one")), upload(pdf("one"))  # a new multipart boundary each time
    assert (first.status_code, again.status_code) == (201, 201)
    assert (
        again.get_json()["id"] == first.get_json()["id"]
        and again.headers["Idempotent-Replayed"] == "true"
    )
    assert upload(pdf("two")).status_code == 422  # the same key with another file
    assert _count(firm.tenant.id, Document) == 1
