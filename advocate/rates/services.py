"""Rates services: Medicare prices over the loaded fee schedule, and a firm's
commercial percentiles (lookup and import).

Services take explicit arguments, flush but never commit.  Input problems
raise :class:`RateInputError` (the caller's fault: HTTP 422, naming the
parameter); missing data raises :class:`RateNotFound` (HTTP 404).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, func, insert, select, update

from advocate.db import utcnow
from advocate.extensions import db
from advocate.rates import medicare
from advocate.rates.medicare import Adjustment, MedicarePrice, SurgicalLine
from advocate.rates.models import (
    IMPORT_APPLIED,
    IMPORT_DISCARDED,
    IMPORT_PENDING,
    PERCENTILES,
    CommercialPercentile,
    PercentileImport,
    PfsAnesCf,
    PfsGpci,
    PfsRvu,
    PfsYear,
    PfsZipLocality,
)
from advocate.rates.percentiles import PercentileFile, PercentileRow, parse_percentile_csv
from tenants import TenantScopeError, current_tenant_id, tenant_scope


class RateLookupError(Exception):
    status = 400

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class RateInputError(RateLookupError):
    """A malformed parameter (422)."""

    status = 422


class RateNotFound(RateLookupError):
    """Well-formed, but there is no such year, code, ZIP or locality (404)."""

    status = 404


# ---------------------------------------------------------------------------
# Input normalisation (shared by the API, the lookup page and other features)
# ---------------------------------------------------------------------------

_CODE_RE = re.compile(r"[0-9A-Z]{5}\Z")
_MOD_RE = re.compile(r"[0-9A-Z]{2}\Z")
_ZIP_RE = re.compile(r"(\d{5})(?:-?\d{4})?\Z")
_LOCALITY_RE = re.compile(r"(\d{5})[-/ ]?(\d{1,2})\Z")

#: Modifiers that have rows of their own in the RVU file.
ROW_MODIFIERS = frozenset({"26", "TC", "53"})
#: Modifiers whose payment rules medicare.apply_surgical_rules() knows.
PAYMENT_MODIFIERS = frozenset({"50", "62", "66", "80", "81", "82", "AS"})


def parse_year(value: str | int | None, field: str = "year") -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        raise RateInputError(field, f"{field} must be a 4-digit year, not '{text}'")
    return int(text)


def normalise_code(value: str | None, field: str = "code") -> str:
    text = (value or "").strip().upper()
    if not text:
        raise RateInputError(field, f"{field} is required (a 5-character CPT/HCPCS code)")
    if not _CODE_RE.match(text):
        raise RateInputError(field, f"{field} must be a 5-character CPT/HCPCS code, not '{text}'")
    return text


def normalise_modifier(value: str | None, field: str = "modifier") -> str:
    text = (value or "").strip().upper()
    if text and not _MOD_RE.match(text):
        raise RateInputError(field, f"{field} must be 2 letters or digits, not '{text}'")
    return text


def normalise_zip(value: str | None, field: str = "zip") -> str:
    text = (value or "").strip()
    m = _ZIP_RE.match(text)
    if not m:
        raise RateInputError(field, f"{field} must be a 5-digit ZIP code, not '{text}'")
    return m.group(1)


def normalise_zip3(value: str | None, field: str = "zip3") -> str:
    text = (value or "").strip()
    if text.isascii() and text.isdigit() and len(text) in (3, 5):
        return text[:3]
    raise RateInputError(
        field, f"{field} must be a 3-digit ZIP area (or a 5-digit ZIP), not '{text}'"
    )


def normalise_pos(value: str | int | None, field: str = "pos") -> str:
    text = str(value if value is not None else "").strip()
    if not text:
        raise RateInputError(field, f"{field} is required (a 2-digit place of service code)")
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 2) or int(text) == 0:
        raise RateInputError(
            field, f"{field} must be a 2-digit place of service code, not '{text}'"
        )
    return text.zfill(2)


def parse_locality(value: str | None, field: str = "locality") -> tuple[str, str]:
    """'13202-01' (also '13202/01', '1320201') -> ('13202', '01')."""
    text = (value or "").strip()
    m = _LOCALITY_RE.match(text)
    if not m:
        raise RateInputError(
            field, f"{field} must be a carrier and locality number like 13202-01, not '{text}'"
        )
    return m.group(1), m.group(2).zfill(2)


def format_decimal(value: Decimal | None, places: int) -> str | None:
    """At least ``places`` decimals, more only when the value has them
    (RVUs "1.30", GPCIs "1.065", the CF "32.3465"; nothing is rounded)."""
    if value is None:
        return None
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    frac = frac.ljust(places, "0")
    return f"{whole}.{frac}" if frac else whole


# ---------------------------------------------------------------------------
# Medicare
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Locality:
    carrier: str
    locality: str
    name: str
    state: str
    pw: Decimal
    pe: Decimal
    mp: Decimal

    @property
    def label(self) -> str:
        return f"{self.carrier}-{self.locality} {self.name}"


@dataclass(frozen=True)
class ZipLocality:
    zip: str
    rural: str  # '' urban, 'R' rural, 'B' super rural
    is_plus_four: bool
    year_quarter: str

    @property
    def rural_label(self) -> str:
        return {"R": "rural", "B": "super rural"}.get(self.rural, "urban")


@dataclass(frozen=True)
class MedicareQuote:
    """A Medicare fee schedule price with everything that explains it.

    ``price`` is :func:`advocate.rates.medicare.price` for the RVU row used;
    ``amount`` is what Medicare would allow for one unit with the modifier
    asked for (the fee schedule amount, after the single-line payment rules
    for modifiers 50/62/66/80/81/82/AS), or None with ``reason``.
    """

    year: int
    code: str
    modifier: str
    row_modifier: str
    pos: str
    price: MedicarePrice
    amount: Decimal | None
    reason: str | None
    adjustments: tuple[Adjustment, ...]
    locality: Locality
    zip: ZipLocality | None
    rvu: PfsRvu
    anes_cf: Decimal | None
    notes: tuple[str, ...]

    @property
    def facility(self) -> bool:
        return self.price.facility

    @property
    def conversion_factor(self) -> Decimal:
        return self.price.conversion_factor


def loaded_years() -> list[int]:
    return list(db.session.scalars(select(PfsYear.year).order_by(PfsYear.year.desc())))


def loaded_releases() -> list[tuple[int, str, date]]:
    """(year, release, effective) of each loaded fee schedule (years.release_for)."""
    rows = db.session.execute(select(PfsYear.year, PfsYear.release, PfsYear.effective))
    return [(r.year, r.release, r.effective) for r in rows]


def pfs_years() -> list[PfsYear]:
    return list(db.session.scalars(select(PfsYear).order_by(PfsYear.year.desc())))


def _resolve_year(year: int | None) -> int:
    years = loaded_years()
    if not years:
        raise RateNotFound("year", "no Medicare fee schedule is loaded (flask rates import-pfs)")
    if year is None:
        return years[0]
    if year not in years:
        shown = ", ".join(str(y) for y in years)
        raise RateNotFound(
            "year", f"the {year} Medicare fee schedule is not loaded (loaded: {shown})"
        )
    return year


def medicare_price(
    year: int | None,
    code: str,
    modifier: str | None = None,
    *,
    pos: str | int,
    zip_code: str | None = None,
    locality: str | tuple[str, str] | None = None,
) -> MedicareQuote:
    """Price one unit of ``code`` (with ``modifier``) in a ZIP code or a
    Medicare locality (``"13202-01"`` or ``("13202", "01")``) at a place of
    service, under the ``year`` fee schedule (None: the latest loaded).

    Raises :class:`RateInputError` for a malformed argument and
    :class:`RateNotFound` for a year, code, code/modifier row, ZIP or
    locality that is not in the loaded files.
    """
    code = normalise_code(code)
    modifier = normalise_modifier(modifier)
    pos = normalise_pos(pos)
    if zip_code and locality:
        raise RateInputError("locality", "give a zip or a locality, not both")
    if not zip_code and not locality:
        raise RateInputError("zip", "zip is required (or a locality such as 13202-01)")
    zip5 = normalise_zip(zip_code) if zip_code else None
    if isinstance(locality, tuple):
        loc_key: tuple[str, str] | None = locality
    else:
        loc_key = parse_locality(locality) if locality else None
    year = _resolve_year(year)

    rows = {
        r.modifier: r
        for r in db.session.scalars(select(PfsRvu).where(PfsRvu.year == year, PfsRvu.hcpcs == code))
    }
    if not rows:
        raise RateNotFound("code", f"{code} is not in the {year} Medicare fee schedule")
    notes: list[str] = []
    if modifier in rows:
        row_modifier = modifier
    elif modifier in ("26", "TC"):
        base = rows.get("")
        pctc = f" (PC/TC indicator {base.pctc})" if base is not None else ""
        raise RateNotFound(
            "modifier",
            f"{code} has no modifier {modifier} row in the {year} fee schedule{pctc}: "
            "the professional/technical split does not apply to it",
        )
    elif "" in rows:
        row_modifier = ""
        if modifier and modifier not in PAYMENT_MODIFIERS:
            notes.append(
                f"Modifier {modifier} has no row of its own in the RVU file: the amount is "
                "the code's unmodified fee schedule amount."
            )
    else:
        shown = ", ".join(sorted(rows))
        raise RateNotFound(
            "modifier", f"{code} is only in the {year} fee schedule with modifier {shown}"
        )
    rvu = rows[row_modifier]

    zip_info: ZipLocality | None = None
    if zip5 is not None:
        z = db.session.get(PfsZipLocality, (year, zip5))
        if z is None:
            raise RateNotFound("zip", f"ZIP {zip5} is not in the {year} Medicare ZIP code file")
        zip_info = ZipLocality(z.zip, z.rural, z.is_plus_four, z.year_quarter)
        loc_key = (z.carrier, z.locality)
        if z.is_plus_four:
            notes.append(
                f"In ZIP {zip5} the locality can depend on the ZIP+4; this is the ZIP's "
                "default locality from the ZIP5 file."
            )
    assert loc_key is not None
    g = db.session.get(PfsGpci, (year, loc_key[0], loc_key[1]))
    if g is None:
        raise RateNotFound(
            "locality", f"locality {loc_key[0]}-{loc_key[1]} is not in the {year} GPCI file"
        )
    loc = Locality(g.carrier, g.locality, g.name, g.state, g.pw, g.pe, g.mp)

    price = medicare.price(rvu, g, pos)
    amount, reason = price.amount, price.reason
    adjustments: tuple[Adjustment, ...] = ()
    if amount is not None and modifier in PAYMENT_MODIFIERS:
        (line,) = medicare.apply_surgical_rules(
            [SurgicalLine(code=code, modifiers=(modifier,), units=1, price=price, rvu=rvu)]
        )
        amount, reason, adjustments = line.amount, line.reason, line.adjustments
        notes.extend(line.notes)

    anes_cf = None
    if medicare.is_anesthesia_code(code) or rvu.status == "J":
        a = db.session.get(PfsAnesCf, (year, loc.carrier, loc.locality))
        if a is not None:
            anes_cf = a.anes_cf
            notes.append(f"The {year} anesthesia conversion factor for {loc.name} is {a.anes_cf}.")
    return MedicareQuote(
        year=year,
        code=code,
        modifier=modifier,
        row_modifier=row_modifier,
        pos=pos,
        price=price,
        amount=amount,
        reason=reason,
        adjustments=adjustments,
        locality=loc,
        zip=zip_info,
        rvu=rvu,
        anes_cf=anes_cf,
        notes=tuple(price.notes) + tuple(notes),
    )


# ---------------------------------------------------------------------------
# Commercial percentiles
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Percentiles:
    year: int
    code: str
    modifier: str
    zip3: str
    values: dict[int, Decimal]  # {50: Decimal("150.00"), ..., 95: ...}

    def __getitem__(self, percentile: int) -> Decimal:
        return self.values[percentile]


@contextmanager
def _scope(tenant_id: int) -> Iterator[None]:
    """Run as ``tenant_id``: enter its scope if none is set, refuse another one."""
    current = current_tenant_id()
    if current is None:
        with tenant_scope(tenant_id):
            yield
        return
    if current != tenant_id:
        raise TenantScopeError(f"tenant {tenant_id} asked for while tenant {current} is in scope")
    yield


def percentiles_for(
    tenant_id: int, year: int, code: str, modifier: str | None, zip3: str
) -> Percentiles | None:
    """The firm's licensed percentiles for one code/modifier in a 3-digit ZIP
    area (a 5-digit ZIP is cut to its area), or None when it has none."""
    code = normalise_code(code)
    modifier = normalise_modifier(modifier)
    zip3 = normalise_zip3(zip3)
    year_value = parse_year(year)
    if year_value is None:
        raise RateInputError("year", "year is required")
    with _scope(tenant_id):
        row = db.session.scalar(
            select(CommercialPercentile).where(
                CommercialPercentile.tenant_id == tenant_id,
                CommercialPercentile.year == year_value,
                CommercialPercentile.code == code,
                CommercialPercentile.modifier == modifier,
                CommercialPercentile.zip3 == zip3,
            )
        )
    if row is None:
        return None
    return Percentiles(year_value, code, modifier, zip3, row.values())


class PercentileImportError(Exception):
    def __init__(self, message: str, parsed: PercentileFile | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.parsed = parsed


def stage_percentile_import(
    tenant_id: int, actor_id: int | None, filename: str, data: bytes
) -> tuple[PercentileImport | None, PercentileFile]:
    """Validate an upload; when it is valid keep it as a pending import for the
    preview.  A file with errors stores nothing (the import is None)."""
    parsed = parse_percentile_csv(data)
    if not parsed.ok:
        return None, parsed
    from advocate.audit.services import audit

    with _scope(tenant_id):
        imp = PercentileImport(
            tenant_id=tenant_id,
            filename=(filename or "upload.csv")[:255],
            sha256=hashlib.sha256(data).hexdigest(),
            status=IMPORT_PENDING,
            row_count=len(parsed.rows),
            years=", ".join(str(y) for y in parsed.years)[:100],
            content=data,
            created_by_id=actor_id,
        )
        db.session.add(imp)
        db.session.flush()
        audit(
            "rates.percentiles_uploaded",
            imp,
            user_id=actor_id,
            details={"rows": imp.row_count, "years": parsed.years},
        )
    return imp, parsed


def _existing_keys(tenant_id: int, years: list[int]) -> dict[tuple[int, str, str, str], int]:
    t = CommercialPercentile.__table__
    rows = db.session.execute(
        select(t.c.id, t.c.year, t.c.code, t.c.modifier, t.c.zip3).where(
            t.c.tenant_id == tenant_id, t.c.year.in_(years)
        )
    )
    return {(r.year, r.code, r.modifier, r.zip3): r.id for r in rows}


@dataclass(frozen=True)
class PercentilePreview:
    parsed: PercentileFile
    new_rows: int
    replacing_rows: int
    sample: list[PercentileRow]


def _reparse(imp: PercentileImport) -> PercentileFile:
    data = imp.content
    if data is None or hashlib.sha256(data).hexdigest() != imp.sha256:
        raise PercentileImportError("the uploaded file is no longer available; upload it again")
    parsed = parse_percentile_csv(data)
    if not parsed.ok:
        raise PercentileImportError("the uploaded file no longer validates", parsed)
    return parsed


def preview_percentile_import(
    tenant_id: int, imp: PercentileImport, sample_size: int = 20
) -> PercentilePreview:
    """What confirming a pending import would do."""
    with _scope(tenant_id):
        parsed = _reparse(imp)
        existing = _existing_keys(tenant_id, parsed.years)
    replacing = sum(1 for r in parsed.rows if r.key in existing)
    return PercentilePreview(
        parsed=parsed,
        new_rows=len(parsed.rows) - replacing,
        replacing_rows=replacing,
        sample=parsed.rows[:sample_size],
    )


def apply_percentile_import(
    tenant_id: int, actor_id: int | None, imp: PercentileImport
) -> PercentileImport:
    """Write a pending import's rows, all or nothing: new keys are inserted,
    keys the firm already has are updated to the file's values."""
    if imp.status != IMPORT_PENDING:
        raise PercentileImportError(f"this import is already {imp.status}")
    from advocate.audit.services import audit

    with _scope(tenant_id):
        parsed = _reparse(imp)
        existing = _existing_keys(tenant_id, parsed.years)
        t = CommercialPercentile.__table__
        now = utcnow()
        inserts: list[dict] = []
        updates: list[dict] = []
        for r in parsed.rows:
            values = r.as_dict()
            row_id = existing.get(r.key)
            if row_id is None:
                inserts.append(
                    dict(
                        tenant_id=tenant_id,
                        year=r.year,
                        code=r.code,
                        modifier=r.modifier,
                        zip3=r.zip3,
                        import_id=imp.id,
                        created_at=now,
                        updated_at=now,
                        **values,
                    )
                )
            else:
                updates.append(
                    {"b_id": row_id, "b_import_id": imp.id, "b_updated_at": now}
                    | {f"b_{k}": v for k, v in values.items()}
                )
        for start in range(0, len(inserts), 5000):
            db.session.execute(insert(t), inserts[start : start + 5000])
        if updates:
            stmt = (
                update(t)
                .where(t.c.id == bindparam("b_id"), t.c.tenant_id == tenant_id)
                .values(
                    import_id=bindparam("b_import_id"),
                    updated_at=bindparam("b_updated_at"),
                    **{f"p{p}": bindparam(f"b_p{p}") for p in PERCENTILES},
                )
            )
            for start in range(0, len(updates), 5000):
                db.session.execute(stmt, updates[start : start + 5000])
        imp.status = IMPORT_APPLIED
        imp.inserted_count = len(inserts)
        imp.updated_count = len(updates)
        imp.applied_at = now
        imp.content = None
        db.session.flush()
        audit(
            "rates.percentiles_imported",
            imp,
            user_id=actor_id,
            details={"inserted": len(inserts), "updated": len(updates), "years": parsed.years},
        )
    return imp


def discard_percentile_import(
    tenant_id: int, actor_id: int | None, imp: PercentileImport
) -> PercentileImport:
    if imp.status != IMPORT_PENDING:
        raise PercentileImportError(f"this import is already {imp.status}")
    from advocate.audit.services import audit

    with _scope(tenant_id):
        imp.status = IMPORT_DISCARDED
        imp.content = None
        db.session.flush()
        audit("rates.percentiles_discarded", imp, user_id=actor_id)
    return imp


def percentile_count(tenant_id: int) -> int:
    with _scope(tenant_id):
        return (
            db.session.scalar(
                select(func.count())
                .select_from(CommercialPercentile)
                .where(CommercialPercentile.tenant_id == tenant_id)
            )
            or 0
        )
