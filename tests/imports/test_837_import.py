"""837 import: cases opened or updated as sent, counts, idempotency (file,
interchange, claim), the review list fixed in place, nothing partial."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from advocate.audit.models import AuditEvent
from advocate.cases.models import Case, CaseEvent, ServiceLine
from advocate.extensions import db
from advocate.imports import claims837_import as svc
from advocate.imports.claims837_fixtures import BatchSpec, ClaimSpec, LineSpec, build_837
from advocate.imports.claims837_models import X12Claim, X12ClaimFile, X12ClaimInterchange
from tenants import tenant_scope
from tests.factories import make_payer
from tests.imports.remit_support import PAYER_ID, Setup

D = Decimal
TODAY = date(2025, 1, 15)


def batch(*claims: ClaimSpec, **kw) -> BatchSpec:
    kw.setdefault("payer_id", PAYER_ID)
    return BatchSpec(list(claims), **kw)


def lines_a():
    return [
        LineSpec("99213", "150.00", place_of_service="11", control_number="A-1"),
        LineSpec("29881", "12750.00", modifiers=("RT",), control_number="A-2"),
    ]


def file_of(*batches: BatchSpec, kind="P", control="000000001") -> bytes:
    return build_837(list(batches), kind, control_number=control).encode()


def run(s: Setup, data: bytes, filename="claims.837", source="upload"):
    with tenant_scope(s.tenant_id):
        return svc.commit_837(
            data,
            tenant_id=s.tenant_id,
            actor_id=s.actor_id,
            filename=filename,
            source=source,
            today=TODAY,
        )


def test_claims_open_cases_exactly_as_sent(setup: Setup):
    data = file_of(
        batch(ClaimSpec("PCN-1", lines_a(), facility_code="22")),
        batch(
            ClaimSpec(
                "PCN-2", [LineSpec("99214", "200.00")], patient_last="Núñez", patient_first="José"
            ),
            subscriber_last="ROE",
            member_id="M2",
        ),
    )
    with tenant_scope(setup.tenant_id):
        plan = svc.plan_837(data, today=TODAY)
        assert plan.ok and plan.counts()["created"] == 2
    assert setup.count(Case) == 0  # the preview wrote nothing
    summary = run(setup, data)
    assert summary.as_json() == {
        "claims": 2,
        "created": 2,
        "updated": 0,
        "unmatched": 0,
        "duplicate": 0,
        "file_duplicate": False,
    }
    first, second = setup.rows(Case)
    assert (first.patient_control_number, first.patient_last_name, first.patient_first_name) == (
        "PCN-1",
        "DOE",
        "JANE",
    )
    assert (first.status, first.place_of_service, first.billed_total) == (
        "intake",
        "22",
        D("12900.00"),
    )
    assert first.service_from == first.service_to == date(2024, 5, 2)
    assert first.member_id == "W123456789" and first.rendering_npi == "1477553311"
    assert (second.patient_last_name, second.patient_first_name) == ("Núñez", "José")
    lines = setup.rows(ServiceLine, ServiceLine.case_id == first.id, order_by=ServiceLine.line_no)
    assert [(ln.code, ln.modifiers, ln.billed, ln.paid, ln.place_of_service) for ln in lines] == [
        ("99213", [], D("150.00"), D("0.00"), "11"),
        ("29881", ["RT"], D("12750.00"), D("0.00"), "22"),
    ]
    (record,) = setup.rows(X12ClaimFile)
    assert (record.claim_count, record.created_count, record.billed_total) == (2, 2, D("13100.00"))
    claims = setup.rows(X12Claim, order_by=X12Claim.segment_no)
    assert [c.case_id for c in claims] == [first.id, second.id]
    assert [(ln["control_number"], ln["line_no"]) for ln in claims[0].data["lines"]] == [
        ("A-1", 1),
        ("A-2", 2),
    ]
    assert setup.count(AuditEvent, AuditEvent.action == "x12_claims.imported") == 1
    assert setup.count(AuditEvent, AuditEvent.action == "case.created") == 2


def test_same_file_twice_changes_nothing(setup: Setup):
    data = file_of(batch(ClaimSpec("PCN-1", lines_a())))
    assert not run(setup, data).duplicate
    again = run(setup, data)
    assert again.duplicate and again.as_json()["duplicate"] == 1 and again.created == 0
    assert setup.count(Case) == 1 and setup.count(X12ClaimFile) == 1


def test_same_interchange_in_another_file_is_a_duplicate(setup: Setup):
    data = file_of(batch(ClaimSpec("PCN-1", lines_a())))
    run(setup, data)
    rewritten = data.replace(b"~\n", b"~\r\n")  # other bytes, same interchange
    summary = run(setup, rewritten)
    assert summary.duplicate
    assert setup.count(Case) == 1 and setup.count(X12ClaimInterchange) == 1


def test_same_claim_in_a_new_interchange_is_a_duplicate_claim(setup: Setup):
    run(setup, file_of(batch(ClaimSpec("PCN-1", lines_a()))))
    summary = run(
        setup,
        file_of(
            batch(ClaimSpec("PCN-1", lines_a())),
            batch(ClaimSpec("PCN-9", lines_a())),
            control="000000002",
        ),
    )
    assert summary.as_json() == {
        "claims": 2,
        "created": 1,
        "updated": 0,
        "unmatched": 0,
        "duplicate": 1,
        "file_duplicate": False,
    }
    assert setup.count(Case) == 2


def test_replacement_claim_updates_the_open_case(setup: Setup):
    run(setup, file_of(batch(ClaimSpec("PCN-1", lines_a()))))
    (case,) = setup.rows(Case)
    replacement = ClaimSpec(
        "PCN-1",
        [
            LineSpec("99213", "175.00", place_of_service="11", control_number="A-1"),
            LineSpec("29881", "12750.00", modifiers=("RT",), control_number="A-2"),
            LineSpec("20610", "425.00", control_number="A-3"),
        ],
        frequency_code="7",
        patient_last="DOE-SMITH",
        patient_first="JANE",
    )
    summary = run(setup, file_of(batch(replacement), control="000000002"))
    assert (summary.created, summary.updated) == (0, 1)
    (after,) = setup.rows(Case)
    assert after.id == case.id
    assert (after.patient_last_name, after.billed_total) == ("DOE-SMITH", D("13350.00"))
    lines = setup.rows(ServiceLine, ServiceLine.case_id == case.id, order_by=ServiceLine.line_no)
    assert [(ln.line_no, ln.code, ln.billed) for ln in lines] == [
        (1, "99213", D("175.00")),
        (2, "29881", D("12750.00")),
        (3, "20610", D("425.00")),
    ]
    notes = setup.rows(CaseEvent, CaseEvent.case_id == case.id, CaseEvent.kind == "note")
    assert any("2 line(s) updated, 1 added" in n.summary for n in notes)


def test_closed_case_is_not_updated(setup: Setup):
    run(setup, file_of(batch(ClaimSpec("PCN-1", lines_a()))))
    with tenant_scope(setup.tenant_id):
        case = db.session.scalar(db.select(Case))
        case.status = "closed"
        db.session.commit()
    summary = run(
        setup,
        file_of(batch(ClaimSpec("PCN-1", lines_a(), frequency_code="7")), control="000000002"),
    )
    assert (summary.created, summary.updated) == (1, 0)


def test_unknown_practice_and_payer_are_listed_then_fixed_in_place(setup: Setup):
    data = file_of(
        batch(ClaimSpec("PCN-1", lines_a()), billing_npi="1122334455", tax_id="987654321"),
        batch(
            ClaimSpec("PCN-2", lines_a()), payer_id="ZZ999", payer_name="NEW PAYER", member_id="M2"
        ),
    )
    summary = run(setup, data)
    assert (summary.created, summary.unmatched) == (0, 2)
    assert setup.count(Case) == 0
    first, second = setup.rows(X12Claim, order_by=X12Claim.segment_no)
    assert first.status == "open" and first.reason.startswith(
        "unknown practice: no practice with NPI 1122334455 or tax id 987654321"
    )
    assert second.reason.startswith("unknown payer: no payer with payer ID 'ZZ999'")
    with tenant_scope(setup.tenant_id):
        payer_id = make_payer(setup.tenant, name="New Payer Co", edi_payer_id="ZZ999")
        item = db.session.get(X12Claim, second.id)
        case = svc.resolve_unmatched(
            item,
            tenant_id=setup.tenant_id,
            actor_id=setup.actor_id,
            practice_id=setup.practice_id,
            payer_id=payer_id,
            today=TODAY,
        )
        db.session.commit()
        case_id = case.id
    (fixed,) = setup.rows(X12Claim, X12Claim.id == second.id)
    assert (fixed.status, fixed.outcome, fixed.case_id) == ("done", "created", case_id)
    (case,) = setup.rows(Case)
    assert case.billed_total == D("12900.00") and case.patient_control_number == "PCN-2"
    with tenant_scope(setup.tenant_id), pytest.raises(svc.FixError):
        svc.resolve_unmatched(
            db.session.get(X12Claim, second.id),
            tenant_id=setup.tenant_id,
            actor_id=setup.actor_id,
            practice_id=setup.practice_id,
            payer_id=payer_id,
            today=TODAY,
        )


def test_practice_found_by_tax_id_when_the_npi_is_unknown(setup: Setup):
    with tenant_scope(setup.tenant_id):
        from advocate.practices.models import Practice

        tin = db.session.get(Practice, setup.practice_id).tin
    summary = run(
        setup, file_of(batch(ClaimSpec("PCN-1", lines_a()), billing_npi="1122334455", tax_id=tin))
    )
    assert summary.created == 1


def test_errors_import_nothing(setup: Setup):
    data = file_of(
        batch(ClaimSpec("PCN-1", lines_a())),
        batch(ClaimSpec("PCN-2", lines_a(), charge="1.00"), member_id="M2"),
    )
    with pytest.raises(svc.X837ImportError) as info:
        run(setup, data)
    (e,) = info.value.errors
    assert (e.claim, e.element) == ("PCN-2", "CLM02")
    assert setup.count(Case) == 0 and setup.count(X12ClaimFile) == 0


def test_what_the_case_rules_refuse_is_reported_per_claim(setup: Setup):
    data = file_of(batch(ClaimSpec("PCN-1", lines_a()), patient_birth=date(2025, 3, 1)))
    with tenant_scope(setup.tenant_id):
        plan = svc.plan_837(data, today=TODAY)
    assert not plan.ok
    (e,) = plan.all_errors
    assert (e.claim, e.segment_id, e.message) == (
        "PCN-1",
        "CLM",
        "as a case: patient_dob is in the future",
    )


def test_an_835_is_refused_by_name(setup: Setup):
    from advocate.imports.era_fixtures import generate_835

    with pytest.raises(svc.X837ImportError) as info:
        run(setup, generate_835(2).encode())
    assert info.value.kind == "835" and "835 remittance advice" in info.value.message


def test_institutional_claim_opens_a_case(setup: Setup):
    data = file_of(
        batch(
            ClaimSpec(
                "INST-1",
                [
                    LineSpec("99284", "980.00", revenue_code="0450"),
                    LineSpec("J1100", "35.00", revenue_code="0636"),
                ],
                facility_code="13",
            )
        ),
        kind="I",
    )
    summary = run(setup, data)
    assert summary.created == 1
    (case,) = setup.rows(Case)
    assert (case.place_of_service, case.billed_total) == ("22", D("1015.00"))
