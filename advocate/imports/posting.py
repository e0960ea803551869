"""Posting an 835 to the firm's cases: plan first, then write it all at once.

``plan_835`` reads what the file would do without writing anything (the UI's
preview): each claim is matched to a case by payer claim number (CLP07), then
patient control number (CLP01), within the firm, with one query for the whole
file.  An unmatched claim whose CO-45 total is above the firm's threshold
becomes a new case at intake, when its payer (N1*PR name or REF*2U id) and
practice (payee NPI, N1*PE XX) are known and it validates as a case;
every other unmatched claim goes to the review list with the reason.

``import_835`` posts the plan: payments on the cases' ledgers (a case's first
positive payment is its initial payment; reversals, CLP02 22, post negative),
new cases with their lines, the NSA flag for remark codes N864/N865/N866/N830,
the file, its transactions and claims, the review list, the timeline and the
audit log, in bulk statements inside the caller's one transaction.  It flushes
and never commits: a crash or a kill before the caller's commit leaves nothing.

Idempotent: a file whose bytes were posted before, or whose transactions (payer
id, TRN trace number, ST control number) all were, is a duplicate and changes
nothing; a transaction already posted inside another file is skipped.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select

from advocate.cases import services as case_services
from advocate.cases.models import Case, Payment
from advocate.db import utcnow
from advocate.extensions import db
from advocate.imports import era
from advocate.imports.bulk import (
    NSA_NOTE,
    CaseDraft,
    PaymentDraft,
    Writer,
    amount_at_stake,
    chunks,
    in_values,
    insert_cases,
    insert_payments,
    insert_returning_ids,
    insert_rows,
    update_by_id,
)
from advocate.imports.claims837_match import apply_remittance_lines
from advocate.imports.models import (
    ZERO,
    IdentifierAlias,
    Remittance,
    RemittanceAdjustment,
    RemittanceClaim,
    RemittanceTransaction,
    UnmatchedClaim,
)
from advocate.imports.x12 import gc_paused
from advocate.payers.models import Payer
from advocate.payers.validation import name_key
from advocate.practices.models import Practice
from advocate.practices.validators import PLACES_OF_SERVICE, npi_error

__all__ = [
    "EraImportError",
    "ImportSummary",
    "Plan",
    "error_details",
    "import_835",
    "plan_835",
]

CENT = Decimal("0.01")
NSA_REMARKS = case_services.NSA_REMARKS
# CLP06 claim filing indicators that say which plan type a claim is; the rest are "other".
PLAN_TYPE_BY_FILING = {"16": "medicare_advantage"}
# Keeps every IN list under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
IN_CHUNK = 15_000
DEADLINE_CHUNK = 500  # cases per deadline recompute (as the nightly refresh)
CLAIM_CHUNK = 1_000
SLEEP_HOOK = "ADVOCATE_IMPORT_SLEEP_AFTER_N_CLAIMS"


class EraImportError(ValueError):
    """The file has errors: nothing was imported."""

    def __init__(self, errors: Sequence[era.EraError]):
        super().__init__(f"{len(errors)} error(s) in the file: nothing was imported")
        self.errors = tuple(errors)

    def report(self) -> str:
        return era.error_report(self.errors)


def error_details(errors: Iterable[era.EraError]) -> list[dict]:
    """Each problem's location, for JSON: transaction, segment number, element, message."""
    return [
        {
            "transaction": e.transaction,
            "segment": e.segment_no,
            "segment_id": e.segment_id,
            "transaction_segment": e.transaction_segment_no,
            "element": e.element,
            "message": e.message,
        }
        for e in errors
    ]


MAX_ERROR_DETAILS = 200
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_NUMBER = re.compile(r"-?\d[\d.,]*")


def error_kind(e: era.EraError) -> str:
    """What kind of problem ``e`` is, without its values: ``"SVC03: service line does
    not balance"``, ``"CLP02: … is not a claim status code"``."""
    text = _NUMBER.sub("N", _QUOTED.sub("…", e.message)).split(":", 1)[0].strip()
    where = e.element or e.segment_id
    return f"{where}: {text}"


def error_summary(errors: Sequence[era.EraError], limit: int = MAX_ERROR_DETAILS) -> dict:
    """The first ``limit`` problems located, the total and the count of each kind
    (most common first): what the API answers and the error page shows."""
    kinds = Counter(error_kind(e) for e in errors)
    return {
        "total": len(errors),
        "shown": min(len(errors), limit),
        "by_kind": [{"kind": k, "count": n} for k, n in kinds.most_common()],
        "details": error_details(errors[:limit]),
    }


@dataclass
class ImportSummary:
    transactions: int
    claims: int
    matched: int
    created: int
    unmatched: int
    total_paid: Decimal
    duplicate: bool
    remittance_id: int | None = None
    skipped_transactions: int = 0

    def as_json(self) -> dict:
        """The API and CLI summary: exactly these fields."""
        return {
            "transactions": self.transactions,
            "claims": self.claims,
            "matched": self.matched,
            "created": self.created,
            "unmatched": self.unmatched,
            "total_paid": f"{self.total_paid.quantize(CENT)}",
            "duplicate": self.duplicate,
        }


# --------------------------------------------------------------------------
# Pure helpers


def signed_amount(claim: era.Claim) -> Decimal:
    """What a claim posts: CLP04, negative for a reversal whatever its sign in the file."""
    return -abs(claim.paid) if claim.is_reversal else claim.paid


def co45_total(claim: era.Claim) -> Decimal:
    return sum(
        (a.amount for a in claim.all_adjustments if a.group == "CO" and a.reason == "45"), ZERO
    )


def remark_codes(claim: era.Claim) -> tuple[str, ...]:
    """Claim-level (MOA/MIA) then line-level (LQ*HE) remark codes, each once."""
    seen: dict[str, None] = dict.fromkeys(claim.remark_codes)
    for ln in claim.lines:
        for code in ln.remark_codes:
            seen.setdefault(code, None)
    return tuple(seen)


def payer_key(rem: era.Remittance) -> str:
    if rem.payer is not None and rem.payer.identifier:
        return rem.payer.identifier[:80]
    return (rem.payment.originator if rem.payment else "")[:80]


def transaction_key(rem: era.Remittance) -> tuple[str, str, str]:
    return payer_key(rem), (rem.trace_number or "")[:80], rem.control_number[:20]


def _money(d: Decimal) -> str:
    return str(d.quantize(CENT))


def case_input(claim: era.Claim, rem: era.Remittance, paid_on: date) -> dict:
    """What a case needs from a claim, in validate_case_input's shape (strings,
    so it can also be kept as JSON), without practice, payer or patient names."""
    dates: list[date] = []
    lines = []
    for ln in claim.lines:
        day = ln.start_date
        if day:
            dates.append(day)
        if ln.service_to:
            dates.append(ln.service_to)
        # A revenue-code line (SVC01 NU) has no CPT/HCPCS code: like a claim-level
        # line, it carries its amounts under the revenue code.
        revenue_only = ln.procedure.qualifier == "NU"
        lines.append(
            {
                "claim_level": revenue_only,
                "revenue_code": (ln.procedure.code if revenue_only else ln.revenue_code) or None,
                "code": "" if revenue_only else ln.procedure.code,
                "modifiers": list(ln.procedure.modifiers),
                "units": str(ln.billed_units),
                "billed": _money(ln.charge),
                "allowed": _money(ln.allowed) if ln.allowed is not None else None,
                "paid": _money(ln.paid),
                "patient_resp": _money(
                    sum((a.amount for a in ln.adjustments if a.group == "PR"), ZERO)
                ),
                "service_date": day.isoformat() if day else None,
                "adjustments": [
                    {"group": a.group, "reason": a.reason, "amount": _money(a.amount)}
                    for a in ln.adjustments
                ],
                "remark_codes": list(ln.remark_codes),
            }
        )
    for d in (claim.statement_from, claim.statement_to):
        if d:
            dates.append(d)
    provider = claim.service_provider
    rendering = None
    if (
        provider is not None
        and provider.id_qualifier == "XX"
        and not npi_error(provider.identifier)
    ):
        rendering = provider.identifier
    if claim.is_claim_level:
        lines.append(claim_level_line(claim))
    # CLP08 is a place of service on a professional claim only; on an institutional
    # claim it is the facility type code (and the practice's default applies).
    institutional = claim.is_institutional
    pos = (
        claim.facility_type
        if not institutional and claim.facility_type in PLACES_OF_SERVICE
        else None
    )
    return {
        "plan_type": PLAN_TYPE_BY_FILING.get(claim.filing_indicator, "other"),
        "member_id": claim.member_id,
        "rendering_npi": rendering,
        "payer_claim_number": claim.payer_claim_number or None,
        "patient_control_number": claim.patient_control_number,
        "service_from": min(dates).isoformat() if dates else None,
        "service_to": max(dates).isoformat() if dates else None,
        "place_of_service": pos,
        "initial_payment_received_on": paid_on.isoformat(),
        "claim_remark_codes": list(claim.remark_codes),
        "institutional": institutional,
        "facility_type": (claim.facility_type or None) if institutional else None,
        "frequency_code": claim.frequency_code or None,
        "drg": claim.drg_code or None,
        "drg_weight": str(claim.drg_weight) if claim.drg_weight is not None else None,
        "lines": lines,
    }


def claim_level_line(claim: era.Claim) -> dict:
    """The one line of a claim paid at claim level (DRG, per diem: no SVC): billed,
    allowed (paid + patient responsibility), paid and the claim-level CAS."""
    resp = sum((a.amount for a in claim.adjustments if a.group == "PR"), ZERO)
    allowed = claim.paid + resp
    day = claim.statement_from or claim.statement_to
    return {
        "claim_level": True,
        "code": "",
        "modifiers": [],
        "units": "1",
        "billed": _money(claim.charge),
        "allowed": _money(allowed) if ZERO <= allowed <= claim.charge else None,
        "paid": _money(claim.paid),
        "patient_resp": _money(resp),
        "service_date": day.isoformat() if day else None,
        "adjustments": [
            {"group": a.group, "reason": a.reason, "amount": _money(a.amount)}
            for a in claim.adjustments
        ],
        "remark_codes": list(claim.remark_codes),
    }


def corrected_names(claim: era.Claim) -> dict | None:
    """NM1*74 (corrected patient or insured name), kept alongside the submitted one."""
    p = claim.corrected_patient
    if p is None:
        return None
    return {
        "last_name": p.last_name.strip()[:100],
        "first_name": p.first_name.strip()[:100],
        "middle_name": p.middle_name.strip()[:100],
        "identifier": p.identifier.strip()[:60],
    }


def patient_names(claim: era.Claim) -> tuple[str, str]:
    p = claim.patient
    if p is None:
        return "", ""
    return p.first_name.strip()[:100], p.last_name.strip()[:100]


# --------------------------------------------------------------------------
# Plan


@dataclass
class TxPlan:
    remittance: era.Remittance
    key: tuple[str, str, str]
    duplicate: bool
    paid_on: date
    id: int | None = None


@dataclass
class NewCase:
    """A case the post will open, and the claims of the file that pay on it."""

    draft: CaseDraft
    claims: list[ClaimPlan] = field(default_factory=list)

    @property
    def case_id(self) -> int | None:
        return self.draft.case_id

    def add(self, cp: ClaimPlan) -> None:
        self.claims.append(cp)
        self.draft.payments.append(cp.payment)
        self.draft.nsa = self.draft.nsa or cp.nsa


@dataclass
class ClaimPlan:
    seq: int
    tx: TxPlan
    claim: era.Claim
    amount: Decimal
    co45: Decimal
    remarks: tuple[str, ...]
    outcome: str = "unmatched"
    case_id: int | None = None
    new_case: NewCase | None = None
    reason: str | None = None
    data: dict | None = None
    payment: PaymentDraft | None = None

    @property
    def nsa(self) -> bool:
        return bool(NSA_REMARKS.intersection(self.remarks))

    @property
    def payment_id(self) -> int | None:
        return self.payment.payment_id if self.payment else None

    def draft_payment(self) -> PaymentDraft:
        claim = self.claim
        note = (
            "835 reversal (CLP02 22)"
            if claim.is_reversal
            else f"835 claim, status {claim.status_code}"
        )
        self.payment = PaymentDraft(
            self.amount, self.tx.paid_on, self.tx.key[1] or None, note, claim.is_reversal
        )
        return self.payment


# PLB reasons that take back an earlier overpayment of one claim (its reference).
RECOUPMENT_REASONS = frozenset(("WO",))


@dataclass
class AdjustmentPlan:
    """One PLB reason/reference/amount, and the case a recoupment posts on."""

    tx: TxPlan
    plb: era.ProviderAdjustment
    item: era.ProviderAdjustmentItem
    case_id: int | None = None
    payment: PaymentDraft | None = None
    nsa: bool = False  # the _post_matched protocol

    @property
    def claim_reference(self) -> str:
        """The claim a WO names: PLB03-02, the payer's claim number (some payers add
        the patient account after a space or a colon-less suffix; the first word)."""
        ref = self.item.reference.strip()
        return ref.split()[0] if ref else ""


@dataclass
class Plan:
    sha256: str
    result: era.ParseResult
    threshold: Decimal
    transactions: list[TxPlan]
    claims: list[ClaimPlan]
    new_cases: list[NewCase]
    file_claims: int
    total_paid: Decimal
    payment_total: Decimal
    duplicate_of: Remittance | None = None
    adjustments: list[AdjustmentPlan] = field(default_factory=list)

    @property
    def plb_total(self) -> Decimal:
        return sum((a.item.amount for a in self.adjustments), ZERO)

    @property
    def recoupments(self) -> list[AdjustmentPlan]:
        return [a for a in self.adjustments if a.case_id is not None and a.payment is not None]

    @property
    def skipped_transactions(self) -> int:
        return sum(1 for t in self.transactions if t.duplicate)

    @property
    def duplicate(self) -> bool:
        return self.duplicate_of is not None or (
            bool(self.transactions) and all(t.duplicate for t in self.transactions)
        )

    def count(self, outcome: str) -> int:
        return sum(1 for c in self.claims if c.outcome == outcome)

    @property
    def matched(self) -> int:
        return self.count("matched")

    @property
    def created(self) -> int:
        return self.count("created")

    @property
    def unmatched(self) -> int:
        return self.count("unmatched")

    @property
    def nsa_flagged(self) -> int:
        return sum(1 for c in self.claims if c.nsa and c.outcome != "unmatched")

    @property
    def reversals(self) -> int:
        return sum(1 for c in self.claims if c.claim.is_reversal)

    def reasons(self) -> list[tuple[str, int]]:
        """Why claims stay unmatched, most common first (reason kinds, no claim data)."""
        kinds = Counter(
            (c.reason or "").split(":", 1)[0] for c in self.claims if c.outcome == "unmatched"
        )
        return kinds.most_common()

    def payer_names(self) -> list[str]:
        names = dict.fromkeys(
            t.remittance.payer.name for t in self.transactions if t.remittance.payer
        )
        return list(names)

    def summary(self, remittance_id: int | None = None) -> ImportSummary:
        dup = self.duplicate
        return ImportSummary(
            transactions=len(self.transactions),
            claims=self.file_claims,
            matched=0 if dup else self.matched,
            created=0 if dup else self.created,
            unmatched=0 if dup else self.unmatched,
            total_paid=self.total_paid,
            duplicate=dup,
            remittance_id=remittance_id,
            skipped_transactions=self.skipped_transactions,
        )


def threshold_for_firm() -> Decimal:
    from advocate.imports.services import co45_threshold

    return co45_threshold()


def find_duplicate(sha256: str) -> Remittance | None:
    return db.session.scalar(select(Remittance).where(Remittance.sha256 == sha256))


def _existing_transaction_keys(keys: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    traces = sorted({k[1] for k in keys})
    found: set[tuple[str, str, str]] = set()
    for chunk in chunks(traces, IN_CHUNK):
        rows = db.session.execute(
            select(
                RemittanceTransaction.payer_identifier,
                RemittanceTransaction.trace_number,
                RemittanceTransaction.control_number,
            ).where(in_values(RemittanceTransaction.trace_number, chunk))
        )
        found.update((a, b, c) for a, b, c in rows)
    return found


def _candidate_cases(claims: list[era.Claim]) -> tuple[dict[str, int], dict[str, int]]:
    """Cases by payer claim number and by patient control number (lowest id wins)."""
    by_number: dict[str, int] = {}
    by_pcn: dict[str, int] = {}
    # One query per IN_CHUNK claims: one for any file up to that size.
    for chunk in chunks(claims, IN_CHUNK // 2):
        numbers = sorted({c.payer_claim_number for c in chunk if c.payer_claim_number})
        pcns = sorted({c.patient_control_number for c in chunk if c.patient_control_number})
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


class _Directory:
    """The firm's payers (all: one query) and the practices the file's payees name."""

    def __init__(self, npis: set[str], tins: set[str] = frozenset()):
        self.payer_by_id: dict[str, Payer] = {}
        self.payer_by_name: dict[str, Payer] = {}
        for p in db.session.scalars(select(Payer).order_by(Payer.id)):
            if p.edi_payer_id:
                self.payer_by_id.setdefault(p.edi_payer_id.strip().upper(), p)
            self.payer_by_name.setdefault(p.name_key, p)
        self.practice_by_npi: dict[str, Practice] = {}
        self.practice_by_tin: dict[str, Practice] = {}
        conditions = []
        if npis:
            conditions.append(Practice.npi.in_(sorted(npis)))
        if tins:
            conditions.append(Practice.tin.in_(sorted(tins)))
        if conditions:
            for pr in db.session.scalars(
                select(Practice).where(or_(*conditions)).order_by(Practice.id)
            ):
                self.practice_by_npi.setdefault(pr.npi, pr)
                self.practice_by_tin.setdefault(pr.tin, pr)
        # Then the identifiers the firm added from the unmatched list.
        for alias, payer, practice in db.session.execute(
            select(IdentifierAlias, Payer, Practice)
            .outerjoin(Payer, Payer.id == IdentifierAlias.payer_id)
            .outerjoin(Practice, Practice.id == IdentifierAlias.practice_id)
            .order_by(IdentifierAlias.id)
        ):
            if alias.kind == "payer_id" and payer is not None:
                self.payer_by_id.setdefault(alias.value.strip().upper(), payer)
            elif alias.kind == "npi" and practice is not None:
                self.practice_by_npi.setdefault(alias.value, practice)
            elif alias.kind == "tin" and practice is not None:
                self.practice_by_tin.setdefault(alias.value, practice)

    def payer(self, rem: era.Remittance) -> Payer | None:
        if rem.payer is None:
            return None
        found = None
        if rem.payer.identifier:
            found = self.payer_by_id.get(rem.payer.identifier.strip().upper())
        return found or self.payer_by_name.get(name_key(rem.payer.name))

    def practice(self, rem: era.Remittance, claim: era.Claim | None = None) -> Practice | None:
        """By NPI (the claim's TS3 provider, then the payee's N1*PE XX), then by TIN
        (N1*PE FI or REF*TJ)."""
        for npi in payee_npis(rem, claim):
            found = self.practice_by_npi.get(npi)
            if found is not None:
                return found
        tin = payee_tin(rem)
        return self.practice_by_tin.get(tin) if tin else None


def payee_npis(rem: era.Remittance, claim: era.Claim | None = None) -> list[str]:
    out = []
    if claim is not None and claim.provider_npi:
        out.append(claim.provider_npi.strip())
    if rem.payee is not None and rem.payee.npi:
        out.append(rem.payee.npi.strip())
    return list(dict.fromkeys(n for n in out if n))


def payee_tin(rem: era.Remittance) -> str | None:
    """The payee's tax id as the 9 digits a practice stores (EIN or SSN), or None."""
    raw = rem.payee.tax_id if rem.payee is not None else None
    digits = "".join(ch for ch in (raw or "") if ch.isdigit())
    return digits if len(digits) == 9 else None


def _paid_on(rem: era.Remittance) -> date:
    if rem.payment is not None and rem.payment.effective_date is not None:
        return rem.payment.effective_date
    return rem.production_date or utcnow().date()


def plan_835(result: era.ParseResult, sha256: str, *, today: date | None = None) -> Plan:
    """What posting this (valid) parse would do; reads, never writes."""
    today = today or utcnow().date()
    claims_in_file = sum(len(r.claims) for r in result.remittances)
    total_paid = sum((signed_amount(c) for c in result.claims), ZERO)
    payment_total = sum(
        (r.payment.amount for r in result.remittances if r.payment is not None), ZERO
    )
    plan = Plan(
        sha256=sha256,
        result=result,
        threshold=threshold_for_firm(),
        transactions=[],
        claims=[],
        new_cases=[],
        file_claims=claims_in_file,
        total_paid=total_paid,
        payment_total=payment_total,
        duplicate_of=find_duplicate(sha256),
    )
    keys = [transaction_key(r) for r in result.remittances]
    existing = _existing_transaction_keys(keys) if keys else set()
    seen: set[tuple[str, str, str]] = set()
    for rem, key in zip(result.remittances, keys, strict=True):
        dup = key in existing or key in seen  # a repeat inside the file is the same payment
        seen.add(key)
        plan.transactions.append(TxPlan(rem, key, dup, _paid_on(rem)))
    if plan.duplicate:
        return plan

    to_post = [t for t in plan.transactions if not t.duplicate]
    by_number, by_pcn = _candidate_cases([c for t in to_post for c in t.remittance.claims])
    _plan_adjustments(plan, to_post)
    pending_number: dict[str, NewCase] = {}
    pending_pcn: dict[str, NewCase] = {}
    directory: _Directory | None = None
    seq = 0
    for t in plan.transactions:
        for claim in t.remittance.claims:
            seq += 1
            if t.duplicate:
                continue
            cp = ClaimPlan(
                seq, t, claim, signed_amount(claim), co45_total(claim), remark_codes(claim)
            )
            plan.claims.append(cp)
            number, pcn = claim.payer_claim_number, claim.patient_control_number
            case_id = (by_number.get(number) if number else None) or by_pcn.get(pcn)
            pending = None
            if case_id is None:
                pending = (pending_number.get(number) if number else None) or pending_pcn.get(pcn)
            if case_id is not None or pending is not None:
                cp.outcome, cp.case_id, cp.new_case = "matched", case_id, pending
                cp.draft_payment()
                if pending is not None:
                    pending.add(cp)
                continue
            cp.data = case_input(claim, t.remittance, t.paid_on)
            if claim.is_reversal:
                cp.reason = "reversal: the payment it reverses is on no case"
                continue
            if cp.co45 <= plan.threshold:
                cp.reason = f"no case: CO-45 {cp.co45:,.2f} is not above the {plan.threshold:,.2f} threshold"
                continue
            if directory is None:
                directory = _directory_for(result)
            new = _new_case(cp, directory, today)
            if new is None:
                continue
            cp.outcome, cp.new_case = "created", new
            plan.new_cases.append(new)
            if number:
                pending_number.setdefault(number, new)
            pending_pcn.setdefault(pcn, new)
    return plan


def _plan_adjustments(plan: Plan, to_post: list[TxPlan]) -> None:
    """Every PLB item of the transactions to post; a WO whose reference is a case's
    payer claim number (else patient control number) recoups on that case."""
    for t in to_post:
        for plb in t.remittance.provider_adjustments:
            for item in plb.items:
                plan.adjustments.append(AdjustmentPlan(t, plb, item))
    wanted = [
        a for a in plan.adjustments if a.item.reason in RECOUPMENT_REASONS and a.claim_reference
    ]
    if not wanted:
        return
    refs = sorted({a.claim_reference[:60] for a in wanted})
    by_number: dict[str, int] = {}
    by_pcn: dict[str, int] = {}
    for chunk in chunks(refs, IN_CHUNK // 2):
        rows = db.session.execute(
            select(Case.id, Case.payer_claim_number, Case.patient_control_number)
            .where(
                or_(
                    in_values(Case.payer_claim_number, chunk),
                    in_values(Case.patient_control_number, chunk),
                )
            )
            .order_by(Case.id)
        )
        for case_id, number, pcn in rows:
            if number:
                by_number.setdefault(number, case_id)
            if pcn:
                by_pcn.setdefault(pcn, case_id)
    for a in wanted:
        ref = a.claim_reference[:60]
        case_id = by_number.get(ref) or by_pcn.get(ref)
        if case_id is None or a.item.amount == 0:
            continue
        a.case_id = case_id
        # A positive WO is money the payer takes back: a negative payment on the case.
        a.payment = PaymentDraft(
            -a.item.amount,
            a.tx.paid_on,
            a.tx.key[1] or None,
            f"835 provider adjustment {a.item.reason} (overpayment recovery)",
        )


def _directory_for(result: era.ParseResult) -> _Directory:
    npis: set[str] = set()
    tins: set[str] = set()
    for r in result.remittances:
        npis.update(payee_npis(r))
        npis.update(c.provider_npi for c in r.claims if c.provider_npi)
        tin = payee_tin(r)
        if tin:
            tins.add(tin)
    return _Directory(npis, tins)


def _unknown_practice_reason(rem: era.Remittance, claim: era.Claim) -> str:
    npis = payee_npis(rem, claim)
    tin = payee_tin(rem)
    known = []
    if npis:
        known.append("NPI " + " or ".join(npis))
    if tin:
        known.append(f"TIN ending {tin[-4:]}")
    if known:
        return f"unknown practice: no practice with the payee's {' or '.join(known)}"
    payee = rem.payee
    if payee is not None and payee.identifier:
        return (
            f"unknown practice: the payee has no NPI or TIN, only the payer-assigned id "
            f"{payee.id_qualifier} {payee.identifier}"
        )
    return "unknown practice: the payee has no NPI (N1*PE XX) or TIN (N1*PE FI, REF*TJ)"


def _new_case(cp: ClaimPlan, directory: _Directory, today: date) -> NewCase | None:
    """A case for an unmatched claim, or None with cp.reason saying why not."""
    rem = cp.tx.remittance
    payer = directory.payer(rem)
    if payer is None:
        name = rem.payer.name if rem.payer else ""
        ident = rem.payer.identifier if rem.payer else ""
        cp.reason = f"unknown payer: no payer named '{name}' or with payer ID '{ident or '-'}'"
        return None
    practice = directory.practice(rem, cp.claim)
    if practice is None:
        cp.reason = _unknown_practice_reason(rem, cp.claim)
        return None
    first, last = patient_names(cp.claim)
    data = dict(
        cp.data or {},
        practice_id=practice.id,
        payer_id=payer.id,
        patient_first_name=first,
        patient_last_name=last,
    )
    try:
        clean, lines = case_services.validate_case_input(data, today=today)
    except case_services.CaseValidationError as err:
        problems = "; ".join(f"{f} {m}" for f, m in err.errors)
        cp.reason = f"cannot open a case: {problems}"[:300]
        return None
    nsa = any(NSA_REMARKS.intersection(ln["remark_codes"]) for ln in lines)
    draft = CaseDraft(clean, lines, nsa=nsa, opened="Case opened from a remittance", via="835")
    new = NewCase(draft)
    cp.draft_payment()
    new.add(cp)
    return new


# --------------------------------------------------------------------------
# Post


def import_835(
    data: bytes,
    *,
    tenant_id: int,
    actor_id: int | None,
    filename: str | None = None,
    source: str = "upload",
    today: date | None = None,
) -> ImportSummary:
    """Parse, plan and post a file inside the caller's transaction (flushes,
    never commits). Raises EraImportError, writing nothing, when the file has
    errors. Returns the summary (``duplicate`` when nothing was new)."""
    sha = hashlib.sha256(data).hexdigest()
    previous = find_duplicate(sha)
    if previous is not None:
        return ImportSummary(
            transactions=previous.transaction_count,
            claims=previous.claim_count,
            matched=0,
            created=0,
            unmatched=0,
            total_paid=previous.total_paid,
            duplicate=True,
            remittance_id=previous.id,
            skipped_transactions=previous.transaction_count,
        )
    # The parse tree is large and acyclic: without the pause, every full
    # collection while planning and posting would rescan all of it.
    with gc_paused():
        result = era.parse_835(data)
        if result.errors:
            raise EraImportError(result.errors)
        plan = plan_835(result, sha, today=today)
        if plan.duplicate:
            return plan.summary()
        remittance = post_plan(
            plan, tenant_id=tenant_id, actor_id=actor_id, filename=filename, source=source
        )
        return plan.summary(remittance.id)


def _sleep_hook(done: int) -> None:
    """Tests kill the process here, mid-post (rows written, nothing committed)."""
    raw = os.environ.get(SLEEP_HOOK)
    if not raw or done < int(raw):
        return
    os.environ.pop(SLEEP_HOOK, None)
    print(f"advocate-import: paused after {done} claims", file=sys.stderr, flush=True)
    time.sleep(float(os.environ.get("ADVOCATE_IMPORT_SLEEP_SECONDS", "300")))


def post_plan(
    plan: Plan, *, tenant_id: int, actor_id: int | None, filename: str | None, source: str
) -> Remittance:
    payers = plan.payer_names()
    remittance = Remittance(
        tenant_id=tenant_id,
        sha256=plan.sha256,
        filename=(filename or "")[:255] or None,
        payer_name=(payers[0] if len(payers) == 1 else f"{len(payers)} payers")[:200]
        if payers
        else None,
        transaction_count=len(plan.transactions),
        skipped_transaction_count=plan.skipped_transactions,
        claim_count=plan.file_claims,
        matched_count=plan.matched,
        created_count=plan.created,
        unmatched_count=plan.unmatched,
        total_paid=plan.total_paid,
        payment_total=plan.payment_total,
        status="posted",
        source=source,
        created_by_id=actor_id,
        encoding=plan.result.encoding[:10],
        wrapped_width=plan.result.wrapped_width,
        plb_total=plan.plb_total,
        warnings=error_details(plan.result.warnings),
    )
    db.session.add(remittance)
    db.session.flush()  # the unique sha256 makes a concurrent import of the same file wait here
    w = Writer(tenant_id, actor_id, remittance.id)

    # Transactions.
    txs = [t for t in plan.transactions if not t.duplicate]
    tx_ids = insert_returning_ids(
        RemittanceTransaction,
        [
            {
                "tenant_id": tenant_id,
                "remittance_id": remittance.id,
                "payer_identifier": t.key[0],
                "trace_number": t.key[1],
                "control_number": t.key[2],
                "payer_name": (t.remittance.payer.name if t.remittance.payer else None),
                "payee_name": (t.remittance.payee.name[:200] if t.remittance.payee else None),
                "payee_npi": (t.remittance.payee.npi if t.remittance.payee else None),
                "payment_amount": t.remittance.payment.amount if t.remittance.payment else ZERO,
                "payment_method": (
                    t.remittance.payment.method[:10] if t.remittance.payment else None
                ),
                "payment_date": t.paid_on,
                "claim_count": len(t.remittance.claims),
            }
            for t in txs
        ],
    )
    for t, tx_id in zip(txs, tx_ids, strict=True):
        t.id = tx_id

    insert_cases(w, [nc.draft for nc in plan.new_cases])
    _post_matched(plan, w)
    # Paid per billed line (CLP01 = CLM01, each SVC to its billed line) on cases that
    # existed before this file; the lines of a case this file opens are its SVCs.
    apply_remittance_lines(
        [
            (cp.case_id, cp.claim)
            for cp in plan.claims
            if cp.outcome == "matched" and cp.case_id is not None and cp.new_case is None
        ],
        tenant_id=tenant_id,
    )
    insert_rows(
        RemittanceAdjustment,
        [
            {
                "tenant_id": tenant_id,
                "remittance_id": remittance.id,
                "transaction_id": a.tx.id,
                "segment_no": a.plb.segment_no,
                "provider_identifier": a.plb.provider_id[:80],
                "fiscal_period_date": a.plb.fiscal_period_date,
                "reason": a.item.reason[:4],
                "reference": a.item.reference[:80] or None,
                "amount": a.item.amount,
                "case_id": a.case_id,
                "payment_id": a.payment.payment_id if a.payment else None,
            }
            for a in plan.adjustments
        ],
    )
    _accrue_fees(plan, tenant_id, actor_id)
    _benchmark_new_cases(plan, tenant_id)

    # The file's claims, then the review list.
    rc_ids: list[int] = []
    for chunk in chunks(plan.claims, CLAIM_CHUNK):
        rc_ids += insert_returning_ids(
            RemittanceClaim,
            [
                {
                    "tenant_id": tenant_id,
                    "remittance_id": remittance.id,
                    "transaction_id": cp.tx.id,
                    "seq": cp.seq,
                    "segment_no": cp.claim.segment_no,
                    "patient_control_number": cp.claim.patient_control_number[:60],
                    "payer_claim_number": (cp.claim.payer_claim_number or None),
                    "status_code": cp.claim.status_code[:4],
                    "charge": cp.claim.charge,
                    "paid": cp.claim.paid,
                    "amount_posted": cp.amount,
                    "patient_responsibility": cp.claim.patient_responsibility,
                    "co45_amount": cp.co45,
                    "remark_codes": list(cp.remarks),
                    "is_nsa_remark": cp.nsa,
                    "outcome": cp.outcome,
                    "reason": cp.reason[:300] if cp.reason else None,
                    "case_id": cp.case_id
                    if cp.case_id is not None
                    else (cp.new_case.case_id if cp.new_case else None),
                    "payment_id": cp.payment_id,
                }
                for cp in chunk
            ],
        )
        _sleep_hook(len(rc_ids))
    unmatched = []
    for cp, rc_id in zip(plan.claims, rc_ids, strict=True):
        if cp.outcome != "unmatched":
            continue
        rem = cp.tx.remittance
        first, last = patient_names(cp.claim)
        data = cp.data or {}
        corrected = corrected_names(cp.claim)
        if corrected is not None:
            data = dict(data, corrected_patient=corrected)
        # What the payee was looked up by, for the fix in place (no PHI).
        data = dict(data, payee_npis=payee_npis(rem, cp.claim), payee_tin=payee_tin(rem))
        unmatched.append(
            {
                "tenant_id": tenant_id,
                "remittance_id": remittance.id,
                "remittance_claim_id": rc_id,
                "status": "open",
                "reason": (cp.reason or "no case")[:300],
                "payer_name": rem.payer.name[:200] if rem.payer else None,
                "payer_identifier": cp.tx.key[0] or None,
                "payee_npi": rem.payee.npi if rem.payee else None,
                "patient_first_name": first or None,
                "patient_last_name": last or None,
                "member_id": (cp.claim.member_id or None) and cp.claim.member_id[:60],
                "patient_control_number": cp.claim.patient_control_number[:60],
                "payer_claim_number": cp.claim.payer_claim_number or None,
                "status_code": cp.claim.status_code[:4],
                "charge": cp.claim.charge,
                "paid": cp.amount,
                "co45_amount": cp.co45,
                "paid_on": cp.tx.paid_on,
                "trace_number": cp.tx.key[1] or None,
                "service_from": date.fromisoformat(data["service_from"])
                if data.get("service_from")
                else None,
                "service_to": date.fromisoformat(data["service_to"])
                if data.get("service_to")
                else None,
                "data": data,
                "case_id": None,
                "resolved_at": None,
                "resolved_by_id": None,
                "created_at": w.now,
                "updated_at": w.now,
            }
        )
    insert_rows(UnmatchedClaim, unmatched)

    w.audit(
        "remittance.imported",
        "remittance",
        remittance.id,
        {
            "sha256": plan.sha256,
            "source": source,
            "transactions": len(plan.transactions),
            "skipped_transactions": plan.skipped_transactions,
            "claims": plan.file_claims,
            "matched": plan.matched,
            "created": plan.created,
            "unmatched": plan.unmatched,
            "total_paid": _money(plan.total_paid),
        },
    )
    w.flush()
    return remittance


def _benchmark_new_cases(plan: Plan, tenant_id: int) -> None:
    """Cases opened from the file are benchmarked like any other (set-based, one run)."""
    from advocate.rates.benchmark import benchmark_firm  # rates build on cases
    from tenants import current_tenant_id, tenant_scope

    case_ids = sorted(nc.case_id for nc in plan.new_cases if nc.case_id is not None)
    if not case_ids:
        return
    if current_tenant_id() == tenant_id:
        benchmark_firm(tenant_id, case_ids)
    else:
        with tenant_scope(tenant_id):
            benchmark_firm(tenant_id, case_ids)


def _accrue_fees(plan: Plan, tenant_id: int, actor_id: int | None) -> None:
    """The fee each posted payment earned, on the billing ledger (set-based)."""
    from advocate.billing.ledger import accrue_cases

    case_ids = {cp.case_id for cp in plan.claims if cp.outcome == "matched"}
    case_ids.update(a.case_id for a in plan.recoupments)
    case_ids.update(nc.case_id for nc in plan.new_cases)
    accrue_cases(tenant_id, case_ids, actor_id=actor_id)


def _post_matched(plan: Plan, w: Writer) -> None:
    """Payments on existing cases, their totals recomputed from the ledger, NSA flags."""
    matched: list = [cp for cp in plan.claims if cp.outcome == "matched" and cp.case_id is not None]
    matched += plan.recoupments  # a WO recouping an earlier overpayment on a case
    if not matched:
        return
    case_ids = sorted({cp.case_id for cp in matched})
    state: dict[int, dict] = {}
    for chunk in chunks(case_ids, IN_CHUNK):
        # Row locks (PostgreSQL): a payment entered meanwhile cannot be lost from the totals.
        for row in db.session.execute(
            select(
                Case.id,
                Case.billed_total,
                Case.expected_payment,
                Case.agreed_amount,
                Case.patient_resp_total,
                Case.nsa_flagged,
                Case.initial_payment_received_on,
            )
            .where(in_values(Case.id, chunk))
            .with_for_update()
        ):
            state[row.id] = {
                "billed": row.billed_total,
                "expected": row.expected_payment,
                "agreed": row.agreed_amount,
                "resp": row.patient_resp_total,
                "nsa": row.nsa_flagged,
                "received_on": row.initial_payment_received_on,
                "received_was": row.initial_payment_received_on,
                "total": ZERO,
                "initial": ZERO,
                "has_initial": False,
                "flag": False,
                "changed": False,
            }
        for case_id, total, initial, n_initial in db.session.execute(
            select(
                Payment.case_id,
                func.sum(Payment.amount),
                func.sum(sql_case((Payment.is_initial, Payment.amount), else_=0)),
                func.count(sql_case((Payment.is_initial, 1))),
            )
            .where(in_values(Payment.case_id, chunk))
            .group_by(Payment.case_id)
        ):
            s = state[case_id]
            s["total"] = Decimal(total or 0).quantize(CENT)
            s["initial"] = Decimal(initial or 0).quantize(CENT)
            s["has_initial"] = bool(n_initial)

    posted: list[tuple[int, PaymentDraft]] = []
    for cp in matched:
        s = state[cp.case_id]
        if cp.nsa and not s["nsa"]:
            s["nsa"] = s["flag"] = True
        p = cp.payment
        if p is None or p.amount == 0:
            continue
        # add_payment's rule: the first positive payment is the initial payment,
        # unless the payer's first answer was already recorded without one (a
        # claim denied at intake): then the baseline is zero and this is recovery.
        p.is_initial = not s["has_initial"] and p.amount > 0 and s["received_was"] is None
        if p.is_initial:
            s["has_initial"] = True
            s["initial"] += p.amount
            if s["received_on"] is None:
                s["received_on"] = p.paid_on
        s["total"] += p.amount
        s["changed"] = True
        posted.append((cp.case_id, p))
    insert_payments(w, posted)

    updates = []
    for case_id, s in state.items():
        if not (s["changed"] or s["flag"]):
            continue
        updates.append(
            {
                "id": case_id,
                "total_paid": s["total"],
                "initial_paid": s["initial"],
                "amount_at_stake": amount_at_stake(
                    s["billed"], s["expected"], s["total"], s["resp"], s["agreed"]
                ),
                "initial_payment_received_on": s["received_on"],
                "nsa_flagged": s["nsa"],
                "updated_at": w.now,
            }
        )
        if s["flag"]:
            w.event(case_id, "note", NSA_NOTE, {"remittance_id": w.remittance_id})
            w.audit("case.nsa_flagged", "case", case_id, {"remittance_id": w.remittance_id})
    update_by_id(Case, w.tenant_id, updates)
    _refresh_deadlines(
        [cid for cid, s in state.items() if s["received_was"] is None and s["received_on"]]
    )


def _refresh_deadlines(case_ids: list[int]) -> None:
    """The NSA count starts from the initial payment: recompute the deadlines
    of the cases that just received one, set-based, a chunk at a time."""
    from advocate.deadlines.case_services import recompute_many  # deadlines build on cases

    for chunk in chunks(case_ids, DEADLINE_CHUNK):
        cases = list(
            db.session.scalars(
                select(Case)
                .where(in_values(Case.id, chunk))
                .execution_options(populate_existing=True)  # the bulk UPDATE above
            )
        )
        recompute_many(cases)
