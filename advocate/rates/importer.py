"""Load one year of the CMS Physician Fee Schedule into the reference tables.

Two steps, so that nothing is written unless everything is valid:

1. :func:`read_pfs` reads the files exactly as CMS publishes them (through the
   strict parsers in :mod:`advocate.rates.pfs_files`) and cross-checks them:
   the year the files declare, every ZIP's locality present in the GPCI file,
   values that fit the columns.  Any problem raises
   :class:`~advocate.rates.pfs_files.PfsFileError` naming the file and line.
2. :func:`load_pfs` replaces the year in the caller's transaction: delete the
   year's rows, then bulk-insert the new ones (PostgreSQL: ``COPY`` through
   the session's own psycopg connection; elsewhere: one ``executemany`` per
   table).  It flushes but never commits; the CLI commits once, so a failure
   anywhere leaves the previous year as it was.

Reference data is written by the app's database role (the migration grants it
INSERT/DELETE on every table); running the command with ``DATABASE_URL`` set
to the owner's URL works as well.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from advocate.rates.models import (
    RATE_SCALE,
    PfsAnesCf,
    PfsGpci,
    PfsRvu,
    PfsYear,
    PfsZipLocality,
)
from advocate.rates.pfs_files import (
    AnesRow,
    GpciRow,
    PfsFileError,
    RvuRow,
    ZipRow,
    open_bundle,
    parse_anes,
    parse_gpci,
    parse_rvu,
    parse_zip5,
)

MIN_YEAR, MAX_YEAR = 1990, 2100
_PG_LOCK_KEY = 0x50_46_53  # "PFS": the advisory lock that serialises fee schedule imports
_MAX_RATE = Decimal(10) ** (12 - RATE_SCALE)  # Numeric(12, 4)

#: Kinds of file, the CLI option naming each, and whether it is required.
KINDS: dict[str, tuple[str, bool]] = {
    "rvu": ("--rvu", True),
    "gpci": ("--gpci", True),
    "zip5": ("--zip", True),
    "anes": ("--anes", False),
}


@dataclass(frozen=True)
class SourceFile:
    """One input file's bytes and the name used in error messages."""

    kind: str
    label: str
    data: bytes


@dataclass
class ParsedPfs:
    """Everything in one year's files, validated, ready to load."""

    year: int
    files: dict[str, SourceFile]
    rvus: list[RvuRow]
    gpcis: list[GpciRow]
    zips: list[ZipRow]
    anes: list[AnesRow] = field(default_factory=list)
    conversion_factor: Decimal = Decimal(0)
    anes_national_cf: Decimal | None = None
    zip_year_quarter: str = ""
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {
            "rvu": len(self.rvus),
            "gpci": len(self.gpcis),
            "zip5": len(self.zips),
            "anes": len(self.anes),
        }


@dataclass(frozen=True)
class PfsLoadResult:
    year: int
    counts: dict[str, int]
    replaced: bool
    read_seconds: float
    write_seconds: float


# ---------------------------------------------------------------------------
# Gathering the files
# ---------------------------------------------------------------------------


def _read_source(kind: str, source: Any) -> SourceFile:
    if isinstance(source, SourceFile):
        return source
    if isinstance(source, str | os.PathLike):
        label = os.path.basename(os.fspath(source))
        try:
            with open(source, "rb") as fh:
                return SourceFile(kind, label, fh.read())
        except OSError as exc:
            raise PfsFileError(label, None, f"cannot read the file ({exc.strerror})") from exc
    if isinstance(source, bytes | bytearray):
        return SourceFile(kind, f"{kind} file", bytes(source))
    stream: IO[bytes] = source
    name = getattr(stream, "name", None)
    label = os.path.basename(name) if isinstance(name, str) and name else f"{kind} file"
    return SourceFile(kind, label, stream.read())


def gather_sources(
    *,
    rvu: Any = None,
    gpci: Any = None,
    zip5: Any = None,
    anes: Any = None,
    bundles: Iterable[Any] = (),
) -> dict[str, SourceFile]:
    """Collect the files from explicit paths and CMS zip bundles.

    CMS publishes the RVU zip (PPRRVU, GPCI, ANES, ...) and the ZIP code file
    as separate downloads, so several bundles may be given; each kind of file
    must come from exactly one place.
    """
    found: dict[str, SourceFile] = {}
    origin: dict[str, str] = {}
    for kind, source in (("rvu", rvu), ("gpci", gpci), ("zip5", zip5), ("anes", anes)):
        if source is not None:
            found[kind] = _read_source(kind, source)
            origin[kind] = KINDS[kind][0]
    for bundle in bundles:
        bundle_label = (
            os.path.basename(os.fspath(bundle))
            if isinstance(bundle, str | os.PathLike)
            else "bundle"
        )
        for kind, stream in open_bundle(bundle, required=()).items():
            if kind in found:
                raise PfsFileError(
                    bundle_label,
                    None,
                    f"{os.path.basename(stream.name)} is a second {kind.upper()} file "
                    f"(already given by {origin[kind]})",
                )
            found[kind] = SourceFile(kind, os.path.basename(stream.name), stream.getvalue())
            origin[kind] = bundle_label
    for kind, (option, required) in KINDS.items():
        if required and kind not in found:
            raise PfsFileError(
                "import",
                None,
                f"no {kind.upper()} file: give {option} or a --bundle that contains it",
            )
    return found


# ---------------------------------------------------------------------------
# Reading and validating
# ---------------------------------------------------------------------------

_RVU_TITLE_YEAR = re.compile(r"\b(\d{4})\s+NATIONAL PHYSICIAN FEE SCHEDULE", re.I)
_GPCI_TITLE_YEAR = re.compile(r"\b(?:CY\s+(\d{4})\b|(\d{4})\s+(?:PW|PE|MP)\s+GPCI)", re.I)


def _declared_year(
    data: bytes, pattern: re.Pattern[str], max_lines: int = 15
) -> tuple[int, int] | None:
    """(year, line) a CMS file states in its title or header lines, if any."""
    for line_no, raw in enumerate(data.splitlines()[:max_lines], start=1):
        m = pattern.search(raw.decode("utf-8", errors="replace"))
        if m:
            return int(next(g for g in m.groups() if g)), line_no
    return None


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PfsFileError("import", None, f"--year {year} is not a plausible fee schedule year")


def _check_rates(label: str, line: int, values: Sequence[tuple[str, Decimal]]) -> None:
    for name, value in values:
        if value.as_tuple().exponent < -RATE_SCALE:  # type: ignore[operator]
            raise PfsFileError(label, line, f"{name} {value} has more than {RATE_SCALE} decimals")
        if value >= _MAX_RATE:
            raise PfsFileError(label, line, f"{name} {value} is too large")


def read_pfs(year: int, files: dict[str, SourceFile]) -> ParsedPfs:
    """Parse and cross-check one year's files (no database)."""
    started = time.perf_counter()
    _check_year(year)
    rvu_f, gpci_f, zip_f = files["rvu"], files["gpci"], files["zip5"]
    anes_f = files.get("anes")

    for f, pattern in ((rvu_f, _RVU_TITLE_YEAR), (gpci_f, _GPCI_TITLE_YEAR)):
        declared = _declared_year(f.data, pattern)
        if declared and declared[0] != year:
            raise PfsFileError(
                f.label, declared[1], f"the file is for {declared[0]}, not {year} (--year)"
            )

    rvus = list(parse_rvu(rvu_f.data, label=rvu_f.label))
    if not rvus:
        raise PfsFileError(rvu_f.label, None, "no rows after the header")
    for r in rvus:
        _check_rates(
            rvu_f.label,
            r.line_no,
            (
                ("WORK RVU", r.work_rvu),
                ("NON-FAC PE RVU", r.nonfac_pe_rvu),
                ("FACILITY PE RVU", r.fac_pe_rvu),
                ("MP RVU", r.mp_rvu),
                ("CONV FACTOR", r.conv_factor),
                ("OPPS NON-FACILITY PE", r.opps_nonfac_pe_rvu),
                ("OPPS FACILITY PE", r.opps_fac_pe_rvu),
                ("OPPS MP", r.opps_mp_rvu),
            ),
        )

    gpcis = list(parse_gpci(gpci_f.data, label=gpci_f.label))
    if not gpcis:
        raise PfsFileError(gpci_f.label, None, "no localities after the header")
    for g in gpcis:
        _check_rates(
            gpci_f.label, g.line_no, (("PW GPCI", g.pw), ("PE GPCI", g.pe), ("MP GPCI", g.mp))
        )
        if len(g.name) > 200:
            raise PfsFileError(
                gpci_f.label, g.line_no, "Locality Name is longer than 200 characters"
            )
    localities = {g.key for g in gpcis}

    zips = list(parse_zip5(zip_f.data, label=zip_f.label))
    if not zips:
        raise PfsFileError(zip_f.label, None, "no ZIP code records")
    for z in zips:
        if z.year != year:
            raise PfsFileError(
                zip_f.label,
                z.line_no,
                f"the record is for {z.year} (year/quarter {z.year_quarter}), not {year} (--year)",
            )
        if z.key not in localities:
            raise PfsFileError(
                zip_f.label,
                z.line_no,
                f"ZIP {z.zip} is in carrier {z.carrier} locality {z.locality}, "
                f"which {gpci_f.label} does not list",
            )

    anes: list[AnesRow] = []
    if anes_f is not None:
        anes = list(parse_anes(anes_f.data, label=anes_f.label))
        for a in anes:
            _check_rates(anes_f.label, a.line_no, (("anesthesia CF", a.anes_cf),))

    cf = Counter(r.conv_factor for r in rvus).most_common(1)[0][0]
    return ParsedPfs(
        year=year,
        files=files,
        rvus=rvus,
        gpcis=gpcis,
        zips=zips,
        anes=anes,
        conversion_factor=cf,
        anes_national_cf=anes[0].national_cf if anes else None,
        zip_year_quarter=max(z.year_quarter for z in zips),
        seconds=time.perf_counter() - started,
    )


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

_RVU_COLUMNS = (
    "year",
    "hcpcs",
    "modifier",
    "status",
    "work_rvu",
    "nonfac_pe_rvu",
    "fac_pe_rvu",
    "mp_rvu",
    "is_nonfac_na",
    "is_fac_na",
    "is_not_used_for_medicare",
    "pctc",
    "global_days",
    "mult_proc",
    "bilat_surg",
    "asst_surg",
    "co_surg",
    "team_surg",
    "endo_base",
    "conv_factor",
    "opps_nonfac_pe_rvu",
    "opps_fac_pe_rvu",
    "opps_mp_rvu",
)
_GPCI_COLUMNS = ("year", "carrier", "locality", "state", "name", "pw", "pe", "mp")
_ZIP_COLUMNS = (
    "year",
    "zip",
    "state",
    "carrier",
    "locality",
    "rural",
    "is_plus_four",
    "year_quarter",
)
_ANES_COLUMNS = ("year", "carrier", "locality", "anes_cf")


def _rvu_tuples(year: int, rows: list[RvuRow]) -> Iterable[tuple]:
    for r in rows:
        yield (
            year,
            r.hcpcs,
            r.modifier,
            r.status,
            r.work_rvu,
            r.nonfac_pe_rvu,
            r.fac_pe_rvu,
            r.mp_rvu,
            r.nonfac_na,
            r.fac_na,
            r.not_used_for_medicare,
            r.pctc,
            r.global_days,
            r.mult_proc,
            r.bilat_surg,
            r.asst_surg,
            r.co_surg,
            r.team_surg,
            r.endo_base,
            r.conv_factor,
            r.opps_nonfac_pe_rvu,
            r.opps_fac_pe_rvu,
            r.opps_mp_rvu,
        )


def _bulk_insert(
    session: Session, table: str, columns: Sequence[str], rows: Iterable[tuple]
) -> None:
    """Insert many rows inside the session's current transaction."""
    conn = session.connection()
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:  # type: ignore[union-attr]
            # Table and column names are module constants, never user input.
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # noqa: S608
                for row in rows:
                    copy.write_row(row)
        return
    placeholders = ", ".join("?" if conn.dialect.paramstyle == "qmark" else "%s" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    batch: list[tuple] = []
    for row in rows:
        batch.append(tuple(_plain(v) for v in row))
        if len(batch) >= 10_000:
            conn.exec_driver_sql(sql, batch)
            batch = []
    if batch:
        conn.exec_driver_sql(sql, batch)


def _plain(value: Any) -> Any:
    # sqlite3 has no Decimal adapter; NUMERIC affinity stores the text exactly
    # as the number it spells.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    return value


def check_release(year: int, release: str, effective: date | None) -> tuple[str, date]:
    """The release label (one letter, upper case) and its effective date, which
    must fall in ``year`` (default: January 1 of the year)."""
    label = (release or "").strip().upper()
    if len(label) != 1 or not ("A" <= label <= "Z"):
        raise PfsFileError(
            "--release", None, f"{release!r} is not a CMS release letter (A, B, C, D)"
        )
    if effective is None:
        effective = date(year, 1, 1)
    if effective.year != year:
        raise PfsFileError(
            "--effective", None, f"{effective.isoformat()} is not in {year} (--year)"
        )
    return label, effective


def load_pfs(
    session: Session, parsed: ParsedPfs, *, release: str = "A", effective: date | None = None
) -> PfsLoadResult:
    """Replace ``parsed.year`` in the session's transaction (flush, no commit),
    recording it as CMS release ``release`` effective on ``effective``."""
    started = time.perf_counter()
    year = parsed.year
    release, effective = check_release(year, release, effective)
    if session.connection().dialect.name == "postgresql":
        # Two imports at once would both delete, then collide on insert:
        # serialise them for the rest of this transaction.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    replaced = session.get(PfsYear, year) is not None
    # Child tables first (SQLite does not enforce the cascade by default).
    for model in (PfsRvu, PfsGpci, PfsZipLocality, PfsAnesCf, PfsYear):
        session.execute(
            delete(model).where(model.year == year).execution_options(synchronize_session=False)
        )
    stale = [
        o
        for o in session.identity_map.values()
        if isinstance(o, PfsYear | PfsRvu | PfsGpci | PfsZipLocality | PfsAnesCf)
    ]
    for obj in stale:
        session.expunge(obj)
    files = parsed.files
    session.add(
        PfsYear(
            year=year,
            release=release,
            effective=effective,
            rvu_file=files["rvu"].label[:255],
            gpci_file=files["gpci"].label[:255],
            zip_file=files["zip5"].label[:255],
            anes_file=files["anes"].label[:255] if "anes" in files else None,
            conversion_factor=parsed.conversion_factor,
            anes_national_cf=parsed.anes_national_cf,
            zip_year_quarter=parsed.zip_year_quarter,
            rvu_rows=len(parsed.rvus),
            gpci_rows=len(parsed.gpcis),
            zip_rows=len(parsed.zips),
            anes_rows=len(parsed.anes),
        )
    )
    session.flush()
    _bulk_insert(session, "pfs_rvus", _RVU_COLUMNS, _rvu_tuples(year, parsed.rvus))
    _bulk_insert(
        session,
        "pfs_gpcis",
        _GPCI_COLUMNS,
        ((year, g.carrier, g.locality, g.state, g.name, g.pw, g.pe, g.mp) for g in parsed.gpcis),
    )
    _bulk_insert(
        session,
        "pfs_zip_localities",
        _ZIP_COLUMNS,
        (
            (year, z.zip, z.state, z.carrier, z.locality, z.rural, z.plus_four, z.year_quarter)
            for z in parsed.zips
        ),
    )
    if parsed.anes:
        _bulk_insert(
            session,
            "pfs_anes_cfs",
            _ANES_COLUMNS,
            ((year, a.carrier, a.locality, a.anes_cf) for a in parsed.anes),
        )
    return PfsLoadResult(
        year=year,
        counts=parsed.counts(),
        replaced=replaced,
        read_seconds=parsed.seconds,
        write_seconds=time.perf_counter() - started,
    )


def import_pfs(
    session: Session,
    year: int,
    *,
    rvu: Any = None,
    gpci: Any = None,
    zip5: Any = None,
    anes: Any = None,
    bundles: Iterable[Any] = (),
    release: str = "A",
    effective: date | None = None,
) -> PfsLoadResult:
    """Read, validate and load one year's release (flush, no commit); see the
    module docstring."""
    release, effective = check_release(year, release, effective)
    files = gather_sources(rvu=rvu, gpci=gpci, zip5=zip5, anes=anes, bundles=bundles)
    parsed = read_pfs(year, files)
    result = load_pfs(session, parsed, release=release, effective=effective)
    from advocate.audit.services import audit

    audit(
        "rates.pfs_imported",
        object_type="pfs_years",
        object_id=year,
        details={
            "counts": result.counts,
            "replaced": result.replaced,
            "release": release,
            "effective": effective.isoformat(),
        },
    )
    session.flush()
    return result


# ---------------------------------------------------------------------------
# The files shipped with the code (demo data, tests)
# ---------------------------------------------------------------------------

BUNDLED_DATA = Path(__file__).resolve().parent / "data"


def bundled_files(year: int) -> dict[str, Path]:
    """The CMS files vendored under advocate/rates/data/pfs<year>/."""
    folder = BUNDLED_DATA / f"pfs{year}"
    patterns = {
        "rvu": "PPRRVU*.csv",
        "gpci": "GPCI*.csv",
        "zip5": "ZIP5_*.txt",
        "anes": "ANES*.csv",
    }
    found: dict[str, Path] = {}
    for kind, pattern in patterns.items():
        hits = sorted(folder.glob(pattern))
        if len(hits) == 1:
            found[kind] = hits[0]
    missing = [k for k in ("rvu", "gpci", "zip5") if k not in found]
    if missing:
        raise FileNotFoundError(f"no bundled {', '.join(missing)} file for {year} in {folder}")
    return found


def load_bundled_year(session: Session, year: int = 2025) -> PfsLoadResult | None:
    """Load a vendored year unless it is already loaded (idempotent; no commit)."""
    if session.get(PfsYear, year) is not None:
        return None
    files = bundled_files(year)
    return import_pfs(
        session,
        year,
        rvu=files["rvu"],
        gpci=files["gpci"],
        zip5=files["zip5"],
        anes=files.get("anes"),
    )
