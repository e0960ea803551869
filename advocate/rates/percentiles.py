"""The commercial charge percentile CSV a firm imports (pure: no Flask, no database).

Format (one row per code, modifier, 3-digit ZIP area and year)::

    code,modifier,zip3,p50,p60,p70,p75,p80,p85,p90,p95,year
    99213,,100,150.00,165.00,180.00,190.00,200.00,215.00,240.00,275.00,2025
    71046,26,100,45.00,50.00,55.00,58.00,61.00,66.00,72.00,85.00,2025

* UTF-8 (a byte-order mark is fine; Windows-1252 is read as a fallback), comma
  separated, the first non-blank line is the header.  Header names match
  case-insensitively, ignoring spaces, hyphens and underscores, in any order;
  aliases: ``cpt``/``hcpcs`` for code, ``mod`` for modifier, ``geozip``/
  ``geo``/``area`` for zip3, ``50``/``50th``/``pct50`` for p50 (and so on).
  Other columns (a vendor's description, for example) are ignored, never stored.
* code: 5 letters/digits (CPT or HCPCS); modifier: blank or 2 letters/digits;
  zip3: the first three digits of a ZIP code (``5`` or ``05`` is read as
  ``005``: spreadsheets drop leading zeros); year: 4 digits.
* p50 ... p95: dollar amounts, at most 2 decimals (``$`` and thousands
  separators allowed), not negative, and never decreasing from p50 to p95.
* A (year, code, modifier, zip3) may appear once per file.

Every problem is reported with its physical line number; a file with any
error is refused whole.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import pairwise

from advocate.spreadsheets import csv_text

__all__ = [
    "COLUMNS",
    "MAX_ROWS",
    "PERCENTILES",
    "LineError",
    "PercentileFile",
    "PercentileRow",
    "TEMPLATE_CSV",
    "parse_percentile_csv",
]

PERCENTILES = (50, 60, 70, 75, 80, 85, 90, 95)
COLUMNS = ("code", "modifier", "zip3", *(f"p{p}" for p in PERCENTILES), "year")
MAX_ROWS = 500_000
MAX_ERRORS = 100
MAX_AMOUNT = Decimal("9999999999.99")
MIN_YEAR, MAX_YEAR = 1990, 2100

TEMPLATE_CSV = csv_text(
    [
        COLUMNS,
        ["99213", "", "100", "150.00", "165.00", "180.00", "190.00", "200.00", "215.00", "240.00"]
        + ["275.00", "2025"],
    ],
    lineterminator="\n",
)

_ALIASES: dict[str, str] = {
    "code": "code",
    "cpt": "code",
    "hcpcs": "code",
    "cpthcpcs": "code",
    "procedurecode": "code",
    "modifier": "modifier",
    "mod": "modifier",
    "zip3": "zip3",
    "geozip": "zip3",
    "geo": "zip3",
    "area": "zip3",
    "geographicarea": "zip3",
    "year": "year",
}
for _p in PERCENTILES:
    for _alias in (
        f"p{_p}",
        f"{_p}",
        f"{_p}th",
        f"pct{_p}",
        f"percentile{_p}",
        f"{_p}thpercentile",
    ):
        _ALIASES[_alias] = f"p{_p}"

_CODE_RE = re.compile(r"[0-9A-Z]{5}\Z")
_MOD_RE = re.compile(r"[0-9A-Z]{2}\Z")
_AMOUNT_RE = re.compile(r"\d+(?:\.\d{0,2})?\Z|\.\d{1,2}\Z")


@dataclass(frozen=True, slots=True)
class LineError:
    line: int | None
    message: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        col = f" ({self.column})" if self.column else ""
        return f"{where}{col}: {self.message}"


@dataclass(frozen=True, slots=True)
class PercentileRow:
    year: int
    code: str
    modifier: str
    zip3: str
    values: tuple[Decimal, ...]  # in PERCENTILES order
    line: int

    @property
    def key(self) -> tuple[int, str, str, str]:
        return (self.year, self.code, self.modifier, self.zip3)

    def as_dict(self) -> dict[str, Decimal]:
        return {f"p{p}": v for p, v in zip(PERCENTILES, self.values, strict=True)}


@dataclass
class PercentileFile:
    rows: list[PercentileRow] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    truncated_errors: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)

    @property
    def years(self) -> list[int]:
        return sorted({r.year for r in self.rows})


def normalise_header(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower().lstrip("\ufeff"))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


class _TooManyErrors(Exception):
    pass


class _Errors:
    """Collects line errors into the result; stops the parse after MAX_ERRORS."""

    def __init__(self, result: PercentileFile) -> None:
        self.result = result

    def __call__(self, line: int | None, message: str, column: str | None = None) -> None:
        if len(self.result.errors) >= MAX_ERRORS:
            self.result.truncated_errors = True
            raise _TooManyErrors
        self.result.errors.append(LineError(line, message, column))

    @property
    def count(self) -> int:
        return len(self.result.errors)


def parse_percentile_csv(data: bytes | str, *, max_rows: int = MAX_ROWS) -> PercentileFile:
    """Read and validate a whole percentile CSV; never raises on bad content."""
    result = PercentileFile()
    text = _decode(data) if isinstance(data, bytes | bytearray) else data
    if "\x00" in text:
        result.errors.append(LineError(None, "this is not a text CSV file (it contains NUL bytes)"))
        return result

    err = _Errors(result)

    reader = csv.reader(io.StringIO(text, newline=""))
    cols: dict[str, int] | None = None
    width = 0
    seen: dict[tuple[int, str, str, str], int] = {}
    prev_end = 0
    try:
        for cells in reader:
            start, prev_end = prev_end + 1, reader.line_num
            if all(not c.strip() for c in cells):
                continue
            if cols is None:
                cols, ignored = _map_header(cells, start, err)
                if cols is None:
                    return result
                result.ignored_columns = ignored
                width = len(cells)
                continue
            if len(result.rows) >= max_rows:
                err(start, f"the file has more than {max_rows:,} rows; split it into smaller files")
                break
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                err(start, f"{len(cells)} cells, but the header has {width} columns")
                continue
            row = _parse_row(cells, cols, start, err)
            if row is None:
                continue
            first = seen.get(row.key)
            if first is not None:
                err(
                    start,
                    f"{row.code}{'-' + row.modifier if row.modifier else ''} in area {row.zip3} "
                    f"for {row.year} repeats line {first}",
                )
                continue
            seen[row.key] = start
            result.rows.append(row)
    except _TooManyErrors:
        pass
    except csv.Error as exc:
        result.errors.append(LineError(reader.line_num, f"unreadable CSV ({exc})"))
    if cols is None and not result.errors:
        result.errors.append(LineError(None, "the file is empty (no header row)"))
    elif cols is not None and not result.rows and not result.errors:
        result.errors.append(LineError(None, "the file has a header but no rows"))
    if result.errors:
        result.rows = []  # all or nothing: nothing from a bad file is usable
    return result


def _map_header(
    cells: list[str], line: int, err: _Errors
) -> tuple[dict[str, int] | None, list[str]]:
    cols: dict[str, int] = {}
    ignored: list[str] = []
    for i, cell in enumerate(cells):
        key = _ALIASES.get(normalise_header(cell))
        if key is None:
            if cell.strip():
                ignored.append(cell.strip())
            continue
        if key in cols:
            err(line, f"two columns mean {key}: '{cells[cols[key]].strip()}' and '{cell.strip()}'")
            return None, ignored
        cols[key] = i
    missing = [c for c in COLUMNS if c not in cols]
    if missing:
        err(
            line,
            "the header is missing "
            + ", ".join(missing)
            + f" (expected columns: {', '.join(COLUMNS)})",
        )
        return None, ignored
    return cols, ignored


def _parse_row(
    cells: list[str], cols: dict[str, int], line: int, err: _Errors
) -> PercentileRow | None:
    def cell(name: str) -> str:
        i = cols[name]
        return cells[i].strip() if i < len(cells) else ""

    before = err.count
    code = cell("code").upper()
    if not _CODE_RE.match(code):
        err(line, f"'{code}' is not a 5-character CPT/HCPCS code", "code")
    modifier = cell("modifier").upper()
    if modifier and not _MOD_RE.match(modifier):
        err(line, f"'{modifier}' is not a 2-character modifier", "modifier")
    zip3 = cell("zip3")
    if not (zip3.isascii() and zip3.isdigit() and 1 <= len(zip3) <= 3):
        err(line, f"'{zip3}' is not a 3-digit ZIP area", "zip3")
    zip3 = zip3.zfill(3)
    raw_year = cell("year")
    year = 0
    if raw_year.isascii() and raw_year.isdigit() and len(raw_year) == 4:
        year = int(raw_year)
        if not MIN_YEAR <= year <= MAX_YEAR:
            err(line, f"{year} is not a plausible year", "year")
    else:
        err(line, f"'{raw_year}' is not a 4-digit year", "year")
    values: list[Decimal | None] = []
    for p in PERCENTILES:
        values.append(_amount(cell(f"p{p}"), f"p{p}", line, err))
    if all(v is not None for v in values):
        for (p_lo, lo), (p_hi, hi) in pairwise(zip(PERCENTILES, values, strict=True)):
            if hi < lo:  # type: ignore[operator]
                err(line, f"p{p_hi} ({hi}) is lower than p{p_lo} ({lo})", f"p{p_hi}")
                break
    if err.count != before:
        return None
    return PercentileRow(
        year=year,
        code=code,
        modifier=modifier,
        zip3=zip3,
        values=tuple(v for v in values if v is not None),
        line=line,
    )


def _amount(raw: str, column: str, line: int, err: _Errors) -> Decimal | None:
    text = raw.replace("$", "").replace(",", "").strip()
    if not text:
        err(line, "is empty", column)
        return None
    if text.startswith("-"):
        err(line, f"'{raw}' is negative", column)
        return None
    if not _AMOUNT_RE.match(text):
        err(line, f"'{raw}' is not an amount with at most 2 decimals", column)
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex already guards
        err(line, f"'{raw}' is not an amount", column)
        return None
    if value > MAX_AMOUNT:
        err(line, f"'{raw}' is too large", column)
        return None
    return value.quantize(Decimal("0.01"))
