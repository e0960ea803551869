"""The loop grammar of the 835 (ASC X12 005010X221A1), as one table.

Every segment the implementation guide allows in a Health Care Claim
Payment/Advice is a row of :data:`SEGMENTS`: the loop it belongs to, its
segment id, the qualifiers the guide lists for its first element (when the
guide splits one segment id into several uses), its usage (R required,
S situational) and its maximum use per loop instance (``None`` for the
guide's ">1").  :data:`LOOPS` gives the loops: parent, trigger segment, usage
and repeat.  Both follow the guide's Table 1 (header), Table 2 (detail) and
Table 3 (summary) in guide order; tests/imports/test_era_grammar.py checks
them against pyx12's 835 map.

:func:`check_loops` walks a transaction's segments with this table: a segment
the guide does not allow where it stands (or an id that is no 835 segment at
all) is one error located to the segment, and so is a segment used more often
than its maximum in one loop.  The parser skips those segments and reads
the rest; a segment the guide allows but the parser has no use for (payer
contacts, PER*CX in a claim, TS2, QTY, ...) is accepted and stays in the raw
file, which is kept.

Required segments are enforced where posting needs them (BPR, TRN, N1*PR,
N1*PE, CLP, NM1*QC, SVC01-03: see :mod:`advocate.imports.era`); the payer's
address (N3/N4) and technical contact (PER*BL), required by the guide, are
not: payers omit them and nothing depends on them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from advocate.imports.x12 import segment_label

__all__ = [
    "GUIDE",
    "LOOPS",
    "SEGMENTS",
    "LoopRule",
    "SegmentRule",
    "check_loops",
    "segment_label",
]

GUIDE = "005010X221A1"


class LoopRule(NamedTuple):
    loop: str  # "1000A", "2100", ...; HEADER, DETAIL and SUMMARY are the tables
    name: str
    parent: str | None
    trigger: str | None  # the segment that opens an instance of the loop
    qualifiers: tuple[str, ...]  # the trigger's first element (N1*PR / N1*PE)
    usage: str  # R or S
    repeat: int | None  # None: unbounded (">1")


class SegmentRule(NamedTuple):
    loop: str
    segment: str
    qualifiers: tuple[str, ...]  # first element codes for this use ((): any)
    usage: str  # R or S
    max_use: int | None  # per loop instance; None: unbounded (">1")
    name: str


LOOPS: tuple[LoopRule, ...] = (
    LoopRule("HEADER", "table 1 (header)", None, None, (), "R", 1),
    LoopRule("1000A", "loop 1000A (payer identification)", "HEADER", "N1", ("PR",), "R", 1),
    LoopRule("1000B", "loop 1000B (payee identification)", "HEADER", "N1", ("PE",), "R", 1),
    LoopRule("DETAIL", "table 2 (detail)", None, None, (), "S", 1),
    LoopRule("2000", "loop 2000 (header number)", "DETAIL", "LX", (), "S", None),
    LoopRule("2100", "loop 2100 (claim payment information)", "2000", "CLP", (), "R", None),
    LoopRule("2110", "loop 2110 (service payment information)", "2100", "SVC", (), "S", 999),
    LoopRule("SUMMARY", "table 3 (summary)", None, None, (), "S", 1),
)

_ANY: tuple[str, ...] = ()

SEGMENTS: tuple[SegmentRule, ...] = (
    # Table 1: header
    SegmentRule("HEADER", "ST", ("835",), "R", 1, "Transaction Set Header"),
    SegmentRule(
        "HEADER", "BPR", ("C", "D", "H", "I", "P", "U", "X"), "R", 1, "Financial Information"
    ),
    SegmentRule("HEADER", "TRN", ("1",), "R", 1, "Reassociation Trace Number"),
    SegmentRule("HEADER", "CUR", ("PR",), "S", 1, "Foreign Currency Information"),
    SegmentRule("HEADER", "REF", ("EV",), "S", 1, "Receiver Identification"),
    SegmentRule("HEADER", "REF", ("F2",), "S", 1, "Version Identification"),
    SegmentRule("HEADER", "DTM", ("405",), "S", 1, "Production Date"),
    SegmentRule("1000A", "N1", ("PR",), "R", 1, "Payer Identification"),
    SegmentRule("1000A", "N3", _ANY, "R", 1, "Payer Address"),
    SegmentRule("1000A", "N4", _ANY, "R", 1, "Payer City, State, ZIP Code"),
    SegmentRule(
        "1000A", "REF", ("2U", "EO", "HI", "NF"), "S", 4, "Additional Payer Identification"
    ),
    SegmentRule("1000A", "PER", ("CX",), "S", 1, "Payer Business Contact Information"),
    SegmentRule("1000A", "PER", ("BL",), "R", None, "Payer Technical Contact Information"),
    SegmentRule("1000A", "PER", ("IC",), "S", 1, "Payer WEB Site"),
    SegmentRule("1000B", "N1", ("PE",), "R", 1, "Payee Identification"),
    SegmentRule("1000B", "N3", _ANY, "S", 1, "Payee Address"),
    SegmentRule("1000B", "N4", _ANY, "S", 1, "Payee City, State, ZIP Code"),
    SegmentRule(
        "1000B", "REF", ("0B", "D3", "PQ", "TJ"), "S", None, "Payee Additional Identification"
    ),
    SegmentRule("1000B", "RDM", ("BM", "EM", "FT", "OL"), "S", 1, "Remittance Delivery Method"),
    # Table 2: detail
    SegmentRule("2000", "LX", _ANY, "R", 1, "Header Number"),
    SegmentRule("2000", "TS3", _ANY, "S", 1, "Provider Summary Information"),
    SegmentRule("2000", "TS2", _ANY, "S", 1, "Provider Supplemental Summary Information"),
    SegmentRule("2100", "CLP", _ANY, "R", 1, "Claim Payment Information"),
    SegmentRule("2100", "CAS", ("CO", "OA", "PI", "PR"), "S", 99, "Claim Adjustment"),
    SegmentRule("2100", "NM1", ("QC",), "R", 1, "Patient Name"),
    SegmentRule("2100", "NM1", ("IL",), "S", 1, "Insured Name"),
    SegmentRule("2100", "NM1", ("74",), "S", 1, "Corrected Patient/Insured Name"),
    SegmentRule("2100", "NM1", ("82",), "S", 1, "Service Provider Name"),
    SegmentRule("2100", "NM1", ("TT",), "S", 1, "Crossover Carrier Name"),
    SegmentRule("2100", "NM1", ("PR",), "S", 1, "Corrected Priority Payer Name"),
    SegmentRule("2100", "NM1", ("GB",), "S", 1, "Other Subscriber Name"),
    SegmentRule("2100", "MIA", _ANY, "S", 1, "Inpatient Adjudication Information"),
    SegmentRule("2100", "MOA", _ANY, "S", 1, "Outpatient Adjudication Information"),
    SegmentRule(
        "2100",
        "REF",
        ("1L", "1W", "28", "6P", "9A", "9C", "BB", "CE", "EA", "F8", "G1", "G3", "IG", "SY"),
        "S",
        5,
        "Other Claim Related Identification",
    ),
    SegmentRule(
        "2100",
        "REF",
        ("0B", "1A", "1B", "1C", "1D", "1G", "1H", "1J", "D3", "G2", "LU"),
        "S",
        10,
        "Rendering Provider Identification",
    ),
    SegmentRule("2100", "DTM", ("232", "233"), "S", 2, "Statement From or To Date"),
    SegmentRule("2100", "DTM", ("036",), "S", 1, "Coverage Expiration Date"),
    SegmentRule("2100", "DTM", ("050",), "S", 1, "Claim Received Date"),
    SegmentRule("2100", "PER", ("CX",), "S", 2, "Claim Contact Information"),
    SegmentRule(
        "2100",
        "AMT",
        ("AU", "D8", "DY", "F5", "I", "NL", "T", "T2", "ZK", "ZL", "ZM", "ZN", "ZO"),
        "S",
        13,
        "Claim Supplemental Information",
    ),
    SegmentRule(
        "2100",
        "QTY",
        ("CA", "CD", "LA", "LE", "NE", "NR", "OU", "PS", "VS", "ZK", "ZL", "ZM", "ZN", "ZO"),
        "S",
        14,
        "Claim Supplemental Information Quantity",
    ),
    SegmentRule("2110", "SVC", _ANY, "R", 1, "Service Payment Information"),
    SegmentRule("2110", "DTM", ("150", "151", "472"), "S", 2, "Service Date"),
    SegmentRule("2110", "CAS", ("CO", "OA", "PI", "PR"), "S", 99, "Service Adjustment"),
    SegmentRule(
        "2110",
        "REF",
        ("1S", "APC", "BB", "E9", "G1", "G3", "LU", "RB"),
        "S",
        8,
        "Service Identification",
    ),
    SegmentRule("2110", "REF", ("6R",), "S", 1, "Line Item Control Number"),
    SegmentRule(
        "2110",
        "REF",
        ("0B", "1A", "1B", "1C", "1D", "1G", "1H", "1J", "D3", "G2", "HPI", "SY", "TJ"),
        "S",
        10,
        "Rendering Provider Information",
    ),
    SegmentRule("2110", "REF", ("0K",), "S", 5, "HealthCare Policy Identification"),
    SegmentRule(
        "2110",
        "AMT",
        ("B6", "KH", "T", "T2", "ZK", "ZL", "ZM", "ZN", "ZO"),
        "S",
        9,
        "Service Supplemental Amount",
    ),
    SegmentRule(
        "2110", "QTY", ("ZK", "ZL", "ZM", "ZN", "ZO"), "S", 6, "Service Supplemental Quantity"
    ),
    SegmentRule("2110", "LQ", ("HE", "RX"), "S", 99, "Health Care Remark Codes"),
    # Table 3: summary
    SegmentRule("SUMMARY", "PLB", _ANY, "S", None, "Provider Adjustment"),
    SegmentRule("SUMMARY", "SE", _ANY, "R", 1, "Transaction Set Trailer"),
)

LOOP_NAMES: dict[str, str] = {lp.loop: lp.name for lp in LOOPS}
ALL_SEGMENT_IDS = frozenset(r.segment for r in SEGMENTS)


def _max_uses() -> dict[str, dict[str, int | None]]:
    """Per loop: segment id -> the sum of its uses' maximums (None: unbounded)."""
    out: dict[str, dict[str, int | None]] = {}
    for r in SEGMENTS:
        uses = out.setdefault(r.loop, {})
        so_far = uses.get(r.segment, 0)
        uses[r.segment] = None if so_far is None or r.max_use is None else so_far + r.max_use
    return out


_ALLOWED = _max_uses()
# Trigger segments and where each may open its loop (the loops before it in guide order
# that it may follow).  PLB opens the summary table.
_OPENS_FROM: dict[str, frozenset[str]] = {
    "LX": frozenset(("HEADER", "1000A", "1000B", "2000", "2100", "2110")),
    "CLP": frozenset(("2000", "2100", "2110")),
    "SVC": frozenset(("2100", "2110")),
    "PLB": frozenset(("HEADER", "1000A", "1000B", "2000", "2100", "2110", "SUMMARY")),
}
_OPENS = {"LX": "2000", "CLP": "2100", "SVC": "2110", "PLB": "SUMMARY"}
_TRIGGERS = frozenset((*_OPENS, "N1"))
# Per loop, the segments that stay in it (not loop triggers): the walk's fast path.
_PLAIN = {
    loop: {sid: limit for sid, limit in uses.items() if sid not in _TRIGGERS}
    for loop, uses in _ALLOWED.items()
}
_NOT_HERE = object()
_SVC_REPEAT = next(lp.repeat for lp in LOOPS if lp.loop == "2110") or 0


ErrorSink = Callable[[int, Sequence[str], str], None]


def check_loops(rows: Sequence[Sequence[str]], first_pos: int, error: ErrorSink) -> set[int]:
    """Check segments ``rows`` (ST excluded, SE excluded) against the guide's loops.

    ``first_pos`` is the file position of ``rows[0]``; ``error(pos, row,
    message)`` receives each problem.  Returns the positions of the segments
    the guide does not allow where they stand (the parser skips them).
    """
    bad: set[int] = set()
    loop = "HEADER"
    allowed = _ALLOWED["HEADER"]
    plain = _PLAIN["HEADER"]
    counts: dict[str, int] = {}
    seen_payer = seen_payee = False
    services = 0
    for pos, el in enumerate(rows, first_pos):
        sid = el[0]
        limit = plain.get(sid, _NOT_HERE)
        if limit is not _NOT_HERE:  # the usual case: a non-trigger segment of this loop
            n = counts.get(sid, 0) + 1
            counts[sid] = n
            if limit is not None and n > limit:
                bad.add(pos)
                error(
                    pos,
                    el,
                    f"{sid} is used {n} times in one {LOOP_NAMES[loop]}, the guide allows {limit}",
                )
            continue
        target = _OPENS.get(sid)
        if target is None and sid == "N1":
            qualifier = el[1] if len(el) > 1 else ""
            if qualifier == "PR" or (qualifier != "PE" and not seen_payer):
                target = "1000A"
            else:
                target = "1000B"
            if loop == "HEADER" and target == "1000A" and not seen_payer:
                seen_payer = True
            elif loop in ("HEADER", "1000A") and target == "1000B" and not seen_payee:
                seen_payee = True
            else:
                bad.add(pos)
                error(pos, el, f"N1 segment is not allowed in {LOOP_NAMES[loop]} ({GUIDE})")
                continue
        elif target is not None:
            if loop not in _OPENS_FROM[sid]:
                bad.add(pos)
                error(pos, el, f"{sid} segment is not allowed in {LOOP_NAMES[loop]} ({GUIDE})")
                continue
            if target == "2110":
                services = services + 1 if loop == "2110" else 1
                if services > _SVC_REPEAT:
                    bad.add(pos)
                    error(
                        pos,
                        el,
                        f"claim has more than {_SVC_REPEAT} service lines (loop 2110 repeat, {GUIDE})",
                    )
                    continue
        if target is not None:
            if target != loop or sid != "PLB":
                loop = target
                allowed = _ALLOWED[loop]
                plain = _PLAIN[loop]
                counts = {}
            n = counts.get(sid, 0) + 1
            counts[sid] = n
            limit = allowed[sid]
            if limit is not None and n > limit:
                bad.add(pos)
                error(
                    pos,
                    el,
                    f"{sid} is used {n} times in one {LOOP_NAMES[loop]}, the guide allows {limit}",
                )
            continue
        bad.add(pos)
        if sid in ALL_SEGMENT_IDS:
            error(pos, el, f"{sid} segment is not allowed in {LOOP_NAMES[loop]} ({GUIDE})")
        else:
            error(pos, el, f"{segment_label(sid)!r} is not an 835 segment")
    return bad
