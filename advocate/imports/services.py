"""Import settings, the unmatched-claims review list and the saved header
mapping. Explicit tenant and actor; flush, never commit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select, update

from advocate.audit.services import audit
from advocate.cases import services as case_services
from advocate.cases.models import Case
from advocate.csvimport import normalise_header
from advocate.db import utcnow
from advocate.extensions import db
from advocate.imports.models import (
    DEFAULT_CO45_THRESHOLD,
    HeaderAlias,
    ImportSettings,
    RemittanceClaim,
    UnmatchedClaim,
)
from advocate.payers.models import Payer
from advocate.payers.validation import name_key
from advocate.practices.models import Practice

MAX_THRESHOLD = Decimal("1000000.00")


class ImportsError(ValueError):
    """A refused change: [(field, message)]."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


# -- settings -----------------------------------------------------------------


def settings() -> ImportSettings | None:
    return db.session.scalar(select(ImportSettings))


def co45_threshold() -> Decimal:
    s = settings()
    return s.co45_threshold if s is not None else DEFAULT_CO45_THRESHOLD


def parse_threshold(value) -> Decimal:
    try:
        d = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except (InvalidOperation, ValueError):
        raise ImportsError([("co45_threshold", f"'{value}' is not an amount")]) from None
    if not d.is_finite() or d < 0:
        raise ImportsError([("co45_threshold", "must be zero or more")])
    if d != d.quantize(Decimal("0.01")):
        raise ImportsError([("co45_threshold", "has more than two decimal places")])
    if d > MAX_THRESHOLD:
        raise ImportsError([("co45_threshold", "is too large")])
    return d.quantize(Decimal("0.01"))


def update_settings(*, tenant_id: int, actor_id: int | None, co45_threshold) -> ImportSettings:
    value = parse_threshold(co45_threshold)
    s = settings()
    old = s.co45_threshold if s is not None else DEFAULT_CO45_THRESHOLD
    if s is None:
        s = ImportSettings(tenant_id=tenant_id, co45_threshold=value, updated_by_id=actor_id)
        db.session.add(s)
    else:
        s.co45_threshold = value
        s.updated_by_id = actor_id
    db.session.flush()
    audit(
        "import_settings.updated",
        s,
        user_id=actor_id,
        details={"co45_threshold": {"from": str(old), "to": str(value)}},
    )
    return s


# -- the review list -------------------------------------------------------------


def default_practice_id(item: UnmatchedClaim) -> int | None:
    if not item.payee_npi:
        return None
    return db.session.scalar(select(Practice.id).where(Practice.npi == item.payee_npi))


def default_payer_id(item: UnmatchedClaim) -> int | None:
    if item.payer_identifier:
        found = db.session.scalar(
            select(Payer.id).where(Payer.edi_payer_id == item.payer_identifier).order_by(Payer.id)
        )
        if found:
            return found
    if item.payer_name:
        return db.session.scalar(
            select(Payer.id).where(Payer.name_key == name_key(item.payer_name))
        )
    return None


def _check_open(item: UnmatchedClaim) -> None:
    if not item.is_open:
        label = "a case was opened from it" if item.status == "case_created" else "it was dismissed"
        raise ImportsError([("status", f"This claim was already reviewed: {label}.")])


def create_case_from_unmatched(
    item: UnmatchedClaim,
    *,
    tenant_id: int,
    actor_id: int | None,
    practice_id,
    payer_id,
    plan_type: str,
    today: date | None = None,
) -> Case:
    """Open a case from a claim on the review list and post its payment.

    Raises ImportsError (already reviewed, a reversal) or
    cases.services.CaseValidationError (what the case lacks), writing nothing.
    """
    _check_open(item)
    if item.is_reversal:
        raise ImportsError(
            [
                (
                    "status_code",
                    "A reversal cannot open a case: dismiss it, or post it on the case by hand.",
                )
            ]
        )
    data = dict(
        item.data or {},
        practice_id=practice_id,
        payer_id=payer_id,
        plan_type=plan_type,
        patient_first_name=item.patient_first_name or "",
        patient_last_name=item.patient_last_name or "",
    )
    _, lines = case_services.validate_case_input(data, today=today)  # every problem at once
    # create_case posts the lines' payments as an initial payment; the claim's
    # own payment (CLP04, with the remittance's reference) is posted instead.
    unpaid = dict(data, lines=[dict(ln, paid="0.00") for ln in data.get("lines") or []])
    case = case_services.create_case(
        tenant_id=tenant_id, actor_id=actor_id, data=unpaid, today=today
    )
    for obj, ln in zip(case.lines, lines, strict=True):
        obj.paid = ln["paid"]
    remarks = set((item.data or {}).get("claim_remark_codes") or [])
    if case_services.NSA_REMARKS & remarks:
        case.nsa_flagged = True
    payment = None
    if item.paid > 0:
        payment = case_services.add_payment(
            case,
            amount=item.paid,
            paid_on=item.paid_on or case.service_to,
            source="remittance",
            reference=item.trace_number,
            actor_id=actor_id,
            remittance_id=item.remittance_id,
            note="835 claim, opened from the unmatched list",
        )
    else:
        case_services.recompute_totals(case)
    item.status = "case_created"
    item.case_id = case.id
    item.resolved_at = utcnow()
    item.resolved_by_id = actor_id
    db.session.execute(
        update(RemittanceClaim)
        .where(RemittanceClaim.id == item.remittance_claim_id)
        .values(case_id=case.id, payment_id=payment.id if payment else None)
    )
    db.session.flush()
    audit("unmatched_claim.case_created", item, user_id=actor_id, details={"case_id": case.id})
    return case


def dismiss_unmatched(item: UnmatchedClaim, *, actor_id: int | None) -> None:
    _check_open(item)
    item.status = "dismissed"
    item.resolved_at = utcnow()
    item.resolved_by_id = actor_id
    db.session.flush()
    audit("unmatched_claim.dismissed", item, user_id=actor_id)


# -- the saved header mapping -----------------------------------------------------


def header_aliases(kind: str) -> dict[str, str]:
    """The firm's saved mapping: normalised header -> column key."""
    rows = db.session.execute(
        select(HeaderAlias.header_key, HeaderAlias.column).where(HeaderAlias.kind == kind)
    )
    return {key: column for key, column in rows}


def save_header_aliases(
    kind: str, mapping: dict[str, str], *, allowed: set[str], actor_id: int | None
) -> int:
    """Add or change aliases (header as written -> column key); '' removes one. Returns changes."""
    errors = []
    for header, column in mapping.items():
        if not normalise_header(header):
            errors.append(("header", "A header name is empty."))
        elif len(header) > 200:
            errors.append(("header", f"'{header[:40]}…' is longer than 200 characters."))
        if column and column not in allowed:
            errors.append((header, f"'{column}' is not a column of this import."))
    if errors:
        raise ImportsError(errors)
    existing = {
        a.header_key: a
        for a in db.session.scalars(select(HeaderAlias).where(HeaderAlias.kind == kind))
    }
    changed = 0
    for header, column in mapping.items():
        key = normalise_header(header)
        alias = existing.get(key)
        if not column:
            if alias is not None:
                db.session.delete(alias)
                existing.pop(key)
                changed += 1
            continue
        if alias is None:
            alias = HeaderAlias(
                kind=kind,
                header=header.strip(),
                header_key=key,
                column=column,
                created_by_id=actor_id,
            )
            db.session.add(alias)
            existing[key] = alias
            changed += 1
        elif alias.column != column:
            alias.column = column
            changed += 1
    db.session.flush()
    if changed:
        audit(
            "header_mapping.updated",
            object_type="header_mapping",
            object_id=kind,
            user_id=actor_id,
            details={"kind": kind, "changes": changed},
        )
    return changed


def delete_header_alias(alias: HeaderAlias, *, actor_id: int | None) -> None:
    audit(
        "header_mapping.updated",
        object_type="header_mapping",
        object_id=alias.kind,
        user_id=actor_id,
        details={"kind": alias.kind, "removed": alias.header},
    )
    db.session.delete(alias)
    db.session.flush()
