"""Importing an 837 (claims as practices send them): plan first, then write it all at once.

``plan_837(data)`` reads what the file would do without writing anything (the
page's preview): each claim's practice (billing provider NPI, else its tax id)
and payer (NM1*PR payer id, else its name) are looked up in the firm's
directory; a claim whose key (patient control number, payer id, dates of
service, frequency code) was imported before, or whose interchange was, is a
duplicate; a claim with a known practice and payer updates the matching open
case (same practice, payer and patient control number) or opens a case at
intake, after the case rules (``cases.services.validate_case_input``) accept
it; the others are listed to fix in place (``unmatched``).

``import_837(plan)`` writes the plan in the caller's transaction (flushes,
never commits): the file, its interchanges, new cases with their lines in
bulk (``imports.bulk.insert_cases``, as the claims CSV does), updated cases
through the ORM (lines matched by code, modifiers and date: billed amounts,
units and places of service as sent, missing lines added, totals, benchmark
and deadlines recomputed), the file's claims with their line control numbers
(what the 835 matching reads), the timeline and the audit log.

Any error in the file (its syntax, its claims, or what the case rules refuse)
imports nothing: :class:`X837ImportError`, with each problem located.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError

from advocate.audit.services import audit
from advocate.cases import services as case_services
from advocate.cases import workflow
from advocate.cases.models import Case, ServiceLine
from advocate.db import utcnow
from advocate.extensions import db
from advocate.imports import claims837
from advocate.imports.bulk import CaseDraft, Writer, chunks, in_values, insert_cases, insert_rows
from advocate.imports.claims837_models import X12Claim, X12ClaimFile, X12ClaimInterchange
from advocate.imports.claims_csv import _payers, _practices
from advocate.imports.x12 import gc_paused
from advocate.payers.models import Payer
from advocate.payers.validation import name_key
from advocate.practices.models import Practice

__all__ = [
    "KIND",
    "ClaimPlan",
    "Plan837",
    "Summary837",
    "X837ImportError",
    "commit_837",
    "import_837",
    "plan_837",
]

KIND = "claims837"  # the import stash kind
IN_CHUNK = 15_000
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
VOID = "8"
# Type of bill (CLM05-1 of an 837I, the first two digits) -> the place of
# service a case records for it; other types take the practice's default.
POS_BY_BILL_TYPE = {
    "11": "21", "12": "21", "13": "22", "14": "22", "18": "21", "21": "31", "22": "31",
    "23": "31", "32": "12", "33": "12", "34": "12", "71": "72", "72": "65", "73": "50",
    "74": "62", "75": "62", "76": "53", "77": "50", "81": "34", "82": "34", "83": "24",
    "85": "22", "86": "21", "89": "22",
}  # fmt: skip

T = TypeVar("T")


class X837ImportError(ValueError):
    """The file has errors: nothing was imported."""

    def __init__(
        self, errors: tuple[claims837.ClaimError, ...], count: int, kind: str | None = None
    ):
        super().__init__(f"{count} error(s) in the file: nothing was imported")
        self.errors = errors
        self.count = count
        self.kind = kind

    @property
    def message(self) -> str:
        if self.kind == "835":
            return "This is an 835 remittance advice, not an 837 claim file: nothing was imported"
        return str(self)


def claim_key(claim: claims837.Claim) -> str:
    """The claim's idempotency key (hashed): patient control number, payer id, dates, frequency."""
    parts = (
        claim.patient_control_number,
        (claim.payer.identifier if claim.payer else "").strip().upper(),
        claim.service_from.isoformat() if claim.service_from else "",
        claim.service_to.isoformat() if claim.service_to else "",
        claim.frequency_code,
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _money(d: Decimal) -> str:
    return str(d.quantize(CENT))


def case_data(claim: claims837.Claim) -> dict:
    """What a case needs from a claim, in validate_case_input's shape (JSON-able),
    without practice, payer or patient names; lines keep their LX number and
    line control number (REF*6R).  Institutional lines with a revenue code and
    no HCPCS code are kept aside (``other_lines``): a case line is a CPT/HCPCS line."""
    lines, other = [], []
    pos = claim.place_of_service or POS_BY_BILL_TYPE.get(claim.facility_code[:2])
    for ln in claim.lines:
        item = {
            "lx": ln.number,
            "control_number": ln.control_number,
            "code": ln.code,
            "modifiers": list(ln.modifiers),
            "units": str(ln.units),
            "billed": _money(ln.charge),
            "paid": "0.00",
            "patient_resp": "0.00",
            "service_date": ln.service_from.isoformat() if ln.service_from else None,
            "service_to": ln.service_to.isoformat() if ln.service_to else None,
            "place_of_service": ln.place_of_service or pos,
            "revenue_code": ln.revenue_code,
            "rendering_npi": ln.rendering_npi,
            "adjustments": [],
            "remark_codes": [],
        }
        (lines if ln.code and ln.qualifier == "HC" else other).append(item)
    patient = claim.patient
    return {
        "kind": claim.kind,
        "plan_type": claim.plan_type,
        "member_id": claim.member_id,
        "rendering_npi": claim.rendering_npi or claim.attending_npi,
        "patient_dob": patient.birth_date.isoformat() if patient and patient.birth_date else None,
        "patient_control_number": claim.patient_control_number,
        "service_from": claim.service_from.isoformat() if claim.service_from else None,
        "service_to": claim.service_to.isoformat() if claim.service_to else None,
        "place_of_service": pos,
        "frequency_code": claim.frequency_code,
        "diagnoses": [[d.qualifier, d.code] for d in claim.diagnoses],
        "lines": lines,
        "other_lines": other,
    }


def patient_names(claim: claims837.Claim) -> tuple[str, str]:
    p = claim.patient
    return (p.first_name, p.last_name) if p is not None else ("", "")


# --------------------------------------------------------------------------
# Plan


@dataclass
class ClaimPlan:
    seq: int
    claim: claims837.Claim
    key: str
    outcome: str = "unmatched"  # created, updated, unmatched, duplicate
    reason: str | None = None
    practice_id: int | None = None
    payer_id: int | None = None
    case_id: int | None = None  # the case it updates (or opened, after the import)
    creator: ClaimPlan | None = None  # an earlier claim of this file that opens the case
    data: dict = field(default_factory=dict)
    clean: dict | None = None
    lines: list[dict] | None = None


@dataclass
class Plan837:
    sha256: str
    result: claims837.ParseResult | None
    claims: list[ClaimPlan] = field(default_factory=list)
    duplicate_of: X12ClaimFile | None = None
    seen_interchanges: set[tuple[str, str, str]] = field(default_factory=set)
    errors: list[claims837.ClaimError] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return (self.result.error_count if self.result else 0) + len(self.errors)

    @property
    def all_errors(self) -> tuple[claims837.ClaimError, ...]:
        parsed = self.result.errors if self.result else ()
        return tuple(sorted((*parsed, *self.errors), key=lambda e: e.segment_no))[
            : claims837.MAX_ERRORS
        ]

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def duplicate(self) -> bool:
        if self.duplicate_of is not None:
            return True
        interchanges = self.result.interchanges if self.result else ()
        return bool(interchanges) and all(i in self.seen_interchanges for i in interchanges)

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.claims if c.outcome == outcome)

    @property
    def kinds(self) -> str:
        found = sorted({s.kind for s in self.result.submissions} if self.result else set())
        return "+".join(sorted(found, reverse=True)) or "P"

    @property
    def billed(self) -> Decimal:
        return sum((c.claim.charge for c in self.claims), ZERO)

    def counts(self) -> dict:
        if self.duplicate:
            n = self.duplicate_of.claim_count if self.duplicate_of else len(self.claims)
            return {"claims": n, "created": 0, "updated": 0, "unmatched": 0, "duplicate": n}
        return {
            "claims": len(self.claims),
            "created": self.count("created"),
            "updated": self.count("updated"),
            "unmatched": self.count("unmatched"),
            "duplicate": self.count("duplicate"),
        }

    def reasons(self) -> list[tuple[str, int]]:
        return Counter(
            (c.reason or "").split(":", 1)[0] for c in self.claims if c.outcome == "unmatched"
        ).most_common()


@dataclass
class Summary837:
    claims: int
    created: int
    updated: int
    unmatched: int
    duplicate_claims: int
    duplicate: bool  # the whole file was imported before: nothing changed
    file_id: int | None = None

    def as_json(self) -> dict:
        return {
            "claims": self.claims,
            "created": self.created,
            "updated": self.updated,
            "unmatched": self.unmatched,
            "duplicate": self.duplicate_claims,
            "file_duplicate": self.duplicate,
        }


class _Directory:
    def __init__(self, claims: list[claims837.Claim]):
        npis = {
            c.billing_provider.npi for c in claims if c.billing_provider and c.billing_provider.npi
        }
        self.by_npi = _practices(npis)
        self.payer_by_id, self.payer_by_name = _payers()
        self._by_tin: dict[str, list[Practice]] | None = None

    def practice(self, claim: claims837.Claim) -> Practice | None:
        b = claim.billing_provider
        if b is None:
            return None
        if b.npi and b.npi in self.by_npi:
            return self.by_npi[b.npi]
        if b.tax_id:
            if self._by_tin is None:
                self._by_tin = {}
                for p in db.session.scalars(select(Practice).order_by(Practice.id)):
                    self._by_tin.setdefault(p.tin, []).append(p)
            found = self._by_tin.get(b.tax_id.replace("-", ""), [])
            if len(found) == 1:  # a TIN shared by several practices names none of them
                return found[0]
        return None

    def payer(self, claim: claims837.Claim) -> Payer | None:
        if claim.payer is None:
            return None
        found = None
        if claim.payer.identifier:
            found = self.payer_by_id.get(claim.payer.identifier.strip().upper())
        return found or self.payer_by_name.get(name_key(claim.payer.name))


def find_duplicate(sha256: str) -> X12ClaimFile | None:
    return db.session.scalar(select(X12ClaimFile).where(X12ClaimFile.sha256 == sha256))


def _seen_interchanges(keys: tuple[tuple[str, str, str], ...]) -> set[tuple[str, str, str]]:
    if not keys:
        return set()
    rows = db.session.execute(
        select(
            X12ClaimInterchange.sender_id,
            X12ClaimInterchange.receiver_id,
            X12ClaimInterchange.control_number,
        ).where(
            tuple_(
                X12ClaimInterchange.sender_id,
                X12ClaimInterchange.receiver_id,
                X12ClaimInterchange.control_number,
            ).in_([k for k in keys])
        )
    )
    return {(a, b, c) for a, b, c in rows}


def _seen_keys(keys: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(sorted(set(keys)), IN_CHUNK):
        found.update(
            db.session.scalars(
                select(X12Claim.claim_key).where(in_values(X12Claim.claim_key, chunk))
            )
        )
    return found


def _open_cases(pcns: list[str]) -> dict[tuple[int, int, str], int]:
    """Open cases by (practice, payer, patient control number); the oldest wins."""
    found: dict[tuple[int, int, str], int] = {}
    for chunk in chunks(sorted(set(pcns)), IN_CHUNK):
        rows = db.session.execute(
            select(Case.id, Case.practice_id, Case.payer_id, Case.patient_control_number)
            .where(in_values(Case.patient_control_number, chunk), Case.status.in_(workflow.OPEN))
            .order_by(Case.id)
        )
        for case_id, practice_id, payer_id, pcn in rows:
            found.setdefault((practice_id, payer_id, pcn), case_id)
    return found


def _claim_error(claim: claims837.Claim, element: str | None, message: str) -> claims837.ClaimError:
    return claims837.ClaimError(
        claim.transaction, claim.segment_no, "CLM", element, message, None,
        claim.patient_control_number,
    )  # fmt: skip


def _validate(cp: ClaimPlan, today: date) -> list[claims837.ClaimError]:
    first, last = patient_names(cp.claim)
    data = dict(
        cp.data,
        practice_id=cp.practice_id,
        payer_id=cp.payer_id,
        patient_first_name=first,
        patient_last_name=last,
    )
    if not data["lines"]:
        return [
            _claim_error(
                cp.claim, None, "the claim has no line with a CPT/HCPCS code: a case needs one"
            )
        ]
    try:
        cp.clean, cp.lines = case_services.validate_case_input(data, today=today)
    except case_services.CaseValidationError as err:
        return [
            _claim_error(cp.claim, None, f"as a case: {name} {message}")
            for name, message in err.errors
        ]
    return []


def plan_837(data: bytes, *, today: date | None = None) -> Plan837:
    """What importing this file would do; reads, never writes."""
    today = today or utcnow().date()
    sha = hashlib.sha256(data).hexdigest()
    previous = find_duplicate(sha)
    if previous is not None:
        return Plan837(sha, None, duplicate_of=previous)
    result = claims837.parse_837(data, today=today)
    plan = Plan837(sha, result)
    if not result.valid:
        return plan
    plan.seen_interchanges = _seen_interchanges(result.interchanges)
    if plan.duplicate:
        return plan
    claims = list(result.claims)
    seen_keys = _seen_keys([claim_key(c) for c in claims])
    directory = _Directory(claims)
    open_cases = _open_cases([c.patient_control_number for c in claims])
    in_file: set[str] = set()
    pending: dict[tuple[int, int, str], ClaimPlan] = {}
    for seq, claim in enumerate(claims, start=1):
        cp = ClaimPlan(seq, claim, claim_key(claim), data=case_data(claim))
        plan.claims.append(cp)
        interchange = next((i for i in result.interchanges if i[2] == claim.interchange), None)
        if interchange in plan.seen_interchanges or cp.key in seen_keys or cp.key in in_file:
            cp.outcome, cp.reason = "duplicate", "already imported"
            continue
        in_file.add(cp.key)
        practice = directory.practice(claim)
        payer = directory.payer(claim)
        cp.practice_id = practice.id if practice else None
        cp.payer_id = payer.id if payer else None
        if practice is None:
            b = claim.billing_provider
            cp.reason = (
                f"unknown practice: no practice with NPI {b.npi or '-'} or tax id {b.tax_id or '-'}"
                if b
                else "unknown practice: no billing provider"
            )
        elif payer is None:
            p = claim.payer
            cp.reason = (
                f"unknown payer: no payer with payer ID '{p.identifier}' or named '{p.name}'"
            )
        elif claim.frequency_code == VOID:
            cp.reason = "void: the practice withdrew this claim (CLM05-3 8); close or correct its case by hand"
        if cp.reason:
            continue
        plan.errors.extend(_validate(cp, today))
        target = (practice.id, payer.id, claim.patient_control_number)
        case_id = open_cases.get(target)
        if case_id is not None:
            cp.outcome, cp.case_id = "updated", case_id
        elif target in pending:
            cp.outcome, cp.creator = "updated", pending[target]
        else:
            cp.outcome = "created"
            pending[target] = cp
    return plan


# --------------------------------------------------------------------------
# Import


def _apply_update(case: Case, cp: ClaimPlan, *, actor_id: int | None, file_id: int) -> None:
    """The claim's lines, billed amounts, dates, CLM01 and patient names on an open case."""
    clean, lines = cp.clean or {}, cp.lines or []
    by_key: dict[tuple, ServiceLine] = {}
    for existing in case.lines:
        by_key.setdefault(
            (existing.code, tuple(existing.modifiers or ()), existing.service_date), existing
        )
    next_no = max((ln.line_no for ln in case.lines), default=0) + 1
    updated = added = 0
    for ln, item in zip(lines, cp.data["lines"], strict=True):
        found = by_key.pop((ln["code"], tuple(ln["modifiers"]), ln["service_date"]), None)
        if found is not None:
            found.billed, found.units = ln["billed"], ln["units"]
            found.place_of_service = ln["place_of_service"]
            item["line_no"] = found.line_no
            updated += 1
            continue
        values = {k: v for k, v in ln.items() if k != "line_no"}
        case.lines.append(ServiceLine(tenant_id=case.tenant_id, line_no=next_no, **values))
        item["line_no"] = next_no
        next_no += 1
        added += 1
    case.patient_first_name = clean["patient_first_name"]
    case.patient_last_name = clean["patient_last_name"]
    case.patient_control_number = clean["patient_control_number"]
    days = [ln.service_date for ln in case.lines if ln.service_date]
    case.service_from = min([*days, clean["service_from"]])
    case.service_to = max([*days, clean["service_to"]])
    for name in ("rendering_npi", "member_id", "patient_dob"):
        if clean.get(name) and not getattr(case, name):
            setattr(case, name, clean[name])
    db.session.flush()
    case_services.recompute_totals(case)
    case_services.refresh_benchmark(case)
    case_services.event(
        case,
        "note",
        f"Claim {cp.claim.patient_control_number} (837) applied: {updated} line(s) updated, "
        f"{added} added",
        actor_id=actor_id,
        data={"x12_claim_file_id": file_id},
    )
    audit(
        "case.updated",
        case,
        is_phi=True,
        details={
            "via": "837",
            "x12_claim_file_id": file_id,
            "lines_updated": updated,
            "lines_added": added,
        },
    )
    case_services.refresh_deadlines(case)


def import_837(
    plan: Plan837, *, tenant_id: int, actor_id: int | None, filename: str | None = None,
    source: str = "upload",
) -> Summary837:  # fmt: skip
    """Write the plan (flushes, never commits). Raises X837ImportError, writing nothing."""
    if plan.duplicate:
        c = plan.counts()
        fid = plan.duplicate_of.id if plan.duplicate_of else None
        return Summary837(c["claims"], 0, 0, 0, c["duplicate"], True, fid)
    if not plan.ok:
        raise X837ImportError(
            plan.all_errors, plan.error_count, plan.result.kind if plan.result else None
        )
    counts = plan.counts()
    record = X12ClaimFile(
        tenant_id=tenant_id,
        sha256=plan.sha256,
        filename=(filename or "")[:255] or None,
        kinds=plan.kinds,
        claim_count=counts["claims"],
        created_count=counts["created"],
        updated_count=counts["updated"],
        unmatched_count=counts["unmatched"],
        duplicate_count=counts["duplicate"],
        billed_total=plan.billed,
        source=source,
        created_by_id=actor_id,
    )
    db.session.add(record)
    db.session.flush()  # a concurrent import of the same file waits here on the unique sha256
    seen = plan.seen_interchanges
    insert_rows(
        X12ClaimInterchange,
        [
            {"tenant_id": tenant_id, "file_id": record.id, "sender_id": s[:15], "receiver_id": r[:15],
             "control_number": n[:9]}
            for s, r, n in dict.fromkeys(plan.result.interchanges)
            if (s, r, n) not in seen
        ],
    )  # fmt: skip
    w = Writer(tenant_id, actor_id)
    creating = [cp for cp in plan.claims if cp.outcome == "created"]
    drafts = [
        CaseDraft(cp.clean, cp.lines, opened="Case opened from an 837 claim", via="837")
        for cp in creating
    ]
    for part in chunks(drafts, 5_000):
        insert_cases(w, list(part))
        w.flush()
    for cp, draft in zip(creating, drafts, strict=True):
        cp.case_id = draft.case_id
        for item, ln in zip(cp.data["lines"], cp.lines, strict=True):
            item["line_no"] = ln["line_no"]
    for cp in plan.claims:
        if cp.outcome != "updated":
            continue
        case_id = cp.case_id if cp.case_id is not None else cp.creator.case_id
        cp.case_id = case_id
        case = db.session.get(Case, case_id, populate_existing=True)
        _apply_update(case, cp, actor_id=actor_id, file_id=record.id)
    now = utcnow()
    rows = []
    for cp in plan.claims:
        if cp.outcome == "duplicate":
            continue
        c = cp.claim
        first, last = patient_names(c)
        b = c.billing_provider
        rows.append(
            {
                "tenant_id": tenant_id,
                "file_id": record.id,
                "claim_key": cp.key,
                "kind": c.kind,
                "segment_no": c.segment_no,
                "patient_control_number": c.patient_control_number[:38],
                "frequency_code": c.frequency_code[:2],
                "payer_identifier": (c.payer.identifier if c.payer else "")[:80],
                "payer_name": (c.payer.name[:200] if c.payer else None),
                "billing_npi": b.npi if b else None,
                "billing_tax_id": (b.tax_id[:20] if b and b.tax_id else None),
                "billing_name": (b.name[:200] if b else None),
                "patient_first_name": first[:100] or None,
                "patient_last_name": last[:100] or None,
                "member_id": (c.member_id or "")[:80] or None,
                "service_from": c.service_from,
                "service_to": c.service_to,
                "charge": c.charge,
                "outcome": cp.outcome,
                "status": "open" if cp.outcome == "unmatched" else "done",
                "reason": cp.reason[:300] if cp.reason else None,
                "data": dict(cp.data, practice_id=cp.practice_id, payer_id=cp.payer_id),
                "case_id": cp.case_id,
                "resolved_at": None,
                "resolved_by_id": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    insert_rows(X12Claim, rows)
    w.audit(
        "x12_claims.imported",
        "x12_claim_file",
        record.id,
        {"sha256": plan.sha256, "source": source, **counts},
    )
    w.flush()
    return Summary837(
        counts["claims"], counts["created"], counts["updated"], counts["unmatched"],
        counts["duplicate"], False, record.id,
    )  # fmt: skip


def _once(work: Callable[[], T]) -> T:
    """Commit once; a concurrent import of the same file (unique keys) runs again as a duplicate."""
    for attempt in (1, 2):
        try:
            result = work()
            db.session.commit()
            return result
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                raise
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


def commit_837(
    data: bytes, *, tenant_id: int, actor_id: int | None, filename: str | None, source: str,
    today: date | None = None,
) -> Summary837:  # fmt: skip
    """Plan, import and commit. Raises X837ImportError (nothing written)."""

    def work() -> Summary837:
        with gc_paused():
            plan = plan_837(data, today=today)
            return import_837(
                plan, tenant_id=tenant_id, actor_id=actor_id, filename=filename, source=source
            )

    return _once(work)


# --------------------------------------------------------------------------
# The review list: fix an unmatched claim in place


class FixError(ValueError):
    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


def resolve_unmatched(
    item: X12Claim, *, tenant_id: int, actor_id: int | None, practice_id, payer_id,
    plan_type: str | None = None, today: date | None = None,
) -> Case:  # fmt: skip
    """Open (or update) the case of an unmatched claim with the practice and payer
    chosen. Raises FixError or CaseValidationError, writing nothing."""
    if not item.is_open:
        raise FixError([("status", "This claim was already reviewed.")])
    if (item.data or {}).get("frequency_code") == VOID:
        raise FixError([("frequency_code", "A void claim cannot open a case: dismiss it.")])
    data = dict(item.data or {})
    data.update(
        practice_id=practice_id,
        payer_id=payer_id,
        plan_type=plan_type or data.get("plan_type") or "other",
        patient_first_name=item.patient_first_name or "",
        patient_last_name=item.patient_last_name or "",
    )
    clean, lines = case_services.validate_case_input(data, today=today)
    case_id = _open_cases([item.patient_control_number]).get(
        (clean["practice_id"], clean["payer_id"], item.patient_control_number)
    )
    if case_id is not None:
        case = db.session.get(Case, case_id)
        cp = ClaimPlan(0, None, item.claim_key, "updated", data=data, clean=clean, lines=lines)  # type: ignore[arg-type]
        cp.claim = _Stub(item.patient_control_number)  # type: ignore[assignment]
        _apply_update(case, cp, actor_id=actor_id, file_id=item.file_id)
        item.outcome = "updated"
    else:
        case = case_services.create_case(
            tenant_id=tenant_id, actor_id=actor_id, data=data, today=today
        )
        for it, ln in zip(data["lines"], lines, strict=True):
            it["line_no"] = ln["line_no"]
        item.outcome = "created"
    item.data = dict(data, practice_id=clean["practice_id"], payer_id=clean["payer_id"])
    item.status = "done"
    item.case_id = case.id
    item.resolved_at = utcnow()
    item.resolved_by_id = actor_id
    db.session.flush()
    audit(
        "x12_claim.resolved",
        item,
        user_id=actor_id,
        details={"case_id": case.id, "outcome": item.outcome},
    )
    return case


@dataclass
class _Stub:
    patient_control_number: str


def dismiss_unmatched(item: X12Claim, *, actor_id: int | None) -> None:
    if not item.is_open:
        raise FixError([("status", "This claim was already reviewed.")])
    item.status = "dismissed"
    item.resolved_at = utcnow()
    item.resolved_by_id = actor_id
    db.session.flush()
    audit("x12_claim.dismissed", item, user_id=actor_id)
