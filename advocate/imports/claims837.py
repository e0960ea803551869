"""X12 837 claims (5010 professional X222A1 and institutional X223A2): loop
grammar, parser and validator.

Pure: no Flask, no database.  ``parse_837(data, today=...)`` reads bytes or
text with the shared tokenizer (:mod:`advocate.imports.x12`: delimiters from
each ISA, envelope counts and control numbers), walks each ST..SE transaction
through the loop grammar of its implementation guide (:data:`GRAMMAR`, one
table per guide) and builds one :class:`Claim` per CLM.  Every problem is an
:class:`ClaimError` located to the segment (1-based position in the file and
in its transaction) and element, and, inside a claim, named by the claim's
patient control number (CLM01).  Nothing is raised for bad data; a file with
any error is invalid (``ParseResult.valid``) and imports nothing.

What is checked, beyond the envelope:

* loops: each segment must belong where it stands (its loop, a child loop's
  first segment, or a later loop up the hierarchy); required segments and
  loops, segment and loop repeat counts, as in the guides;
* hierarchy: ``HL`` billing provider (20) -> subscriber (22) -> patient (23),
  HL01 unique, HL02 naming the parent level, HL04 telling the truth;
* claims: CLM01 present, CLM02 an amount equal to the sum of the line charges
  (SV102 / SV203), CLM05 place of service (837P) or facility type (837I) and
  frequency codes known, dates valid and not in the future, diagnosis codes
  shaped as ICD-10-CM, procedure codes as CPT/HCPCS, modifiers, revenue codes,
  units, NPIs (Luhn);
* an 835 (remittance advice) given here is named as such.

Money is ``Decimal`` as written; dates are ``datetime.date``.  Names are kept
exactly as sent; bytes that are valid UTF-8 are read as UTF-8, other bytes as
Latin-1 (the tokenizer reads every byte as Latin-1 first).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial

from advocate.imports.x12 import Transaction, X12Error, gc_paused, parse_x12, printable
from advocate.practices.validators import (
    PLACES_OF_SERVICE,
    cpt_hcpcs_error,
    modifier_error,
    npi_error,
)

__all__ = [
    "GRAMMAR",
    "MAX_ERRORS",
    "Claim",
    "ClaimDate",
    "ClaimError",
    "Diagnosis",
    "LoopSpec",
    "ParseResult",
    "Party",
    "Payer",
    "Provider",
    "ServiceLine",
    "Submission",
    "error_report",
    "parse_837",
]

PROFESSIONAL = "005010X222A1"
INSTITUTIONAL = "005010X223A2"
INSTITUTIONAL_VERSIONS = frozenset(("005010X223A2", "005010X223A1", "005010X223"))
PROFESSIONAL_VERSIONS = frozenset(("005010X222A1", "005010X222"))
MAX_ERRORS = 200
"""At most this many problems are listed (``ParseResult.error_count`` has them all)."""

_ZERO = Decimal(0)
_ONE = Decimal(1)
_AMOUNT_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)")
_ICD10_RE = re.compile(r"[A-TV-Z][0-9][0-9A-Z][0-9A-Z]{0,4}")
_ICD9_RE = re.compile(r"(?:[0-9]{3,5}|V[0-9]{2,4}|E[0-9]{3,4})")
_REVENUE_RE = re.compile(r"[0-9]{4}")
_FACILITY_TYPE_RE = re.compile(r"[0-9]{2}")
# CLM05-3 claim frequency type codes (code source 235) the guides use.
FREQUENCY_CODES = {
    "P": frozenset(("1", "7", "8")),
    "I": frozenset(("0", "1", "2", "3", "4", "5", "7", "8", "9", "A", "B", "C", "D", "E", "F",
                    "G", "H", "I", "J", "K", "M", "O", "P", "Q", "X", "Y", "Z")),
}  # fmt: skip
# HI qualifiers that carry diagnoses (ICD-10-CM "AB*", ICD-9-CM "B*").
DIAGNOSIS_QUALIFIERS = {
    "ABK": "principal",
    "BK": "principal",
    "ABF": "other",
    "BF": "other",
    "ABJ": "admitting",
    "BJ": "admitting",
    "APR": "reason for visit",
    "PR": "reason for visit",
    "ABN": "external cause",
    "BN": "external cause",
}
# Other HI qualifiers of the institutional guide (procedures, occurrence and
# value codes, condition codes, treatment codes, DRG): kept, not checked as ICD.
OTHER_HI_QUALIFIERS = frozenset(
    ("BBR", "BR", "CAH", "BBQ", "BQ", "BI", "BH", "BE", "BG", "TC", "DR", "LOI")
)
SUBSCRIBER_IS_PATIENT = "18"
# SBR09 claim filing indicator codes that say which plan type a claim is.
PLAN_TYPE_BY_FILING = {"16": "medicare_advantage", "MC": "medicaid_managed_care"}


# --------------------------------------------------------------------------
# Grammar


@dataclass(frozen=True, slots=True)
class LoopSpec:
    """One loop of an implementation guide.

    ``trigger`` is the segment that starts it; ``qualifier`` the element of
    that segment telling sibling loops apart (``NM101``: index 1, ``HL03``:
    index 3) and ``codes`` the values that start this loop; ``segments`` maps
    every segment id of the loop (the trigger included) to (required, max
    use), aggregated over the guide's qualified positions of that segment.
    """

    id: str
    parents: tuple[str, ...]
    trigger: str
    qualifier: int | None
    codes: tuple[str, ...]
    required: bool
    repeat: int | None  # None: unbounded (">1")
    segments: tuple[tuple[str, bool, int], ...]


def _loop(
    id_: str, parents: str, trigger: str, codes: str, usage: str, repeat: str, segments: str
) -> LoopSpec:
    """A LoopSpec from the guide's notation, e.g. ``"NM1R1 N3R1 REFS3"``."""
    qualifier = {"NM1": 1, "HL": 3, "SBR": 1, "LQ": 1}.get(trigger) if codes else None
    segs = []
    for item in segments.split():
        m = re.fullmatch(r"([A-Z][A-Z0-9]{1,2})([RS])(\d+)", item)
        assert m, item
        segs.append((m.group(1), m.group(2) == "R", int(m.group(3))))
    return LoopSpec(
        id_,
        tuple(parents.split()),
        trigger,
        qualifier,
        tuple(codes.split(",")) if codes else (),
        usage == "R",
        None if repeat == ">1" else int(repeat),
        tuple(segs),
    )


_OTHER_PAYER_CODES = "A,B,C,D,E,F,G,H,P,S,T,U"

# The loops of each guide, from the implementation guides' loop tables (the
# ST..SE transaction set: the header, then the HL hierarchy).  Columns: loop,
# parent loop(s), first segment, qualifier codes of its first segment, usage,
# repeat, segments (id, R required / S situational, max use).
_PROFESSIONAL = (
    _loop("HEADER", "", "BHT", "", "R", "1", "BHTR1"),
    _loop("1000A", "HEADER", "NM1", "41", "R", "1", "NM1R1 PERR2"),
    _loop("1000B", "HEADER", "NM1", "40", "R", "1", "NM1R1"),
    _loop("2000A", "HEADER", "HL", "20", "R", ">1", "HLR1 PRVS1 CURS1"),
    _loop("2010AA", "2000A", "NM1", "85", "R", "1", "NM1R1 N3R1 N4R1 REFR3 PERS2"),
    _loop("2010AB", "2000A", "NM1", "87", "S", "1", "NM1R1 N3R1 N4R1"),
    _loop("2010AC", "2000A", "NM1", "PE", "S", "1", "NM1R1 N3R1 N4R1 REFR2"),
    _loop("2000B", "2000A", "HL", "22", "R", ">1", "HLR1 SBRR1 PATS1"),
    _loop("2010BA", "2000B", "NM1", "IL", "R", "1", "NM1R1 N3S1 N4S1 DMGS1 REFS2 PERS1"),
    _loop("2010BB", "2000B", "NM1", "PR", "R", "1", "NM1R1 N3S1 N4S1 REFS5"),
    _loop("2000C", "2000B", "HL", "23", "S", ">1", "HLR1 PATR1"),
    _loop("2010CA", "2000C", "NM1", "QC", "R", "1", "NM1R1 N3R1 N4R1 DMGR1 REFS2 PERS1"),
    _loop(
        "2300",
        "2000B 2000C",
        "CLM",
        "",
        "S",
        "100",
        "CLMR1 DTPS17 PWKS10 CN1S1 AMTS1 REFS14 K3S10 NTES1 CR1S1 CR2S1 CRCS8 HIR4 HCPS1",
    ),
    _loop("2310A", "2300", "NM1", "DN,P3", "S", "2", "NM1R1 REFS3"),
    _loop("2310B", "2300", "NM1", "82", "S", "1", "NM1R1 PRVS1 REFS4"),
    _loop("2310C", "2300", "NM1", "77", "S", "1", "NM1R1 N3R1 N4R1 REFS3 PERS1"),
    _loop("2310D", "2300", "NM1", "DQ", "S", "1", "NM1R1 REFS4"),
    _loop("2310E", "2300", "NM1", "PW", "S", "1", "NM1R1 N3R1 N4R1"),
    _loop("2310F", "2300", "NM1", "45", "S", "1", "NM1R1 N3R1 N4R1"),
    _loop("2320", "2300", "SBR", _OTHER_PAYER_CODES, "S", "10", "SBRR1 CASS5 AMTS3 OIR1 MOAS1"),
    _loop("2330A", "2320", "NM1", "IL", "R", "1", "NM1R1 N3S1 N4S1 REFS1"),
    _loop("2330B", "2320", "NM1", "PR", "R", "1", "NM1R1 N3S1 N4S1 DTPS1 REFS6"),
    _loop("2330C", "2320", "NM1", "DN,P3", "S", "2", "NM1R1 REFR3"),
    _loop("2330D", "2320", "NM1", "82", "S", "1", "NM1R1 REFR3"),
    _loop("2330E", "2320", "NM1", "77", "S", "1", "NM1R1 REFR3"),
    _loop("2330F", "2320", "NM1", "DQ", "S", "1", "NM1R1 REFR3"),
    _loop("2330G", "2320", "NM1", "85", "S", "1", "NM1R1 REFR2"),
    _loop(
        "2400",
        "2300",
        "LX",
        "",
        "R",
        "50",
        "LXR1 SV1R1 SV5S1 PWKS11 CR1S1 CR3S1 CRCS5 DTPR11 QTYS2 MEAS5 CN1S1 REFS17 AMTS2 "
        "K3S10 NTES2 PS1S1 HCPS1",
    ),
    _loop("2410", "2400", "LIN", "", "S", "1", "LINR1 CTPR1 REFS1"),
    _loop("2420A", "2400", "NM1", "82", "S", "1", "NM1R1 PRVS1 REFS20"),
    _loop("2420B", "2400", "NM1", "QB", "S", "1", "NM1R1 REFS20"),
    _loop("2420C", "2400", "NM1", "77", "S", "1", "NM1R1 N3R1 N4R1 REFS3"),
    _loop("2420D", "2400", "NM1", "DQ", "S", "1", "NM1R1 REFS20"),
    _loop("2420E", "2400", "NM1", "DK", "S", "1", "NM1R1 N3S1 N4S1 REFS20 PERS1"),
    _loop("2420F", "2400", "NM1", "DN,P3", "S", "2", "NM1R1 REFS20"),
    _loop("2420G", "2400", "NM1", "PW", "S", "1", "NM1R1 N3R1 N4R1"),
    _loop("2420H", "2400", "NM1", "45", "S", "1", "NM1R1 N3R1 N4R1"),
    _loop("2430", "2400", "SVD", "", "S", "15", "SVDR1 CASS5 DTPR1 AMTS1"),
    _loop("2440", "2400", "LQ", "AS,UT", "S", ">1", "LQR1 FRMR99"),
)

_INSTITUTIONAL = (
    _loop("HEADER", "", "BHT", "", "R", "1", "BHTR1"),
    _loop("1000A", "HEADER", "NM1", "41", "R", "1", "NM1R1 PERR2"),
    _loop("1000B", "HEADER", "NM1", "40", "R", "1", "NM1R1"),
    _loop("2000A", "HEADER", "HL", "20", "R", ">1", "HLR1 PRVS1 CURS1"),
    _loop("2010AA", "2000A", "NM1", "85", "R", "1", "NM1R1 N3R1 N4R1 REFR1 PERS2"),
    _loop("2010AB", "2000A", "NM1", "87", "S", "1", "NM1R1 N3R1 N4R1"),
    _loop("2010AC", "2000A", "NM1", "PE", "S", "1", "NM1R1 N3R1 N4R1 REFR2"),
    _loop("2000B", "2000A", "HL", "22", "R", ">1", "HLR1 SBRR1"),
    _loop("2010BA", "2000B", "NM1", "IL", "R", "1", "NM1R1 N3S1 N4S1 DMGS1 REFS2"),
    _loop("2010BB", "2000B", "NM1", "PR", "R", "1", "NM1R1 N3S1 N4S1 REFS4"),
    _loop("2000C", "2000B", "HL", "23", "S", ">1", "HLR1 PATR1"),
    _loop("2010CA", "2000C", "NM1", "QC", "R", "1", "NM1R1 N3R1 N4R1 DMGR1 REFS2"),
    _loop(
        "2300",
        "2000B 2000C",
        "CLM",
        "",
        "S",
        "100",
        "CLMR1 DTPR4 CL1R1 PWKS10 CN1S1 AMTS1 REFS16 K3S10 NTES11 CRCS1 HIR20 HCPS1",
    ),
    _loop("2310A", "2300", "NM1", "71", "S", "1", "NM1R1 PRVS1 REFS4"),
    _loop("2310B", "2300", "NM1", "72", "S", "1", "NM1R1 REFS4"),
    _loop("2310C", "2300", "NM1", "ZZ", "S", "1", "NM1R1 REFS4"),
    _loop("2310D", "2300", "NM1", "82", "S", "1", "NM1R1 REFS4"),
    _loop("2310E", "2300", "NM1", "77", "S", "1", "NM1R1 N3R1 N4R1 REFS3"),
    _loop("2310F", "2300", "NM1", "DN", "S", "1", "NM1R1 REFS3"),
    _loop(
        "2320", "2300", "SBR", _OTHER_PAYER_CODES, "S", "10", "SBRR1 CASS5 AMTS3 OIR1 MIAS1 MOAS1"
    ),
    _loop("2330A", "2320", "NM1", "IL", "R", "1", "NM1R1 N3S1 N4S1 REFS2"),
    _loop("2330B", "2320", "NM1", "PR", "R", "1", "NM1R1 N3S1 N4S1 DTPS1 REFS6"),
    _loop("2330C", "2320", "NM1", "71", "S", "1", "NM1R1 REFR4"),
    _loop("2330D", "2320", "NM1", "72", "S", "1", "NM1R1 REFR4"),
    _loop("2330E", "2320", "NM1", "ZZ", "S", "1", "NM1R1 REFR4"),
    _loop("2330F", "2320", "NM1", "77", "S", "1", "NM1R1 REFR3"),
    _loop("2330G", "2320", "NM1", "82", "S", "1", "NM1R1 REFR4"),
    _loop("2330H", "2320", "NM1", "DN", "S", "1", "NM1R1 REFR3"),
    _loop("2330I", "2320", "NM1", "85", "S", "1", "NM1R1 REFR2"),
    _loop("2400", "2300", "LX", "", "R", "999", "LXR1 SV2R1 PWKS10 DTPS1 REFS3 AMTS2 NTES1 HCPS1"),
    _loop("2410", "2400", "LIN", "", "S", "1", "LINR1 CTPR1 REFS1"),
    _loop("2420A", "2400", "NM1", "72", "S", "1", "NM1R1 REFS20"),
    _loop("2420B", "2400", "NM1", "ZZ", "S", "1", "NM1R1 REFS20"),
    _loop("2420C", "2400", "NM1", "82", "S", "1", "NM1R1 REFS20"),
    _loop("2420D", "2400", "NM1", "DN", "S", "1", "NM1R1 REFS20"),
    _loop("2430", "2400", "SVD", "", "S", "15", "SVDR1 CASS5 DTPR1 AMTS1"),
)

GRAMMAR: dict[str, tuple[LoopSpec, ...]] = {"P": _PROFESSIONAL, "I": _INSTITUTIONAL}
"""The loop table of each guide: ``"P"`` 005010X222A1, ``"I"`` 005010X223A2."""


class _Node:
    """A loop of the grammar tree (2300 appears under 2000B and under 2000C)."""

    __slots__ = (
        "spec", "id", "parent", "children", "triggers", "own", "inner", "required",
        "required_children", "path", "quiet",
    )  # fmt: skip

    def __init__(self, spec: LoopSpec, parent: _Node | None):
        self.spec = spec
        self.id = spec.id
        self.parent = parent
        self.children: list[_Node] = []
        # first segment id -> (qualifier index, {code or None: child node})
        self.triggers: dict[str, tuple[int | None, dict[str | None, _Node]]] = {}
        self.own = {sid: mx for sid, _, mx in spec.segments}
        # Segments that continue the loop (its first segment starts a new one, except at the root).
        self.inner = frozenset(sid for sid in self.own if sid != spec.trigger or parent is None)
        self.required_children: tuple[_Node, ...] = ()
        self.quiet = False  # set once the tree is built: nothing to check when it closes
        self.required = tuple(sid for sid, req, _ in spec.segments if req and sid != spec.trigger)
        self.path = (parent.path + " > " if parent else "") + spec.id

    def add(self, child: _Node) -> None:
        self.children.append(child)
        if child.spec.required:
            self.required_children += (child,)
        spec = child.spec
        index, table = self.triggers.setdefault(spec.trigger, (spec.qualifier, {}))
        for code in spec.codes or (None,):
            table[code] = child


def _build(specs: tuple[LoopSpec, ...]) -> _Node:
    by_parent: dict[str, list[LoopSpec]] = {}
    for s in specs:
        for p in s.parents:
            by_parent.setdefault(p, []).append(s)

    def grow(node: _Node) -> None:
        for child_spec in by_parent.get(node.id, ()):
            child = _Node(child_spec, node)
            node.add(child)
            grow(child)

    root = _Node(specs[0], None)
    grow(root)

    def settle(node: _Node) -> None:
        node.quiet = not node.required and not node.required_children and node.id not in _CLOSERS
        for child in node.children:
            settle(child)

    settle(root)
    return root


_CLOSERS = frozenset(("2300", "2400", "2000B", "2000C"))
_PAYER_SEQUENCE = frozenset(_OTHER_PAYER_CODES.split(","))


_TREES = {kind: _build(specs) for kind, specs in GRAMMAR.items()}


# --------------------------------------------------------------------------
# Model


@dataclass(frozen=True, slots=True)
class ClaimError(X12Error):
    """A problem, located (see :class:`~advocate.imports.x12.X12Error`); ``claim``
    is the patient control number (CLM01) of the claim it is in, if any."""

    claim: str | None = None

    def __str__(self) -> str:
        return _format_error(self)


@dataclass(slots=True)
class Party:
    """A person or organisation named in an NM1 (subscriber, patient, provider)."""

    entity: str  # NM101
    entity_type: str  # NM102: 1 person, 2 organisation
    last_name: str  # NM103 (organisation name)
    first_name: str
    middle_name: str
    suffix: str
    id_qualifier: str  # NM108
    identifier: str  # NM109
    birth_date: date | None = None  # DMG02
    gender: str = ""  # DMG03

    @property
    def npi(self) -> str | None:
        return self.identifier if self.id_qualifier == "XX" and self.identifier else None


@dataclass(slots=True)
class Provider:
    """The billing provider (2010AA): name, NPI, tax id (REF*EI, or REF*SY)."""

    name: str
    npi: str | None
    tax_id: str | None
    segment_no: int


@dataclass(slots=True)
class Payer:
    """NM1*PR (2010BB): name and payer id (NM109)."""

    name: str
    identifier: str


@dataclass(slots=True)
class Diagnosis:
    """One HI composite: qualifier (ABK principal, ABF other, ...) and code as sent."""

    qualifier: str
    code: str

    @property
    def role(self) -> str:
        return DIAGNOSIS_QUALIFIERS.get(self.qualifier, "other code")


@dataclass(slots=True)
class ClaimDate:
    """A DTP: qualifier (431 onset, 434 statement, 472 service, ...) and the date or range."""

    qualifier: str
    start: date
    end: date


@dataclass(slots=True)
class ServiceLine:
    """Loop 2400: SV1 (professional) or SV2 (institutional) with its dates and ids."""

    number: str  # LX01
    qualifier: str  # SV101-01 / SV202-01: HC, ER, ...
    code: str  # procedure (HCPCS/CPT); "" for an institutional line with a revenue code only
    modifiers: tuple[str, ...]
    charge: Decimal  # SV102 / SV203
    unit_basis: str  # SV103 / SV204: UN, MJ, DA
    units: Decimal  # SV104 / SV205
    place_of_service: str | None  # SV105
    revenue_code: str | None  # SV201
    service_from: date | None  # DTP*472
    service_to: date | None
    control_number: str | None  # REF*6R: the line item control number
    rendering_npi: str | None  # 2420A (P) / 2420C (I)
    diagnosis_pointers: tuple[str, ...]  # SV107
    segment_no: int  # the SV1/SV2 segment


@dataclass(slots=True)
class Claim:
    """Loop 2300 (CLM) with its hierarchy: billing provider, subscriber, patient, payer."""

    kind: str  # "P" or "I"
    patient_control_number: str  # CLM01
    charge: Decimal  # CLM02
    facility_code: str  # CLM05-1: place of service (P) or facility type (I)
    facility_qualifier: str  # CLM05-2: B (P) or A (I)
    frequency_code: str  # CLM05-3
    dates: tuple[ClaimDate, ...]
    diagnoses: tuple[Diagnosis, ...]
    lines: tuple[ServiceLine, ...]
    billing_provider: Provider | None
    rendering_npi: str | None  # 2310B (P) / 2310D (I)
    attending_npi: str | None  # 2310A (I)
    subscriber: Party | None
    patient: Party | None  # 2010CA, or the subscriber when SBR02 is 18
    payer: Payer | None
    filing_indicator: str  # SBR09
    relationship: str  # SBR02 ("18": the subscriber is the patient) or PAT01
    payer_claim_number: str | None  # REF*F8 (original reference number of a replacement)
    transaction: str  # ST02
    interchange: str | None  # ISA13
    segment_no: int  # the CLM segment

    @property
    def member_id(self) -> str | None:
        return (
            self.subscriber.identifier if self.subscriber and self.subscriber.identifier else None
        )

    @property
    def line_total(self) -> Decimal:
        return sum((ln.charge for ln in self.lines), _ZERO)

    @property
    def place_of_service(self) -> str | None:
        return self.facility_code if self.kind == "P" else None

    @property
    def plan_type(self) -> str:
        return PLAN_TYPE_BY_FILING.get(self.filing_indicator, "other")

    def date(self, qualifier: str) -> ClaimDate | None:
        for d in self.dates:
            if d.qualifier == qualifier:
                return d
        return None

    @property
    def service_from(self) -> date | None:
        days = [ln.service_from for ln in self.lines if ln.service_from]
        statement = self.date("434")
        if statement:
            days.append(statement.start)
        return min(days) if days else None

    @property
    def service_to(self) -> date | None:
        days = [ln.service_to for ln in self.lines if ln.service_to]
        statement = self.date("434")
        if statement:
            days.append(statement.end)
        return max(days) if days else None


@dataclass(slots=True)
class Submission:
    """One 837 transaction (ST..SE)."""

    kind: str  # "P" or "I"
    version: str  # ST03 (or GS08)
    control_number: str  # ST02
    interchange_control_number: str | None
    interchange_sender: str
    interchange_receiver: str
    group_control_number: str | None
    purpose: str  # BHT02: 00 original, 18 reissue
    reference: str  # BHT03
    created_on: date | None  # BHT04
    submitter: str
    receiver: str
    claims: tuple[Claim, ...]
    segment_no: int


@dataclass(frozen=True, slots=True)
class ParseResult:
    submissions: tuple[Submission, ...]
    errors: tuple[ClaimError, ...]  # at most MAX_ERRORS
    error_count: int
    interchanges: tuple[tuple[str, str, str], ...]  # (sender, receiver, ISA13)
    kind: str | None = None  # "835" when the file is a remittance, not claims

    @property
    def valid(self) -> bool:
        return self.error_count == 0

    @property
    def claims(self) -> Iterator[Claim]:
        for s in self.submissions:
            yield from s.claims

    @property
    def claim_count(self) -> int:
        return sum(len(s.claims) for s in self.submissions)

    def report(self) -> str:
        text = error_report(self.errors)
        hidden = self.error_count - len(self.errors)
        if hidden > 0:
            text += f"\n... and {hidden} more error(s)"
        return text


# --------------------------------------------------------------------------
# Parser


Row = tuple[str, ...]


def read_text(value: str) -> str:
    """Text as sent: UTF-8 when its bytes are UTF-8, else Latin-1 (how the tokenizer read it)."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


class _Errors:
    __slots__ = ("items", "count")

    def __init__(self) -> None:
        self.items: list[ClaimError] = []
        self.count = 0

    def add(self, e: ClaimError) -> None:
        self.count += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append(e)


class _Open:
    """An open loop instance: its node, where it started, segment and child counts."""

    __slots__ = ("node", "pos", "counts", "child_counts", "hl_id", "hl_children")

    def __init__(self, node: _Node, pos: int):
        self.node = node
        self.pos = pos
        self.counts: dict[str, int] = {}
        self.child_counts: dict[str, int] = {}
        self.hl_id: str | None = None
        self.hl_children: str | None = None


class _LineB:
    __slots__ = (
        "pos", "number", "qualifier", "code", "modifiers", "charge", "unit_basis", "units",
        "pos_code", "revenue", "start", "end", "control", "rendering", "pointers",
    )  # fmt: skip


class _ClaimB:
    __slots__ = (
        "pos", "el", "pcn", "charge", "facility", "facility_q", "frequency", "dates",
        "diagnoses", "lines", "rendering", "attending", "payer_claim_number",
        "subscriber", "patient", "payer", "filing", "relationship", "billing",
    )  # fmt: skip


_LINE_DATES = frozenset(("472",))


class _Walker:
    """Walks one transaction through the grammar and builds its claims."""

    def __init__(
        self, tx: Transaction, kind: str, version: str, errors: _Errors, today: date,
        caches: dict[str, dict] | None = None,
    ):  # fmt: skip
        self.tx = tx
        self.kind = kind
        self.version = version
        self.errors = errors
        self.today = today
        self.ctrl = tx.control_number
        self.base = tx.position - 1
        self.component = tx.delimiters.component
        self.repetition = tx.delimiters.repetition
        self.claims: list[Claim] = []
        self.claim: _ClaimB | None = None
        self.line: _LineB | None = None
        self.billing: Provider | None = None
        self.subscriber: Party | None = None
        self.subscriber_patient = False
        self.patient: Party | None = None
        self.payer: Payer | None = None
        self.filing = ""
        self.relationship = ""
        self.hl_levels: dict[str, str] = {}  # HL01 -> HL03
        self.bht: Row = ()
        self.submitter = ""
        self.receiver = ""
        caches = caches if caches is not None else {}
        # Per file: values that repeat down a batch, each checked once (valid ones only).
        self.amounts: dict[str, Decimal] = caches.setdefault("amounts", {})
        self.dates: dict[str, date] = caches.setdefault("dates", {})
        self.npis: dict[str, bool] = caches.setdefault("npis", {})
        self.procedures: dict[str, tuple] = caches.setdefault("procedures", {})
        self.codes: dict[str, Diagnosis] = caches.setdefault("codes", {})
        self.periods: dict[tuple[str, str, str], ClaimDate] = caches.setdefault("periods", {})
        self.last_nm1: Party | None = None

    # -- errors and values
    def err(self, pos: int, el: Row, element: str | None, message: str) -> None:
        claim = self.claim.pcn if self.claim is not None else None
        self.errors.add(
            ClaimError(self.ctrl, pos, el[0][:3] if el else "", element, message,
                       pos - self.base, claim)
        )  # fmt: skip

    def amount(self, el: Row, i: int, pos: int, required: bool = True) -> Decimal | None:
        s = el[i] if i < len(el) else ""
        d = self.amounts.get(s)
        if d is not None:
            return d
        if not s:
            if required:
                self.err(pos, el, f"{el[0]}{i:02d}", "required amount is missing")
            return None
        if _AMOUNT_RE.fullmatch(s) is None:
            self.err(pos, el, f"{el[0]}{i:02d}", f"{printable(s)!r} is not an amount")
            return None
        d = self.amounts[s] = Decimal(s)
        return d

    def day(self, text: str, el: Row, element: str, pos: int) -> date | None:
        d = self.dates.get(text)
        if d is not None:
            return d
        if len(text) == 8 and text.isascii() and text.isdigit():
            try:
                d = self.dates[text] = date(int(text[:4]), int(text[4:6]), int(text[6:]))
                return d
            except ValueError:
                pass
        self.err(pos, el, element, f"{printable(text)!r} is not a valid date (CCYYMMDD)")
        return None

    def dtp(self, el: Row, pos: int) -> ClaimDate | None:
        n = len(el)
        if n == 4:
            hit = self.periods.get(el[1:])  # type: ignore[call-overload]
            if hit is not None:
                return hit
        qualifier = el[1] if n > 1 else ""
        fmt = el[2] if n > 2 else ""
        value = el[3] if n > 3 else ""
        if not value:
            self.err(pos, el, "DTP03", "date is missing")
            return None
        if fmt == "D8":
            d = self.day(value, el, "DTP03", pos)
            if d is None:
                return None
            start = end = d
        elif fmt == "RD8":
            a, sep, b = value.partition("-")
            if not sep:
                self.err(
                    pos,
                    el,
                    "DTP03",
                    f"{printable(value)!r} is not a date range (CCYYMMDD-CCYYMMDD)",
                )
                return None
            start = self.day(a, el, "DTP03", pos)
            end = self.day(b, el, "DTP03", pos)
            if start is None or end is None:
                return None
            if end < start:
                self.err(pos, el, "DTP03", f"date range {value} ends before it starts")
                return None
        elif fmt in ("TM", "DT"):
            return None  # discharge hour, admission date and hour: not dates of service
        else:
            self.err(pos, el, "DTP02", f"{printable(fmt)!r} is not a date format (D8, RD8)")
            return None
        period = ClaimDate(qualifier, start, end)
        if end > self.today and qualifier not in ("484", "455", "471", "090", "091"):
            self.err(pos, el, "DTP03", f"date {end.isoformat()} is in the future")
        elif n == 4:
            self.periods[(qualifier, fmt, value)] = period
        return period

    def party(self, el: Row) -> Party:
        n = len(el)
        return Party(
            el[1] if n > 1 else "",
            el[2] if n > 2 else "",
            read_text(el[3]) if n > 3 else "",
            read_text(el[4]) if n > 4 else "",
            read_text(el[5]) if n > 5 else "",
            read_text(el[7]) if n > 7 else "",
            el[8] if n > 8 else "",
            el[9] if n > 9 else "",
        )

    def npi(self, el: Row, pos: int, required: bool) -> str | None:
        n = len(el)
        qualifier = el[8] if n > 8 else ""
        ident = el[9] if n > 9 else ""
        if qualifier != "XX" or not ident:
            if required:
                self.err(pos, el, "NM109", "the provider's NPI is missing (NM108 XX, NM109)")
            return None
        if self.npis.get(ident):
            return ident
        msg = npi_error(ident)
        if not msg:
            self.npis[ident] = True
        if msg:
            self.err(pos, el, "NM109", f"{printable(ident)!r} is not an NPI: {msg}")
            return None
        return ident

    # -- the walk
    def run(self) -> Submission:
        tx = self.tx
        rows = tx.rows
        body = rows[1:-1] if tx.has_trailer else rows[1:]
        root = _TREES[self.kind]
        st_pos = tx.position
        stack: list[_Open] = []
        first = body[0] if body else ("",)
        if first[0] != "BHT":
            self.err(st_pos + 1 if body else st_pos, first if body else rows[0], None,
                     "the transaction must start with BHT after ST")  # fmt: skip
        stack.append(_Open(root, st_pos + 1))
        handlers = self.handlers()
        top = stack[-1]
        node = top.node
        inner = node.inner
        counts = top.counts
        own = node.own
        hkey = node.id
        openers = self.openers()
        close = self.close
        for pos, el in enumerate(body, st_pos + 1):
            sid = el[0]
            if sid in inner:
                c = counts.get(sid, 0) + 1
                counts[sid] = c
                if c > own[sid]:
                    self.err(
                        pos, el, None, f"{sid} appears {c} times in loop {hkey}, at most {own[sid]}"
                    )
                handler = handlers.get((hkey, sid))
                if handler is not None:
                    handler(el, pos)
                continue
            placed = False
            depth = len(stack)
            while depth:
                depth -= 1
                holder = stack[depth]
                trig = holder.node.triggers.get(sid)
                if trig is None:
                    continue
                index, table = trig
                child = table.get(
                    (el[index] if index < len(el) else "") if index is not None else None
                )
                if child is None:
                    continue
                while len(stack) > depth + 1:
                    gone = stack.pop()
                    if not gone.node.quiet:
                        close(gone)
                child_id = child.id
                repeats = holder.child_counts.get(child_id, 0) + 1
                holder.child_counts[child_id] = repeats
                limit = child.spec.repeat
                if limit is not None and repeats > limit:
                    self.err(pos, el, None,
                             f"loop {child_id} repeats {repeats} times in loop {holder.node.id}, "
                             f"at most {limit}")  # fmt: skip
                top = _Open(child, pos)
                stack.append(top)
                counts = top.counts
                counts[sid] = 1
                opener = openers.get(child_id)
                if opener is not None:
                    opener(top, holder, el, pos)
                node = child
                inner = child.inner
                own = child.own
                hkey = child_id
                placed = True
                break
            if not placed:
                if sid in ("ISA", "GS", "ST", "SE", "GE", "IEA"):
                    continue  # the envelope reported it
                where = node.id
                if any(sid in o.node.own for o in stack[:-1]):
                    message = f"{sid} segment is out of place: loop {where} has begun"
                else:
                    message = f"{printable(sid)!r} segment is not expected in loop {where}"
                self.err(pos, el, None, message)
        while stack:
            self.close(stack.pop())
        return self.submission()

    _HANDLED = (
        ("2400", ("SV1", "SV2", "DTP", "REF")),
        ("2300", ("DTP", "HI", "REF")),
        ("2000B", ("SBR",)),
        ("2000C", ("PAT",)),
        ("2010BA", ("DMG",)),
        ("2010CA", ("DMG",)),
        ("2010AA", ("REF",)),
        ("HEADER", ("BHT",)),
    )

    def handlers(self) -> dict[tuple[str, str], Callable[[Row, int], None]]:
        """(loop, segment) -> what reads it; the other segments are only placed and counted."""
        table: dict[tuple[str, str], Callable[[Row, int], None]] = {}
        for lid, sids in self._HANDLED:
            for sid in sids:
                table[(lid, sid)] = partial(self.segment, lid, sid)
        table[("2400", "SV1")] = table[("2400", "SV2")] = self.line_service
        table[("2400", "DTP")] = self.line_dtp
        table[("2400", "REF")] = self.line_ref
        table[("2300", "HI")] = self.claim_hi
        return table

    def line_dtp(self, el: Row, pos: int) -> None:
        line = self.line
        if line is None:
            return
        d = self.dtp(el, pos)
        if d is not None and d.qualifier in _LINE_DATES:
            line.start, line.end = d.start, d.end

    def line_ref(self, el: Row, pos: int) -> None:
        if self.line is not None and len(el) > 2 and el[1] == "6R":
            self.line.control = el[2]

    def claim_hi(self, el: Row, pos: int) -> None:
        if self.claim is not None:
            self.hi(self.claim, el, pos)

    def line_service(self, el: Row, pos: int) -> None:
        if self.line is not None:
            self.service(self.line, el[0], el, pos)

    def _count(self, inst: _Open, sid: str, el: Row, pos: int) -> None:
        c = inst.counts.get(sid, 0) + 1
        inst.counts[sid] = c
        mx = inst.node.own[sid]
        if c > mx:
            self.err(pos, el, None, f"{sid} appears {c} times in loop {inst.node.id}, at most {mx}")

    _NAMED = frozenset(("2010AA", "2010BA", "2010BB", "2010CA", "1000A", "1000B"))

    def openers(self) -> dict[str, Callable[[_Open, _Open, Row, int], None]]:
        """Loop -> what reads its first segment (the other loops are only placed)."""
        table: dict[str, Callable[[_Open, _Open, Row, int], None]] = {
            "2300": lambda inst, parent, el, pos: self.start_claim(el, pos),
            "2400": lambda inst, parent, el, pos: self.start_line(el, pos),
        }
        for lid in ("2000A", "2000B", "2000C"):
            table[lid] = self.hl
        rendering = ("2310B", "2420A") if self.kind == "P" else ("2310D", "2310A", "2420C")
        for lid in (*self._NAMED, *rendering):
            table[lid] = lambda inst, parent, el, pos: self.nm1(inst.node.id, el, pos)
        return table

    def close(self, inst: _Open) -> None:
        node = inst.node
        if node.quiet:
            return
        for sid in node.required:
            if not inst.counts.get(sid):
                self.err(inst.pos, (node.spec.trigger,), None,
                         f"loop {node.id} lacks its required {sid} segment")  # fmt: skip
        for child in node.required_children:
            if not inst.child_counts.get(child.id):
                if child.id == "2400" and self.claim is None:
                    continue
                self.err(inst.pos, (node.spec.trigger,), None,
                         f"loop {node.id} lacks its required loop {child.id} "
                         f"({child.spec.trigger}{'*' + child.spec.codes[0] if child.spec.codes else ''})")  # fmt: skip
        lid = node.id
        if lid == "2400":
            self.finish_line()
        elif lid == "2300":
            self.finish_claim()
        elif lid == "2000B":
            has_claims = inst.child_counts.get("2300") or inst.child_counts.get("2000C")
            if not has_claims:
                self.err(inst.pos, ("HL",), None,
                         "subscriber loop 2000B has neither a claim (2300) nor a patient (2000C)")  # fmt: skip
            if inst.hl_children == "0" and inst.child_counts.get("2000C"):
                self.err(
                    inst.pos,
                    ("HL",),
                    "HL04",
                    "HL04 says 0 (no child), but a patient loop 2000C follows",
                )
            if inst.hl_children == "1" and not inst.child_counts.get("2000C"):
                self.err(
                    inst.pos,
                    ("HL",),
                    "HL04",
                    "HL04 says 1 (has children), but no patient loop 2000C follows",
                )
        elif lid == "2000C":
            if not inst.child_counts.get("2300"):
                self.err(inst.pos, ("HL",), None, "patient loop 2000C has no claim (2300)")

    # -- hierarchy
    def hl(self, inst: _Open, parent: _Open, el: Row, pos: int) -> None:
        n = len(el)
        hid = el[1] if n > 1 else ""
        parent_id = el[2] if n > 2 else ""
        level = el[3] if n > 3 else ""
        inst.hl_id = hid
        inst.hl_children = el[4] if n > 4 else ""
        if not hid:
            self.err(pos, el, "HL01", "hierarchical id is missing")
        elif hid in self.hl_levels:
            self.err(pos, el, "HL01", f"hierarchical id {printable(hid)} is used twice")
        self.hl_levels[hid] = level
        expected_parent = {"20": None, "22": "20", "23": "22"}[level]
        if expected_parent is None:
            if parent_id:
                self.err(pos, el, "HL02", "a billing provider HL (20) has no parent")
            self.billing = None
            self.subscriber = self.patient = self.payer = None
        else:
            if parent.hl_id is not None and parent_id != parent.hl_id:
                self.err(pos, el, "HL02",
                         f"parent id {printable(parent_id)!r} is not the enclosing "
                         f"{'billing provider' if expected_parent == '20' else 'subscriber'} HL "
                         f"({printable(parent.hl_id)})")  # fmt: skip
            if level == "22":
                self.subscriber = self.patient = self.payer = None
                self.subscriber_patient = False
            else:
                self.patient = None
        if inst.hl_children not in ("0", "1", ""):
            self.err(pos, el, "HL04", f"{printable(inst.hl_children)!r} is not 0 or 1")

    def nm1(self, lid: str, el: Row, pos: int) -> None:
        n = len(el)
        if lid == "2010AA":
            npi = self.npi(el, pos, True)
            name = read_text(el[3]) if n > 3 else ""
            if not name:
                self.err(pos, el, "NM103", "the billing provider's name is missing")
            self.billing = Provider(name, npi, None, pos)
        elif lid == "2010BA":
            self.subscriber = self.party(el)
            self.check_name(self.subscriber, el, pos, "subscriber")
            if self.subscriber_patient:
                self.patient = self.subscriber
        elif lid == "2010BB":
            name = read_text(el[3]) if n > 3 else ""
            ident = el[9] if n > 9 else ""
            if not name:
                self.err(pos, el, "NM103", "the payer's name is missing")
            if not ident:
                self.err(pos, el, "NM109", "the payer id is missing")
            self.payer = Payer(name, ident)
        elif lid == "2010CA":
            self.patient = self.party(el)
            self.check_name(self.patient, el, pos, "patient")
        elif lid == "1000A":
            self.submitter = read_text(el[3]) if n > 3 else ""
        elif lid == "1000B":
            self.receiver = read_text(el[3]) if n > 3 else ""
        elif (lid == "2310B" and self.kind == "P") or (lid == "2310D" and self.kind == "I"):
            if self.claim is not None:
                self.claim.rendering = self.npi(el, pos, False)
        elif lid == "2310A" and self.kind == "I":
            if self.claim is not None:
                self.claim.attending = self.npi(el, pos, False)
        elif (lid == "2420A" and self.kind == "P") or (lid == "2420C" and self.kind == "I"):
            if self.line is not None:
                self.line.rendering = self.npi(el, pos, False)

    def check_name(self, p: Party, el: Row, pos: int, who: str) -> None:
        if not p.last_name:
            self.err(pos, el, "NM103", f"the {who}'s last name is missing")
        if p.entity_type == "1" and not p.first_name:
            self.err(pos, el, "NM104", f"the {who}'s first name is missing")

    # -- segments inside loops
    def segment(self, lid: str, sid: str, el: Row, pos: int) -> None:
        n = len(el)
        claim = self.claim
        if lid == "2400":
            line = self.line
            if line is None:
                return
            if sid == "SV1" or sid == "SV2":
                self.service(line, sid, el, pos)
            elif sid == "DTP":
                qualifier = el[1] if n > 1 else ""
                d = self.dtp(el, pos)
                if d is not None and qualifier in _LINE_DATES:
                    line.start, line.end = d.start, d.end
            elif sid == "REF":
                if n > 2 and el[1] == "6R":
                    line.control = el[2]
            return
        if lid == "2300":
            if claim is None:
                return
            if sid == "DTP":
                d = self.dtp(el, pos)
                if d is not None:
                    claim.dates.append(d)
            elif sid == "HI":
                self.hi(claim, el, pos)
            elif sid == "REF":
                if n > 2 and el[1] == "F8":
                    claim.payer_claim_number = el[2]
            return
        if sid == "SBR" and lid == "2000B":
            self.relationship = el[2] if n > 2 else ""
            self.subscriber_patient = self.relationship == SUBSCRIBER_IS_PATIENT
            self.filing = el[9] if n > 9 else ""
            payer_seq = el[1] if n > 1 else ""
            if payer_seq not in _PAYER_SEQUENCE:
                self.err(
                    pos, el, "SBR01", f"{printable(payer_seq)!r} is not a payer responsibility code"
                )
        elif sid == "PAT" and lid == "2000C":
            self.relationship = el[1] if n > 1 else ""
        elif sid == "DMG" and lid in ("2010BA", "2010CA"):
            born = self.day(el[2], el, "DMG02", pos) if n > 2 and el[2] else None
            gender = el[3] if n > 3 else ""
            target = self.patient if lid == "2010CA" else self.subscriber
            if target is not None:
                updated = Party(*(getattr(target, f) for f in Party.__slots__[:8]), born, gender)
                if lid == "2010CA":
                    self.patient = updated
                else:
                    self.subscriber = updated
                    if self.subscriber_patient:
                        self.patient = updated
        elif sid == "REF" and lid == "2010AA" and self.billing is not None:
            qualifier = el[1] if n > 1 else ""
            if qualifier in ("EI", "SY") and n > 2 and self.billing.tax_id is None:
                b = self.billing
                self.billing = Provider(b.name, b.npi, el[2], b.segment_no)
        elif sid == "BHT":
            self.bht = el
            if (el[1] if n > 1 else "") != "0019":
                self.err(pos, el, "BHT01", "hierarchical structure code must be 0019")

    def hi(self, claim: _ClaimB, el: Row, pos: int) -> None:
        comp = self.component
        codes = self.codes
        for i in range(1, len(el)):
            value = el[i]
            if not value:
                continue
            known = codes.get(value)
            if known is not None:
                claim.diagnoses.append(known)
                continue
            parts = value.split(comp)
            qualifier = parts[0]
            code = parts[1] if len(parts) > 1 else ""
            ref = f"HI{i:02d}"
            if not code:
                self.err(pos, el, f"{ref}-02", "the code is missing")
                continue
            if qualifier in DIAGNOSIS_QUALIFIERS:
                icd10 = qualifier.startswith("A")
                if not (_ICD10_RE if icd10 else _ICD9_RE).fullmatch(code):
                    kind = "ICD-10-CM" if icd10 else "ICD-9-CM"
                    self.err(pos, el, f"{ref}-02",
                             f"{printable(code)!r} is not a {kind} diagnosis code (no period, e.g. "
                             f"{'M25562' if icd10 else '7242'})")  # fmt: skip
                    continue
            elif qualifier not in OTHER_HI_QUALIFIERS:
                self.err(
                    pos,
                    el,
                    f"{ref}-01",
                    f"{printable(qualifier)!r} is not a code list qualifier of HI",
                )
                continue
            d = codes[value] = Diagnosis(qualifier, code)
            claim.diagnoses.append(d)

    def service(self, line: _LineB, sid: str, el: Row, pos: int) -> None:
        n = len(el)
        comp = self.component
        prof = sid == "SV1"
        if prof != (self.kind == "P"):
            self.err(
                pos,
                el,
                None,
                f"{sid} belongs in a {'professional' if prof else 'institutional'} claim",
            )
        line.pos = pos
        if prof:
            composite = el[1] if n > 1 else ""
            line.charge = self.amount(el, 2, pos)
            line.unit_basis = el[3] if n > 3 else ""
            units_i, ref = 4, "SV1"
            line.pos_code = (el[5] if n > 5 else "") or None
            if line.pos_code and line.pos_code not in PLACES_OF_SERVICE:
                self.err(
                    pos, el, "SV105", f"{printable(line.pos_code)!r} is not a place-of-service code"
                )
            line.pointers = tuple(p for p in (el[7].split(comp) if n > 7 else ()) if p)
            proc_ref = "SV101"
        else:
            revenue = el[1] if n > 1 else ""
            line.revenue = revenue or None
            if not revenue:
                self.err(pos, el, "SV201", "revenue code is missing")
            elif not _REVENUE_RE.fullmatch(revenue):
                self.err(
                    pos, el, "SV201", f"{printable(revenue)!r} is not a revenue code (4 digits)"
                )
            composite = el[2] if n > 2 else ""
            line.charge = self.amount(el, 3, pos)
            line.unit_basis = el[4] if n > 4 else ""
            units_i, ref = 5, "SV2"
            proc_ref = "SV202"
        known = self.procedures.get(composite) if composite else None
        if known is not None:
            line.qualifier, line.code, line.modifiers = known
        elif composite:
            parts = composite.split(comp)
            line.qualifier = parts[0]
            line.code = parts[1] if len(parts) > 1 else ""
            line.modifiers = tuple(m for m in parts[2:6] if m)
            if line.qualifier not in ("HC", "ER", "IV", "WK"):
                self.err(
                    pos,
                    el,
                    f"{proc_ref}-01",
                    f"{printable(line.qualifier)!r} is not a procedure code qualifier (HC, ER, IV, WK)",
                )
            if line.qualifier == "HC":
                msg = cpt_hcpcs_error(line.code)
                if msg:
                    self.err(pos, el, f"{proc_ref}-02", f"{printable(line.code)!r}: {msg}")
            before = self.errors.count
            for k, m in enumerate(line.modifiers, start=3):
                msg = modifier_error(m)
                if msg:
                    self.err(pos, el, f"{proc_ref}-{k:02d}", f"{printable(m)!r}: {msg}")
            if (
                self.errors.count == before
                and line.qualifier == "HC"
                and not cpt_hcpcs_error(line.code)
            ):
                self.procedures[composite] = (line.qualifier, line.code, line.modifiers)
        elif prof:
            self.err(pos, el, "SV101", "the procedure code is missing")
        basis = line.unit_basis
        if basis not in ("UN", "MJ", "DA", "F2"):
            self.err(
                pos,
                el,
                f"{ref}{units_i - 1:02d}",
                f"{printable(basis)!r} is not a unit basis (UN, MJ, DA)",
            )
        units = self.amount(el, units_i, pos)
        if units is not None and units <= 0:
            self.err(pos, el, f"{ref}{units_i:02d}", "units must be more than zero")
            units = None
        line.units = units if units is not None else _ONE
        if line.charge is not None and line.charge < 0:
            self.err(pos, el, f"{ref}{units_i - 2:02d}", "a line charge cannot be negative")

    # -- claims and lines
    def start_claim(self, el: Row, pos: int) -> None:
        n = len(el)
        c = _ClaimB()
        c.pos = pos
        c.el = el
        c.pcn = el[1] if n > 1 else ""
        self.claim = c
        if not c.pcn:
            self.err(pos, el, "CLM01", "patient control number is missing")
        elif len(c.pcn) > 38:
            self.err(pos, el, "CLM01", "patient control number is longer than 38 characters")
        c.charge = self.amount(el, 2, pos)
        if c.charge is not None and c.charge < 0:
            self.err(pos, el, "CLM02", "total charge cannot be negative")
        parts = (el[5] if n > 5 else "").split(self.component)
        c.facility = parts[0]
        c.facility_q = parts[1] if len(parts) > 1 else ""
        c.frequency = parts[2] if len(parts) > 2 else ""
        if self.kind == "P":
            if c.facility not in PLACES_OF_SERVICE:
                self.err(
                    pos, el, "CLM05-01", f"{printable(c.facility)!r} is not a place-of-service code"
                )
            if c.facility_q != "B":
                self.err(
                    pos,
                    el,
                    "CLM05-02",
                    f"facility code qualifier must be B (place of service), not {printable(c.facility_q)!r}",
                )
        else:
            if not _FACILITY_TYPE_RE.fullmatch(c.facility):
                self.err(
                    pos,
                    el,
                    "CLM05-01",
                    f"{printable(c.facility)!r} is not a facility type code (2 digits)",
                )
            if c.facility_q != "A":
                self.err(
                    pos,
                    el,
                    "CLM05-02",
                    f"facility code qualifier must be A (uniform billing), not {printable(c.facility_q)!r}",
                )
        if c.frequency not in FREQUENCY_CODES[self.kind]:
            self.err(
                pos, el, "CLM05-03", f"{printable(c.frequency)!r} is not a claim frequency code"
            )
        c.dates = []
        c.diagnoses = []
        c.lines = []
        c.rendering = c.attending = c.payer_claim_number = None
        c.subscriber = self.subscriber
        c.patient = self.patient
        c.payer = self.payer
        c.filing = self.filing
        c.relationship = self.relationship
        c.billing = self.billing
        if c.patient is None:
            self.err(
                pos,
                el,
                None,
                "the claim has no patient: no 2010CA, and the subscriber is not the patient (SBR02 18)",
            )

    def start_line(self, el: Row, pos: int) -> None:
        ln = _LineB()
        ln.pos = pos
        ln.number = el[1] if len(el) > 1 else ""
        ln.qualifier = ln.code = ""
        ln.modifiers = ()
        ln.charge = None
        ln.unit_basis = ""
        ln.units = _ONE
        ln.pos_code = ln.revenue = ln.start = ln.end = ln.control = ln.rendering = None
        ln.pointers = ()
        self.line = ln
        if not ln.number:
            self.err(pos, el, "LX01", "line number is missing")

    def finish_line(self) -> None:
        ln = self.line
        self.line = None
        c = self.claim
        if ln is None or c is None:
            return
        c.lines.append(ln)

    def finish_claim(self) -> None:
        c = self.claim
        if c is None:
            return
        lines: list[ServiceLine] = []
        statement = next((d for d in c.dates if d.qualifier == "434"), None)
        total = _ZERO
        total_ok = c.charge is not None
        for ln in c.lines:
            start, end = ln.start, ln.end
            if start is None and statement is not None:
                start, end = statement.start, statement.end
            if start is None and self.kind == "P":
                self.err(
                    ln.pos,
                    ("SV1",),
                    None,
                    f"service line {ln.number} has no date of service (DTP*472)",
                )
            if ln.charge is None:
                total_ok = False
            else:
                total += ln.charge
            lines.append(
                ServiceLine(
                    ln.number, ln.qualifier, ln.code, ln.modifiers,
                    ln.charge if ln.charge is not None else _ZERO, ln.unit_basis, ln.units,
                    ln.pos_code, ln.revenue, start, end, ln.control, ln.rendering, ln.pointers,
                    ln.pos,
                )
            )  # fmt: skip
        if self.kind == "I" and statement is None:
            self.err(c.pos, c.el, None, "the claim has no statement dates (DTP*434)")
        if total_ok and c.lines and total != c.charge:
            self.err(c.pos, c.el, "CLM02",
                     f"total charge {c.charge:.2f} does not equal the sum of the line charges {total:.2f}")  # fmt: skip
        if not any(d.role == "principal" for d in c.diagnoses):
            self.err(c.pos, c.el, None, "the claim has no principal diagnosis (HI*ABK)")
        self.claims.append(
            Claim(
                self.kind, c.pcn, c.charge if c.charge is not None else _ZERO, c.facility,
                c.facility_q, c.frequency, tuple(c.dates), tuple(c.diagnoses), tuple(lines),
                c.billing, c.rendering, c.attending, c.subscriber, c.patient, c.payer, c.filing,
                c.relationship, c.payer_claim_number, self.ctrl, self.tx.interchange_control_number,
                c.pos,
            )
        )  # fmt: skip
        self.claim = None

    def submission(self) -> Submission:
        b = self.bht
        n = len(b)
        created = None
        if n > 4 and b[4]:
            created = self.day(b[4], b, "BHT04", self.tx.position + 1)
        return Submission(
            self.kind, self.version, self.ctrl, self.tx.interchange_control_number, "", "",
            self.tx.group_control_number, b[2] if n > 2 else "", b[3] if n > 3 else "", created,
            self.submitter, self.receiver, tuple(self.claims), self.tx.position,
        )  # fmt: skip


def _kind(tx: Transaction, gs_version: str) -> tuple[str | None, str]:
    header = tx.rows[0]
    version = header[3] if len(header) > 3 and header[3] else gs_version
    if version in PROFESSIONAL_VERSIONS:
        return "P", version
    if version in INSTITUTIONAL_VERSIONS:
        return "I", version
    return None, version


def parse_837(
    data: bytes | bytearray | memoryview | str, *, today: date | None = None
) -> ParseResult:
    """Parse and validate an 837P/837I file (bytes or text).  Never raises for bad data."""
    today = today or datetime.now(UTC).date()
    with gc_paused():
        doc = parse_x12(data)
        errors = _Errors()
        for e in doc.errors:
            errors.add(ClaimError(e.transaction, e.segment_no, e.segment_id, e.element, e.message,
                                  e.transaction_segment_no))  # fmt: skip
        submissions: list[Submission] = []
        caches: dict[str, dict] = {}
        interchanges = tuple(
            (ic.sender_id, ic.receiver_id, ic.control_number or "") for ic in doc.interchanges
        )
        set_ids = {tx.set_id for tx in doc.transactions}
        if set_ids and set_ids <= {"835"}:
            first = next(doc.transactions)
            errors.add(
                ClaimError(first.control_number, first.position, "ST", "ST01",
                           "this file is an 835 remittance advice (payments), not an 837 claim "
                           "file: import it on the remittance (835) page", 1)
            )  # fmt: skip
            return ParseResult((), tuple(errors.items), errors.count, interchanges, "835")
        for ic in doc.interchanges:
            for g in ic.groups:
                if g.header is not None and g.functional_id != "HC":
                    errors.add(ClaimError(None, g.header.position, "GS", "GS01",
                                          f"functional group {printable(g.functional_id)!r} is not "
                                          "health care claims (HC)"))  # fmt: skip
                for tx in g.transactions:
                    if tx.set_id != "837":
                        what = (
                            "an 835 remittance advice"
                            if tx.set_id == "835"
                            else f"transaction set {printable(tx.set_id)!r}"
                        )
                        errors.add(ClaimError(tx.control_number, tx.position, "ST", "ST01",
                                              f"{what}, not an 837 claim", 1))  # fmt: skip
                        continue
                    kind, version = _kind(tx, g.version)
                    if kind is None:
                        errors.add(ClaimError(tx.control_number, tx.position, "ST", "ST03",
                                              f"{printable(version)!r} is not a supported 837 guide "
                                              f"({PROFESSIONAL} or {INSTITUTIONAL})", 1))  # fmt: skip
                        continue
                    w = _Walker(tx, kind, version, errors, today, caches)
                    sub = w.run()
                    submissions.append(
                        Submission(
                            sub.kind, sub.version, sub.control_number,
                            sub.interchange_control_number, ic.sender_id, ic.receiver_id,
                            sub.group_control_number, sub.purpose, sub.reference, sub.created_on,
                            sub.submitter, sub.receiver, sub.claims, sub.segment_no,
                        )
                    )  # fmt: skip
        if not submissions and not errors.count:
            errors.add(ClaimError(None, 1, "ISA", None, "the file holds no 837 transaction"))
        items = sorted(errors.items, key=lambda e: e.segment_no)
        return ParseResult(tuple(submissions), tuple(items), errors.count, interchanges)


def _format_error(e: X12Error) -> str:
    where = "Segment"
    if e.transaction is not None:
        where = f"Transaction {printable(e.transaction)}, segment"
    element = f", element {e.element}" if e.element else ""
    claim = getattr(e, "claim", None)
    in_claim = f" (claim {printable(claim)})" if claim else ""
    return f"{where} {e.segment_no} ({printable(e.segment_id)}){element}{in_claim}: {e.message}"


def error_report(errors: tuple[X12Error, ...] | list[X12Error]) -> str:
    """One line per error, e.g. ``Transaction 0001, segment 14 (CLM), element CLM02
    (claim PCN1): total charge 100 does not equal the sum of the line charges 90``."""
    return "\n".join(_format_error(e) for e in errors)


def error_details(errors: tuple[X12Error, ...] | list[X12Error]) -> list[dict]:
    """Each problem's location, for JSON (the 835 import's shape, plus the claim)."""
    return [
        {
            "transaction": e.transaction,
            "segment": e.segment_no,
            "segment_id": e.segment_id,
            "transaction_segment": e.transaction_segment_no,
            "element": e.element,
            "claim": getattr(e, "claim", None),
            "message": e.message,
        }
        for e in errors
    ]


@dataclass
class ClaimProblems:
    """Errors grouped by claim (``claim`` None: the file's own)."""

    claim: str | None
    errors: list[X12Error] = field(default_factory=list)


def errors_by_claim(errors: tuple[X12Error, ...] | list[X12Error]) -> list[ClaimProblems]:
    groups: dict[str | None, ClaimProblems] = {}
    for e in errors:
        key = getattr(e, "claim", None)
        groups.setdefault(key, ClaimProblems(key)).errors.append(e)
    return list(groups.values())
