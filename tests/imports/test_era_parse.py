"""835 model: hand-made fixtures, generated files, pyx12 cross-check, delimiter invariance."""

from __future__ import annotations

import io
import logging
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advocate.imports.era import (
    Adjustment,
    ParseResult,
    Person,
    ProcedureCode,
    ProviderAdjustmentItem,
    Reference,
    SupplementalAmount,
    parse_835,
)
from advocate.imports.era_fixtures import ClaimSpec, LineSpec, build_835, generate_835
from advocate.imports.x12 import Delimiters, read_delimiters, serialize, tokenize

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_NAMES = sorted(p.name for p in FIXTURES.glob("*.835"))
D = Decimal


def parse_fixture(name: str) -> ParseResult:
    result = parse_835((FIXTURES / name).read_bytes())
    assert result.errors == (), result.report()
    return result


def test_fixtures_are_present() -> None:
    assert FIXTURE_NAMES == [
        "basic_star.835",
        "pipe_caret_newline.835",
        "two_interchanges_crlf.835",
    ]


# --------------------------------------------------------------------------
# Hand-made fixtures, field by field


def test_basic_remittance_header() -> None:
    (rem,) = parse_fixture("basic_star.835").remittances
    assert rem.control_number == "0001"
    assert rem.index == 0
    assert rem.segment_no == 3
    assert rem.interchange_control_number == "000004217"
    assert rem.group_control_number == "4217"
    assert rem.payer is not None and rem.payer.name == "SUMMIT MUTUAL HEALTH PLAN"
    assert rem.payer.identifier == "87726"  # REF*2U
    assert rem.payee is not None
    assert rem.payee.name == "LAKESIDE ORTHOPAEDIC ASSOCIATES"
    assert rem.payee.npi == "1588667638"
    assert rem.payee.tax_id == "361234567"
    p = rem.payment
    assert p is not None
    assert (p.amount, p.handling_code, p.credit_debit, p.method, p.effective_date) == (
        D("3668.03"),
        "C",
        "C",
        "ACH",
        date(2024, 6, 14),
    )
    assert p.trace_number == rem.trace_number == "0012345678"
    assert p.originator == "1870000001"
    assert rem.production_date == date(2024, 6, 13)
    assert [c.patient_control_number for c in rem.claims] == [
        "ORTH240501",
        "ED240611",
        "ORTH240488",
        "ORTH240502",
    ]
    (plb,) = rem.provider_adjustments
    assert plb.provider_id == "1588667638"
    assert plb.fiscal_period_date == date(2024, 12, 31)
    assert plb.items == (
        ProviderAdjustmentItem("WO", "2224150077777", D("212.5")),
        ProviderAdjustmentItem("L6", "2224155012345", D("-4.37")),
    )
    assert plb.total == D("208.13")
    assert plb.segment_no == 77
    # BPR02 = sum(CLP04) - sum(PLB)
    assert sum(c.paid for c in rem.claims) - plb.total == p.amount


def test_basic_first_claim_in_full() -> None:
    claim = parse_fixture("basic_star.835").remittances[0].claims[0]
    assert claim.segment_no == 17
    assert (
        claim.patient_control_number,
        claim.status_code,
        claim.charge,
        claim.paid,
        claim.patient_responsibility,
        claim.filing_indicator,
        claim.payer_claim_number,
        claim.facility_type,
        claim.frequency_code,
    ) == ("ORTH240501", "1", D("14250"), D("1170.8"), D("292.7"), "12", "2224155012345", "11", "1")
    assert not claim.is_reversal
    assert claim.adjustments == ()
    assert claim.patient == Person("QC", "1", "GARCIA", "MARIA", "L", "", "MI", "W123456789")
    assert claim.member_id == "W123456789"
    assert claim.insured is not None and claim.insured.identifier == "W123456700"
    assert claim.service_provider is not None and claim.service_provider.identifier == "1477553312"
    assert claim.corrected_patient is None
    assert claim.remark_codes == ("MA01",)
    assert (claim.statement_from, claim.statement_to, claim.received_date) == (
        date(2024, 5, 2),
        date(2024, 5, 2),
        date(2024, 5, 20),
    )
    assert claim.amounts == (SupplementalAmount("AU", D("1463.5")),)
    assert claim.amount("AU") == D("1463.5") and claim.amount("D8") is None
    first, second = claim.lines
    assert first.segment_no == 26
    assert first.procedure == ProcedureCode("HC", "29881", ("RT",))
    assert (first.charge, first.paid, first.units, first.revenue_code) == (
        D("12750"),
        D("1170.8"),
        D("1"),
        "",
    )
    assert first.original_procedure is None
    assert first.service_date == first.start_date == date(2024, 5, 2)
    assert first.adjustments == (
        Adjustment("CO", "45", D("11286.5")),
        Adjustment("PR", "2", D("292.7")),
    )
    assert first.adjustments[0].code == "CO-45"
    assert first.allowed == D("1463.5")
    assert first.remark_codes == ("N381",)
    assert first.control_number == "ORTH2405011"
    assert second.procedure == ProcedureCode("HC", "20610", ("59", "RT"))
    assert second.paid == 0 and second.adjustments == (Adjustment("CO", "97", D("1500")),)
    assert second.allowed is None and second.remark_codes == ("M15",)
    # Balance, as the validator checks it.
    total = sum(a.amount for a in claim.all_adjustments)
    assert claim.charge - claim.paid == total == D("13079.2")


def test_basic_other_claims() -> None:
    _, ed, denied, seq = parse_fixture("basic_star.835").remittances[0].claims
    assert ed.facility_type == "23"
    assert ed.lines[0].remark_codes == ("N864", "N830")
    assert ed.lines[0].adjustments[1] == Adjustment("PR", "3", D("150"))
    assert ed.lines[1].units == D("2")
    assert denied.status_code == "4" and denied.lines == ()
    assert denied.adjustments == (Adjustment("CO", "50", D("2875")),)
    assert denied.remark_codes == ("N115",)
    assert denied.statement_from is None and denied.received_date == date(2024, 5, 15)
    assert seq.adjustments == (Adjustment("CO", "253", D("7.04")),)
    # Two triplets in one CAS.
    assert seq.lines[0].adjustments == (
        Adjustment("CO", "45", D("80")),
        Adjustment("PR", "1", D("100")),
        Adjustment("PR", "2", D("40")),
    )


def test_pipe_fixture_reversal_original_code_and_zero_payment() -> None:
    first, second = parse_fixture("pipe_caret_newline.835").remittances
    assert (first.control_number, first.index, second.control_number, second.index) == (
        "1001",
        0,
        "1002",
        1,
    )
    assert first.payer is not None and first.payer.identifier is None  # no REF*2U, no N104
    assert second.payer is not None and second.payer.identifier == "62308"  # N104
    assert first.payment is not None and first.payment.method == "CHK"
    assert first.payment.amount == D("644")
    reversal, correction, recoded = first.claims
    assert reversal.is_reversal and reversal.status_code == "22"
    assert (reversal.charge, reversal.paid, reversal.patient_responsibility) == (
        D("-5400"),
        D("-1620"),
        D("-405"),
    )
    assert reversal.lines[0].adjustments == (
        Adjustment("CO", "45", D("-3375")),
        Adjustment("PR", "2", D("-405")),
    )
    assert reversal.lines[0].allowed == D("-2025")
    assert reversal.frequency_code == "8"
    assert not correction.is_reversal and correction.frequency_code == "7"
    assert correction.patient_control_number == reversal.patient_control_number
    assert correction.corrected_patient is not None
    assert correction.corrected_patient.identifier == "W246813580"
    assert correction.lines[0].procedure == ProcedureCode("HC", "64483", ("RT",))
    assert recoded.lines[0].procedure == ProcedureCode("HC", "99213")
    assert recoded.lines[0].original_procedure == ProcedureCode("HC", "99215")
    assert first.provider_adjustments[0].items == (
        ProviderAdjustmentItem("72", "AR0412", D("100")),
    )
    assert second.payment is not None
    assert (second.payment.handling_code, second.payment.amount, second.payment.method) == (
        "H",
        D("0"),
        "NON",
    )
    (denied,) = second.claims
    assert denied.status_code == "4"
    assert denied.adjustments == (Adjustment("CO", "16", D("890")),)
    assert denied.remark_codes == ("M51",)
    assert denied.references == (Reference("EA", "PT00977"),)
    assert second.payee is not None and second.payee.npi == "1902871234"


def test_two_interchanges_fixture() -> None:
    result = parse_fixture("two_interchanges_crlf.835")
    assert [
        (r.control_number, r.index, r.interchange_control_number, r.segment_no)
        for r in result.remittances
    ] == [("0001", 0, "000000101", 3), ("0002", 1, "000000101", 23), ("0001", 2, "000000102", 46)]
    secondary = result.remittances[1].claims[0]
    assert secondary.status_code == "2"
    assert secondary.lines[0].adjustments[1] == Adjustment("OA", "23", D("125"))
    therapy = result.remittances[2].claims[0]
    assert therapy.statement_from is None and therapy.received_date == date(2024, 6, 24)
    line1, line2 = therapy.lines
    assert line1.procedure == ProcedureCode("HC", "97110", ("GP",))
    assert line1.units == D("4")
    assert (line1.service_date, line1.service_from, line1.service_to) == (
        None,
        date(2024, 6, 12),
        date(2024, 6, 14),
    )
    assert line1.start_date == date(2024, 6, 12)
    assert line2.procedure.modifiers == ("GP", "59")
    assert result.remittances[2].provider_adjustments[0].items == (
        ProviderAdjustmentItem("FB", "ORTH240399", D("100")),
    )


def test_bytes_and_text_give_equal_results() -> None:
    data = (FIXTURES / "basic_star.835").read_bytes()
    assert parse_835(data) == parse_835(data.decode("ascii")) == parse_835(bytearray(data))


def test_model_is_frozen() -> None:
    claim = parse_fixture("basic_star.835").remittances[0].claims[0]
    with pytest.raises(AttributeError):
        claim.paid = D("0")  # type: ignore[misc]
    assert hash(claim.lines[0].adjustments[0]) == hash(Adjustment("CO", "45", D("11286.5")))
    assert isinstance(claim.lines, tuple) and isinstance(claim.adjustments, tuple)


def test_cas_quantity_and_six_triplets() -> None:
    adjustments = [
        ("CO", "45", D("100"), 1),
        ("CO", "97", D("100"), 1),
        ("CO", "16", D("100")),
        ("CO", "50", D("100"), 2),
        ("CO", "29", D("100")),
        ("CO", "B7", D("100"), 1),
    ]
    line = LineSpec("97110", D("600"), D("0"), units=4, adjustments=adjustments)
    text = build_835([ClaimSpec("Q1", D("600"), D("0"), lines=[line])])
    assert "CAS*CO*45*100*1*97*100*1*16*100**50*100*2*29*100**B7*100*1~" in text
    result = parse_835(text)
    assert result.errors == (), result.report()
    adj = result.remittances[0].claims[0].lines[0].adjustments
    assert [(a.code, a.amount, a.quantity) for a in adj] == [
        ("CO-45", D("100"), D("1")),
        ("CO-97", D("100"), D("1")),
        ("CO-16", D("100"), None),
        ("CO-50", D("100"), D("2")),
        ("CO-29", D("100"), None),
        ("CO-B7", D("100"), D("1")),
    ]


# --------------------------------------------------------------------------
# Generated files


def test_generator_is_deterministic_and_valid() -> None:
    a = generate_835(60, seed=11, transactions=3)
    assert a == generate_835(60, seed=11, transactions=3)
    assert a != generate_835(60, seed=12, transactions=3)
    result = parse_835(a)
    assert result.errors == (), result.report()
    assert len(result.remittances) == 3
    assert [len(r.claims) for r in result.remittances] == [20, 20, 20]
    assert len({r.control_number for r in result.remittances}) == 3


def test_generator_content_is_realistic() -> None:
    result = parse_835(generate_835(400, seed=3))
    assert result.errors == (), result.report()
    claims = list(result.claims)
    assert len(claims) == 400
    codes = {a.code for c in claims for a in c.all_adjustments}
    assert {"CO-45", "PR-1", "PR-2", "PR-3", "CO-97"} <= codes
    reversals = [c for c in claims if c.is_reversal]
    assert reversals
    for rev in reversals:
        assert rev.charge < 0 and rev.paid <= 0
        assert all(a.amount <= 0 for a in rev.all_adjustments)
    remarks = {r for c in claims for ln in c.lines for r in ln.remark_codes}
    assert {"N864", "N830"} <= remarks
    assert any(c.lines == () and c.adjustments for c in claims)  # claim-level CAS only
    assert any(c.adjustments and c.lines for c in claims)  # claim- and line-level CAS
    assert all(ln.service_date for c in claims for ln in c.lines)
    assert any(ln.allowed for c in claims for ln in c.lines)
    assert result.remittances[0].provider_adjustments
    statuses = {c.status_code for c in claims}
    assert {"1", "4", "22"} <= statuses


def _pyx12_claims(text: str) -> list[tuple[str, str, Decimal, Decimal]]:
    from pyx12.x12file import X12Reader

    with X12Reader(io.StringIO(text)) as reader:
        return [
            (
                seg.get_value("CLP01"),
                seg.get_value("CLP02"),
                D(seg.get_value("CLP03")),
                D(seg.get_value("CLP04")),
            )
            for seg in reader
            if seg.get_seg_id() == "CLP"
        ]


def _pyx12_valid(text: str, caplog: pytest.LogCaptureFixture) -> bool:
    import pyx12.params
    import pyx12.x12n_document

    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="pyx12"):
        ok = pyx12.x12n_document.x12n_document(
            pyx12.params.params(), io.StringIO(text), fd_997=None, fd_html=None
        )
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    return ok


CROSS_CHECK_FILES = [*FIXTURE_NAMES, "generated-pipe", "generated-odd"]


def _cross_check_text(name: str) -> str:
    if name == "generated-pipe":
        return generate_835(
            120,
            seed=5,
            element_sep="|",
            component_sep=">",
            repetition_sep="{",
            terminator="\n",
            newline=False,
            transactions=3,
        )
    if name == "generated-odd":
        return generate_835(
            80,
            seed=9,
            element_sep="^",
            component_sep="\\",
            repetition_sep="!",
            terminator="'",
            newline=True,
        )
    return (FIXTURES / name).read_text(encoding="ascii")


@pytest.mark.parametrize("name", CROSS_CHECK_FILES)
def test_pyx12_agrees(name: str, caplog: pytest.LogCaptureFixture) -> None:
    text = _cross_check_text(name)
    assert _pyx12_valid(text, caplog) is True
    theirs = _pyx12_claims(text)
    ours = parse_835(text)
    assert ours.errors == (), ours.report()
    assert [
        (c.patient_control_number, c.status_code, c.charge, c.paid) for c in ours.claims
    ] == theirs
    assert len(theirs) > 0


def test_pyx12_rejects_what_we_reject(caplog: pytest.LogCaptureFixture) -> None:
    """The cross-check can fail: an unbalanced SE01 is caught by both parsers."""
    import pyx12.params
    import pyx12.x12n_document

    text = (FIXTURES / "basic_star.835").read_text(encoding="ascii").replace("SE*76*", "SE*75*")
    with caplog.at_level(logging.ERROR, logger="pyx12"):
        assert (
            pyx12.x12n_document.x12n_document(
                pyx12.params.params(), io.StringIO(text), fd_997=None, fd_html=None
            )
            is False
        )
    assert any("SE count" in r.getMessage() for r in caplog.records)
    assert [(e.segment_no, e.element) for e in parse_835(text).errors] == [(78, "SE01")]


# --------------------------------------------------------------------------
# Property: the delimiters do not change the meaning

SAFE = "*:^~|><!{}#$%&;?+=@`'\"/\\[]_"


@st.composite
def delimiter_sets(draw: st.DrawFn) -> Delimiters:
    chars = draw(st.lists(st.sampled_from(SAFE), min_size=4, max_size=4, unique=True))
    terminator = draw(st.sampled_from([chars[3], "\n"]))
    return Delimiters(chars[0], chars[1], chars[2], terminator)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    n_claims=st.integers(1, 12),
    transactions=st.integers(1, 3),
    delimiters=delimiter_sets(),
    newline=st.booleans(),
)
def test_reserialised_with_other_delimiters_parses_the_same(
    seed: int, n_claims: int, transactions: int, delimiters: Delimiters, newline: bool
) -> None:
    original = generate_835(n_claims, seed=seed, transactions=min(transactions, n_claims))
    expected = parse_835(original)
    assert expected.errors == (), expected.report()
    d = delimiters
    text = serialize(
        tokenize(original), d.element, d.component, d.repetition, d.segment, newline=newline
    )
    assert read_delimiters(text) == d
    assert parse_835(text) == expected


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10**6), delimiters=delimiter_sets())
def test_generator_honours_its_delimiters(seed: int, delimiters: Delimiters) -> None:
    d = delimiters
    text = generate_835(
        5,
        seed=seed,
        element_sep=d.element,
        component_sep=d.component,
        repetition_sep=d.repetition or "^",
        terminator=d.segment,
    )
    assert read_delimiters(text) == d
    result = parse_835(text)
    assert result.errors == (), result.report()
    assert result == parse_835(generate_835(5, seed=seed))
