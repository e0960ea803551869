"""POST /api/v1/remittances and `flask import 835`: the summary's exact fields,
duplicates, 422 with located errors, nothing written on errors, access."""

from __future__ import annotations

import io
import json
from decimal import Decimal

from sqlalchemy import select

from advocate.cases.models import Case, CaseEvent, Payment
from advocate.extensions import db
from advocate.imports.era import parse_835
from advocate.imports.models import (
    Remittance,
    RemittanceClaim,
    RemittanceTransaction,
    UnmatchedClaim,
)
from tenants import tenant_scope
from tests.factories import make_user
from tests.imports.remit_support import Setup, sample_file

D = Decimal
SUMMARY_KEYS = {
    "transactions",
    "claims",
    "matched",
    "created",
    "unmatched",
    "total_paid",
    "duplicate",
}


def post_file(browser, headers, data: bytes, url="/api/v1/remittances", name="era.835", **extra):
    return browser.open(
        url,
        method="POST",
        data={"file": (io.BytesIO(data), name), **extra},
        headers=headers,
        content_type="multipart/form-data",
    )


def snapshot(s: Setup) -> tuple:
    models = (
        Remittance,
        RemittanceTransaction,
        RemittanceClaim,
        UnmatchedClaim,
        Case,
        Payment,
        CaseEvent,
    )
    return tuple(s.count(m) for m in models)


def test_api_returns_exactly_the_summary_fields(setup: Setup, browser):
    setup.case("CN-1", "PCN-1")
    r = post_file(browser, setup.token(), sample_file())
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert set(body) == SUMMARY_KEYS
    assert body == {
        "transactions": 2,
        "claims": 4,
        "matched": 2,
        "created": 1,
        "unmatched": 1,
        "total_paid": "395.00",  # 120.10 + 300 + 95 - 120.10
        "duplicate": False,
    }
    (rem,) = setup.rows(Remittance)
    assert (rem.filename, rem.source, rem.created_by_id) == ("era.835", "api", setup.actor_id)


def test_api_second_upload_is_a_duplicate_and_changes_nothing(setup: Setup, browser):
    setup.case("CN-1", "PCN-1")
    headers = setup.token()
    assert post_file(browser, headers, sample_file()).status_code == 201
    before = snapshot(setup)
    r = post_file(browser, headers, sample_file(), name="renamed.835")
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == SUMMARY_KEYS
    assert body["duplicate"] is True
    assert (body["matched"], body["created"], body["unmatched"]) == (0, 0, 0)
    assert body["total_paid"] == "395.00"
    assert snapshot(setup) == before


def test_api_invalid_file_is_422_with_each_problem_located_and_writes_nothing(
    setup: Setup, browser
):
    setup.case("CN-1", "PCN-1")
    before = snapshot(setup)
    text = sample_file().decode()
    text = text.replace("CLP*PCN-LOW*1*100*95", "CLP*PCN-LOW*1*100*9X5", 1)  # bad amount
    text = text.replace("SE*", "SE*999", 1)  # wrong segment count in transaction 0001
    r = post_file(browser, setup.token(), text.encode())
    assert r.status_code == 422
    body = r.get_json()
    assert "nothing was imported" in body["error"]
    details = body["details"]
    expected = parse_835(text.encode()).errors
    assert len(details) == len(expected) >= 2
    for d in details:
        assert {"transaction", "segment", "element", "message"} <= set(d)
    clp = next(d for d in details if d["element"] == "CLP04")
    assert clp["transaction"] == "0001"
    lines = text.split("~\n")
    assert lines[clp["segment"] - 1].startswith("CLP*PCN-LOW")  # the segment number points at it
    assert "9X5" in clp["message"]
    assert any(d["element"] == "SE01" for d in details)
    assert snapshot(setup) == before


def test_api_needs_a_file_and_a_worker(setup: Setup, browser):
    r = browser.open("/api/v1/remittances", method="POST", headers=setup.token(), json={})
    assert r.status_code == 400 and r.get_json()["error"]
    viewer = make_user(setup.tenant, "viewer")
    r = post_file(browser, setup.token(viewer), sample_file())
    assert r.status_code == 403
    assert snapshot(setup)[0] == 0


def _cli(db_app, *args):
    db.session.commit()
    return db_app.test_cli_runner().invoke(args=list(args))


def test_cli_posts_a_file_and_prints_the_json_summary(setup: Setup, db_app, tmp_path):
    setup.case("CN-1", "PCN-1")
    path = tmp_path / "era.835"
    path.write_bytes(sample_file())
    r = _cli(db_app, "import", "835", str(path), "--tenant", setup.slug)
    assert r.exit_code == 0, r.output
    body = json.loads(r.output)
    assert set(body) == SUMMARY_KEYS
    assert (body["matched"], body["created"], body["unmatched"], body["duplicate"]) == (
        2,
        1,
        1,
        False,
    )
    assert body["total_paid"] == "395.00"
    (rem,) = setup.rows(Remittance)
    assert (rem.source, rem.created_by_id) == ("cli", None)
    r = _cli(db_app, "import", "835", str(path), "--tenant", setup.slug)
    assert r.exit_code == 0 and json.loads(r.output)["duplicate"] is True
    assert setup.count(Remittance) == 1


def test_cli_records_the_user_given(setup: Setup, db_app, tmp_path):
    path = tmp_path / "era.835"
    path.write_bytes(sample_file())
    r = _cli(
        db_app,
        "import",
        "835",
        str(path),
        "--tenant",
        setup.slug,
        "--user",
        setup.advocate.user.email,
    )
    assert r.exit_code == 0, r.output
    (rem,) = setup.rows(Remittance)
    assert rem.created_by_id == setup.actor_id


def test_cli_invalid_file_exits_1_with_located_errors(setup: Setup, db_app, tmp_path):
    path = tmp_path / "bad.835"
    path.write_bytes(sample_file().replace(b"CLP*PCN-LOW*1*100*95", b"CLP*PCN-LOW*1*100*abc"))
    r = _cli(db_app, "import", "835", str(path), "--tenant", setup.slug)
    assert r.exit_code == 1
    body = json.loads(r.output)
    assert body["details"][0]["element"] == "CLP04" and body["details"][0]["transaction"] == "0001"
    assert snapshot(setup) == (0, 0, 0, 0, 0, 0, 0)


def test_cli_unknown_firm_is_an_error(db_app, tmp_path):
    path = tmp_path / "era.835"
    path.write_bytes(sample_file())
    r = _cli(db_app, "import", "835", str(path), "--tenant", "no-such-firm")
    assert r.exit_code != 0 and "No firm" in r.output


def test_api_imports_into_the_tokens_firm_only(db_app, browser):
    from tests.imports.remit_support import build_setup

    a = build_setup("Firm A")
    b = build_setup("Firm B")
    a.case("CN-1", "PCN-1")
    r = post_file(browser, b.token(), sample_file())
    assert r.status_code == 201
    body = r.get_json()
    # None of A's cases: B opens cases for PCN-1 and PCN-NEW; the reversal matches B's new case.
    assert (body["matched"], body["created"], body["unmatched"]) == (1, 2, 1)
    with tenant_scope(a.tenant_id):
        assert db.session.scalar(select(Remittance)) is None
    assert a.count(Payment) == 1
