"""Streaming parsers for the CMS Medicare Physician Fee Schedule (PFS) files.

The files are read exactly as CMS publishes them:

* ``PPRRVU<yy>_<release>.csv`` -- relative values and payment policy indicators.
  A few title lines, a header split over several lines whose last line starts
  with ``HCPCS``, then one row per (HCPCS, modifier).
* ``GPCI<yyyy>.csv`` -- geographic practice cost indices per MAC/locality, with
  a title line, a header, data rows and footnotes.
* ``ZIP5_<MON><yyyy>.txt`` -- fixed width ZIP code -> carrier/locality file
  (layout in ``ZIP5lyout.txt``).
* ``ANES<yyyy>.csv`` -- anesthesia conversion factors per MAC/locality.

Everything is pure Python (no Flask, no database).  The parsers are generators:
they read one line at a time and yield frozen dataclasses.  Any problem raises
:class:`PfsFileError` naming the file and the physical line number.

CPT descriptors are copyrighted by the AMA: the DESCRIPTION column of the RVU
file is never read into any returned object.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import os
import posixpath
import re
import zipfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

__all__ = [
    "AnesRow",
    "GpciRow",
    "PfsFileError",
    "RvuRow",
    "ZipRow",
    "open_bundle",
    "parse_anes",
    "parse_gpci",
    "parse_rvu",
    "parse_zip5",
]

#: Anything the parsers accept: a filesystem path, raw bytes, or an open binary
#: or text stream (a stream is not closed by the parser).
Source = str | os.PathLike[str] | bytes | bytearray | IO[bytes] | IO[str]

ZERO = Decimal("0")

# Status codes documented in the RVU file's Attachment A (D, F, G and H are
# historical and no longer appear, but are still valid values).
VALID_STATUS = frozenset("ABCDEFGHIJMNPRTX")
VALID_GLOBAL_DAYS = frozenset({"000", "010", "090", "MMM", "XXX", "YYY", "ZZZ"})
VALID_PCTC = frozenset("0123456789")
VALID_MULT_PROC = frozenset("012345679")
VALID_BILAT = frozenset("01239")
VALID_ASST_CO_TEAM = frozenset("0129")

_CODE_RE = re.compile(r"[0-9A-Z]{5}\Z")
_MOD_RE = re.compile(r"[0-9A-Z]{2}\Z")
_NUM_RE = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)\Z")
_STATE_RE = re.compile(r"[A-Z]{2}\Z")
_DIGITS_RE = re.compile(r"\d+\Z")

#: How many lines may precede a header before we give up (guards against being
#: handed the wrong file).
_MAX_PREAMBLE_LINES = 100

#: Largest single member open_bundle() will extract (uncompressed).
MAX_MEMBER_BYTES = 256 * 1024 * 1024


class PfsFileError(ValueError):
    """A CMS file could not be read; names the file and the physical line."""

    def __init__(self, file_label: str, line_no: int | None, message: str) -> None:
        self.file_label = file_label
        self.line_no = line_no
        self.message = message
        super().__init__(file_label, line_no, message)

    def __str__(self) -> str:
        if self.line_no is None:
            return f"{self.file_label}: {self.message}"
        return f"{self.file_label} line {self.line_no}: {self.message}"


# --------------------------------------------------------------------------
# Row types
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RvuRow:
    """One row of the PPRRVU file (DESCRIPTION deliberately absent).

    Indicator fields are kept as the one/three character codes CMS publishes
    (``"9"`` means "concept does not apply").  ``line_no`` is the physical line
    in the file.  The fields after ``line_no`` are extra columns that are handy
    for pricing and have defaults so the row can be built by hand in tests.
    """

    hcpcs: str
    modifier: str  # '' when none; otherwise '26', 'TC' or '53'
    status: str
    work_rvu: Decimal
    nonfac_pe_rvu: Decimal
    nonfac_na: bool
    fac_pe_rvu: Decimal
    fac_na: bool
    mp_rvu: Decimal
    pctc: str
    global_days: str
    mult_proc: str
    bilat_surg: str
    asst_surg: str
    co_surg: str
    team_surg: str
    conv_factor: Decimal
    line_no: int
    not_used_for_medicare: bool = False
    endo_base: str = ""
    nonfac_total: Decimal = ZERO
    fac_total: Decimal = ZERO
    opps_nonfac_pe_rvu: Decimal = ZERO
    opps_fac_pe_rvu: Decimal = ZERO
    opps_mp_rvu: Decimal = ZERO

    @property
    def key(self) -> tuple[str, str]:
        return (self.hcpcs, self.modifier)

    @property
    def opps_capped(self) -> bool:
        """True when CMS published OPPS-cap RVUs for this row (DRA 2005 imaging cap)."""
        return bool(self.opps_nonfac_pe_rvu or self.opps_fac_pe_rvu or self.opps_mp_rvu)


@dataclass(frozen=True, slots=True)
class GpciRow:
    """One locality of the GPCI file.  ``carrier`` is the MAC number."""

    carrier: str
    state: str
    locality: str
    name: str  # footnote asterisks ("ALASKA*") stripped
    pw: Decimal
    pe: Decimal
    mp: Decimal
    line_no: int

    @property
    def mac(self) -> str:
        return self.carrier

    @property
    def key(self) -> tuple[str, str]:
        return (self.carrier, self.locality)


@dataclass(frozen=True, slots=True)
class ZipRow:
    """One record of the ZIP5 file."""

    state: str
    zip: str
    carrier: str
    locality: str
    rural: str  # '' urban, 'R' rural, 'B' super rural
    plus_four: bool  # True: locality may depend on the ZIP+4 (see the ZIP9 file)
    year_quarter: str  # 'YYYYQ', e.g. '20254'
    line_no: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.carrier, self.locality)

    @property
    def year(self) -> int:
        return int(self.year_quarter[:4])

    @property
    def quarter(self) -> int:
        return int(self.year_quarter[4])


@dataclass(frozen=True, slots=True)
class AnesRow:
    """One locality of the anesthesia conversion factor file."""

    carrier: str
    locality: str
    name: str  # footnote asterisks stripped
    anes_cf: Decimal
    line_no: int
    national_cf: Decimal | None = None  # from the header ("National Anes CF of 20.3178")

    @property
    def key(self) -> tuple[str, str]:
        return (self.carrier, self.locality)


# --------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------


def _label_for(source: Any, label: str | None, default: str) -> str:
    if label:
        return label
    if isinstance(source, str | os.PathLike):
        return os.path.basename(os.fspath(source))
    name = getattr(source, "name", None)
    if isinstance(name, str) and name:
        return os.path.basename(name)
    return default


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # CMS sometimes ships Windows-1252; only free text (which we mostly
        # discard) is ever non-ASCII, so a lossy fallback is acceptable.
        return raw.decode("cp1252", errors="replace")


def _iter_lines(source: Source) -> Iterator[str]:
    """Yield text lines (with their line endings) from any accepted source."""
    if isinstance(source, bytes | bytearray | memoryview):
        source = io.BytesIO(bytes(source))
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            yield from _iter_binary(fh)
        return
    probe = source.read(0)
    if isinstance(probe, str):
        yield from source  # type: ignore[misc]
    else:
        yield from _iter_binary(source)  # type: ignore[arg-type]


def _iter_binary(fh: IO[bytes]) -> Iterator[str]:
    first = True
    for raw in fh:
        if first:
            first = False
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        yield _decode(raw)


# --------------------------------------------------------------------------
# Field helpers
# --------------------------------------------------------------------------


class _Ctx:
    """File label + current line number, for error messages."""

    __slots__ = ("_decimals", "label", "line_no")

    def __init__(self, label: str) -> None:
        self.label = label
        self.line_no: int | None = None
        # Cell text -> validated non-negative Decimal; most RVU cells repeat
        # ("0.00"), so this roughly halves the parse time.
        self._decimals: dict[str, Decimal] = {}

    def error(self, message: str) -> PfsFileError:
        return PfsFileError(self.label, self.line_no, message)

    def dec(self, value: str, field: str, *, positive: bool = False) -> Decimal:
        d = self._decimals.get(value)
        if d is None:
            v = value.strip()
            if not _NUM_RE.match(v):
                raise self.error(f"{field} {v!r} is not a number")
            d = Decimal(v)
            if d < 0:
                raise self.error(f"{field} {v!r} is negative")
            self._decimals[value] = d
        if positive and d == 0:
            v = value.strip()
            raise self.error(f"{field} {v!r} must be greater than zero")
        return d

    def choice(self, value: str, field: str, allowed: frozenset[str]) -> str:
        v = value.strip().upper()
        if v not in allowed:
            shown = ", ".join(sorted(allowed))
            raise self.error(f"{field} {v!r} is not one of {shown}")
        return v

    def digits(self, value: str, field: str, width: int) -> str:
        """A numeric code, zero-padded to ``width`` (spreadsheets drop leading zeros)."""
        v = value.strip()
        if not _DIGITS_RE.match(v) or len(v) > width:
            raise self.error(f"{field} {v!r} is not a {width}-digit code")
        return v.zfill(width)


def _norm(text: str) -> str:
    return " ".join(text.upper().split())


def _clean_name(text: str) -> str:
    return " ".join(text.split()).rstrip("*").strip()


def _blank(cells: list[str]) -> bool:
    return all(not c.strip() for c in cells)


def _skippable(cells: list[str]) -> bool:
    """Blank rows and footnotes (text in the first cell only, not a code)."""
    if not _blank(cells[1:]):
        return False
    return not (cells and _DIGITS_RE.match(cells[0].strip()))


# --------------------------------------------------------------------------
# PPRRVU
# --------------------------------------------------------------------------

# (key, full column name); names are the header cells of each column joined
# top to bottom.  Order is the order CMS publishes them in.
_RVU_REQUIRED: tuple[tuple[str, str], ...] = (
    ("hcpcs", "HCPCS"),
    ("mod", "MOD"),
    ("description", "DESCRIPTION"),
    ("status", "STATUS CODE"),
    ("not_used", "NOT USED FOR MEDICARE PAYMENT"),
    ("work", "WORK RVU"),
    ("nonfac_pe", "NON-FAC PE RVU"),
    ("nonfac_na", "NON-FAC NA INDICATOR"),
    ("fac_pe", "FACILITY PE RVU"),
    ("fac_na", "FACILITY NA INDICATOR"),
    ("mp", "MP RVU"),
    ("nonfac_total", "NON-FACILITY TOTAL"),
    ("fac_total", "FACILITY TOTAL"),
    ("pctc", "PCTC IND"),
    ("glob", "GLOB DAYS"),
    ("pre", "PRE OP"),
    ("intra", "INTRA OP"),
    ("post", "POST OP"),
    ("mult", "MULT PROC"),
    ("bilat", "BILAT SURG"),
    ("asst", "ASST SURG"),
    ("co", "CO-SURG"),
    ("team", "TEAM SURG"),
    ("endo", "ENDO BASE"),
    ("cf", "CONV FACTOR"),
)
_RVU_OPTIONAL: tuple[tuple[str, str], ...] = (
    ("opps_nonfac_pe", "NON-FACILITY PE USED FOR OPPS PAYMENT AMOUNT"),
    ("opps_fac_pe", "FACILITY PE USED FOR OPPS PAYMENT AMOUNT"),
    ("opps_mp", "MP USED FOR OPPS PAYMENT AMOUNT"),
)


def _suffix_match(combined: str, name: str) -> bool:
    return combined == name or combined.endswith(" " + name)


def _map_rvu_columns(header_block: list[list[str]], ctx: _Ctx) -> tuple[dict[str, int], int]:
    """Locate columns from the multi-line header (the last line starts with HCPCS).

    Each column's name is its header cells joined top to bottom; the title
    lines above only put text in the DESCRIPTION column, so matching the
    expected name as a word-aligned *suffix* is robust.  Columns are searched
    in CMS's published order, so an inserted column is tolerated but a missing
    or reordered one is an error.
    """
    final = header_block[-1]
    width = len(final)
    combined: list[str] = []
    for i in range(width):
        parts = [row[i] for row in header_block if i < len(row) and row[i].strip()]
        # "CO-" over "SURG" reads "CO-SURG": no space after a trailing hyphen.
        combined.append(_norm(" ".join(parts)).replace("- ", "-"))
    cols: dict[str, int] = {}
    pos = 0
    for key, name in _RVU_REQUIRED:
        for i in range(pos, width):
            if _suffix_match(combined[i], name):
                cols[key] = i
                pos = i + 1
                break
        else:
            raise ctx.error(f"header: column {name!r} not found (in the expected order)")
    for key, name in _RVU_OPTIONAL:
        for i in range(pos, width):
            if _suffix_match(combined[i], name):
                cols[key] = i
                pos = i + 1
                break
    if cols["hcpcs"] != 0:
        raise ctx.error("header: HCPCS must be the first column")
    return cols, width


def parse_rvu(source: Source, *, label: str | None = None) -> Iterator[RvuRow]:
    """Yield one :class:`RvuRow` per data row of a PPRRVU csv.

    Strict: a wrong column count, a non-numeric or negative RVU, an unknown
    status or indicator, a malformed HCPCS/modifier, or a repeated
    (HCPCS, modifier) pair raises :class:`PfsFileError` naming the line.
    Blank rows (only commas) are skipped.
    """
    ctx = _Ctx(_label_for(source, label, "PPRRVU file"))
    reader = csv.reader(_iter_lines(source))
    preamble: list[list[str]] = []
    cols: dict[str, int] | None = None
    width = 0
    seen: dict[tuple[str, str], int] = {}
    for cells in reader:
        ctx.line_no = reader.line_num
        if cols is None:
            preamble.append(cells)
            if cells and _norm(cells[0]) == "HCPCS":
                cols, width = _map_rvu_columns(preamble, ctx)
                preamble = []
            elif len(preamble) >= _MAX_PREAMBLE_LINES:
                raise ctx.error("no header row (first cell 'HCPCS') found")
            continue
        if _blank(cells):
            continue
        if len(cells) != width:
            raise ctx.error(f"expected {width} columns, found {len(cells)}")
        row = _rvu_row(cells, cols, ctx)
        first = seen.get(row.key)
        if first is not None:
            shown = row.hcpcs + (f"-{row.modifier}" if row.modifier else "")
            raise ctx.error(f"duplicate HCPCS/modifier {shown} (first seen on line {first})")
        seen[row.key] = ctx.line_no
        yield row
    if cols is None:
        ctx.line_no = None
        raise ctx.error("no header row (first cell 'HCPCS') found")


def _na(value: str, field: str, ctx: _Ctx) -> bool:
    v = value.strip().upper()
    if v == "NA":
        return True
    if v == "":
        return False
    raise ctx.error(f"{field} {v!r} is not blank or 'NA'")


def _rvu_row(cells: list[str], c: dict[str, int], ctx: _Ctx) -> RvuRow:
    hcpcs = cells[c["hcpcs"]].strip().upper()
    if not _CODE_RE.match(hcpcs):
        raise ctx.error(f"HCPCS {hcpcs!r} is not a 5-character code")
    mod = cells[c["mod"]].strip().upper()
    if mod and not _MOD_RE.match(mod):
        raise ctx.error(f"MOD {mod!r} is not a 2-character modifier")
    status = cells[c["status"]].strip().upper()
    if status not in VALID_STATUS:
        raise ctx.error(f"STATUS CODE {status!r} is not a known status code")
    not_used = cells[c["not_used"]].strip()
    if not_used not in ("", "+"):
        raise ctx.error(f"NOT USED FOR MEDICARE PAYMENT {not_used!r} is not blank or '+'")
    endo = cells[c["endo"]].strip().upper()
    if endo and not _CODE_RE.match(endo):
        raise ctx.error(f"ENDO BASE {endo!r} is not a 5-character code")
    dec = ctx.dec
    opps = {}
    for key, name in _RVU_OPTIONAL:
        i = c.get(key)
        opps[key] = dec(cells[i], name) if i is not None and cells[i].strip() else ZERO
    return RvuRow(
        hcpcs=hcpcs,
        modifier=mod,
        status=status,
        work_rvu=dec(cells[c["work"]], "WORK RVU"),
        nonfac_pe_rvu=dec(cells[c["nonfac_pe"]], "NON-FAC PE RVU"),
        nonfac_na=_na(cells[c["nonfac_na"]], "NON-FAC NA INDICATOR", ctx),
        fac_pe_rvu=dec(cells[c["fac_pe"]], "FACILITY PE RVU"),
        fac_na=_na(cells[c["fac_na"]], "FACILITY NA INDICATOR", ctx),
        mp_rvu=dec(cells[c["mp"]], "MP RVU"),
        pctc=ctx.choice(cells[c["pctc"]], "PCTC IND", VALID_PCTC),
        global_days=ctx.choice(cells[c["glob"]], "GLOB DAYS", VALID_GLOBAL_DAYS),
        mult_proc=ctx.choice(cells[c["mult"]], "MULT PROC", VALID_MULT_PROC),
        bilat_surg=ctx.choice(cells[c["bilat"]], "BILAT SURG", VALID_BILAT),
        asst_surg=ctx.choice(cells[c["asst"]], "ASST SURG", VALID_ASST_CO_TEAM),
        co_surg=ctx.choice(cells[c["co"]], "CO-SURG", VALID_ASST_CO_TEAM),
        team_surg=ctx.choice(cells[c["team"]], "TEAM SURG", VALID_ASST_CO_TEAM),
        conv_factor=dec(cells[c["cf"]], "CONV FACTOR", positive=True),
        line_no=ctx.line_no or 0,
        not_used_for_medicare=not_used == "+",
        endo_base=endo,
        nonfac_total=dec(cells[c["nonfac_total"]], "NON-FACILITY TOTAL"),
        fac_total=dec(cells[c["fac_total"]], "FACILITY TOTAL"),
        opps_nonfac_pe_rvu=opps["opps_nonfac_pe"],
        opps_fac_pe_rvu=opps["opps_fac_pe"],
        opps_mp_rvu=opps["opps_mp"],
    )


# --------------------------------------------------------------------------
# GPCI
# --------------------------------------------------------------------------


def _find_col(header: list[str], *needles: str, exclude: tuple[str, ...] = ()) -> int | None:
    for i, cell in enumerate(header):
        text = _norm(cell)
        if all(n in text for n in needles) and not any(x in text for x in exclude):
            return i
    return None


def _gpci_columns(cells: list[str]) -> dict[str, int] | None:
    """Return the column map if ``cells`` looks like the GPCI header row."""
    carrier = _find_col(cells, "CONTRACTOR")
    if carrier is None:
        carrier = _find_col(cells, "CARRIER")
    if carrier is None:
        carrier = _find_col(cells, "MAC")
    found = {
        "carrier": carrier,
        "state": _find_col(cells, "STATE"),
        "locality": _find_col(cells, "LOCALITY", exclude=("NAME",)),
        "name": _find_col(cells, "LOCALITY NAME"),
        "pw": _find_col(cells, "PW", "GPCI"),
        "pe": _find_col(cells, "PE GPCI"),
        "mp": _find_col(cells, "MP GPCI"),
    }
    if any(v is None for v in found.values()):
        return None
    return {k: v for k, v in found.items() if v is not None}


def parse_gpci(source: Source, *, label: str | None = None) -> Iterator[GpciRow]:
    """Yield one :class:`GpciRow` per locality of a GPCI csv.

    The header row is recognised by its content (MAC, State, Locality Number,
    Locality Name, PW/PE/MP GPCI).  Title lines before it, and blank or
    footnote rows (text in the first cell only) after it, are skipped; any
    other row must be a valid locality.  Duplicate (MAC, locality) pairs are
    an error.
    """
    ctx = _Ctx(_label_for(source, label, "GPCI file"))
    reader = csv.reader(_iter_lines(source))
    cols: dict[str, int] | None = None
    seen: dict[tuple[str, str], int] = {}
    for cells in reader:
        ctx.line_no = reader.line_num
        if cols is None:
            cols = _gpci_columns(cells)
            if cols is None and reader.line_num >= _MAX_PREAMBLE_LINES:
                raise ctx.error("no GPCI header row found")
            continue
        if _skippable(cells):
            continue  # blank line or footnote
        need = max(cols.values()) + 1
        if len(cells) < need or not _blank(cells[need:]):
            raise ctx.error(f"expected {need} columns, found {len(cells)}")
        state = cells[cols["state"]].strip().upper()
        if not _STATE_RE.match(state):
            raise ctx.error(f"State {state!r} is not a 2-letter code")
        row = GpciRow(
            carrier=ctx.digits(cells[cols["carrier"]], "MAC", 5),
            state=state,
            locality=ctx.digits(cells[cols["locality"]], "Locality Number", 2),
            name=_clean_name(cells[cols["name"]]),
            pw=ctx.dec(cells[cols["pw"]], "PW GPCI", positive=True),
            pe=ctx.dec(cells[cols["pe"]], "PE GPCI", positive=True),
            mp=ctx.dec(cells[cols["mp"]], "MP GPCI", positive=True),
            line_no=ctx.line_no,
        )
        if not row.name:
            raise ctx.error("Locality Name is empty")
        first = seen.get(row.key)
        if first is not None:
            raise ctx.error(
                f"duplicate MAC/locality {row.carrier}/{row.locality} (first seen on line {first})"
            )
        seen[row.key] = ctx.line_no
        yield row
    if cols is None:
        ctx.line_no = None
        raise ctx.error("no GPCI header row found")


# --------------------------------------------------------------------------
# ZIP5 (fixed width)
# --------------------------------------------------------------------------

ZIP5_RECORD_LENGTH = 80
_RURAL = {" ": "", "R": "R", "B": "B"}


def parse_zip5(source: Source, *, label: str | None = None) -> Iterator[ZipRow]:
    """Yield one :class:`ZipRow` per record of the fixed-width ZIP5 file.

    Layout (1-based, inclusive): state 1-2, ZIP 3-7, carrier 8-12, locality
    13-14, rural indicator 15 (blank/R/B), plus-four flag 21 (0/1), year and
    quarter 76-80.  Records must be exactly 80 characters; blank lines are
    skipped; a repeated ZIP is an error.
    """
    ctx = _Ctx(_label_for(source, label, "ZIP5 file"))
    seen: dict[str, int] = {}
    for line_no, line in enumerate(_iter_lines(source), start=1):
        ctx.line_no = line_no
        rec = line.rstrip("\r\n")
        if not rec.strip() or rec == "\x1a":
            continue
        if len(rec) != ZIP5_RECORD_LENGTH:
            raise ctx.error(f"record is {len(rec)} characters long, expected {ZIP5_RECORD_LENGTH}")
        state = rec[0:2]
        if not _STATE_RE.match(state):
            raise ctx.error(f"state {state!r} is not a 2-letter code")
        zip_code = rec[2:7]
        if not (zip_code.isascii() and zip_code.isdigit()):
            raise ctx.error(f"ZIP {zip_code!r} is not 5 digits")
        carrier = rec[7:12]
        if not (carrier.isascii() and carrier.isdigit()):
            raise ctx.error(f"carrier {carrier!r} is not 5 digits")
        locality = rec[12:14]
        if not (locality.isascii() and locality.isdigit()):
            raise ctx.error(f"locality {locality!r} is not 2 digits")
        rural = _RURAL.get(rec[14])
        if rural is None:
            raise ctx.error(f"rural indicator {rec[14]!r} is not blank, 'R' or 'B'")
        plus4 = rec[20]
        if plus4 not in ("0", "1"):
            raise ctx.error(f"plus-four flag {plus4!r} is not '0' or '1'")
        yq = rec[75:80]
        if not (yq.isascii() and yq.isdigit()) or yq[4] not in "1234":
            raise ctx.error(f"year/quarter {yq!r} is not YYYYQ")
        first = seen.get(zip_code)
        if first is not None:
            raise ctx.error(f"duplicate ZIP {zip_code} (first seen on line {first})")
        seen[zip_code] = line_no
        yield ZipRow(
            state=state,
            zip=zip_code,
            carrier=carrier,
            locality=locality,
            rural=rural,
            plus_four=plus4 == "1",
            year_quarter=yq,
            line_no=line_no,
        )


# --------------------------------------------------------------------------
# ANES
# --------------------------------------------------------------------------

_NATIONAL_CF_RE = re.compile(r"NATIONAL\s+ANES\w*\s+CF\s+OF\s+\$?(\d+(?:\.\d+)?)", re.I)


def parse_anes(source: Source, *, label: str | None = None) -> Iterator[AnesRow]:
    """Yield one :class:`AnesRow` per locality of an ANES csv.

    Header: ``Contractor,Locality,Locality Name,National Anes CF of 20.3178``
    (the national CF is taken from it when present).  CMS pads cells with
    spaces (``10112 ,00 ,ALABAMA,19.31``); they are stripped.
    """
    ctx = _Ctx(_label_for(source, label, "ANES file"))
    reader = csv.reader(_iter_lines(source))
    cols: dict[str, int] | None = None
    national: Decimal | None = None
    seen: dict[tuple[str, str], int] = {}
    for cells in reader:
        ctx.line_no = reader.line_num
        if cols is None:
            carrier = _find_col(cells, "CONTRACTOR")
            if carrier is None:
                carrier = _find_col(cells, "CARRIER")
            locality = _find_col(cells, "LOCALITY", exclude=("NAME",))
            name = _find_col(cells, "LOCALITY NAME")
            cf = _find_col(cells, "CF")
            if cf is None:
                cf = _find_col(cells, "CONVERSION")
            if carrier is not None and locality is not None and name is not None and cf is not None:
                cols = {"carrier": carrier, "locality": locality, "name": name, "cf": cf}
                m = _NATIONAL_CF_RE.search(cells[cf])
                national = Decimal(m.group(1)) if m else None
            elif reader.line_num >= _MAX_PREAMBLE_LINES:
                raise ctx.error("no anesthesia header row found")
            continue
        if _skippable(cells):
            continue
        need = max(cols.values()) + 1
        if len(cells) < need or not _blank(cells[need:]):
            raise ctx.error(f"expected {need} columns, found {len(cells)}")
        row = AnesRow(
            carrier=ctx.digits(cells[cols["carrier"]], "Contractor", 5),
            locality=ctx.digits(cells[cols["locality"]], "Locality", 2),
            name=_clean_name(cells[cols["name"]]),
            anes_cf=ctx.dec(cells[cols["cf"]], "anesthesia CF", positive=True),
            line_no=ctx.line_no,
            national_cf=national,
        )
        first = seen.get(row.key)
        if first is not None:
            raise ctx.error(
                f"duplicate contractor/locality {row.carrier}/{row.locality} "
                f"(first seen on line {first})"
            )
        seen[row.key] = ctx.line_no
        yield row
    if cols is None:
        ctx.line_no = None
        raise ctx.error("no anesthesia header row found")


# --------------------------------------------------------------------------
# Bundle
# --------------------------------------------------------------------------

#: bundle key -> (glob on the file's base name, case-insensitive, description)
BUNDLE_PATTERNS: dict[str, str] = {
    "rvu": "pprrvu*.csv",
    "gpci": "gpci*.csv",
    "zip5": "zip5*.txt",
    "anes": "anes*.csv",
}
_LAYOUT_RE = re.compile(r"l(a)?yout", re.I)


def open_bundle(
    zip_path: str | os.PathLike[str] | IO[bytes], *, required: Collection[str] | None = None
) -> dict[str, io.BytesIO]:
    """Find the four PFS files inside a CMS zip as downloaded.

    Returns ``{"rvu": ..., "gpci": ..., "zip5": ..., "anes": ...}``; each value
    is an in-memory binary stream whose ``name`` is the member's path, ready to
    hand to the matching ``parse_*`` function.  Members are matched on their
    base name, case-insensitively (``PPRRVU*.csv``, ``GPCI*.csv``,
    ``ZIP5*.txt`` excluding the ``ZIP5lyout.txt`` layout, ``ANES*.csv``), in
    any folder and inside zips nested one level deep.  A missing or ambiguous
    file raises :class:`PfsFileError`.

    ``required`` names the keys that must be present (default: all four).  CMS
    publishes the ZIP code file as a separate download from the RVU zip, so
    the importer opens each bundle with ``required=()`` and merges what it
    finds; absent optional keys are simply left out of the result.
    """
    must = set(BUNDLE_PATTERNS) if required is None else set(required)
    unknown = must - set(BUNDLE_PATTERNS)
    if unknown:
        raise ValueError(f"unknown bundle keys: {', '.join(sorted(unknown))}")
    label = _label_for(zip_path, None, "bundle.zip")
    try:
        outer = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PfsFileError(label, None, f"not a readable zip file ({exc})") from exc
    found: dict[str, list[tuple[zipfile.ZipFile, zipfile.ZipInfo, str]]] = {
        k: [] for k in BUNDLE_PATTERNS
    }
    opened: list[zipfile.ZipFile] = [outer]
    try:
        _scan_zip(outer, "", found, opened, label, depth=0)
        result: dict[str, io.BytesIO] = {}
        for key, pattern in BUNDLE_PATTERNS.items():
            hits = found[key]
            if not hits and key not in must:
                continue
            if not hits:
                raise PfsFileError(label, None, f"no {pattern.upper()} file found in the bundle")
            if len(hits) > 1:
                names = ", ".join(sorted(shown for _, _, shown in hits))
                raise PfsFileError(
                    label, None, f"several {pattern.upper()} files in the bundle: {names}"
                )
            zf, info, shown = hits[0]
            stream = io.BytesIO(_read_member(zf, info, label))
            stream.name = shown  # type: ignore[attr-defined]
            result[key] = stream
        return result
    finally:
        for zf in reversed(opened):
            zf.close()


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> bytes:
    if info.file_size > MAX_MEMBER_BYTES:
        raise PfsFileError(label, None, f"{info.filename} is too large ({info.file_size} bytes)")
    try:
        return zf.read(info)
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:  # RuntimeError: encrypted
        raise PfsFileError(label, None, f"cannot read {info.filename} ({exc})") from exc


def _scan_zip(
    zf: zipfile.ZipFile,
    prefix: str,
    found: dict[str, list[tuple[zipfile.ZipFile, zipfile.ZipInfo, str]]],
    opened: list[zipfile.ZipFile],
    label: str,
    depth: int,
) -> None:
    for info in zf.infolist():
        if info.is_dir():
            continue
        path = info.filename.replace("\\", "/")
        if "__MACOSX/" in path:
            continue
        base = posixpath.basename(path)
        if base.startswith("._"):
            continue
        lower = base.lower()
        if lower.endswith(".zip") and depth == 0:
            nested = zipfile.ZipFile(io.BytesIO(_read_member(zf, info, label)))
            opened.append(nested)
            _scan_zip(nested, prefix + path + "!/", found, opened, label, depth + 1)
            continue
        for key, pattern in BUNDLE_PATTERNS.items():
            if fnmatch.fnmatchcase(lower, pattern):
                if key == "zip5" and _LAYOUT_RE.search(base):
                    continue
                found[key].append((zf, info, prefix + path))
