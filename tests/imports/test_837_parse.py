"""837P / 837I parsing and validation: values as sent, problems located."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from advocate.imports import claims837
from advocate.imports.claims837 import MAX_ERRORS, parse_837
from advocate.imports.claims837_fixtures import BatchSpec, ClaimSpec, LineSpec, build_837
from advocate.imports.era_fixtures import generate_835
from advocate.imports.x12 import Delimiters

TODAY = date(2025, 1, 15)


def _one(kind="P", **claim):
    lines = claim.pop("lines", None) or [
        LineSpec("99213", "150.00", place_of_service="11"),
        LineSpec("29881", "12750.00", modifiers=("RT", "59"), control_number="LN-2"),
    ]
    batch = claim.pop("batch", {})
    return build_837([BatchSpec([ClaimSpec("PCN-1001", lines, **claim)], **batch)], kind)


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _messages(result) -> list[str]:
    return [f"{e.segment_id}@{e.segment_no} {e.element}: {e.message}" for e in result.errors]


def test_professional_claim_values_as_sent():
    result = parse_837(_one(), today=TODAY)
    assert result.valid, result.report()
    (sub,) = result.submissions
    assert sub.kind == "P" and sub.version == "005010X222A1"
    assert sub.interchange_control_number == "000000001" and sub.control_number == "0001"
    assert result.interchanges == (("SUBMITTER01", "RECEIVER01", "000000001"),)
    (claim,) = sub.claims
    assert claim.patient_control_number == "PCN-1001"
    assert claim.charge == Decimal("12900.00") and claim.line_total == Decimal("12900.00")
    assert (claim.facility_code, claim.facility_qualifier, claim.frequency_code) == ("11", "B", "1")
    assert claim.place_of_service == "11"
    assert [(d.qualifier, d.code) for d in claim.diagnoses] == [("ABK", "M25562"), ("ABF", "M1712")]
    assert claim.billing_provider.npi == "1234567893"
    assert claim.billing_provider.tax_id == "123456789"
    assert claim.billing_provider.name == "NORTHSIDE ORTHOPEDICS"
    assert claim.rendering_npi == "1477553311"
    assert claim.payer.name == "SUMMIT MUTUAL HEALTH PLAN" and claim.payer.identifier == "SMH01"
    assert claim.member_id == "W123456789"
    # SBR02 18: the subscriber is the patient.
    assert claim.relationship == "18"
    assert (claim.patient.last_name, claim.patient.first_name) == ("DOE", "JANE")
    assert claim.patient.birth_date == date(1980, 4, 2)
    first, second = claim.lines
    assert (first.code, first.modifiers, first.charge, first.units) == (
        "99213",
        (),
        Decimal("150.00"),
        1,
    )
    assert first.place_of_service == "11"
    assert second.modifiers == ("RT", "59") and second.control_number == "LN-2"
    assert second.service_from == second.service_to == date(2024, 5, 2)
    assert claim.service_from == claim.service_to == date(2024, 5, 2)
    assert claim.segment_no == 20 and first.segment_no == 24


def test_institutional_claim_with_patient_loop():
    text = _one(
        "I",
        facility_code="13",
        frequency_code="7",
        patient_last="ROE",
        patient_first="KIM",
        payer_claim_number="ICN998877",
        lines=[
            LineSpec("99284", "980.00", revenue_code="0450"),
            LineSpec("J1100", "35.00", revenue_code="0636", units=2, service_date=date(2024, 5, 3)),
        ],
    )
    result = parse_837(text, today=TODAY)
    assert result.valid, result.report()
    (claim,) = result.claims
    assert claim.kind == "I"
    assert (claim.facility_code, claim.facility_qualifier, claim.frequency_code) == ("13", "A", "7")
    assert claim.place_of_service is None
    assert claim.payer_claim_number == "ICN998877"
    assert claim.attending_npi == "1477553311"
    assert (claim.patient.last_name, claim.patient.first_name) == ("ROE", "KIM")
    assert (claim.subscriber.last_name, claim.subscriber.first_name) == ("DOE", "JANE")
    assert [ln.revenue_code for ln in claim.lines] == ["0450", "0636"]
    assert claim.lines[1].units == 2
    assert claim.date("434").start == date(2024, 5, 2) and claim.date("434").end == date(2024, 5, 3)
    assert (claim.service_from, claim.service_to) == (date(2024, 5, 2), date(2024, 5, 3))


def test_other_delimiters_and_several_subscribers():
    batches = [
        BatchSpec([ClaimSpec("A1", [LineSpec("99213", "150")])], member_id="M1"),
        BatchSpec(
            [
                ClaimSpec("B1", [LineSpec("99214", "200")]),
                ClaimSpec("B2", [LineSpec("99215", "300")]),
            ],
            member_id="M2",
            billing_npi="1122334455",
            billing_name="EASTSIDE",
        ),
    ]
    text = build_837(batches, delimiters=Delimiters("|", ">", "!", "\n"), newline=False)
    result = parse_837(text, today=TODAY)
    assert result.valid, result.report()
    assert [
        (c.patient_control_number, c.member_id, c.billing_provider.npi) for c in result.claims
    ] == [
        ("A1", "M1", "1234567893"),
        ("B1", "M2", "1122334455"),
        ("B2", "M2", "1122334455"),
    ]


def test_names_utf8_or_latin1_kept_exactly():
    text = _one(batch={"subscriber_last": "NÚÑEZ", "subscriber_first": "JOSÉ"})
    utf8 = parse_837(text.encode("utf-8"), today=TODAY)
    latin1 = parse_837(text.encode("latin-1"), today=TODAY)
    for result in (utf8, latin1):
        assert result.valid, result.report()
        (claim,) = result.claims
        assert (claim.patient.last_name, claim.patient.first_name) == ("NÚÑEZ", "JOSÉ")


def test_envelope_counts_and_control_numbers_are_checked():
    text = _replace(_one(), "SE*28*0001", "SE*27*0001")
    text = _replace(text, "IEA*1*000000001", "IEA*1*000000002")
    result = parse_837(text, today=TODAY)
    assert not result.valid
    messages = _messages(result)
    assert any("SE@30 SE01: SE01 says 27 segments, transaction has 28" in m for m in messages)
    assert any("IEA@32 IEA02" in m for m in messages)


def test_clm02_must_equal_the_line_charges_reported_on_the_claim():
    result = parse_837(_one(charge="13000.00"), today=TODAY)
    (e,) = result.errors
    assert (e.segment_id, e.segment_no, e.element, e.claim) == ("CLM", 20, "CLM02", "PCN-1001")
    assert e.message == "total charge 13000.00 does not equal the sum of the line charges 12900.00"
    assert "claim PCN-1001" in result.report()


def test_unknown_codes_are_reported_per_claim():
    text = _one(
        facility_code="98",
        frequency_code="9",
        diagnoses=("M25.562",),
        lines=[LineSpec("9921", "10.00", modifiers=("R",), place_of_service="00")],
    )
    result = parse_837(text, today=TODAY)
    by_element = {e.element: e for e in result.errors}
    assert set(by_element) >= {"CLM05-01", "CLM05-03", "HI01-02", "SV101-02", "SV101-03", "SV105"}
    assert all(e.claim == "PCN-1001" for e in result.errors)
    assert "ICD-10-CM" in by_element["HI01-02"].message


def test_institutional_revenue_code_must_be_four_digits():
    text = _one("I", facility_code="13", lines=[LineSpec("99284", "980", revenue_code="450")])
    result = parse_837(text, today=TODAY)
    assert [(e.element, e.claim) for e in result.errors] == [("SV201", "PCN-1001")]


def test_future_dates_are_reported():
    text = _one(lines=[LineSpec("99213", "150", service_date=date(2025, 2, 1))])
    result = parse_837(text, today=TODAY)
    (e,) = result.errors
    assert (
        e.segment_id == "DTP"
        and e.element == "DTP03"
        and "2025-02-01 is in the future" in e.message
    )
    assert parse_837(text, today=date(2025, 2, 1)).valid


def test_hierarchy_parent_must_be_the_enclosing_level():
    text = _replace(_one(), "HL*2*1*22*0", "HL*2*7*22*0")
    result = parse_837(text, today=TODAY)
    (e,) = result.errors
    assert (e.segment_id, e.segment_no, e.element) == ("HL", 13, "HL02")


def test_hl04_must_tell_the_truth():
    text = _one(patient_last="ROE", patient_first="KIM")
    bad = _replace(text, "HL*2*1*22*1", "HL*2*1*22*0")
    result = parse_837(bad, today=TODAY)
    assert [(e.segment_no, e.element) for e in result.errors] == [(13, "HL04")]


def test_segment_out_of_place_and_unknown_segment():
    text = _replace(_one(), "DTP*472*D8*20240502~\nLX*2", "DTP*472*D8*20240502~\nZZZ*1~\nLX*2")
    result = parse_837(text, today=TODAY)
    messages = _messages(result)
    assert any("ZZZ@26" in m and "not expected in loop 2400" in m for m in messages), messages
    # HI belongs before the claim's lines.
    text = _replace(_one(), "REF*6R*LN-2~", "REF*6R*LN-2~\nHI*ABF:M1712~")
    text = _replace(text, "SE*28*0001", "SE*29*0001")
    result = parse_837(text, today=TODAY)
    assert [(e.segment_id, e.segment_no) for e in result.errors] == [("HI", 30)]
    assert "out of place" in result.errors[0].message


def test_required_segments_and_loops():
    text = _replace(_one(), "HI*ABK:M25562*ABF:M1712~\n", "")
    text = _replace(text, "SE*28*0001", "SE*27*0001")
    result = parse_837(text, today=TODAY)
    messages = _messages(result)
    assert any("lacks its required HI segment" in m for m in messages), messages
    assert any("no principal diagnosis" in m for m in messages)
    text = _replace(_one(), "NM1*PR*2*SUMMIT MUTUAL HEALTH PLAN*****PI*SMH01~\n", "")
    text = _replace(text, "SE*28*0001", "SE*27*0001")
    result = parse_837(text, today=TODAY)
    assert any("lacks its required loop 2010BB (NM1*PR)" in m for m in _messages(result))


def test_claims_per_subscriber_limit():
    claims = [ClaimSpec(f"P{i}", [LineSpec("99213", "150")]) for i in range(101)]
    result = parse_837(build_837([BatchSpec(claims)]), today=TODAY)
    (e,) = result.errors
    assert e.message == "loop 2300 repeats 101 times in loop 2000B, at most 100"
    assert e.claim is None and e.segment_id == "CLM"


def test_segment_repeat_limit():
    text = _replace(
        _one(),
        "SV1*HC:99213*150*UN*1*11**1~",
        "SV1*HC:99213*150*UN*1*11**1~\nSV1*HC:99213*150*UN*1*11**1~",
    )
    text = _replace(text, "SE*28*0001", "SE*29*0001")
    result = parse_837(text, today=TODAY)
    assert any("SV1 appears 2 times in loop 2400, at most 1" in m for m in _messages(result))


def test_an_835_is_named_as_such():
    result = parse_837(generate_835(3), today=TODAY)
    assert result.kind == "835" and not result.valid
    (e,) = result.errors
    assert (
        e.element == "ST01" and "835 remittance advice" in e.message and "not an 837" in e.message
    )


def test_not_x12_at_all():
    result = parse_837(b"claim,amount\n1,2\n", today=TODAY)
    assert not result.valid and "ISA" in result.errors[0].message


def test_errors_are_capped_but_counted():
    batches = [
        BatchSpec([ClaimSpec(f"P{i}", [LineSpec("99213", "150")], charge="1")])
        for i in range(MAX_ERRORS + 50)
    ]
    result = parse_837(build_837(batches), today=TODAY)
    assert result.error_count == MAX_ERRORS + 50
    assert len(result.errors) == MAX_ERRORS
    assert result.report().endswith("... and 50 more error(s)")


def test_error_details_name_claim_and_position():
    result = parse_837(_one(charge="1.00"), today=TODAY)
    (detail,) = claims837.error_details(result.errors)
    assert detail == {
        "transaction": "0001",
        "segment": 20,
        "segment_id": "CLM",
        "transaction_segment": 18,
        "element": "CLM02",
        "claim": "PCN-1001",
        "message": detail["message"],
    }


@pytest.mark.parametrize("npi", ["1234567890", "12345"])
def test_billing_npi_is_checked(npi):
    result = parse_837(_one(batch={"billing_npi": npi}), today=TODAY)
    assert [(e.segment_id, e.element) for e in result.errors] == [("NM1", "NM109")]
