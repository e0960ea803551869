"""The older API lists (cases, payers, practices, invoices, a practice's fee
ledger) are cursor-paginated: a stable order ending in the id, `limit` rows a
page and a `next` link. A walk over several pages returns every row exactly once,
in order, even when a row is added between two pages; `page`/`per_page` (the
old page numbers) are refused by name rather than answering page 1 again."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import count
from urllib.parse import urlsplit

import pytest

from advocate.billing.models import FeeLedgerEntry, Invoice
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import api_headers, make_case, make_firm, make_payer, make_practice

_n = count(1)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def _add(tenant_id: int, row) -> int:
    with tenant_scope(tenant_id):
        db.session.add(row)
        db.session.flush()
        row_id = row.id
        db.session.commit()
    return row_id


def _ledger_entry(firm, practice_id, case_id, on: date) -> FeeLedgerEntry:
    return FeeLedgerEntry(
        tenant_id=firm.tenant.id,
        practice_id=practice_id,
        case_id=case_id,
        kind="adjustment",
        amount=Decimal("10.00"),
        effective_on=on,
        explanation="Manual adjustment",
        reason="test",
    )


def _invoice(firm, practice_id) -> Invoice:
    return Invoice(
        tenant_id=firm.tenant.id,
        practice_id=practice_id,
        kind="monthly",
        business_key=f"test-{next(_n)}",
        issued_on=date(2026, 1, 1),
        status="open",
    )


# Each list: (url, make the rows -> None, add one more row between pages, sort key of an item)
def _cases(firm, practice_id, payer_id):
    for i in range(5):
        make_case(firm.tenant, practice_id, payer_id, payer_claim_number=f"C-{i}")
    return (
        "/api/v1/cases",
        lambda: make_case(firm.tenant, practice_id, payer_id, payer_claim_number="C-new"),
        lambda item: (-item["id"],),
    )


def _payers(firm, practice_id, payer_id):
    for name in ("Delta Plan", "Alpha Plan", "Echo Plan", "Bravo Plan"):
        make_payer(firm.tenant, name=name)
    return (
        "/api/v1/payers",
        lambda: make_payer(firm.tenant, name="Charlie Plan"),
        lambda item: (item["name"].lower(), item["id"]),
    )


def _practices(firm, practice_id, payer_id):
    for i, name in enumerate(("Delta Clinic", "Alpha Clinic", "Echo Clinic", "Alpha Clinic")):
        make_practice(firm.tenant, name=name, npi=f"10000000{i:02d}")
    return (
        "/api/v1/practices",
        lambda: make_practice(firm.tenant, name="Bravo Clinic", npi="1000000099"),
        lambda item: (item["name"], item["id"]),
    )


def _invoices(firm, practice_id, payer_id):
    for _ in range(5):
        _add(firm.tenant.id, _invoice(firm, practice_id))
    return (
        "/api/v1/invoices",
        lambda: _add(firm.tenant.id, _invoice(firm, practice_id)),
        lambda item: (-item["id"],),
    )


def _ledger(firm, practice_id, payer_id):
    case_id = make_case(firm.tenant, practice_id, payer_id)
    # Ties on the date: the id breaks them.
    for on in ("2026-01-05", "2026-01-05", "2026-02-01", "2026-01-05", "2025-12-31"):
        _add(firm.tenant.id, _ledger_entry(firm, practice_id, case_id, date.fromisoformat(on)))
    return (
        f"/api/v1/practices/{practice_id}/ledger",
        lambda: _add(firm.tenant.id, _ledger_entry(firm, practice_id, case_id, date(2026, 1, 5))),
        lambda item: (-date.fromisoformat(item["effective_on"]).toordinal(), -item["id"]),
    )


@pytest.mark.parametrize("setup", [_cases, _payers, _practices, _invoices, _ledger])
def test_a_walk_returns_every_row_once_in_order_even_with_an_insert_between_pages(db_app, setup):
    firm = make_firm("Cursor Firm")
    practice_id, payer_id = make_practice(firm.tenant), make_payer(firm.tenant)
    auth = api_headers(firm.owner)
    client = db_app.test_client()
    url, insert, key = setup(firm, practice_id, payer_id)

    whole = client.get(url + "?limit=100", headers=auth)
    assert whole.status_code == 200, whole.get_json()
    before = whole.get_json()["items"]
    assert whole.get_json()["next"] is None
    assert len(before) >= 5
    assert [key(i) for i in before] == sorted(key(i) for i in before)  # the stated order

    seen, pages = [], 0
    r = client.get(url + "?limit=2", headers=auth)
    while True:
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert len(body["items"]) <= 2
        seen += body["items"]
        pages += 1
        if pages == 1:
            insert()  # a row added while the client walks
        if body["next"] is None:
            break
        assert urlsplit(body["next"]).query.count("limit=2") == 1
        r = client.get(_path(body["next"]), headers=auth)
    ids = [i["id"] for i in seen]
    assert pages >= 3 and len(ids) == len(set(ids))  # nothing twice
    assert [key(i) for i in seen] == sorted(key(i) for i in seen)  # never out of order
    before_ids = [i["id"] for i in before]
    assert [i for i in ids if i in before_ids] == before_ids  # every earlier row, in order
    assert len(ids) - len(before_ids) <= 1  # at most the new one besides


@pytest.mark.parametrize(
    "url", ["/api/v1/cases", "/api/v1/payers", "/api/v1/practices", "/api/v1/invoices", "ledger"]
)
def test_page_numbers_are_refused_by_name(db_app, url):
    firm = make_firm("Cursor Firm")
    practice_id = make_practice(firm.tenant)
    if url == "ledger":
        url = f"/api/v1/practices/{practice_id}/ledger"
    client = db_app.test_client()
    r = client.get(url + "?page=2&per_page=10", headers=api_headers(firm.owner))
    assert r.status_code == 422
    assert {d["field"] for d in r.get_json()["details"]} == {"page", "per_page"}
    r = client.get(url + "?limit=0", headers=api_headers(firm.owner))
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "limit"
