"""Claims from a CSV: one row per service line, grouped into claims by claim
number, each claim opened as a case at intake. Preview first, then every claim
or none (the `advocate.csvimport` flow).

Columns (any order; names ignore case, spaces, hyphens and underscores; the
aliases listed, and the firm's saved header mapping, are accepted too):

    practice_npi*, payer*, plan_type, patient_last_name*, patient_first_name*,
    patient_dob, member_id, payer_claim_number, patient_control_number,
    rendering_npi, paid_on, service_date*, place_of_service, code*, modifiers,
    units, billed*, allowed, paid, patient_resp, adjustments, remark_codes

A claim's rows share its payer claim number (or, without one, its patient
control number); the claim-level columns (practice to paid_on) must agree on
all of them. A claim whose case already exists (same payer claim number, else
same patient control number) is skipped, and a file imported before is a
duplicate: importing the same file twice changes nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import or_, select

from advocate.audit.services import audit
from advocate.cases import services as case_services
from advocate.cases.models import Case
from advocate.csvimport import Column, CsvSchema, ParsedRow, Preview, RowError, normalise_header
from advocate.db import utcnow
from advocate.extensions import db
from advocate.imports.bulk import CaseDraft, PaymentDraft, Writer, chunks, in_values, insert_cases
from advocate.imports.models import ClaimImport
from advocate.payers.models import Payer
from advocate.payers.validation import name_key, parse_plan_type
from advocate.practices.models import Practice
from advocate.practices.validators import npi_error

KIND = "claims"
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
PREVIEW_CLAIMS = 25
CASES_PER_WRITE = 5_000
IN_CHUNK = 15_000
ZERO = Decimal("0.00")

_MONEY_RE = re.compile(r"^-?\d+(\.\d+)?$")
_ADJ_RE = re.compile(r"^([A-Za-z]{2})\s*-\s*([A-Za-z0-9]{1,5})\s*[:=]\s*(\S+)$")


def _text(limit: int):
    def parse(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"is longer than {limit} characters.")
        return value

    return parse


def _npi(value: str) -> str:
    msg = npi_error(value)
    if msg:
        raise ValueError(msg)
    return value


def _date(value: str) -> date:
    if len(value) == 10 and value[4] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y%m%d"):
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    raise ValueError(f"'{value}' is not a date: use YYYY-MM-DD (or MM/DD/YYYY).")


def _money(value: str) -> Decimal:
    raw = value.replace("$", "").replace(",", "").strip()
    if raw.startswith("(") and raw.endswith(")"):
        raw = "-" + raw[1:-1]
    if not _MONEY_RE.match(raw):
        raise ValueError(f"'{value}' is not an amount.")
    d = Decimal(raw)
    if d != d.quantize(Decimal("0.01")):
        raise ValueError(f"'{value}' has more than two decimal places.")
    return d


def _units(value: str) -> Decimal:
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"'{value}' is not a number.") from None
    if not d.is_finite() or d <= 0:
        raise ValueError("must be more than zero.")
    return d


def _codes(value: str) -> list[str]:
    return [c.upper() for c in re.split(r"[\s,;|]+", value) if c]


def _modifiers(value: str) -> list[str]:
    return [m.upper() for m in re.split(r"[\s,;|\-]+", value) if m]


def _adjustments(value: str) -> list[dict]:
    out = []
    for part in re.split(r"[;|]", value):
        part = part.strip()
        if not part:
            continue
        m = _ADJ_RE.match(part)
        if m is None:
            raise ValueError(
                f"'{part}' is not an adjustment: write GROUP-REASON:AMOUNT, e.g. CO-45:120.00."
            )
        amount = _money(m.group(3))
        out.append(
            {"group": m.group(1).upper(), "reason": m.group(2).upper(), "amount": str(amount)}
        )
    return out


COLUMNS = [
    Column(
        "practice_npi",
        required=True,
        aliases=("npi", "billing npi", "practice"),
        parse=_npi,
        help="The practice's NPI (10 digits); the practice must be in your directory.",
        example="1234567893",
    ),
    Column(
        "payer",
        required=True,
        aliases=("payer name", "insurance", "insurer", "payer id"),
        parse=_text(200),
        help="Payer name or EDI payer ID, as in your payer directory.",
        example="Summit Mutual Health Plan",
    ),
    Column(
        "plan_type",
        aliases=("plan",),
        parse=parse_plan_type,
        help="erisa_self_funded, fully_insured, medicare_advantage, medicaid_managed_care or other "
        "(default other).",
        example="erisa_self_funded",
    ),
    Column(
        "patient_last_name",
        required=True,
        aliases=("last name", "patient last", "surname"),
        parse=_text(100),
        example="Doe",
    ),
    Column(
        "patient_first_name",
        required=True,
        aliases=("first name", "patient first"),
        parse=_text(100),
        example="Jane",
    ),
    Column(
        "patient_dob",
        aliases=("dob", "date of birth", "birth date"),
        parse=_date,
        example="1980-04-02",
    ),
    Column(
        "member_id",
        aliases=("member", "subscriber id", "insurance id", "member number"),
        parse=_text(60),
        example="W123456789",
    ),
    Column(
        "payer_claim_number",
        aliases=("claim number", "payer claim id", "icn", "claim id"),
        parse=_text(60),
        help="The payer's claim number; rows with the same one are one claim.",
        example="2224155012345",
    ),
    Column(
        "patient_control_number",
        aliases=("pcn", "account number", "patient account number"),
        parse=_text(60),
        help="Your claim's patient control number (CLP01); groups rows when there is "
        "no payer claim number.",
        example="ORTH240501",
    ),
    Column("rendering_npi", aliases=("rendering provider npi",), parse=_npi, example="1477553312"),
    Column(
        "paid_on",
        aliases=("payment date", "paid date", "initial payment received on"),
        parse=_date,
        help="When the payer's payment or denial arrived.",
        example="2024-06-14",
    ),
    Column(
        "service_date",
        required=True,
        aliases=("date of service", "dos", "service from"),
        parse=_date,
        example="2024-05-02",
    ),
    Column(
        "place_of_service",
        aliases=("pos",),
        parse=_text(2),
        help="Two digits (default: the practice's).",
        example="22",
    ),
    Column(
        "code",
        required=True,
        aliases=("cpt", "hcpcs", "procedure code", "cpt code", "procedure"),
        parse=lambda v: v.upper(),
        example="29881",
    ),
    Column(
        "modifiers",
        aliases=("modifier", "mods"),
        parse=_modifiers,
        help="Up to four, e.g. 'RT 59'.",
        example="RT",
    ),
    Column("units", parse=_units, help="Default 1.", example="1"),
    Column(
        "billed",
        required=True,
        aliases=("charge", "charges", "billed amount"),
        parse=_money,
        example="12750.00",
    ),
    Column("allowed", aliases=("allowed amount",), parse=_money, example="1463.50"),
    Column(
        "paid",
        aliases=("paid amount", "payment", "insurance paid"),
        parse=_money,
        help="Default 0.",
        example="1170.80",
    ),
    Column("patient_resp", aliases=("patient responsibility",), parse=_money, example="292.70"),
    Column(
        "adjustments",
        aliases=("adjustment codes", "cas"),
        parse=_adjustments,
        help="GROUP-REASON:AMOUNT separated by ';'.",
        example="CO-45:11286.50; PR-2:292.70",
    ),
    Column("remark_codes", aliases=("remarks", "rarc"), parse=_codes, example="N381"),
]
COLUMN_KEYS = {c.key for c in COLUMNS}
CLAIM_FIELDS = (
    "practice_npi",
    "payer",
    "plan_type",
    "patient_last_name",
    "patient_first_name",
    "patient_dob",
    "member_id",
    "payer_claim_number",
    "patient_control_number",
    "rendering_npi",
    "paid_on",
)
LINE_FIELDS = {
    "code": "code",
    "modifiers": "modifiers",
    "units": "units",
    "billed": "billed",
    "allowed": "allowed",
    "paid": "paid",
    "patient_resp": "patient_resp",
    "service_date": "service_date",
    "adjustments": "adjustments",
    "place_of_service": "place_of_service",
    "remark_codes": "remark_codes",
}
# validate_case_input's field -> the CSV column to report it on.
HEADER_FIELDS = {
    "practice_id": "practice_npi",
    "payer_id": "payer",
    "service_from": "service_date",
    "service_to": "service_date",
    "initial_payment_received_on": "paid_on",
    "lines": None,
    "service_type": None,
}
_LINE_FIELD_RE = re.compile(r"^lines\[(\d+)\]\.(\w+)")


def _row_checks(values: dict):
    if not values.get("payer_claim_number") and not values.get("patient_control_number"):
        yield (
            "payer_claim_number",
            "is required when there is no patient_control_number (it groups the rows).",
        )


def _memo(parse):
    """Parse each distinct cell text once per file: dates, NPIs, codes and
    amounts repeat down a claims file. Results are immutable (lists become
    tuples), so rows may share them; errors are not cached."""
    cache: dict = {}

    def memoized(value: str):
        try:
            return cache[value]
        except KeyError:
            pass
        result = parse(value)
        if isinstance(result, list):
            result = tuple(result)
        cache[value] = result
        return result

    return memoized


_MEMO_COLUMNS = {
    "practice_npi",
    "plan_type",
    "patient_dob",
    "rendering_npi",
    "paid_on",
    "service_date",
    "place_of_service",
    "code",
    "modifiers",
    "units",
    "billed",
    "allowed",
    "paid",
    "patient_resp",
    "adjustments",
    "remark_codes",
}


def schema(aliases: dict[str, str] | None = None) -> CsvSchema:
    """The column set, with the firm's saved header names added (built-in names win)."""
    taken = {normalise_header(n) for c in COLUMNS for n in c.names()}
    extra: dict[str, list[str]] = {}
    for header_key, column in (aliases or {}).items():
        if column in COLUMN_KEYS and header_key and header_key not in taken:
            extra.setdefault(column, []).append(header_key)
    columns = [
        dataclasses.replace(
            c,
            aliases=c.aliases + tuple(extra.get(c.key, ())),
            parse=_memo(c.parse) if c.key in _MEMO_COLUMNS and c.parse else c.parse,
        )
        for c in COLUMNS
    ]
    return CsvSchema(columns, row_validator=_row_checks, max_rows=MAX_ROWS)


def builtin_column(header: str) -> str | None:
    key = normalise_header(header)
    for c in COLUMNS:
        if key in {normalise_header(n) for n in c.names()}:
            return c.key
    return None


# -- plan -------------------------------------------------------------------------


@dataclass
class ClaimGroup:
    key: str
    rows: list[ParsedRow]
    clean: dict | None = None
    lines: list[dict] | None = None
    existing_case_id: int | None = None

    @property
    def first(self) -> ParsedRow:
        return self.rows[0]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def billed(self) -> Decimal:
        return sum((r.values.get("billed") or ZERO for r in self.rows), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((r.values.get("paid") or ZERO for r in self.rows), ZERO)


@dataclass
class ClaimsPlan:
    preview: Preview
    groups: list[ClaimGroup] = field(default_factory=list)
    duplicate_of: ClaimImport | None = None

    @property
    def sha256(self) -> str:
        return self.preview.sha256

    @property
    def ok(self) -> bool:
        return self.preview.ok

    @property
    def duplicate(self) -> bool:
        return self.duplicate_of is not None

    @property
    def errors(self) -> list[RowError]:
        return self.preview.errors

    @property
    def new(self) -> list[ClaimGroup]:
        return [g for g in self.groups if g.existing_case_id is None]

    @property
    def existing(self) -> int:
        return sum(1 for g in self.groups if g.existing_case_id is not None)

    def counts(self) -> dict:
        return {
            "rows": self.preview.total_rows,
            "claims": len(self.groups),
            "new": len(self.new) if self.ok else 0,
            "existing": self.existing,
            "errors": len(self.errors),
            "billed": sum((g.billed for g in self.groups), ZERO),
            "paid": sum((g.paid for g in self.groups), ZERO),
        }


class ClaimsImportError(ValueError):
    def __init__(self, plan: ClaimsPlan):
        super().__init__(f"{len(plan.errors)} error(s): nothing imported")
        self.plan = plan

    @property
    def errors(self) -> list[RowError]:
        return self.plan.errors


def _group_key(values: dict) -> str:
    number = values.get("payer_claim_number")
    return f"#{number}" if number else f"PCN {values.get('patient_control_number')}"


def plan_claims(
    data: bytes, *, aliases: dict[str, str] | None = None, today: date | None = None
) -> ClaimsPlan:
    """Read and check a claims CSV against the firm's directory and cases; writes nothing."""
    today = today or utcnow().date()
    if len(data) > MAX_BYTES:
        preview = Preview(sha256=hashlib.sha256(data).hexdigest())
        preview.file_errors.append(
            RowError(
                1,
                None,
                f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files.",
            )
        )
        return ClaimsPlan(preview)
    preview = schema(aliases).parse(data)
    plan = ClaimsPlan(preview)
    plan.duplicate_of = db.session.scalar(
        select(ClaimImport).where(ClaimImport.sha256 == preview.sha256)
    )
    if preview.file_errors or not preview.rows:
        return plan

    groups: dict[str, ClaimGroup] = {}
    for row in preview.rows:
        if row.values.get("payer_claim_number") or row.values.get("patient_control_number"):
            key = _group_key(row.values)
            group = groups.get(key)
            if group is None:
                groups[key] = ClaimGroup(key, [row])
            else:
                group.rows.append(row)
    plan.groups = list(groups.values())

    practices = _practices(
        {r.values["practice_npi"] for r in preview.rows if r.values.get("practice_npi")}
    )
    payers_by_id, payers_by_name = _payers()
    by_number, by_pcn = _existing(plan.groups)
    for g in plan.groups:
        _check_group(g, practices, payers_by_id, payers_by_name, today)
        number = g.first.values.get("payer_claim_number")
        pcn = g.first.values.get("patient_control_number")
        g.existing_case_id = (by_number.get(number) if number else None) or (
            by_pcn.get(pcn) if pcn else None
        )
    return plan


def _practices(npis: set[str]) -> dict[str, Practice]:
    found: dict[str, Practice] = {}
    values = sorted(npis)
    for chunk in chunks(values, IN_CHUNK):
        for p in db.session.scalars(select(Practice).where(in_values(Practice.npi, chunk))):
            found[p.npi] = p
    return found


def _payers() -> tuple[dict[str, Payer], dict[str, Payer]]:
    by_id: dict[str, Payer] = {}
    by_name: dict[str, Payer] = {}
    for p in db.session.scalars(select(Payer).order_by(Payer.id)):
        if p.edi_payer_id:
            by_id.setdefault(p.edi_payer_id.strip().upper(), p)
        by_name.setdefault(p.name_key, p)
    return by_id, by_name


def _existing(groups: list[ClaimGroup]) -> tuple[dict[str, int], dict[str, int]]:
    by_number: dict[str, int] = {}
    by_pcn: dict[str, int] = {}
    for chunk in chunks(groups, IN_CHUNK // 2):
        numbers = sorted(
            {
                g.first.values["payer_claim_number"]
                for g in chunk
                if g.first.values.get("payer_claim_number")
            }
        )
        pcns = sorted(
            {
                g.first.values["patient_control_number"]
                for g in chunk
                if g.first.values.get("patient_control_number")
            }
        )
        conditions = []
        if numbers:
            conditions.append(in_values(Case.payer_claim_number, numbers))
        if pcns:
            conditions.append(in_values(Case.patient_control_number, pcns))
        if not conditions:
            continue
        rows = db.session.execute(
            select(Case.id, Case.payer_claim_number, Case.patient_control_number)
            .where(or_(*conditions))
            .order_by(Case.id)
        )
        for case_id, number, pcn in rows:
            if number:
                by_number.setdefault(number, case_id)
            if pcn:
                by_pcn.setdefault(pcn, case_id)
    return by_number, by_pcn


def _check_group(g: ClaimGroup, practices, payers_by_id, payers_by_name, today: date) -> None:
    first = g.first
    for row in g.rows[1:]:
        for key in CLAIM_FIELDS:
            if row.values.get(key) != first.values.get(key) and row.ok:
                row.errors.append(
                    RowError(
                        row.line,
                        key,
                        f"differs from line {first.line} of the same claim "
                        f"('{first.raw.get(key, '')}'); a claim's rows must agree.",
                    )
                )
    if not g.ok:
        return
    v = first.values
    practice = practices.get(v["practice_npi"])
    if practice is None:
        first.errors.append(
            RowError(
                first.line,
                "practice_npi",
                f"No practice with NPI {v['practice_npi']} in your directory; add it first.",
            )
        )
    payer_text = v["payer"]
    payer = payers_by_id.get(payer_text.strip().upper()) or payers_by_name.get(name_key(payer_text))
    if payer is None:
        first.errors.append(
            RowError(
                first.line,
                "payer",
                f"No payer named (or with payer ID) '{payer_text}' in your payer directory.",
            )
        )
    if practice is None or payer is None:
        return
    data = {
        "practice_id": practice.id,
        "payer_id": payer.id,
        "plan_type": v.get("plan_type") or "other",
        "patient_first_name": v["patient_first_name"],
        "patient_last_name": v["patient_last_name"],
        "patient_dob": v.get("patient_dob"),
        "member_id": v.get("member_id"),
        "payer_claim_number": v.get("payer_claim_number"),
        "patient_control_number": v.get("patient_control_number"),
        "rendering_npi": v.get("rendering_npi"),
        "service_from": min(r.values["service_date"] for r in g.rows),
        "service_to": max(r.values["service_date"] for r in g.rows),
        "place_of_service": v.get("place_of_service"),
        "initial_payment_received_on": v.get("paid_on"),
        "lines": [
            {
                "code": r.values["code"],
                "modifiers": r.values.get("modifiers") or [],
                "units": r.values.get("units") or 1,
                "billed": r.values["billed"],
                "allowed": r.values.get("allowed"),
                "paid": r.values.get("paid") if r.values.get("paid") is not None else "0",
                "patient_resp": r.values.get("patient_resp")
                if r.values.get("patient_resp") is not None
                else "0",
                "service_date": r.values["service_date"],
                "place_of_service": r.values.get("place_of_service"),
                "adjustments": r.values.get("adjustments") or [],
                "remark_codes": r.values.get("remark_codes") or [],
            }
            for r in g.rows
        ],
    }
    try:
        g.clean, g.lines = case_services.validate_case_input(data, today=today)
    except case_services.CaseValidationError as err:
        for name, message in err.errors:
            row, column = first, HEADER_FIELDS.get(name, name)
            m = _LINE_FIELD_RE.match(name)
            if m:
                i = int(m.group(1)) - 1
                row = g.rows[i] if 0 <= i < len(g.rows) else first
                column = LINE_FIELDS.get(m.group(2), m.group(2))
            text = message if message.endswith(".") else message + "."
            row.errors.append(RowError(row.line, column, text))


# -- import -----------------------------------------------------------------------


@dataclass
class ClaimsSummary:
    rows: int
    claims: int
    created: int
    existing: int
    duplicate: bool
    claim_import_id: int | None = None

    def as_json(self) -> dict:
        return {
            "rows": self.rows,
            "claims": self.claims,
            "created": self.created,
            "existing": self.existing,
            "duplicate": self.duplicate,
        }


def import_claims(
    plan: ClaimsPlan,
    *,
    tenant_id: int,
    actor_id: int | None,
    filename: str | None = None,
    source: str = "upload",
) -> ClaimsSummary:
    """Open every new claim as a case, or nothing: raises ClaimsImportError on any
    error. Flushes; the caller commits once."""
    if plan.duplicate:
        d = plan.duplicate_of
        return ClaimsSummary(d.row_count, d.claim_count, 0, d.claim_count, True, d.id)
    if not plan.ok:
        raise ClaimsImportError(plan)
    new = plan.new
    record = ClaimImport(
        tenant_id=tenant_id,
        sha256=plan.sha256,
        filename=(filename or "")[:255] or None,
        row_count=plan.preview.total_rows,
        claim_count=len(plan.groups),
        created_count=len(new),
        existing_count=plan.existing,
        source=source,
        created_by_id=actor_id,
    )
    db.session.add(record)
    db.session.flush()  # a concurrent import of the same file waits here on the unique sha256
    w = Writer(tenant_id, actor_id)
    drafts = []
    for g in new:
        paid = sum((ln["paid"] for ln in g.lines), ZERO)
        draft = CaseDraft(
            g.clean,
            g.lines,
            nsa=any(case_services.NSA_REMARKS & set(ln["remark_codes"]) for ln in g.lines),
            opened="Case opened from a claims file",
            via="csv",
        )
        if paid > 0:
            draft.payments.append(
                PaymentDraft(
                    paid,
                    g.clean["initial_payment_received_on"] or g.clean["service_to"],
                    None,
                    "Initial payment at intake",
                )
            )
        drafts.append(draft)
    # In slices, so the rows being written (cases, lines, payments, events,
    # audit rows) stay a bounded part of the process's memory.
    for part in chunks(drafts, CASES_PER_WRITE):
        insert_cases(w, list(part))
        w.flush()
    audit(
        "claims.imported",
        record,
        tenant_id=tenant_id,
        user_id=actor_id,
        details={
            "sha256": plan.sha256,
            "source": source,
            "rows": record.row_count,
            "claims": record.claim_count,
            "created": record.created_count,
            "existing": record.existing_count,
        },
    )
    return ClaimsSummary(
        record.row_count,
        record.claim_count,
        record.created_count,
        record.existing_count,
        False,
        record.id,
    )


def error_details(errors: list[RowError]) -> list[dict]:
    return [e.as_dict() for e in errors]


def error_kinds(errors: list[RowError]) -> list[tuple[str, int]]:
    return Counter(e.column or "file" for e in errors).most_common()
