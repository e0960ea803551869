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
    IDENTIFIER_KINDS,
    HeaderAlias,
    IdentifierAlias,
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


# -- the fix in place: an identifier for a payer or practice, then re-post -----------


def fixes_for(item: UnmatchedClaim) -> list[tuple[str, str]]:
    """The fixes the item's reason calls for: (kind, identifier) pairs, e.g.
    ("payer_id", "87726"), ("npi", "1982743651"), ("tin", "987654321")."""
    if not item.is_open or item.is_reversal:
        return []
    data = item.data or {}
    if item.reason.startswith("unknown payer"):
        return [("payer_id", item.payer_identifier)] if item.payer_identifier else []
    if item.reason.startswith("unknown practice"):
        out = [("npi", npi) for npi in data.get("payee_npis") or []]
        if data.get("payee_tin"):
            out.append(("tin", data["payee_tin"]))
        return out
    return []


def add_identifier(
    item: UnmatchedClaim, *, kind: str, target_id, actor_id: int | None
) -> IdentifierAlias:
    """Record that the identifier the item's claim was looked up by means one of the
    firm's payers (kind payer_id) or practices (npi, tin).  The identifier comes
    from the item, never from the request; the target is checked against the
    firm's own rows.  Raises ImportsError, writing nothing."""
    if kind not in IDENTIFIER_KINDS:
        raise ImportsError([("kind", "Choose what to add: a payer ID, an NPI or a TIN.")])
    value = dict(fixes_for(item)).get(kind)
    if not value:
        raise ImportsError([("kind", "This claim names no such identifier to add.")])
    try:
        target_key = int(target_id)
    except (TypeError, ValueError):
        target_key = None
    model = Payer if kind == "payer_id" else Practice
    target = db.session.get(model, target_key) if target_key is not None else None
    if target is None:
        noun = "payer" if kind == "payer_id" else "practice"
        raise ImportsError([("target_id", f"Choose the {noun} it belongs to.")])
    alias = db.session.scalar(
        select(IdentifierAlias).where(IdentifierAlias.kind == kind, IdentifierAlias.value == value)
    )
    if alias is None:
        alias = IdentifierAlias(kind=kind, value=value, created_by_id=actor_id)
        db.session.add(alias)
    alias.payer_id = target.id if kind == "payer_id" else None
    alias.practice_id = target.id if kind != "payer_id" else None
    db.session.flush()
    audit(
        "identifier_alias.saved",
        alias,
        user_id=actor_id,
        details={"kind": kind, "target_id": target.id, "unmatched_claim_id": item.id},
    )
    return alias


def repost_unmatched(
    remittance_id: int, *, tenant_id: int, actor_id: int | None, today: date | None = None
) -> tuple[int, int]:
    """Try again the remittance's open claims that lacked a payer or practice: each
    one whose payer and practice are now known opens its case (with its payment),
    the others keep a fresh reason.  Idempotent: a claim leaves the open list when
    its case is opened, so nothing is posted twice.  Returns (opened, still open)."""
    from advocate.imports import posting

    items = list(
        db.session.scalars(
            select(UnmatchedClaim)
            .where(
                UnmatchedClaim.remittance_id == remittance_id,
                UnmatchedClaim.status == "open",
            )
            .order_by(UnmatchedClaim.id)
            .with_for_update(of=UnmatchedClaim)  # two re-posts at once: one waits
        )
    )
    candidates = [
        i
        for i in items
        if not i.is_reversal and i.reason.startswith(("unknown payer", "unknown practice"))
    ]
    if not candidates:
        return 0, len(items)
    npis = {n for i in candidates for n in (i.data or {}).get("payee_npis") or []}
    tins = {t for i in candidates if (t := (i.data or {}).get("payee_tin"))}
    directory = posting._Directory(npis, tins)
    opened = 0
    for item in candidates:
        data = item.data or {}
        payer = None
        if item.payer_identifier:
            payer = directory.payer_by_id.get(item.payer_identifier.strip().upper())
        if payer is None and item.payer_name:
            payer = directory.payer_by_name.get(name_key(item.payer_name))
        practice = next(
            (
                directory.practice_by_npi[n]
                for n in data.get("payee_npis") or []
                if n in directory.practice_by_npi
            ),
            None,
        ) or directory.practice_by_tin.get(data.get("payee_tin") or "")
        if payer is None:
            item.reason = (
                f"unknown payer: no payer named '{item.payer_name or ''}' or with payer ID "
                f"'{item.payer_identifier or '-'}'"
            )[:300]
            continue
        if practice is None:
            continue  # the reason already names what was tried
        try:
            with db.session.begin_nested():
                create_case_from_unmatched(
                    item,
                    tenant_id=tenant_id,
                    actor_id=actor_id,
                    practice_id=practice.id,
                    payer_id=payer.id,
                    plan_type=data.get("plan_type") or "other",
                    today=today,
                )
        except (case_services.CaseValidationError, ImportsError) as err:
            problems = "; ".join(f"{f} {m}" for f, m in err.errors)
            item.reason = f"cannot open a case: {problems}"[:300]
            continue
        opened += 1
        db.session.execute(
            update(RemittanceClaim)
            .where(RemittanceClaim.id == item.remittance_claim_id)
            .values(outcome="created", reason=None)
        )
    db.session.flush()
    audit(
        "remittance.reposted",
        object_type="remittance",
        object_id=remittance_id,
        user_id=actor_id,
        details={"opened": opened, "still_open": len(items) - opened},
    )
    return opened, len(items) - opened


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
