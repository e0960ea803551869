"""Claims CSV: grouping rows into claims, line-numbered errors, all or nothing,
the firm's header mapping, duplicates, and the API and CLI."""

from __future__ import annotations

import io
import json
from decimal import Decimal

from advocate.cases.models import Case, Payment, ServiceLine
from advocate.csvimport import normalise_header
from advocate.extensions import db
from advocate.imports import claims_csv, services
from advocate.imports.models import ClaimImport, HeaderAlias
from tenants import tenant_scope
from tests.imports.remit_support import GOOD, Setup, row, to_csv

D = Decimal


def plan(s: Setup, data: bytes, aliases=None):
    with tenant_scope(s.tenant_id):
        return claims_csv.plan_claims(data, aliases=aliases)


def run(s: Setup, data: bytes, aliases=None, filename="claims.csv"):
    with tenant_scope(s.tenant_id):
        p = claims_csv.plan_claims(data, aliases=aliases)
        summary = claims_csv.import_claims(
            p, tenant_id=s.tenant_id, actor_id=s.actor_id, filename=filename
        )
        db.session.commit()
        return summary


def test_rows_grouped_by_claim_number_open_one_case_each(setup: Setup):
    p = plan(setup, to_csv(GOOD))
    assert p.ok, [str(e) for e in p.errors]
    assert p.counts()["claims"] == 2 and p.counts()["new"] == 2
    assert setup.count(Case) == 0  # the preview wrote nothing
    summary = run(setup, to_csv(GOOD))
    assert summary.as_json() == {
        "rows": 3,
        "claims": 2,
        "created": 2,
        "existing": 0,
        "duplicate": False,
    }
    first, second = setup.rows(Case)
    assert (first.payer_claim_number, first.status, first.place_of_service) == (
        "CLM-1",
        "intake",
        "22",
    )
    assert (first.billed_total, first.total_paid, first.initial_paid) == (
        D("14250.00"),
        D("1170.80"),
        D("1170.80"),
    )
    assert first.initial_payment_received_on.isoformat() == "2024-06-14"
    assert first.nsa_flagged is False and second.nsa_flagged is True
    assert second.payer_id == setup.payer_id  # found by payer ID
    assert str(second.service_from) == "2024-04-28"
    lines = setup.rows(ServiceLine, ServiceLine.case_id == first.id, order_by=ServiceLine.line_no)
    assert [(ln.code, ln.modifiers) for ln in lines] == [("29881", ["RT"]), ("20610", ["59", "RT"])]
    assert lines[0].adjustments == [
        {"group": "CO", "reason": "45", "amount": "11286.50"},
        {"group": "PR", "reason": "2", "amount": "292.70"},
    ]
    (pay,) = setup.rows(Payment, Payment.case_id == first.id)
    assert pay.is_initial and pay.amount == D("1170.80")
    (imp,) = setup.rows(ClaimImport)
    assert (imp.filename, imp.row_count, imp.created_count) == ("claims.csv", 3, 2)


def test_errors_name_their_line_and_column_and_nothing_is_imported(setup: Setup):
    rows = [
        row(),  # line 2: fine
        row(practice_npi="1000000004", payer_claim_number="CLM-2"),  # line 3: unknown practice
        row(billed="twelve", payer_claim_number="CLM-3"),  # line 4: not an amount
        row(patient_last_name="Smith"),  # line 5: disagrees with line 2 (same claim)
        row(payer_claim_number="CLM-4", paid="99999"),  # line 6: paid more than billed
        row(payer_claim_number="", patient_control_number=""),  # line 7: no claim number
        row(payer_claim_number="CLM-5", service_date="2099-01-01"),  # line 8: in the future
    ]
    data = to_csv(rows)
    p = plan(setup, data)
    assert not p.ok
    found = {(e.line, e.column) for e in p.errors}
    assert {
        (3, "practice_npi"),
        (4, "billed"),
        (5, "patient_last_name"),
        (6, "paid"),
        (7, "payer_claim_number"),
        (8, "service_date"),
    } <= found
    assert (2, None) not in found and not any(e.line == 2 for e in p.errors)
    assert any("line 2" in e.message for e in p.errors if e.line == 5)
    assert str(next(e for e in p.errors if e.line == 4)).startswith("Line 4, column billed:")
    try:
        run(setup, data)
    except claims_csv.ClaimsImportError as err:
        assert len(err.errors) == len(p.errors)
    else:
        raise AssertionError("a file with errors was imported")
    assert setup.count(Case) == 0 and setup.count(ClaimImport) == 0


def test_saved_header_mapping_reads_files_named_differently(setup: Setup):
    rename = {
        "patient_last_name": "Pt Surname",
        "patient_first_name": "Pt Given",
        "billed": "Gross Chg",
    }
    data = to_csv(GOOD, rename=rename)
    p = plan(setup, data)
    assert not p.ok
    assert {"Pt Surname", "Pt Given", "Gross Chg"} <= set(p.preview.ignored_headers)
    assert {e.column for e in p.preview.file_errors} == {
        "patient_last_name",
        "patient_first_name",
        "billed",
    }
    with tenant_scope(setup.tenant_id):
        services.save_header_aliases(
            "claims",
            {v: k for k, v in rename.items()},
            allowed=claims_csv.COLUMN_KEYS,
            actor_id=setup.actor_id,
        )
        db.session.commit()
        aliases = services.header_aliases("claims")
    assert aliases[normalise_header("Pt Surname")] == "patient_last_name"
    assert run(setup, data, aliases=aliases).created == 2
    assert setup.count(HeaderAlias) == 3


def test_the_same_file_twice_changes_nothing_and_existing_claims_are_skipped(setup: Setup):
    data = to_csv(GOOD)
    run(setup, data)
    before = (
        setup.count(Case),
        setup.count(ServiceLine),
        setup.count(Payment),
        setup.count(ClaimImport),
    )
    again = run(setup, data, filename="again.csv")
    assert again.duplicate is True and again.created == 0
    assert (
        setup.count(Case),
        setup.count(ServiceLine),
        setup.count(Payment),
        setup.count(ClaimImport),
    ) == before
    # Another file with one known claim and one new: only the new one opens a case.
    more = to_csv([GOOD[2], row(payer_claim_number="CLM-9", patient_control_number="PCN-9")])
    summary = run(setup, more)
    assert (summary.claims, summary.created, summary.existing, summary.duplicate) == (
        2,
        1,
        1,
        False,
    )
    assert setup.count(Case) == before[0] + 1


def _post(browser, headers, data: bytes, **extra):
    return browser.open(
        "/api/v1/imports/claims",
        method="POST",
        data={"file": (io.BytesIO(data), "claims.csv"), **extra},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_api_imports_claims_and_reports_line_errors(setup: Setup, browser):
    headers = setup.token()
    bad = _post(browser, headers, to_csv([row(billed="x")]))
    assert bad.status_code == 422
    assert bad.get_json()["details"] == [
        {"line": 2, "column": "billed", "message": "'x' is not an amount."}
    ]
    assert setup.count(Case) == 0
    r = _post(browser, headers, to_csv(GOOD))
    assert r.status_code == 201
    assert r.get_json() == {"rows": 3, "claims": 2, "created": 2, "existing": 0, "duplicate": False}
    r = _post(browser, headers, to_csv(GOOD))
    assert r.status_code == 200 and r.get_json()["duplicate"] is True
    renamed = to_csv(
        [row(payer_claim_number="CLM-7", patient_control_number="PCN-7")],
        rename={"billed": "Gross Chg"},
    )
    r = _post(browser, headers, renamed, mapping=json.dumps({"Gross Chg": "billed"}))
    assert r.status_code == 201 and r.get_json()["created"] == 1
    r = _post(browser, headers, renamed, mapping=json.dumps({"Gross Chg": "nonsense"}))
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "mapping"


def test_cli_imports_claims_with_a_mapping(setup: Setup, db_app, tmp_path):
    path = tmp_path / "claims.csv"
    path.write_bytes(to_csv(GOOD, rename={"billed": "Gross Chg"}))
    db.session.commit()
    runner = db_app.test_cli_runner()
    slug = setup.slug
    r = runner.invoke(args=["import", "claims", str(path), "--tenant", slug])
    assert r.exit_code == 1
    assert any(d["column"] == "billed" for d in json.loads(r.output)["details"])
    r = runner.invoke(
        args=["import", "claims", str(path), "--tenant", slug, "--map", "Gross Chg=billed"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {
        "rows": 3,
        "claims": 2,
        "created": 2,
        "existing": 0,
        "duplicate": False,
    }
    r = runner.invoke(
        args=["import", "claims", str(path), "--tenant", slug, "--map", "Gross Chg=billed"]
    )
    assert json.loads(r.output)["duplicate"] is True
    assert setup.count(Case) == 2
