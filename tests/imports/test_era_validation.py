"""835 validation: every problem is found, located to the exact segment and element.

Segment numbers refer to the hand-made fixtures (one segment per line in
basic_star.835, so segment N is line N of the file).  Each test first checks
that the number it asserts really is the segment it means.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advocate.imports.era import EraError, error_report, parse_835
from advocate.imports.x12 import X12SyntaxError, segment_label, tokenize

FIXTURES = Path(__file__).parent / "fixtures"
BASIC = (FIXTURES / "basic_star.835").read_text(encoding="ascii")
PIPE = (FIXTURES / "pipe_caret_newline.835").read_text(encoding="ascii")
TWO = (FIXTURES / "two_interchanges_crlf.835").read_text(encoding="ascii")


def swap(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def segment_at(text: str, position: int) -> str:
    return tokenize(text)[position - 1].text()


def located(text: str) -> list[tuple[str | None, int, str, str | None, int | None]]:
    result = parse_835(text)
    assert result.valid is (not result.errors)
    return [
        (e.transaction, e.segment_no, e.segment_id, e.element, e.transaction_segment_no)
        for e in result.errors
    ]


def without(text: str, *prefixes: str) -> str:
    """basic_star.835 without the segments starting with ``prefixes``, SE01 kept right."""
    lines = text.splitlines(keepends=True)
    kept = [ln for ln in lines if not ln.startswith(prefixes)]
    removed = len(lines) - len(kept)
    assert removed >= len(prefixes)
    if "SE*" in prefixes:
        return "".join(kept)
    return swap("".join(kept), "SE*76*0001", f"SE*{76 - removed}*0001")


def inserted_after(text: str, anchor: str, segment: str) -> str:
    """basic_star.835 with one more segment after the (unique) line ``anchor``, SE01 kept right."""
    return swap(swap(text, anchor + "~\n", f"{anchor}~\n{segment}~\n"), "SE*76*0001", "SE*77*0001")


def test_fixtures_are_valid() -> None:
    for text in (BASIC, PIPE, TWO, BASIC + PIPE):
        assert parse_835(text).errors == ()


# --------------------------------------------------------------------------
# Element values


def test_bad_amount_is_located_and_reported() -> None:
    text = swap(BASIC, "CLP*ORTH240501*1*14250*1170.8*", "CLP*ORTH240501*1*14250*abc*")
    assert segment_at(text, 17).startswith("CLP*ORTH240501")
    result = parse_835(text)
    # Balancing is skipped for what could not be read: one error, not a cascade.
    assert result.errors == (EraError("0001", 17, "CLP", "CLP04", "'abc' is not an amount", 15),)
    assert not result.valid
    assert error_report(result.errors) == (
        "Transaction 0001, segment 17 (CLP), element CLP04: 'abc' is not an amount"
    )
    assert str(result.errors[0]) == error_report(result.errors)


@pytest.mark.parametrize(
    "bad", ["1e3", "1,170.80", " 1170.8", "1170.", "+5", "NaN", "--1", "1_0", "\u0661\u0662"]
)
def test_amount_format_is_x12_decimal(bad: str) -> None:
    text = swap(BASIC, "SVC*HC:93010*1650*", f"SVC*HC:93010*{bad}*")
    assert segment_at(text, 50).startswith("SVC*HC:93010")
    assert located(text) == [("0001", 50, "SVC", "SVC02", 48)]


@pytest.mark.parametrize("good", ["-0", ".5", "0.50", "00012"])
def test_unusual_but_valid_amounts_are_accepted(good: str) -> None:
    # Only the AMT*AU value changes: nothing balances on it.
    text = swap(BASIC, "AMT*AU*1463.5", f"AMT*AU*{good}")
    assert located(text) == []


@pytest.mark.parametrize(
    ("old", "new", "position", "segment_id", "element"),
    [
        ("DTM*232*20240428", "DTM*232*20240431", 40, "DTM", "DTM02"),  # no April 31st
        ("DTM*050*20240515", "DTM*050*2024-05-15", 60, "DTM", "DTM02"),
        ("DTM*233*20240503", "DTM*233*240503", 65, "DTM", "DTM02"),
        ("*9876543210*20240614", "*9876543210*20241314", 4, "BPR", "BPR16"),
        ("PLB*1588667638*20241231", "PLB*1588667638*2024123A", 77, "PLB", "PLB02"),
    ],
)
def test_bad_dates(old: str, new: str, position: int, segment_id: str, element: str) -> None:
    text = swap(BASIC, old, new)
    assert new in segment_at(text, position)
    assert located(text) == [("0001", position, segment_id, element, position - 2)]


def test_bad_date_message() -> None:
    result = parse_835(swap(BASIC, "DTM*232*20240428", "DTM*232*20240431"))
    assert error_report(result.errors) == (
        "Transaction 0001, segment 40 (DTM), element DTM02: "
        "'20240431' is not a valid date (CCYYMMDD)"
    )


def test_unknown_claim_status() -> None:
    text = swap(BASIC, "CLP*ED240611*1*", "CLP*ED240611*7*")
    assert located(text) == [("0001", 38, "CLP", "CLP02", 36)]
    assert parse_835(text).errors[0].message == "'7' is not a claim status code"


def test_unknown_adjustment_group() -> None:
    text = swap(BASIC, "CAS*CO*50*2875", "CAS*XX*50*2875")
    assert segment_at(text, 57) == "CAS*XX*50*2875"
    assert located(text) == [("0001", 57, "CAS", "CAS01", 55)]


def test_unknown_service_date_qualifier() -> None:
    text = swap(
        BASIC, "SVC*HC:99214:25*380*160**1~\nDTM*472*", "SVC*HC:99214:25*380*160**1~\nDTM*473*"
    )
    assert located(text) == [("0001", 67, "DTM", "DTM01", 65)]


# --------------------------------------------------------------------------
# Balancing


def test_unbalanced_claim_level_adjustment() -> None:
    text = swap(BASIC, "CAS*CO*253*7.04", "CAS*CO*253*7.05")
    assert segment_at(text, 61).startswith("CLP*ORTH240502")
    result = parse_835(text)
    assert [(e.segment_no, e.segment_id, e.element) for e in result.errors] == [
        (61, "CLP", "CLP04")
    ]
    assert result.errors[0].message == (
        "claim does not balance: charge 980 - paid 344.96 = 635.04, but adjustments total 635.05 "
        "(claim level 7.05, line level 628)"
    )


def test_unbalanced_line_is_reported_on_the_line_and_its_claim() -> None:
    text = swap(BASIC, "CAS*CO*45*360", "CAS*CO*45*361")
    assert segment_at(text, 71).startswith("SVC*HC:73562")
    assert located(text) == [("0001", 61, "CLP", "CLP04", 59), ("0001", 71, "SVC", "SVC03", 69)]
    line_error = parse_835(text).errors[1]
    assert line_error.message == (
        "service line does not balance: charge 600 - paid 192 = 408, but its adjustments total 409"
    )


def test_claim_without_lines_balances_on_claim_level_cas_only() -> None:
    text = swap(BASIC, "CAS*CO*50*2875", "CAS*CO*50*2874")
    assert located(text) == [("0001", 56, "CLP", "CLP04", 54)]


def test_reversal_must_balance_too() -> None:
    text = swap(PIPE, "CAS|CO|45|-3375", "CAS|CO|45|3375")  # sign error in a reversal
    assert located(text) == [("1001", 13, "CLP", "CLP04", 11), ("1001", 16, "SVC", "SVC03", 14)]


def test_payment_total_must_match_claims_minus_plb() -> None:
    text = swap(BASIC, "BPR*C*3668.03*", "BPR*C*3668.04*")
    result = parse_835(text)
    # A file that does not reconcile still imports, with a warning.
    assert result.errors == ()
    assert [(e.segment_no, e.segment_id, e.element) for e in result.warnings] == [
        (4, "BPR", "BPR02")
    ]
    assert result.warnings[0].message == (
        "total payment 3668.04 does not equal claim payments 3876.16 "
        "minus provider adjustments 208.13 = 3668.03"
    )


def test_plb_amount_enters_the_payment_balance() -> None:
    text = swap(BASIC, "*L6:2224155012345*-4.37", "*L6:2224155012345*4.37")
    result = parse_835(text)
    assert result.errors == ()
    assert [(e.transaction, e.segment_no, e.element) for e in result.warnings] == [
        ("0001", 4, "BPR02")
    ]


# --------------------------------------------------------------------------
# Envelope counts and control numbers


@pytest.mark.parametrize(
    ("old", "new", "position", "segment_id", "element", "transaction"),
    [
        ("SE*76*0001", "SE*75*0001", 78, "SE", "SE01", "0001"),
        ("SE*76*0001", "SE*seventy*0001", 78, "SE", "SE01", "0001"),
        ("SE*76*0001", "SE*76*0002", 78, "SE", "SE02", "0001"),
        ("GE*1*4217", "GE*2*4217", 79, "GE", "GE01", None),
        ("GE*1*4217", "GE*1*4218", 79, "GE", "GE02", None),
        ("IEA*1*000004217", "IEA*2*000004217", 80, "IEA", "IEA01", None),
        ("IEA*1*000004217", "IEA*1*000004218", 80, "IEA", "IEA02", None),
    ],
)
def test_envelope_counts_and_control_numbers(
    old: str, new: str, position: int, segment_id: str, element: str, transaction: str | None
) -> None:
    text = swap(BASIC, old, new)
    assert segment_at(text, position) == new
    tx_pos = position - 2 if transaction else None
    assert located(text) == [(transaction, position, segment_id, element, tx_pos)]


def test_envelope_messages() -> None:
    text = swap(swap(BASIC, "SE*76*0001", "SE*75*0001"), "IEA*1*000004217", "IEA*1*000004218")
    assert error_report(parse_835(text).errors).splitlines() == [
        "Transaction 0001, segment 78 (SE), element SE01: SE01 says 75 segments, transaction has 76",
        "Segment 80 (IEA), element IEA02: IEA02 '000004218' does not match ISA13 '000004217'",
    ]


def test_group_count_covers_several_transactions() -> None:
    text = swap(PIPE, "GE|2|877", "GE|1|877")
    assert segment_at(text, 60) == "GE|1|877"
    assert located(text) == [(None, 60, "GE", "GE01", None)]


def test_missing_trailer() -> None:
    text = without(BASIC, "SE*")
    assert located(text) == [("0001", 3, "ST", None, 1)]
    assert parse_835(text).errors[0].message == "transaction 0001 is not closed by an SE segment"
    # The transaction itself is still read.
    assert len(parse_835(text).remittances[0].claims) == 4


def test_truncated_file_reports_every_open_envelope_and_the_balance() -> None:
    text = BASIC[: BASIC.index("CLP*ORTH240502")]
    assert located(text) == [
        (None, 1, "ISA", None, None),
        (None, 2, "GS", None, None),
        ("0001", 3, "ST", None, 1),
    ]
    assert [e.element for e in parse_835(text).warnings] == ["BPR02"]


def test_isa_must_be_106_characters() -> None:
    text = swap(BASIC, "*ZZ*87726          *", "*ZZ*87726  *")
    assert located(text) == [(None, 1, "ISA", None, None)]
    assert parse_835(text).errors[0].message == "ISA segment is 98 characters long, must be 106"


def test_duplicate_transaction_control_numbers_in_a_group() -> None:
    text = swap(swap(PIPE, "ST|835|1002", "ST|835|1001"), "SE|17|1002", "SE|17|1001")
    assert located(text) == [("1001", 43, "ST", "ST02", 1)]


# --------------------------------------------------------------------------
# Required segments and structure


@pytest.mark.parametrize(
    ("prefixes", "missing"),
    [
        (("BPR*",), ["BPR"]),
        (("TRN*",), ["TRN"]),
        (("N1*PR*", "N3*PO BOX", "N4*SALT LAKE", "REF*2U", "PER*BL"), ["N1*PR"]),
        (("N1*PE*", "N3*1200", "N4*CHICAGO", "REF*TJ"), ["N1*PE"]),
        (
            ("BPR*", "TRN*", "N1*", "N3*", "N4*", "REF*2U", "REF*TJ", "PER*"),
            ["BPR", "TRN", "N1*PR", "N1*PE"],
        ),
    ],
)
def test_missing_required_segments(prefixes: tuple[str, ...], missing: list[str]) -> None:
    result = parse_835(without(BASIC, *prefixes))
    assert [
        (e.transaction, e.segment_no, e.segment_id, e.element, e.message) for e in result.errors
    ] == [("0001", 3, "ST", None, f"required {m} segment is missing") for m in missing]


def test_claim_needs_a_patient() -> None:
    text = without(BASIC, "NM1*QC*1*PATEL")
    assert located(text) == [("0001", 56, "CLP", None, 54)]


def test_segment_outside_its_loop() -> None:
    text = inserted_after(BASIC, "LX*1", "SVC*HC:99213*100*100")
    assert segment_at(text, 17) == "SVC*HC:99213*100*100"
    assert located(text) == [("0001", 17, "SVC", None, 15)]


def test_claim_party_after_the_service_lines() -> None:
    text = inserted_after(BASIC, "LQ*HE*M15", "NM1*74*1*GARCIA*MARIA****C*W123456780")
    assert located(text) == [("0001", 38, "NM1", None, 36)]


def test_unknown_segment() -> None:
    text = inserted_after(BASIC, "AMT*AU*1463.5", "ZZZ*1")
    assert located(text) == [("0001", 26, "ZZZ", None, 24)]
    assert parse_835(text).errors[0].message == "'ZZZ' is not an 835 segment"


def test_other_transaction_sets_are_rejected() -> None:
    text = swap(BASIC, "ST*835*0001", "ST*837*0001")
    result = parse_835(text)
    assert located(text) == [("0001", 3, "ST", "ST01", 1)]
    assert result.remittances == ()


def test_not_x12_at_all_is_an_error_not_an_exception() -> None:
    result = parse_835(b"%PDF-1.7 this is not an 835")
    assert result.remittances == ()
    assert [(e.segment_no, e.segment_id) for e in result.errors] == [(1, "ISA")]
    assert not result.valid


# --------------------------------------------------------------------------
# All problems, everywhere


def test_every_problem_is_collected() -> None:
    text = BASIC
    for old, new in [
        ("CLP*ORTH240501*1*14250*1170.8*", "CLP*ORTH240501*1*14250*abc*"),
        ("CLP*ED240611*1*", "CLP*ED240611*7*"),
        ("CAS*CO*253*7.04", "CAS*CO*253*7.05"),
        ("SE*76*0001", "SE*76*0009"),
        ("IEA*1*000004217", "IEA*1*000004210"),
    ]:
        text = swap(text, old, new)
    assert located(text) == [
        ("0001", 17, "CLP", "CLP04", 15),
        ("0001", 38, "CLP", "CLP02", 36),
        ("0001", 61, "CLP", "CLP04", 59),
        ("0001", 78, "SE", "SE02", 76),
        (None, 80, "IEA", "IEA02", None),
    ]


def test_positions_in_a_second_interchange() -> None:
    text = swap(TWO, "CAS*PR*2*62.08", "CAS*PR*2*62.09")
    assert segment_at(text, 64).startswith("SVC*HC>97140")
    assert located(text) == [("0001", 55, "CLP", "CLP04", 10), ("0001", 64, "SVC", "SVC03", 19)]
    assert parse_835(text).errors[0].transaction_segment_no == 55 - 46 + 1


def test_positions_after_an_interchange_with_other_delimiters() -> None:
    text = BASIC + swap(PIPE, "CAS|CO|45|-3375", "CAS|CO|45|-3376")
    assert segment_at(text, 96).startswith("SVC|HC^64483")
    assert located(text) == [("1001", 93, "CLP", "CLP04", 11), ("1001", 96, "SVC", "SVC03", 14)]


def test_error_report_lines() -> None:
    errors = [
        EraError("0001", 14, "CLP", "CLP04", "'abc' is not an amount", 12),
        EraError(None, 80, "IEA", "IEA02", "IEA02 'x' does not match ISA13 'y'"),
        EraError("0001", 3, "ST", None, "required BPR segment is missing", 1),
    ]
    assert error_report(errors) == "\n".join(
        [
            "Transaction 0001, segment 14 (CLP), element CLP04: 'abc' is not an amount",
            "Segment 80 (IEA), element IEA02: IEA02 'x' does not match ISA13 'y'",
            "Transaction 0001, segment 3 (ST): required BPR segment is missing",
        ]
    )
    assert error_report([]) == ""


# --------------------------------------------------------------------------
# Corrupted input: never an exception, always a coherent location

CORPUS = (BASIC + PIPE).encode("ascii")
NOISE = b"*:^~|\n\r0123456789.-ABCDEGILMNPQRSTVZ \x00\xff"


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_corrupted_files_give_located_errors_not_exceptions(data: st.DataObject) -> None:
    raw = bytearray(CORPUS)
    for _ in range(data.draw(st.integers(1, 6), label="edits")):
        if not raw:
            break
        pos = data.draw(st.integers(0, len(raw) - 1), label="position")
        edit = data.draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
        if edit == "replace":
            raw[pos] = data.draw(st.sampled_from(NOISE))
        elif edit == "delete":
            del raw[pos : pos + data.draw(st.integers(1, 40))]
        elif edit == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=5))
        else:
            del raw[pos:]
    result = parse_835(bytes(raw))
    assert result.valid is (not result.errors)
    assert len(error_report(result.errors).splitlines()) == len(result.errors)
    try:
        segments = tokenize(bytes(raw))
    except X12SyntaxError:
        assert [(e.segment_no, e.segment_id) for e in result.errors] == [(1, "ISA")]
        return
    for e in result.errors:
        assert 1 <= e.segment_no <= len(segments)
        # the whole id (never cut), or a description when blank or unprintable
        assert e.segment_id == segment_label(segments[e.segment_no - 1].id)
        if e.transaction_segment_no is not None:
            st_segment = segments[e.segment_no - e.transaction_segment_no]
            assert st_segment.id == "ST"
            assert st_segment.get(2) == e.transaction
