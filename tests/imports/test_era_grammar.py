"""The 835 loop grammar: the table against pyx12's X221A1 map, and what the walk accepts."""

from __future__ import annotations

import importlib.resources
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from advocate.imports.era import parse_835
from advocate.imports.era_fixtures import generate_835
from advocate.imports.era_grammar import LOOPS, SEGMENTS, check_loops

BASIC = (Path(__file__).parent / "fixtures" / "basic_star.835").read_text(encoding="ascii")


def _with_segments(text: str, after: dict[str, str]) -> str:
    """basic_star.835 with a segment after each (unique) anchor line, SE01 recounted."""
    for anchor, segment in after.items():
        assert text.count(anchor + "~\n") == 1
        text = text.replace(anchor + "~\n", f"{anchor}~\n{segment}~\n")
    added = len(after)
    return text.replace("SE*76*0001", f"SE*{76 + added}*0001")


# pyx12's names for the guide's tables; its ST sits in ST_LOOP, its SE after FOOTER.
_PYX12_LOOP = {"HEADER": "HEADER", "FOOTER": "SUMMARY", "DETAIL": "DETAIL"}


def _pyx12_map() -> tuple[list[tuple], dict[str, tuple[str, str]]]:
    """(loop, segment, first element codes, usage, max use, name) rows and loop (usage, repeat)."""
    path = importlib.resources.files("pyx12") / "map" / "835.5010.X221.A1.xml"
    root = ET.parse(str(path)).getroot()  # noqa: S314 - the installed package's own map

    def field(node: ET.Element, name: str) -> str | None:
        return node.get(name) or node.findtext(name)

    rows: list[tuple] = []
    loops: dict[str, tuple[str, str]] = {}

    def walk(node: ET.Element, loop: str) -> None:
        for child in node:
            if child.tag == "loop":
                xid = field(child, "xid")
                loops[xid] = (field(child, "usage"), field(child, "repeat"))
                walk(child, xid)
            elif child.tag == "segment":
                sid = field(child, "xid")
                if sid in ("ISA", "IEA", "GS", "GE", "TA1"):
                    continue
                elements = child.findall("element")
                codes = tuple(c.text for c in elements[0].findall("valid_codes/code"))
                where = "HEADER" if sid == "ST" else "SUMMARY" if sid == "SE" else loop
                rows.append(
                    (
                        _PYX12_LOOP.get(where, where),
                        sid,
                        codes,
                        field(child, "usage"),
                        field(child, "max_use"),
                        field(child, "name"),
                    )
                )

    walk(root, "ROOT")
    return rows, loops


def test_the_table_is_pyx12s_835_map_segment_for_segment():
    rows, _ = _pyx12_map()
    ours = [
        (
            r.loop,
            r.segment,
            r.qualifiers,
            r.usage,
            ">1" if r.max_use is None else str(r.max_use),
            r.name,
        )
        for r in SEGMENTS
    ]
    # Same segments, same order, same usage, maximum use, names and first-element codes
    # (pyx12 lists no codes for an element the guide leaves open, nor do we).
    assert len(ours) == len(rows)
    for mine, theirs in zip(ours, rows, strict=True):
        assert mine == theirs


def test_the_loops_are_pyx12s_loops():
    _, loops = _pyx12_map()
    for lp in LOOPS:
        if lp.loop in ("HEADER", "DETAIL", "SUMMARY"):
            continue
        usage, repeat = loops[lp.loop]
        assert (lp.usage, ">1" if lp.repeat is None else str(lp.repeat)) == (usage, repeat)
    parents = {lp.loop: lp.parent for lp in LOOPS}
    # The nesting of the guide: 2110 in 2100 in 2000 in the detail table.
    assert parents["2110"] == "2100" and parents["2100"] == "2000" and parents["2000"] == "DETAIL"
    assert parents["1000A"] == parents["1000B"] == "HEADER"


def _walk(rows: list[tuple[str, ...]]) -> tuple[set[int], list[tuple[int, str]]]:
    errors: list[tuple[int, str]] = []
    bad = check_loops(rows, 2, lambda pos, el, message: errors.append((pos, message)))
    return bad, errors


HEAD = [("BPR", "I"), ("TRN", "1"), ("N1", "PR", "P"), ("N1", "PE", "Q"), ("LX", "1")]


def test_per_cx_in_a_claim_is_allowed_and_twice_at_most():
    claim = [("CLP", "1"), ("NM1", "QC"), ("DTM", "232"), ("PER", "CX", "CLAIMS")]
    bad, errors = _walk([*HEAD, *claim])
    assert bad == set() and errors == []
    bad, errors = _walk([*HEAD, *claim, ("PER", "CX"), ("PER", "CX")])
    third = 2 + len(HEAD) + len(claim) + 1
    assert bad == {third}
    assert errors == [
        (
            third,
            "PER is used 3 times in one loop 2100 (claim payment information), the guide allows 2",
        )
    ]


def test_a_segment_of_the_claim_after_its_service_lines_is_an_error_located_once():
    rows = [*HEAD, ("CLP", "1"), ("NM1", "QC"), ("SVC", "HC:1"), ("NM1", "82")]
    bad, errors = _walk(rows)
    pos = 2 + len(rows) - 1
    assert bad == {pos}
    assert errors == [
        (
            pos,
            "NM1 segment is not allowed in loop 2110 (service payment information) (005010X221A1)",
        )
    ]


def test_unknown_ids_claims_without_lx_and_claims_after_plb_are_errors():
    rows = [*HEAD[:4], ("CLP", "1"), ("ZZZ",), ("LX", "1"), ("PLB", "1"), ("CLP", "2")]
    bad, errors = _walk(rows)
    assert [m for _, m in errors] == [
        "CLP segment is not allowed in loop 1000B (payee identification) (005010X221A1)",
        "'ZZZ' is not an 835 segment",
        "CLP segment is not allowed in table 3 (summary) (005010X221A1)",
    ]
    assert bad == {6, 7, 10}


def test_the_cas_maximum_is_99_per_claim():
    rows = [*HEAD, ("CLP", "1"), ("NM1", "QC")] + [("CAS", "CO", "45", "1")] * 100
    bad, errors = _walk(rows)
    assert len(bad) == 1 and errors[0][1].startswith("CAS is used 100 times")


def test_situational_segments_the_parser_does_not_use_are_accepted():
    text = _with_segments(
        BASIC,
        {
            "DTM*050*20240520": "PER*CX*CLAIMS DEPT*TE*8005551212",
            "REF*TJ*361234567": "RDM*EM*ERA*remit@example.com",
            "LX*1": "TS3*1588667638*11*20241231*1*14250",
        },
    )
    result = parse_835(text)
    assert result.errors == ()


@pytest.mark.parametrize("n_claims", [50])
def test_generated_files_walk_without_errors(n_claims):
    assert parse_835(generate_835(n_claims, seed=3)).errors == ()
