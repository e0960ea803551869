"""Physical shapes payers send: fixed-width wrapping, indentation, BOM, Ctrl-Z,
encodings; and human messages for what is not X12 at all."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from advocate.imports.era import parse_835

BASIC = (Path(__file__).parent / "fixtures" / "basic_star.835").read_text(encoding="ascii")
STREAM = BASIC.replace("\n", "")  # one line, as the wrapping programs read it


def wrapped(text: str, width: int, newline: str) -> str:
    return newline.join(text[i : i + width] for i in range(0, len(text), width)) + newline


def claims(result) -> list[tuple[str, str, str]]:
    return [(c.patient_control_number, str(c.charge), str(c.paid)) for c in result.claims]


EXPECTED = claims(parse_835(BASIC))


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
@pytest.mark.parametrize("width", [80, 132])
def test_fixed_width_files_import_as_the_stream_they_wrap(width, newline):
    text = wrapped(STREAM, width, newline)
    assert not text.splitlines()[0].endswith("~")  # breaks inside segments (and the ISA at 80)
    result = parse_835(text)
    assert result.errors == ()
    assert claims(result) == EXPECTED
    assert result.wrapped_width == width
    assert parse_835(text.encode("ascii")).wrapped_width == width


def test_a_single_break_inside_a_segment_is_still_reported():
    text = BASIC.replace("CLP*ORTH240501*1*", "CLP*ORTH240501*\n1*")
    result = parse_835(text)
    assert [e.message for e in result.errors] == ["line break inside the segment"]
    assert result.wrapped_width is None


def test_indented_segments_bom_and_ctrl_z_are_layout():
    indented = "\n".join(
        ("    " if i % 2 else "\t") + line for i, line in enumerate(BASIC.split("\n"))
    )
    data = b"\xef\xbb\xbf" + indented.encode("ascii") + b"\r\n\x1a"
    result = parse_835(data)
    assert result.errors == ()
    assert claims(result) == EXPECTED


def _zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("remit.835", data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _zip(BASIC.encode()),
            "this is a ZIP archive, not an X12 file: unzip it and upload the 835 inside",
        ),
        (BASIC.encode("utf-16"), "this file is UTF-16 text: save it as ASCII or UTF-8"),
        (BASIC.encode("utf-16-le"), "this file is UTF-16 text: save it as ASCII or UTF-8"),
        (
            b"%PDF-1.7\n%\xe2\xe3",
            "this is a PDF document, not an X12 file: upload the 835 (ERA) file itself",
        ),
        (b"\x1f\x8b\x08\x00abc", "this is a gzip archive, not an X12 file: decompress it first"),
        (
            b"\x00\x01\x02\x03garbage",
            "this is not an X12 file: it starts with binary data, not an ISA segment",
        ),
        (
            b"CLP*1*1*10*10~",
            "this is not an X12 file: it does not start with an ISA segment (it starts with 'CLP')",
        ),
        (b"   \r\n", "the file is empty"),
    ],
)
def test_what_is_not_x12_gets_a_sentence_not_bytes(data, message):
    result = parse_835(data)
    assert [(e.segment_no, e.segment_id, e.message) for e in result.errors] == [(1, "ISA", message)]
    assert "\\x" not in result.report()


def test_utf8_names_are_read_as_utf8_and_recorded():
    text = BASIC.replace("NM1*QC*1*GARCIA*MARIA", "NM1*QC*1*MUÑOZ*MARÍA")
    result = parse_835(text.encode("utf-8"))
    assert result.errors == () and result.encoding == "utf-8"
    patient = next(result.claims).patient
    assert (patient.last_name, patient.first_name) == ("MUÑOZ", "MARÍA")


def test_latin1_names_are_read_as_latin1_and_recorded():
    text = BASIC.replace("NM1*QC*1*GARCIA*MARIA", "NM1*QC*1*MUÑOZ*MARÍA")
    result = parse_835(text.encode("latin-1"))
    assert result.errors == () and result.encoding == "latin-1"
    patient = next(result.claims).patient
    assert (patient.last_name, patient.first_name) == ("MUÑOZ", "MARÍA")


def test_plain_ascii_is_recorded_as_ascii():
    assert parse_835(BASIC.encode("ascii")).encoding == "ascii"
