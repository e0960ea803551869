"""X12 tokenizer, envelope grouping and serializer (advocate.imports.x12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from advocate.imports.x12 import (
    ISA_LENGTH,
    Delimiters,
    Segment,
    X12SyntaxError,
    parse_x12,
    read_delimiters,
    serialize,
    tokenize,
)

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("basic_star.835", Delimiters("*", ":", "^", "~")),
        ("pipe_caret_newline.835", Delimiters("|", "^", "{", "\n")),
        ("two_interchanges_crlf.835", Delimiters("*", ">", "^", "~")),
    ],
)
def test_delimiters_come_from_the_isa(name: str, expected: Delimiters) -> None:
    text = fixture(name).decode("ascii")
    assert read_delimiters(text) == expected
    segments = tokenize(text)
    assert {s.delimiters for s in segments} == {expected}
    assert segments[0].id == "ISA" and segments[-1].id == "IEA"
    assert [s.position for s in segments] == list(range(1, len(segments) + 1))
    # No delimiter or line break leaks into an element.
    for seg in segments[1:]:
        for value in seg.elements:
            assert "\r" not in value and "\n" not in value
            assert expected.element not in value and expected.segment not in value


def test_basic_fixture_tokens() -> None:
    segments = tokenize(fixture("basic_star.835"))
    assert len(segments) == 80
    assert [s.id for s in segments[:5]] == ["ISA", "GS", "ST", "BPR", "TRN"]
    clp = segments[16]
    assert clp.position == 17
    assert clp.elements == (
        "CLP",
        "ORTH240501",
        "1",
        "14250",
        "1170.8",
        "292.7",
        "12",
        "2224155012345",
        "11",
        "1",
    )
    svc = segments[25]
    assert svc.id == "SVC"
    assert svc.get(1) == "HC:29881:RT"
    assert svc.components(1) == ("HC", "29881", "RT")
    assert svc.get(4) == "" and svc.get(5) == "1" and svc.get(40) == ""
    assert segments[0].get(16) == ":"
    assert len(segments[0].text()) + 1 == ISA_LENGTH


def test_crlf_after_terminators_and_several_interchanges() -> None:
    data = fixture("two_interchanges_crlf.835")
    assert b"~\r\n" in data
    doc = parse_x12(data)
    assert doc.errors == ()
    assert [i.control_number for i in doc.interchanges] == ["000000101", "000000102"]
    assert [[g.control_number for g in i.groups] for i in doc.interchanges] == [["101"], ["102"]]
    txs = list(doc.transactions)
    assert [
        (t.control_number, t.index, t.interchange_control_number, t.group_control_number)
        for t in txs
    ] == [
        ("0001", 0, "000000101", "101"),
        ("0002", 1, "000000101", "101"),
        ("0001", 2, "000000102", "102"),
    ]
    # Transaction rows map to file positions.
    second = txs[1]
    assert second.header.position == second.position
    assert second.trailer is not None and second.trailer.id == "SE"
    assert [s.position for s in second.segments] == list(
        range(second.position, second.position + len(second.rows))
    )


def test_bytes_and_str_are_equivalent_and_any_byte_decodes() -> None:
    data = fixture("basic_star.835")
    assert tokenize(data) == tokenize(data.decode("ascii"))
    # A latin-1 byte in a name never breaks decoding; it is kept as that character.
    accented = data.replace(b"NM1*QC*1*GARCIA*MARIA", b"NM1*QC*1*GARC\xcdA*MAR\xcdA")
    seg = tokenize(accented)[17]
    assert seg.elements[3:5] == ("GARC\u00cdA", "MAR\u00cdA")
    # A UTF-8 byte order mark before the ISA is skipped, in bytes and in str.
    assert tokenize(b"\xef\xbb\xbf" + data) == tokenize(data)
    assert tokenize("\ufeff" + data.decode("ascii")) == tokenize(data)


def test_leading_blank_lines_are_tolerated() -> None:
    data = b"\r\n\n" + fixture("basic_star.835")
    assert [s.id for s in tokenize(data)][:2] == ["ISA", "GS"]
    assert parse_x12(data).errors == ()


def test_interchanges_with_different_delimiters_in_one_file() -> None:
    first = fixture("basic_star.835")
    second = fixture("pipe_caret_newline.835")
    segments = tokenize(first + second)
    n_first = len(tokenize(first))
    assert len(segments) == n_first + len(tokenize(second))
    assert segments[n_first - 1].elements == ("IEA", "1", "000004217")
    assert segments[n_first].id == "ISA"
    assert segments[n_first].delimiters == Delimiters("|", "^", "{", "\n")
    assert segments[n_first + 2].elements == ("ST", "835", "1001")
    assert segments[-1].position == len(segments)
    doc = parse_x12(first + second)
    assert doc.errors == ()
    assert [i.delimiters.element for i in doc.interchanges] == ["*", "|"]
    assert [t.control_number for t in doc.transactions] == ["0001", "1001", "1002"]


def test_unpadded_isa_is_still_read_but_reported() -> None:
    text = fixture("basic_star.835").decode("ascii").replace("*87726          *", "*87726*", 1)
    assert read_delimiters(text) == Delimiters("*", ":", "^", "~")
    doc = parse_x12(text)
    assert len(list(doc.transactions)) == 1
    assert [(e.segment_no, e.segment_id, e.element, e.message) for e in doc.errors] == [
        (1, "ISA", None, "ISA segment is 96 characters long, must be 106"),
    ]


@pytest.mark.parametrize(
    "data",
    [b"", b"   \n", b"GS*HP*X~", b"hello world", b"ISA", b"ISA*00*  *00"],
)
def test_not_x12_raises_in_tokenize_and_is_an_error_in_parse(data: bytes) -> None:
    with pytest.raises(X12SyntaxError):
        tokenize(data)
    doc = parse_x12(data)
    assert doc.interchanges == ()
    assert len(doc.errors) == 1
    assert doc.errors[0].segment_no == 1


def test_unterminated_last_segment_is_kept_and_reported() -> None:
    text = fixture("basic_star.835").decode("ascii").rstrip("\n")
    assert text.endswith("~")
    text = text[:-1]  # IEA without its terminator
    segments = tokenize(text)
    assert segments[-1].elements == ("IEA", "1", "000004217")
    doc = parse_x12(text)
    assert [(e.segment_no, e.segment_id, e.message) for e in doc.errors] == [
        (80, "IEA", "segment is not terminated (no segment terminator after it)"),
    ]
    assert doc.interchanges[0].trailer is not None


def test_segment_repetitions() -> None:
    d = Delimiters("*", ":", "^", "~")
    seg = Segment(("REF", "ZZ", "A^B:C^D"), 5, d)
    assert seg.repetitions(2) == ("A", "B:C", "D")
    assert seg.repetitions(9) == ()
    no_rep = Segment(("REF", "ZZ", "A^B"), 5, Delimiters("*", ":", None, "~"))
    assert no_rep.repetitions(2) == ("A^B",)


def test_4010_isa11_is_not_a_repetition_separator() -> None:
    text = fixture("basic_star.835").decode("ascii").replace("*^*00501*", "*U*00401*", 1)
    assert read_delimiters(text) == Delimiters("*", ":", None, "~")


def test_serialize_round_trips_exactly() -> None:
    for name, newline in (("basic_star.835", True), ("pipe_caret_newline.835", False)):
        text = fixture(name).decode("ascii")
        d = read_delimiters(text)
        assert (
            serialize(
                tokenize(text), d.element, d.component, d.repetition, d.segment, newline=newline
            )
            == text
        )


def test_serialize_with_other_delimiters_rewrites_isa_and_composites() -> None:
    text = fixture("basic_star.835").decode("ascii")
    out = serialize(tokenize(text), "|", ">", "!", "\n")
    assert out.startswith("ISA|00|          |00|")
    isa = out.split("\n", 1)[0]
    assert len(isa) + 1 == ISA_LENGTH
    assert isa.endswith("|!|00501|000004217|0|P|>")
    assert read_delimiters(out) == Delimiters("|", ">", "!", "\n")
    assert "SVC|HC>29881>RT|12750|1170.8||1\n" in out
    assert "PLB|1588667638|20241231|WO>2224150077777|212.5|L6>2224155012345|-4.37\n" in out
    before, after = tokenize(text), tokenize(out)
    assert len(before) == len(after)
    for a, b in zip(before[1:], after[1:], strict=True):
        assert [a.components(i) for i in range(1, len(a.elements))] == [
            b.components(i) for i in range(1, len(b.elements))
        ]


def test_serialize_structured_segments() -> None:
    segs = [
        ["ST", "835", "0001"],
        ["SVC", ("HC", "99213", "25"), "100", "80"],
        ["REF", "ZZ", ["A", ("B", "C")]],
    ]
    assert serialize(segs, "*", ":", "^", "~") == "ST*835*0001~SVC*HC:99213:25*100*80~REF*ZZ*A^B:C~"
    assert serialize(segs[:1], "*", ":", "^", "~", newline=True) == "ST*835*0001~\n"
    with pytest.raises(ValueError, match="not distinct"):
        serialize(segs, "*", "*", "^", "~")
    with pytest.raises(ValueError, match="letter, digit or space"):
        serialize(segs, "A", ":", "^", "~")


def test_blank_lines_between_segments_are_tolerated() -> None:
    data = fixture("basic_star.835").replace(b"~\n", b"~\r\n\r\n")
    assert tokenize(data) == tokenize(fixture("basic_star.835"))
    assert parse_x12(data).errors == ()


def test_line_break_inside_a_segment_is_removed_and_reported() -> None:
    original = fixture("basic_star.835")
    wrapped = original.replace(b"CLP*ED240611*1*4850*2360.4", b"CLP*ED240611*1*48\n50*2360.4")
    assert [s.elements for s in tokenize(wrapped)] == [s.elements for s in tokenize(original)]
    errors = parse_x12(wrapped).errors
    assert [
        (e.transaction, e.segment_no, e.segment_id, e.message, e.transaction_segment_no)
        for e in errors
    ] == [("0001", 38, "CLP", "line break inside the segment", 36)]
