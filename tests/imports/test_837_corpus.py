"""Public sample 837 files (tests/imports/corpus837/SOURCES.md): the parser
reads them without failing and says exactly what is wrong with each."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from advocate.imports.claims837 import parse_837

CORPUS = Path(__file__).parent / "corpus837"
TODAY = date(2025, 1, 15)


def _parse(name: str):
    return parse_837((CORPUS / name).read_bytes(), today=TODAY)


def _located(result) -> set[tuple[int, str | None]]:
    return {(e.segment_no, e.element) for e in result.errors}


def test_every_sample_is_listed_in_sources():
    sources = (CORPUS / "SOURCES.md").read_text()
    files = sorted(p.name for p in CORPUS.glob("*.txt"))
    assert files and all(f"`{name}`" in sources for name in files)


def test_imsweb_professional_sample():
    result = _parse("imsweb_x12_valid.txt")
    assert result.claim_count == 2
    assert [c.patient_control_number for c in result.claims] == ["A37YH556", "A37YH667"]
    located = _located(result)
    assert (9, "NM109") in located  # 1234567890 fails the NPI check digit
    assert (27, "HL01") in located  # HL 2 used twice
    assert (27, "HL02") in located  # parent 3 is no billing provider HL
    assert (22, "CLM02") in located  # 500 billed, lines 12.25
    assert (34, "SV101-02") in located  # 478331 is no CPT/HCPCS code
    assert (36, "SE01") in located  # SE01 says 25
    assert {e.claim for e in result.errors if e.segment_no in (22, 23)} == {"A37YH556"}


def test_imsweb_institutional_sample():
    result = _parse("imsweb_x223_test.txt")
    (claim,) = result.claims
    assert claim.kind == "I" and claim.lines[0].revenue_code == "0300"
    assert claim.lines[0].code == "81099"
    located = _located(result)
    assert (25, "CLM05-02") in located  # B is the professional qualifier
    assert (25, "CLM02") in located
    assert (50, "SE01") in located
    messages = [e.message for e in result.errors if e.segment_no == 49]
    assert messages == ["DTP appears 2 times in loop 2400, at most 1"]


def test_pyx12_4010_sample_is_refused_as_an_old_guide():
    result = _parse("pyx12_simple_837p_4010.txt")
    assert result.claim_count == 0
    st = [e for e in result.errors if e.segment_id == "ST"]
    assert len(st) == 1 and st[0].element == "ST03" and "004010X098A1" in st[0].message
