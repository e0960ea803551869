"""Posting an 835: matching (claim number, then PCN), the initial payment,
reversals and corrections, the CO-45 rule, NSA flags, duplicates, and the
bulk totals agreeing with the cases service's own recompute."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.cases import services as case_services
from advocate.cases.models import Case, CaseEvent, Payment, ServiceLine
from advocate.extensions import db
from advocate.imports import posting
from advocate.imports.era_fixtures import ClaimSpec, LineSpec, RemittanceSpec, build_835
from advocate.imports.models import (
    ImportSettings,
    Remittance,
    RemittanceClaim,
    RemittanceTransaction,
    UnmatchedClaim,
)
from tenants import tenant_scope
from tests.imports.remit_support import PAY_DATE, Setup, build_setup

D = Decimal
TODAY = date(2026, 1, 15)


def claim(
    pcn: str,
    number: str,
    paid: str,
    *,
    charge: str = "1000",
    co45: str | None = None,
    status: str = "1",
    remarks: tuple[str, ...] = (),
    code: str = "99214",
) -> ClaimSpec:
    """A balanced one-line claim: charge - paid is CO-45 (or the given CO-45 plus PR-2)."""
    c, p = D(charge), D(paid)
    cut = D(co45) if co45 is not None else c - p
    adjustments = [("CO", "45", cut)]
    if c - p - cut:
        adjustments.append(("PR", "2", c - p - cut))
    line = LineSpec(
        code,
        c,
        p,
        adjustments=adjustments,
        service_date=date(2024, 5, 1),
        allowed=c - cut,
        remark_codes=remarks,
    )
    return ClaimSpec(pcn, c, p, status=status, payer_claim_number=number, lines=[line])


def reversal(spec: ClaimSpec) -> ClaimSpec:
    ln = spec.lines[0]
    return ClaimSpec(
        spec.patient_control_number,
        -D(spec.charge),
        -D(spec.paid),
        status="22",
        payer_claim_number=spec.payer_claim_number,
        frequency_code="8",
        lines=[
            LineSpec(
                ln.procedure,
                -D(ln.charge),
                -D(ln.paid),
                adjustments=[(g, r, -D(a)) for g, r, a in ln.adjustments],
                service_date=ln.service_date,
            )
        ],
    )


def file_of(
    *claims: ClaimSpec, trace: str = "EFT0001", control: str = "0001", icn: int = 1
) -> bytes:
    spec = RemittanceSpec(claims=list(claims), trace_number=trace, control_number=control)
    return build_835([spec], interchange_control_number=icn).encode()


def run(s: Setup, data: bytes, **kw) -> posting.ImportSummary:
    with tenant_scope(s.tenant_id):
        summary = posting.import_835(
            data, tenant_id=s.tenant_id, actor_id=s.actor_id, today=TODAY, **kw
        )
        db.session.commit()
    return summary


def case_row(s: Setup, case_id: int) -> Case:
    with tenant_scope(s.tenant_id):
        db.session.expire_all()
        case = db.session.get(Case, case_id)
        db.session.expunge(case)
        return case


def payments(s: Setup, case_id: int) -> list[Payment]:
    return s.rows(Payment, Payment.case_id == case_id)


def test_claims_match_by_claim_number_then_patient_control_number(setup: Setup):
    a = setup.case("CN-A", "PCN-A")
    b = setup.case("CN-B", "PCN-B")
    data = file_of(
        claim("ZZZ-1", "CN-A", "100"),  # claim number only
        claim("PCN-B", "NO-SUCH", "50"),  # PCN only
        claim("PCN-B", "CN-A", "25"),  # both: the claim number wins
    )
    summary = run(setup, data)
    assert (summary.matched, summary.created, summary.unmatched) == (3, 0, 0)
    assert [p.amount for p in payments(setup, a)] == [D("160.00"), D("100.00"), D("25.00")]
    assert [p.amount for p in payments(setup, b)] == [D("160.00"), D("50.00")]
    rcs = setup.rows(RemittanceClaim, order_by=RemittanceClaim.seq)
    assert [(r.outcome, r.case_id) for r in rcs] == [("matched", a), ("matched", b), ("matched", a)]
    assert all(r.payment_id for r in rcs)
    posted = setup.rows(Payment, Payment.remittance_id.is_not(None))
    assert {p.reference for p in posted} == {"EFT0001"}
    assert {p.paid_on for p in posted} == {PAY_DATE}


def test_matching_stays_within_the_firm(db_app):
    other = build_setup("Other Firm")
    other.case("CN-A", "PCN-A")
    mine = build_setup("My Firm")
    summary = run(mine, file_of(claim("PCN-A", "CN-A", "100", co45="10")))
    assert (summary.matched, summary.unmatched) == (0, 1)
    assert other.count(Payment) == 1  # only its intake payment


def test_first_payment_on_a_case_becomes_its_initial_payment(setup: Setup):
    cid = setup.case("CN-1", "PCN-1", paid=False)
    assert payments(setup, cid) == []
    run(setup, file_of(claim("PCN-1", "CN-1", "120.50")))
    run(setup, file_of(claim("PCN-1", "CN-1", "30"), trace="EFT0002"))
    first, second = payments(setup, cid)
    assert (first.amount, first.is_initial) == (D("120.50"), True)
    assert (second.amount, second.is_initial) == (D("30.00"), False)
    case = case_row(setup, cid)
    assert case.initial_paid == D("120.50")
    assert case.total_paid == D("150.50")
    assert case.initial_payment_received_on == PAY_DATE


def test_existing_initial_payment_stays_the_initial_one(setup: Setup):
    cid = setup.case("CN-1", "PCN-1")  # 160.00 paid at intake
    run(setup, file_of(claim("PCN-1", "CN-1", "40")))
    assert [p.is_initial for p in payments(setup, cid)] == [True, False]
    assert case_row(setup, cid).initial_paid == D("160.00")


def test_reversal_and_correction_post_negative_then_reposted_amounts(setup: Setup):
    cid = setup.case("CN-1", "PCN-1")  # 160.00 initial
    original = claim("PCN-1", "CN-1", "160", charge="650")
    correction = claim("PCN-1", "CN-1", "210", charge="650")
    summary = run(setup, file_of(reversal(original), correction))
    assert summary.total_paid == D("50.00")  # -160 + 210
    assert summary.as_json()["total_paid"] == "50.00"
    amounts = [(p.amount, p.is_initial) for p in payments(setup, cid)]
    assert amounts == [(D("160.00"), True), (D("-160.00"), False), (D("210.00"), False)]
    case = case_row(setup, cid)
    assert case.total_paid == D("210.00")
    assert case.initial_paid == D("160.00")
    assert case.recovered == D("50.00")
    rcs = setup.rows(RemittanceClaim, order_by=RemittanceClaim.seq)
    assert [(r.status_code, r.amount_posted) for r in rcs] == [
        ("22", D("-160.00")),
        ("1", D("210.00")),
    ]
    with tenant_scope(setup.tenant_id):
        kinds = [
            e.summary.split(" ")[0]
            for e in db.session.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == cid, CaseEvent.kind == "payment")
                .order_by(CaseEvent.id)
            )
        ]
    assert kinds == ["Initial", "Reversal", "Payment"]


def test_reversal_written_with_a_positive_amount_still_posts_negative(setup: Setup):
    cid = setup.case("CN-1", "PCN-1")
    odd = ClaimSpec(
        "PCN-1",
        D("100"),
        D("100"),
        status="22",
        payer_claim_number="CN-1",
        lines=[LineSpec("99214", D("100"), D("100"), service_date=date(2024, 5, 1))],
    )
    summary = run(setup, file_of(odd))
    assert summary.total_paid == D("-100.00")
    assert [p.amount for p in payments(setup, cid)] == [D("160.00"), D("-100.00")]


def test_unmatched_claim_above_the_co45_threshold_opens_a_case_at_intake(setup: Setup):
    summary = run(
        setup,
        file_of(
            claim("PCN-NEW", "CN-NEW", "300", co45="600", remarks=("N830",)),  # CO-45 600 > 25
            claim("PCN-SMALL", "CN-SMALL", "990", co45="10"),  # CO-45 10 <= 25
            claim("PCN-NEW", "CN-NEW", "20", co45="0", charge="20"),  # pays on the new case
        ),
    )
    assert (summary.matched, summary.created, summary.unmatched) == (1, 1, 1)
    (case,) = setup.rows(Case)
    assert case.status == "intake"
    assert (case.payer_claim_number, case.patient_control_number) == ("CN-NEW", "PCN-NEW")
    assert (case.practice_id, case.payer_id, case.plan_type) == (
        setup.practice_id,
        setup.payer_id,
        "other",
    )
    assert (case.patient_first_name, case.patient_last_name) == ("JANE", "DOE")
    assert case.service_from == date(2024, 5, 1)
    assert case.nsa_flagged is True
    assert case.billed_total == D("1000.00")
    assert (case.initial_paid, case.total_paid) == (D("300.00"), D("320.00"))
    assert case.initial_payment_received_on == PAY_DATE
    (line,) = setup.rows(ServiceLine)
    assert (line.code, line.billed, line.paid, line.allowed) == (
        "99214",
        D("1000.00"),
        D("300.00"),
        D("400.00"),
    )
    assert line.patient_resp == D("100.00")
    (item,) = setup.rows(UnmatchedClaim)
    assert item.patient_control_number == "PCN-SMALL" and item.status == "open"
    assert "not above the 25.00 threshold" in item.reason
    assert item.data["lines"][0]["code"] == "99214"
    # The same totals the cases service computes.
    with tenant_scope(setup.tenant_id):
        fresh = db.session.get(Case, case.id)
        before = (
            fresh.total_paid,
            fresh.initial_paid,
            fresh.amount_at_stake,
            fresh.patient_resp_total,
        )
        case_services.recompute_totals(fresh)
        assert before == (
            fresh.total_paid,
            fresh.initial_paid,
            fresh.amount_at_stake,
            fresh.patient_resp_total,
        )
        db.session.rollback()


def test_co45_threshold_is_a_firm_setting(setup: Setup):
    with tenant_scope(setup.tenant_id):
        db.session.add(ImportSettings(tenant_id=setup.tenant_id, co45_threshold=D("700.00")))
        db.session.commit()
    summary = run(setup, file_of(claim("PCN-NEW", "CN-NEW", "300", co45="600")))
    assert (summary.created, summary.unmatched) == (0, 1)
    (item,) = setup.rows(UnmatchedClaim)
    assert "not above the 700.00 threshold" in item.reason


@pytest.mark.parametrize("what", ["payer", "practice"])
def test_unknown_payer_or_practice_goes_to_the_review_list(setup: Setup, what):
    spec = RemittanceSpec(claims=[claim("PCN-NEW", "CN-NEW", "300", co45="600")])
    if what == "payer":
        spec.payer_name, spec.payer_id = "UNHEARD OF HEALTH", "99999"
    else:
        spec.payee_npi = "1000000004"
    summary = run(setup, build_835([spec]).encode())
    assert (summary.created, summary.unmatched) == (0, 1)
    (item,) = setup.rows(UnmatchedClaim)
    assert item.reason.startswith(f"unknown {what}")
    assert setup.count(Case) == 0


def test_payer_found_by_name_when_the_id_differs(setup: Setup):
    spec = RemittanceSpec(claims=[claim("PCN-NEW", "CN-NEW", "300", co45="600")], payer_id="11111")
    summary = run(setup, build_835([spec]).encode())
    assert summary.created == 1


def test_unmatched_reversal_goes_to_the_review_list(setup: Setup):
    summary = run(setup, file_of(reversal(claim("PCN-9", "CN-9", "100", co45="900"))))
    assert (summary.created, summary.unmatched) == (0, 1)
    (item,) = setup.rows(UnmatchedClaim)
    assert item.reason.startswith("reversal") and item.paid == D("-100.00")


def test_nsa_remark_codes_flag_a_matched_case(setup: Setup):
    flagged = setup.case("CN-1", "PCN-1")
    plain = setup.case("CN-2", "PCN-2")
    run(
        setup,
        file_of(
            claim("PCN-1", "CN-1", "10", remarks=("N864",)),
            claim("PCN-2", "CN-2", "10", remarks=("N381",)),
        ),
    )
    assert case_row(setup, flagged).nsa_flagged is True
    assert case_row(setup, plain).nsa_flagged is False
    rcs = setup.rows(RemittanceClaim, order_by=RemittanceClaim.seq)
    assert [r.is_nsa_remark for r in rcs] == [True, False]
    assert setup.count(AuditEvent, AuditEvent.action == "case.nsa_flagged") == 1


@pytest.mark.parametrize("code", ["N864", "N865", "N866", "N830"])
def test_each_nsa_remark_code_flags(setup: Setup, code):
    cid = setup.case("CN-1", "PCN-1")
    run(setup, file_of(claim("PCN-1", "CN-1", "10", remarks=(code,))))
    assert case_row(setup, cid).nsa_flagged is True


def _snapshot(s: Setup) -> tuple:
    return tuple(
        s.count(m)
        for m in (
            Remittance,
            RemittanceTransaction,
            RemittanceClaim,
            UnmatchedClaim,
            Case,
            Payment,
            CaseEvent,
        )
    )


def test_the_same_file_twice_changes_nothing_the_second_time(setup: Setup):
    setup.case("CN-1", "PCN-1")
    data = file_of(
        claim("PCN-1", "CN-1", "10"),
        claim("PCN-N", "CN-N", "300", co45="600"),
        claim("P", "C", "1", co45="1"),
    )
    first = run(setup, data)
    assert not first.duplicate and (first.matched, first.created, first.unmatched) == (1, 1, 1)
    before = _snapshot(setup)
    second = run(setup, data)
    assert second.duplicate is True
    assert (second.matched, second.created, second.unmatched) == (0, 0, 0)
    assert (second.transactions, second.claims, second.total_paid) == (1, 3, D("311.00"))
    assert _snapshot(setup) == before


def test_the_same_transaction_inside_another_file_is_not_posted_twice(setup: Setup):
    setup.case("CN-1", "PCN-1")
    tx = claim("PCN-1", "CN-1", "10")
    run(setup, file_of(tx, icn=1))
    before = _snapshot(setup)
    again = file_of(tx, icn=2)  # other interchange number: other bytes, same payment
    summary = run(setup, again)
    assert summary.duplicate is True
    assert _snapshot(setup) == before
    # A file with that transaction and a new one posts only the new one.
    both = build_835(
        [
            RemittanceSpec(claims=[tx], trace_number="EFT0001", control_number="0001"),
            RemittanceSpec(
                claims=[claim("PCN-1", "CN-1", "7")], trace_number="EFT0002", control_number="0002"
            ),
        ],
        interchange_control_number=3,
    ).encode()
    summary = run(setup, both)
    assert not summary.duplicate
    assert (summary.transactions, summary.claims, summary.matched) == (2, 2, 1)
    assert summary.skipped_transactions == 1
    assert setup.count(Payment) == before[5] + 1


def test_a_file_with_errors_raises_and_writes_nothing(setup: Setup):
    text = (
        file_of(claim("PCN-1", "CN-1", "10"))
        .decode()
        .replace("CLP*PCN-1*1*1000*10", "CLP*PCN-1*1*1000*abc")
    )
    with pytest.raises(posting.EraImportError) as info:
        run(setup, text.encode())
    assert any(e.element == "CLP04" for e in info.value.errors)
    assert _snapshot(setup) == (0, 0, 0, 0, 0, 0, 0)


def test_posting_writes_an_audit_trail_without_phi(setup: Setup):
    setup.case("CN-1", "PCN-1")
    run(setup, file_of(claim("PCN-1", "CN-1", "10"), claim("PCN-N", "CN-N", "300", co45="600")))
    with tenant_scope(setup.tenant_id):
        events = list(
            db.session.scalars(select(AuditEvent).where(AuditEvent.tenant_id == setup.tenant_id))
        )
    actions = [e.action for e in events]
    assert actions.count("remittance.imported") == 1
    assert actions.count("payment.created") == 3  # intake, matched, the new case's initial
    assert "case.created" in actions
    assert not any("JANE" in str(e.details) or "DOE" in str(e.details) for e in events)
