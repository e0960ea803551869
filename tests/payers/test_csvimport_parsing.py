"""advocate.csvimport: decoding, header mapping, line numbers, per-row errors.
Pure parsing: no app, no database."""

from __future__ import annotations

import codecs

from advocate.csvimport import Column, CsvSchema, RowError, normalise_header
from advocate.payers import importer


def _int(value: str) -> int:
    if not value.isdigit():
        raise ValueError(f"'{value}' is not a whole number.")
    return int(value)


SCHEMA = CsvSchema(
    [
        Column("name", required=True, aliases=("full name",)),
        Column("age", parse=_int),
        Column("city"),
    ],
    row_validator=lambda v: (
        [("city", "is required for adults.")] if (v["age"] or 0) >= 18 and not v["city"] else []
    ),
)


def test_headers_match_ignoring_case_spaces_and_aliases():
    p = SCHEMA.parse(b"Full Name,AGE, City ,Shoe size\nAda,36,London,38\n")
    assert p.ok, p.errors
    assert p.columns == {"name": "Full Name", "age": "AGE", "city": "City"}
    assert p.ignored_headers == ["Shoe size"]
    assert p.rows[0].values == {"name": "Ada", "age": 36, "city": "London"}
    assert normalise_header(" Payer-ID ") == normalise_header("payer_id") == "payerid"


def test_a_byte_order_mark_is_not_part_of_the_first_header():
    p = SCHEMA.parse(codecs.BOM_UTF8 + "name,age,city\r\nZoë,30,Zürich\r\n".encode())
    assert p.ok, p.errors
    assert p.rows[0].values["name"] == "Zoë"
    assert p.rows[0].line == 2


def test_text_that_is_not_utf8_is_refused_with_its_line():
    p = SCHEMA.parse("name,age,city\nAda,36,London\nZoë,30,Zürich\n".encode("latin-1"))
    assert not p.ok
    assert p.rows == []
    assert len(p.errors) == 1
    e = p.errors[0]
    assert e.line == 3 and "not UTF-8" in e.message and "CSV UTF-8" in e.message


def test_utf16_is_refused_with_a_fix():
    p = SCHEMA.parse("name\nAda\n".encode("utf-16"))
    assert not p.ok and "UTF-16" in p.errors[0].message


def test_a_missing_required_column_is_named():
    p = SCHEMA.parse(b"age,city\n36,London\n")
    assert not p.ok
    assert [str(e) for e in p.errors] == [
        "Line 1, column name: Required column 'name' (or 'full name') is missing from the header."
    ]


def test_line_numbers_are_the_files_own_lines():
    data = (
        b"\n"  # line 1: blank, skipped
        b"name,age,city\n"  # line 2: header
        b"Ada,36,London\n"  # line 3
        b"\n"  # line 4: blank
        b'"Grace\nHopper",x,NYC\n'  # lines 5-6: one row, reported at 5
        b",,\n"  # line 7: empty cells, skipped
        b"Alan,41,\n"  # line 8
        b",20,Paris\n"  # line 9
    )
    p = SCHEMA.parse(data)
    assert [r.line for r in p.rows] == [3, 5, 8, 9]
    assert [str(e) for e in p.errors] == [
        "Line 5, column age: 'x' is not a whole number.",
        "Line 8, column city: is required for adults.",
        "Line 9, column name: is required.",
    ]
    assert p.counts() == {"rows": 4, "valid_rows": 1, "error_rows": 3, "errors": 3}
    assert not p.ok


def test_extra_cells_duplicate_headers_and_empty_files():
    p = SCHEMA.parse(b"name,age\nAda,36,London\n")
    assert "3 cells but the header has 2" in p.errors[0].message and p.errors[0].line == 2
    p = SCHEMA.parse(b"name,Full name\nAda,Ada\n")
    assert p.errors == [
        RowError(1, "Full name", "Columns 'name' and 'Full name' are both name; keep one.")
    ]
    assert "empty" in SCHEMA.parse(b"").errors[0].message
    assert "empty" in SCHEMA.parse(b"\n\n").errors[0].message
    assert SCHEMA.parse(b"name,age\n").errors[0].message == "The file has a header but no rows."


def test_an_unclosed_quote_is_reported():
    p = SCHEMA.parse(b'name,age\n"Ada,36\n')
    assert not p.ok and "unclosed quote" in p.errors[0].message


def test_too_many_rows_is_refused():
    small = CsvSchema([Column("name", required=True)], max_rows=2)
    p = small.parse(b"name\na\nb\nc\n")
    assert not p.ok and p.errors[0].line == 4 and "more than 2 rows" in p.errors[0].message


def test_payer_schema_checks_cells_rows_and_the_whole_file():
    data = (
        b"name,payer_id,plan_types,provider_phone,portal_url,contact_role\n"
        b"Northstar,87726,ERISA; fully insured,800-555-0142,provider.northstar.example,\n"
        b"Bluewater,BW 22,medicare,555-0100,javascript:alert(1),Rep\n"
        b"northstar ,,,,,\n"
    )
    p = importer.parse(data)
    assert p.rows[0].values["plan_types"] == ["erisa_self_funded", "fully_insured"]
    assert p.rows[0].values["provider_phone"] == "(800) 555-0142"
    assert p.rows[0].values["portal_url"] == "https://provider.northstar.example"
    messages = [str(e) for e in p.errors]
    assert messages[0].startswith("Line 3, column payer_id: 'BW 22' is not a payer ID")
    assert messages[1].startswith("Line 3, column plan_types: 'medicare' is not a plan type")
    assert messages[2].startswith("Line 3, column provider_phone: '555-0100' has 7 digits")
    assert messages[3].startswith(
        "Line 3, column portal_url: 'javascript:alert(1)' must start with https://"
    )
    assert (
        messages[4]
        == "Line 4, column name: 'northstar' is also on line 2; give each payer once per file."
    )
    assert len(messages) == 5
    # A contact column without a contact name is a row error.
    p = importer.parse(b"name,contact_role\nNorthstar,Rep\n")
    assert [str(e) for e in p.errors] == [
        "Line 2, column contact_name: is required when the row has other contact columns."
    ]


def test_a_file_over_the_size_limit_is_refused_before_parsing():
    p = importer.parse(b"name\n" + b"x" * (importer.MAX_BYTES + 1))
    assert not p.ok and "larger than 2 MB" in p.errors[0].message
