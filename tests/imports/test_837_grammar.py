"""The 837 loop table follows the guides: cross-checked against pyx12's maps
(an independent machine-readable transcription of the same guides)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from advocate.imports.claims837 import GRAMMAR

pyx12 = pytest.importorskip("pyx12")
MAPS = Path(pyx12.__file__).parent / "map"
ENVELOPE = {"ISA_LOOP", "GS_LOOP", "ST_LOOP", "FOOTER"}


def _pyx12_loops(map_name: str) -> dict[str, dict]:
    """loop id -> {parents, trigger, codes, required, repeat, segments{id: (required, max)}}."""
    root = ET.parse(MAPS / map_name).getroot()  # noqa: S314 - the installed package's own maps
    loops: dict[str, dict] = {}

    def walk(node, parent: str) -> None:
        for child in node:
            if child.tag != "loop":
                continue
            xid = child.get("xid")
            if xid in ENVELOPE:
                walk(child, parent)
                continue
            if xid == "DETAIL":
                walk(child, "HEADER")
                continue
            segments: dict[str, tuple[bool, int]] = {}
            first = None
            for seg in child:
                if seg.tag != "segment":
                    continue
                sid = seg.get("xid")
                if first is None:
                    first = seg
                usage, max_use = seg.findtext("usage"), seg.findtext("max_use")
                required, total = segments.get(sid, (False, 0))
                segments[sid] = (required or usage == "R", total + int(max_use))
            codes: tuple[str, ...] = ()
            element = first.find("element") if first is not None else None
            valid = element.find("valid_codes") if element is not None else None
            if valid is not None and first.get("xid") in ("NM1", "SBR", "LQ"):
                codes = tuple(c.text for c in valid.findall("code"))
            repeat = child.findtext("repeat")
            entry = loops.setdefault(
                xid,
                {
                    "parents": set(),
                    "trigger": first.get("xid") if first is not None else None,
                    "codes": codes,
                    "required": {},
                    "repeat": None if repeat == ">1" else int(repeat),
                    "segments": segments,
                },
            )
            entry["parents"].add(parent)
            entry["required"][parent] = child.findtext("usage") == "R"
            walk(child, xid)

    walk(root, "")
    return loops


@pytest.mark.parametrize(
    ("kind", "map_name"),
    [("P", "837.5010.X222.A1.xml"), ("I", "837Q3.I.5010.X223.A1.xml")],
)
def test_loop_table_matches_pyx12_map(kind, map_name):
    ours = {spec.id: spec for spec in GRAMMAR[kind]}
    theirs = _pyx12_loops(map_name)
    assert set(ours) == set(theirs)
    for loop_id, t in theirs.items():
        spec = ours[loop_id]
        assert set(spec.parents) == t["parents"] - {""}, loop_id
        assert spec.trigger == t["trigger"], loop_id
        assert spec.repeat == t["repeat"], loop_id
        # HL levels (20/22/23) are not in pyx12's valid codes; the others are.
        if spec.trigger != "HL":
            assert set(spec.codes) == set(t["codes"]), loop_id
        # 2300 is required under a patient (2000C) and situational under a subscriber.
        assert spec.required == any(t["required"].values()) or loop_id == "2300", loop_id
        assert {sid: (req, mx) for sid, req, mx in spec.segments} == t["segments"], loop_id


def test_hierarchy_levels_follow_the_guides():
    for kind in ("P", "I"):
        hl = {s.id: s.codes for s in GRAMMAR[kind] if s.trigger == "HL"}
        assert hl == {"2000A": ("20",), "2000B": ("22",), "2000C": ("23",)}
