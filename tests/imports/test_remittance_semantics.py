"""Posting what the 835's fields mean: paid vs billed units, the payee found by
NPI then TIN, institutional and claim-level claims, corrected names, and cases
opened from a remittance benchmarked like any other."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from advocate.cases.models import Case, Payment, ServiceLine
from advocate.extensions import db
from advocate.imports import posting
from advocate.imports.era import parse_835
from advocate.imports.models import Remittance, RemittanceAdjustment, UnmatchedClaim
from advocate.rates.models import LineBenchmark
from tenants import tenant_scope
from tests.factories import make_practice
from tests.imports.remit_support import Setup
from tests.imports.x12_text import header, interchange, transaction

D = Decimal
TODAY = date(2026, 1, 15)


def run(s: Setup, text: str) -> posting.ImportSummary:
    with tenant_scope(s.tenant_id):
        summary = posting.import_835(
            text.encode("utf-8"), tenant_id=s.tenant_id, actor_id=s.actor_id, today=TODAY
        )
        db.session.commit()
    return summary


def only_case(s: Setup) -> Case:
    with tenant_scope(s.tenant_id):
        db.session.expire_all()
        cases = list(db.session.scalars(select(Case)))
        assert len(cases) == 1
        for c in cases:
            c.lines  # noqa: B018 - loaded before the scope ends
            db.session.expunge(c)
        return cases[0]


PROFESSIONAL = [
    "LX*1",
    "CLP*PCN-77*1*1000*200*0*12*CN-77*11*1",
    "NM1*QC*1*MUÑOZ*ANA****MI*W77",
    "NM1*74*1*MUNOZ GARCIA*ANA****C*W77A",
    "PER*CX*CLAIMS DEPT*TE*8005551212",
    "DTM*232*20240501",
    # SVC05 = 0 paid units, SVC07 = 2 billed units
    "SVC*HC:99214*1000*200**0*HC:99214*2",
    "DTM*472*20240501",
    "CAS*CO*45*800",
    "AMT*B6*200",
]


def test_billed_units_come_from_svc07_and_a_zero_svc05_is_not_refused(setup: Setup):
    summary = run(setup, interchange(transaction("0001", header("200") + PROFESSIONAL)))
    assert (summary.created, summary.unmatched) == (1, 0)
    case = only_case(setup)
    assert [(ln.code, ln.units, ln.billed, ln.paid) for ln in case.lines] == [
        ("99214", D("2"), D("1000.00"), D("200.00"))
    ]
    assert (case.patient_last_name, case.place_of_service) == ("MUÑOZ", "11")


def test_payee_by_tax_id_when_there_is_no_npi(setup: Setup):
    payee = "N1*PE*LAKESIDE ORTHOPEDICS*FI*12-3456789"  # the practice's TIN 123456789
    summary = run(
        setup, interchange(transaction("0001", header("200", payee=payee) + PROFESSIONAL))
    )
    assert summary.created == 1
    assert only_case(setup).practice_id == setup.practice_id


def test_payee_by_ref_tj_when_n1_carries_a_payer_assigned_id(setup: Setup):
    payee = "N1*PE*LAKESIDE ORTHOPEDICS*PI*PRV00991"
    body = header("200", payee=payee, extra_payee=["REF*TJ*123456789"]) + PROFESSIONAL
    assert run(setup, interchange(transaction("0001", body))).created == 1


def test_payer_assigned_payee_id_alone_is_unmatched_with_that_reason(setup: Setup):
    payee = "N1*PE*LAKESIDE ORTHOPEDICS*PI*PRV00991"
    summary = run(
        setup, interchange(transaction("0001", header("200", payee=payee) + PROFESSIONAL))
    )
    assert (summary.created, summary.unmatched) == (0, 1)
    (row,) = setup.rows(UnmatchedClaim)
    assert row.reason == (
        "unknown practice: the payee has no NPI or TIN, only the payer-assigned id PI PRV00991"
    )
    # The corrected name (NM1*74) is kept beside the submitted one.
    assert (row.patient_last_name, row.data["corrected_patient"]["last_name"]) == (
        "MUÑOZ",
        "MUNOZ GARCIA",
    )


def test_an_unknown_npi_and_tin_are_named_in_the_reason_without_the_whole_tin(setup: Setup):
    payee = "N1*PE*ELSEWHERE CLINIC*XX*1982743651"
    body = header("200", payee=payee, extra_payee=["REF*TJ*987654321"]) + PROFESSIONAL
    run(setup, interchange(transaction("0001", body)))
    (row,) = setup.rows(UnmatchedClaim)
    assert row.reason == (
        "unknown practice: no practice with the payee's NPI 1982743651 or TIN ending 4321"
    )


INSTITUTIONAL = [
    "LX*1",
    "TS3*1558367922*11*20241231*1*25000",
    # CLP08 11 = hospital inpatient (type of bill 11x), CLP09 1, CLP11 DRG 470, CLP12 weight
    "CLP*ACCT-9*1*25000*14000*1500*12*CN-9*11*1**470*1.9871",
    "CAS*CO*45*9500",
    "CAS*PR*1*1500",
    "NM1*QC*1*JONES*SAM****MI*W99",
    "MIA*0***14000",
    "DTM*232*20240501",
    "DTM*233*20240504",
]


def test_claim_level_drg_claim_opens_a_case_for_the_ts3_facility(setup: Setup):
    # The payee NPI is unknown; the facility in TS301 is a practice of the firm.
    facility = make_practice(
        setup.tenant, name="Regional Hospital", npi="1558367922", default_pos="21"
    )
    payee = "N1*PE*REGIONAL HEALTH SYSTEM*XX*1982743651"
    result = parse_835(
        interchange(transaction("0001", header("14000", payee=payee) + INSTITUTIONAL))
    )
    assert result.errors == ()
    claim = next(result.claims)
    assert (claim.is_institutional, claim.is_claim_level, claim.drg_code, claim.drg_weight) == (
        True,
        True,
        "470",
        D("1.9871"),
    )
    summary = run(
        setup, interchange(transaction("0001", header("14000", payee=payee) + INSTITUTIONAL))
    )
    assert (summary.created, summary.unmatched) == (1, 0)
    case = only_case(setup)
    assert case.practice_id == facility
    # CLP08 (facility type 11) is not taken as place of service 11: the practice's default is.
    assert case.place_of_service == "21"
    (line,) = case.lines
    # Billed CLP03, paid CLP04, allowed = paid + patient responsibility, the claim's CAS.
    assert (line.code, line.billed, line.paid, line.allowed, line.patient_resp) == (
        "",
        D("25000.00"),
        D("14000.00"),
        D("15500.00"),
        D("1500.00"),
    )
    assert [(a["group"], a["reason"]) for a in line.adjustments] == [("CO", "45"), ("PR", "1")]
    assert case.total_paid == D("14000.00")


def test_cases_opened_from_a_remittance_are_benchmarked(setup: Setup):
    run(setup, interchange(transaction("0001", header("200") + PROFESSIONAL)))
    case = only_case(setup)
    with tenant_scope(setup.tenant_id):
        n = db.session.scalar(
            select(func.count()).select_from(LineBenchmark).where(LineBenchmark.case_id == case.id)
        )
        lines = db.session.scalar(
            select(func.count()).select_from(ServiceLine).where(ServiceLine.case_id == case.id)
        )
    assert n == lines == 1


def _plb_file(bpr: str) -> str:
    body = (
        header(bpr)
        + PROFESSIONAL
        + [
            # WO recovers 150.00 overpaid on claim CN-OLD; L6 interest 12.50 added; FB 40.00 kept.
            "PLB*1234567893*20241231*WO:CN-OLD*150*L6:CN-77*-12.5*FB:B2024*40"
        ]
    )
    return interchange(transaction("0001", body))


def _segments(text: str) -> list[list[str]]:
    return [s.strip().split("*") for s in text.split("~") if s.strip()]


def test_plb_items_are_stored_reconciled_and_a_wo_recoups_on_its_case(setup: Setup):
    old_case = setup.case("CN-OLD", "PCN-OLD")
    # What the file says, read from its own segments: BPR02 = sum(CLP04) - sum(PLB amounts).
    clp_paid = sum(D(s[4]) for s in _segments(_plb_file("0")) if s[0] == "CLP")
    plb = [s for s in _segments(_plb_file("0")) if s[0] == "PLB"][0]
    plb_amounts = [D(plb[i]) for i in range(4, len(plb), 2)]
    bpr = clp_paid - sum(plb_amounts)
    text = _plb_file(str(bpr))
    assert parse_835(text).warnings == ()
    with tenant_scope(setup.tenant_id):
        before = db.session.get(Case, old_case).total_paid
    run(setup, text)
    (remittance,) = setup.rows(Remittance)
    assert remittance.plb_total == sum(plb_amounts) and remittance.warnings == []
    rows = setup.rows(RemittanceAdjustment)
    assert [(a.reason, a.reference, a.amount) for a in rows] == [
        ("WO", "CN-OLD", D("150.00")),
        ("L6", "CN-77", D("-12.50")),
        ("FB", "B2024", D("40.00")),
    ]
    wo = rows[0]
    assert wo.case_id == old_case and wo.payment_id is not None
    assert [a.case_id for a in rows[1:]] == [None, None]  # CN-77 is opened by this very file
    (recoup,) = setup.rows(Payment, Payment.id == wo.payment_id)
    assert (recoup.case_id, recoup.amount) == (old_case, D("-150.00"))
    with tenant_scope(setup.tenant_id):
        db.session.expire_all()
        assert db.session.get(Case, old_case).total_paid == before - D("150.00")


def test_a_file_that_does_not_reconcile_posts_with_a_warning(setup: Setup):
    text = _plb_file("100.00")
    result = parse_835(text)
    assert result.errors == () and [w.element for w in result.warnings] == ["BPR02"]
    summary = run(setup, text)
    assert summary.created == 1
    (remittance,) = setup.rows(Remittance)
    assert [w["element"] for w in remittance.warnings] == ["BPR02"]
    assert "does not equal claim payments" in remittance.warnings[0]["message"]


def test_reimporting_a_plb_file_posts_nothing_twice(setup: Setup):
    setup.case("CN-OLD", "PCN-OLD")
    text = _plb_file("22.50")
    run(setup, text)
    again = run(setup, text)
    assert again.duplicate
    assert setup.count(RemittanceAdjustment) == 3
    assert setup.count(Payment, Payment.amount == D("-150.00")) == 1
