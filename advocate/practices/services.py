"""Practices, their fee agreements and authorizations: the rules.

Services take explicit ``tenant_id``/``actor`` arguments, flush and never
commit. Validation collects every problem as ``(field, message)`` pairs and
raises ``ValidationFailed`` before anything is written, so forms and the API
show field-level errors and nothing partial is saved.

Other features call:

* ``agreement_on(practice_id, on_date) -> FeeAgreement | None``
* ``fee_terms_resolver(practice_id) -> Callable[[date], FeeTerms]``
* ``has_valid_authorization(practice_id, on_date, payer_id=None) -> bool``
* ``authorization_status(practice_id, on_date) -> "valid" | "expired" | "missing"``
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, or_, select

from advocate.audit.services import audit
from advocate.billing.fees import (
    IDR_FEE_BEARERS,
    FeeTerms,
    agreement_resolver,
    validate_terms,
)
from advocate.db import utcnow
from advocate.extensions import db
from advocate.ownership import ForeignIdError, require_own, require_own_ids
from advocate.practices.models import (
    AUTHORIZATION_SCOPES,
    BILLING_CADENCES,
    PRACTICE_STATUSES,
    FeeAgreement,
    Practice,
    PracticeAuthorization,
    PracticeContact,
)
from advocate.practices.validators import (
    normalize_specialty,
    normalize_tin,
    npi_error,
    pos_error,
    specialty_error,
    state_error,
    tin_error,
    zip_error,
)
from tenants.models import PRACTICE_ROLES, Membership, Tenant

Errors = list[tuple[str, str]]


class ValidationFailed(ValueError):
    """Input refused; ``errors`` lists ``(field, message)`` pairs, all at once."""

    def __init__(self, errors: Errors):
        self.errors = list(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors))


def tenant_today(tenant: Tenant | None) -> date:
    """Today in the firm's time zone: an authorization that expires "today"
    is still valid until the firm's own midnight."""
    tz = UTC
    if tenant is not None and tenant.timezone:
        try:
            tz = ZoneInfo(tenant.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            tz = UTC
    return datetime.now(tz).date()


# --------------------------------------------------------------------------- practices

PRACTICE_FIELDS = (
    "name",
    "npi",
    "tin",
    "specialty",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip",
    "default_pos",
    "phone",
    "fax",
    "status",
    "notes",
)
_REQUIRED_TEXT = {
    "name": ("Enter the practice's legal name.", 200),
    "address_line1": ("Enter the street address.", 200),
    "city": ("Enter the city.", 100),
}
_OPTIONAL_TEXT = {"address_line2": 200, "phone": 40, "fax": 40, "notes": 5000}
_PHONE_RE = re.compile(r"[0-9()+.\- ]{7,40}(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?", re.IGNORECASE)


def _text(data: Mapping[str, object], key: str, errors: Errors) -> str | None:
    """The stripped text of ``data[key]``; None when absent or blank."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append((key, "Must be text."))
        return None
    value = value.strip()
    return value or None


def clean_practice(
    data: Mapping[str, object], *, tenant_id: int, existing: Practice | None = None
) -> tuple[dict, Errors]:
    """Validate a practice's fields (from a form or JSON).

    Returns the cleaned values and every problem found. With ``existing``
    (an edit), a blank TIN keeps the stored one: the TIN is never shown in
    full, so the form cannot prefill it.
    """
    errors: Errors = []
    clean: dict = {}
    for key, (missing, limit) in _REQUIRED_TEXT.items():
        value = _text(data, key, errors)
        if value is None:
            if not any(f == key for f, _ in errors):
                errors.append((key, missing))
        elif len(value) > limit:
            errors.append((key, f"At most {limit} characters."))
        else:
            clean[key] = value
    for key, limit in _OPTIONAL_TEXT.items():
        value = _text(data, key, errors)
        if value is not None and len(value) > limit:
            errors.append((key, f"At most {limit} characters."))
        else:
            clean[key] = value
    for key in ("phone", "fax"):
        if clean.get(key) and not _PHONE_RE.fullmatch(clean[key]):
            errors.append((key, "Enter a phone number, e.g. (212) 555-0100."))

    def field(key, error_of, *, prepare=None, store=None) -> None:
        """One text field: read, prepare (defaults, case), check, store."""
        value = _text(data, key, errors)
        if any(f == key for f, _ in errors):
            return
        if prepare is not None:
            value = prepare(value)
        message = error_of(value)
        if message:
            errors.append((key, message))
        else:
            clean[key] = store(value) if store is not None else value

    def default(value, stored: str, new: str):
        if value is not None:
            return value
        return getattr(existing, stored) if existing is not None else new

    def status_error(value):
        return None if value in PRACTICE_STATUSES else "Status is active, paused or offboarded."

    field("npi", npi_error)
    tin = _text(data, "tin", errors)
    if not any(f == "tin" for f, _ in errors) and not (tin is None and existing is not None):
        # No TIN typed on an edit: the stored one is kept.
        message = tin_error(tin)
        if message:
            errors.append(("tin", message))
        else:
            clean["tin"] = normalize_tin(tin)
    field("specialty", specialty_error, store=normalize_specialty)
    field("state", state_error, prepare=lambda v: v.upper() if v else v)
    field("zip", zip_error)
    field("default_pos", pos_error, prepare=lambda v: default(v, "default_pos", "11"))
    field("status", status_error, prepare=lambda v: default(v, "status", "active"))

    if "npi" in clean:
        q = select(Practice.id, Practice.name).where(
            Practice.tenant_id == tenant_id, Practice.npi == clean["npi"]
        )
        if existing is not None:
            q = q.where(Practice.id != existing.id)
        other = db.session.execute(q).first()
        if other is not None:
            errors.append(
                ("npi", f"Another practice of the firm already has this NPI ({other.name}).")
            )
    return clean, errors


def create_practice(*, tenant_id: int, actor, data: Mapping[str, object]) -> Practice:
    """Add a client practice; raises ``ValidationFailed`` with every problem."""
    clean, errors = clean_practice(data, tenant_id=tenant_id)
    if errors:
        raise ValidationFailed(errors)
    practice = Practice(tenant_id=tenant_id, **clean)
    db.session.add(practice)
    db.session.flush()
    audit(
        "practice.created",
        practice,
        details={"status": practice.status},
        user_id=getattr(actor, "id", None),
    )
    return practice


def update_practice(practice: Practice, *, actor, data: Mapping[str, object]) -> list[str]:
    """Change a practice's details; returns the names of the fields changed."""
    clean, errors = clean_practice(data, tenant_id=practice.tenant_id, existing=practice)
    if errors:
        raise ValidationFailed(errors)
    changed = sorted(k for k, v in clean.items() if getattr(practice, k) != v)
    if not changed:
        return []
    details: dict = {"fields": changed}
    if "status" in changed:
        details["status"] = {"from": practice.status, "to": clean["status"]}
    for key in changed:
        setattr(practice, key, clean[key])
    db.session.flush()
    audit("practice.updated", practice, details=details, user_id=getattr(actor, "id", None))
    return changed


def list_query(
    *,
    tenant_id: int,
    q: str | None = None,
    status: str | None = None,
    specialty: str | None = None,
    state: str | None = None,
    sort: str = "name",
    direction: str = "asc",
):
    """The practice list's SELECT.

    The tenant filter is explicit although the ORM adds it too: the ORM's
    criteria do not reach the COUNT(*) over a subquery that pagination runs.
    """
    stmt = select(Practice).where(Practice.tenant_id == tenant_id)
    if q:
        term = q.strip()
        digits = re.sub(r"[^0-9]", "", term)
        like = f"%{term.lower()}%"
        conditions = [func.lower(Practice.name).like(like), func.lower(Practice.city).like(like)]
        if digits and len(digits) >= 3:
            conditions.append(Practice.npi.like(f"%{digits}%"))
        stmt = stmt.where(or_(*conditions))
    if status in PRACTICE_STATUSES:
        stmt = stmt.where(Practice.status == status)
    if specialty:
        stmt = stmt.where(Practice.specialty == specialty)
    if state:
        stmt = stmt.where(Practice.state == state)
    columns = {
        "name": Practice.name,
        "npi": Practice.npi,
        "city": Practice.city,
        "status": Practice.status,
        "created": Practice.created_at,
        "specialty": Practice.specialty,
    }
    column = columns.get(sort, Practice.name)
    order = column.desc() if direction == "desc" else column.asc()
    return stmt.order_by(order, Practice.id)


# --------------------------------------------------------------------------- contacts

_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def add_contact(practice: Practice, *, actor, data: Mapping[str, object]) -> PracticeContact:
    errors: Errors = []
    name = _text(data, "name", errors)
    title = _text(data, "title", errors)
    email = _text(data, "email", errors)
    phone = _text(data, "phone", errors)
    if name is None and not any(f == "name" for f, _ in errors):
        errors.append(("name", "Enter the contact's name."))
    for key, value, limit in (
        ("name", name, 200),
        ("title", title, 100),
        ("email", email, 254),
        ("phone", phone, 40),
    ):
        if value is not None and len(value) > limit:
            errors.append((key, f"At most {limit} characters."))
    if email and not _EMAIL_RE.fullmatch(email):
        errors.append(("email", "Enter an email address, e.g. billing@practice.com."))
    if phone and not _PHONE_RE.fullmatch(phone):
        errors.append(("phone", "Enter a phone number, e.g. (212) 555-0100."))
    if errors:
        raise ValidationFailed(errors)
    is_primary = bool(data.get("is_primary"))
    if is_primary:
        for other in practice.contacts:
            other.is_primary = False
    contact = PracticeContact(
        tenant_id=practice.tenant_id,
        practice=practice,
        name=name,
        title=title,
        email=email.lower() if email else None,
        phone=phone,
        is_primary=is_primary,
    )
    db.session.add(contact)
    db.session.flush()
    audit(
        "practice.contact_added",
        practice,
        details={"contact_id": contact.id},
        user_id=getattr(actor, "id", None),
    )
    return contact


def remove_contact(contact: PracticeContact, *, actor) -> None:
    practice = contact.practice
    db.session.delete(contact)
    db.session.flush()
    audit(
        "practice.contact_removed",
        practice,
        details={"contact_id": contact.id},
        user_id=getattr(actor, "id", None),
    )


# --------------------------------------------------------------------------- fee agreements


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def add_fee_agreement(
    practice: Practice,
    *,
    actor,
    effective_date: date,
    percent: Decimal,
    basis: str,
    minimum: Decimal | None = None,
    cap: Decimal | None = None,
    idr_fee_bearer: str = "firm",
    billing_cadence: str = "per_settlement",
    notes: str | None = None,
) -> FeeAgreement:
    """Add a version of the practice's fee agreement, in force from
    ``effective_date`` until the next version's. Two versions may not take
    effect on the same date (which one applies would be a guess)."""
    errors: Errors = []
    if not _is_date(effective_date):
        errors.append(("effective_date", "Enter the date this agreement takes effect."))
    errors.extend(validate_terms(percent, basis, minimum, cap))
    if idr_fee_bearer not in IDR_FEE_BEARERS:
        errors.append(
            ("idr_fee_bearer", "Choose who bears IDR fees: the firm, the practice, or split.")
        )
    if billing_cadence not in BILLING_CADENCES:
        errors.append(("billing_cadence", "Choose per settlement or monthly statement."))
    if notes is not None and len(notes) > 5000:
        errors.append(("notes", "At most 5000 characters."))
    if _is_date(effective_date):
        clash = db.session.scalar(
            select(FeeAgreement.id).where(
                FeeAgreement.practice_id == practice.id,
                FeeAgreement.effective_date == effective_date,
            )
        )
        if clash is not None:
            errors.append(
                (
                    "effective_date",
                    f"A version of this practice's fee agreement already takes effect on "
                    f"{effective_date.isoformat()}. Versions are kept, not overwritten: choose another date.",
                )
            )
    if errors:
        raise ValidationFailed(errors)
    agreement = FeeAgreement(
        tenant_id=practice.tenant_id,
        practice_id=practice.id,
        effective_date=effective_date,
        percent=percent,
        basis=basis,
        minimum=minimum,
        cap=cap,
        idr_fee_bearer=idr_fee_bearer,
        billing_cadence=billing_cadence,
        notes=(notes or "").strip() or None,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(agreement)
    db.session.flush()
    audit(
        "practice.agreement_added",
        practice,
        details={
            "agreement_id": agreement.id,
            "effective_date": effective_date.isoformat(),
            "percent": f"{percent:.2f}",
            "basis": basis,
        },
        user_id=getattr(actor, "id", None),
    )
    return agreement


def delete_scheduled_agreement(agreement: FeeAgreement, *, actor, today: date) -> None:
    """Withdraw a version that has not taken effect yet (a typo caught in
    time). Versions that are or were in force are kept."""
    if agreement.effective_date <= today:
        raise ValidationFailed(
            [
                (
                    "effective_date",
                    "This version is or was in force and is kept for the record; add a new version instead.",
                )
            ]
        )
    practice = agreement.practice
    db.session.delete(agreement)
    db.session.flush()
    audit(
        "practice.agreement_withdrawn",
        practice,
        details={
            "agreement_id": agreement.id,
            "effective_date": agreement.effective_date.isoformat(),
        },
        user_id=getattr(actor, "id", None),
    )


def agreement_on(practice_id: int, on_date: date) -> FeeAgreement | None:
    """The version of the practice's fee agreement in force on ``on_date``
    (the latest effective on or before it), or None."""
    return db.session.scalar(
        select(FeeAgreement)
        .where(FeeAgreement.practice_id == practice_id, FeeAgreement.effective_date <= on_date)
        .order_by(FeeAgreement.effective_date.desc())
        .limit(1)
    )


def fee_terms_resolver(practice_id: int) -> Callable[[date], FeeTerms]:
    """A callable ``date -> FeeTerms`` over the practice's agreement versions,
    read once now (one query). It raises ``LookupError`` for a date before the
    first version: charging a fee with no agreement is an error to surface."""
    rows = db.session.execute(
        select(
            FeeAgreement.effective_date,
            FeeAgreement.percent,
            FeeAgreement.basis,
            FeeAgreement.minimum,
            FeeAgreement.cap,
        ).where(FeeAgreement.practice_id == practice_id)
    ).all()
    return agreement_resolver(
        (
            r.effective_date,
            FeeTerms(
                percent=Decimal(r.percent),
                basis=r.basis,
                minimum=None if r.minimum is None else Decimal(r.minimum),
                cap=None if r.cap is None else Decimal(r.cap),
            ),
        )
        for r in rows
    )


def current_agreements(practice_ids: Iterable[int], on_date: date) -> dict[int, FeeAgreement]:
    """The agreement in force on ``on_date`` per practice, in one query (for lists)."""
    ids = list(practice_ids)
    if not ids:
        return {}
    found: dict[int, FeeAgreement] = {}
    rows = db.session.scalars(
        select(FeeAgreement)
        .where(FeeAgreement.practice_id.in_(ids), FeeAgreement.effective_date <= on_date)
        .order_by(FeeAgreement.practice_id, FeeAgreement.effective_date)
    )
    for agreement in rows:
        found[agreement.practice_id] = agreement  # the latest wins
    return found


# --------------------------------------------------------------------------- authorizations


def parse_payer_ids(raw: object) -> tuple[list[int], str | None]:
    """Payer ids from a form ("3, 7 12") or JSON ([3, 7]); ints only."""
    if raw is None or raw == "" or raw == []:
        return [], None
    if isinstance(raw, str):
        parts = [p for p in re.split(r"[\s,;]+", raw.strip()) if p]
        if not all(re.fullmatch(r"[0-9]{1,18}", p) for p in parts):
            return [], "Payer ids are whole numbers separated by commas, e.g. 3, 17."
        values = [int(p) for p in parts]
    elif isinstance(raw, list | tuple):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
            return [], "Payer ids must be whole numbers."
        values = list(raw)
    else:
        return [], "Payer ids must be a list of whole numbers."
    if any(v <= 0 for v in values):
        return [], "Payer ids are positive whole numbers."
    return sorted(set(values)), None


def parse_payer_names(raw: object) -> tuple[list[str], str | None]:
    if raw is None or raw == "":
        return [], None
    if isinstance(raw, str):
        names = [line.strip() for line in raw.splitlines()]
    elif isinstance(raw, list | tuple) and all(isinstance(v, str) for v in raw):
        names = [v.strip() for v in raw]
    else:
        return [], "Payer names must be text, one per line."
    names = [n for n in names if n]
    if any(len(n) > 200 for n in names):
        return [], "A payer name has at most 200 characters."
    if len(names) > 200:
        return [], "List at most 200 payers."
    return list(dict.fromkeys(names)), None


def add_authorization(
    practice: Practice,
    *,
    actor,
    signed_on: date,
    today: date,
    expires_on: date | None = None,
    scope: str = "all",
    payer_ids: object = None,
    payer_names: object = None,
    document_id: int | None = None,
    notes: str | None = None,
) -> PracticeAuthorization:
    """Record a signed authorization (LOA). ``scope`` "all" covers every
    payer; "listed" covers the payer ids (ints) and names given."""
    errors: Errors = []
    if not _is_date(signed_on):
        errors.append(("signed_on", "Enter the date the authorization was signed."))
    elif signed_on > today:
        errors.append(("signed_on", "The signed date cannot be in the future."))
    if expires_on is not None:
        if not _is_date(expires_on):
            errors.append(("expires_on", "Enter the expiry as a date, or leave it empty."))
        elif _is_date(signed_on) and expires_on < signed_on:
            errors.append(("expires_on", "The expiry date must be on or after the signed date."))
    if scope not in AUTHORIZATION_SCOPES:
        errors.append(("scope", "Scope is all payers or listed payers."))
    ids, id_error = parse_payer_ids(payer_ids)
    if id_error:
        errors.append(("payer_ids", id_error))
    elif ids:
        # Each listed payer must be one of the firm's own (advocate.ownership).
        from advocate.payers.models import Payer

        try:
            require_own_ids(Payer, ids, field="payer_ids", label="payer")
        except ForeignIdError as err:
            errors.extend(err.errors)
    names, name_error = parse_payer_names(payer_names)
    if name_error:
        errors.append(("payer_names", name_error))
    if scope == "listed" and not id_error and not name_error and not ids and not names:
        errors.append(
            ("payer_names", "List the payers this authorization covers, or choose all payers.")
        )
    if document_id is not None and (
        not isinstance(document_id, int) or isinstance(document_id, bool) or document_id <= 0
    ):
        errors.append(("document_id", "The document reference must be a document id."))
    elif document_id is not None:
        from advocate.documents.models import Document

        try:
            require_own(
                Document,
                document_id,
                field="document_id",
                label="document of this practice",
                where=(Document.owner_type == "practice", Document.owner_id == practice.id),
            )
        except ForeignIdError as err:
            errors.extend(err.errors)
    if notes is not None and len(notes) > 5000:
        errors.append(("notes", "At most 5000 characters."))
    if errors:
        raise ValidationFailed(errors)
    listed = scope == "listed"
    auth = PracticeAuthorization(
        tenant_id=practice.tenant_id,
        practice_id=practice.id,
        signed_on=signed_on,
        expires_on=expires_on,
        scope=scope,
        payer_ids=ids if listed else None,
        payer_names=names if listed else None,
        document_id=document_id,
        notes=(notes or "").strip() or None,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(auth)
    db.session.flush()
    audit(
        "practice.authorization_added",
        practice,
        details={
            "authorization_id": auth.id,
            "signed_on": signed_on.isoformat(),
            "expires_on": expires_on.isoformat() if expires_on else None,
            "scope": scope,
        },
        user_id=getattr(actor, "id", None),
    )
    return auth


def revoke_authorization(auth: PracticeAuthorization, *, actor) -> None:
    if auth.revoked_at is not None:
        return
    auth.revoked_at = utcnow()
    db.session.flush()
    audit(
        "practice.authorization_revoked",
        auth.practice,
        details={"authorization_id": auth.id},
        user_id=getattr(actor, "id", None),
    )


def attach_authorization_document(auth: PracticeAuthorization, document, *, actor) -> None:
    """Link the signed letter (a practice document, already uploaded) to the
    authorization; a later upload replaces the link, the older file stays."""
    if document.owner_type != "practice" or document.owner_id != auth.practice_id:
        raise ValueError("the signed authorization must be a document of the same practice")
    previous = auth.document_id
    auth.document_id = document.id
    db.session.flush()
    audit(
        "practice.authorization_document_attached",
        auth.practice,
        details={
            "authorization_id": auth.id,
            "document_id": document.id,
            "replaced_document_id": previous,
        },
        user_id=getattr(actor, "id", None),
    )


def has_valid_authorization(practice_id: int, on_date: date, payer_id: int | None = None) -> bool:
    """True if a signed, unrevoked authorization covers ``on_date`` (signed on
    or before it, expiring on or after it) and, when ``payer_id`` is given,
    that payer (scope all payers, or the id listed)."""
    if payer_id is not None and (not isinstance(payer_id, int) or isinstance(payer_id, bool)):
        raise TypeError("payer_id must be an int")
    rows = db.session.scalars(
        select(PracticeAuthorization).where(
            PracticeAuthorization.practice_id == practice_id,
            PracticeAuthorization.revoked_at.is_(None),
            PracticeAuthorization.signed_on <= on_date,
            or_(
                PracticeAuthorization.expires_on.is_(None),
                PracticeAuthorization.expires_on >= on_date,
            ),
        )
    )
    return any(a.covers(payer_id) for a in rows)


def authorization_statuses(practice_ids: Iterable[int], on_date: date) -> dict[int, str]:
    """Per practice: "valid" (one is in force), "expired" (one was, and
    lapsed), or "missing" (none on file, or only revoked ones). One query."""
    ids = list(practice_ids)
    result = dict.fromkeys(ids, "missing")
    if not ids:
        return result
    rows = db.session.execute(
        select(
            PracticeAuthorization.practice_id,
            PracticeAuthorization.signed_on,
            PracticeAuthorization.expires_on,
            PracticeAuthorization.revoked_at,
        ).where(PracticeAuthorization.practice_id.in_(ids))
    ).all()
    for r in rows:
        if r.revoked_at is not None:
            continue
        if r.signed_on <= on_date and (r.expires_on is None or on_date <= r.expires_on):
            result[r.practice_id] = "valid"
        elif (
            r.expires_on is not None and r.expires_on < on_date and result[r.practice_id] != "valid"
        ):
            result[r.practice_id] = "expired"
    return result


def authorization_status(practice_id: int, on_date: date) -> str:
    """ "valid", "expired" or "missing" for one practice on ``on_date``."""
    return authorization_statuses([practice_id], on_date)[practice_id]


# --------------------------------------------------------------------------- portal people


def practice_members(practice_id: int, *, tenant_id: int) -> list[Membership]:
    """The portal accounts of a practice (memberships are not ORM-scoped, so
    the tenant filter is explicit)."""
    return list(
        db.session.scalars(
            select(Membership)
            .where(
                Membership.tenant_id == tenant_id,
                Membership.practice_id == practice_id,
                Membership.role.in_(PRACTICE_ROLES),
            )
            .order_by(Membership.is_active.desc(), Membership.role, Membership.id)
        )
    )


def practice_member(practice_id: int, membership_id: int, *, tenant_id: int) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(
            Membership.id == membership_id,
            Membership.tenant_id == tenant_id,
            Membership.practice_id == practice_id,
            Membership.role.in_(PRACTICE_ROLES),
        )
    )


def invite_member(
    practice: Practice,
    *,
    tenant: Tenant,
    actor,
    actor_membership: Membership,
    email: str,
    role: str,
    name: str | None = None,
):
    """Invite someone to the practice's portal; returns (invitation, raw token)."""
    from tenants.onboarding import services as onboarding

    inv, raw = onboarding.invite(
        tenant=tenant,
        actor=actor,
        actor_role=actor_membership.role,
        email=email,
        role=role,
        name=name,
        practice_id=practice.id,
        actor_practice_id=actor_membership.practice_id,
        practice_name=practice.name,
    )
    audit(
        "practice.member_invited",
        practice,
        details={"role": role, "invitation_id": inv.id},
        user_id=getattr(actor, "id", None),
    )
    return inv, raw


def remove_member(
    practice: Practice, membership: Membership, *, actor_membership: Membership
) -> int:
    """Deactivate a portal account: its sessions end at once. Returns how many."""
    from tenants.onboarding import services as onboarding

    ended = onboarding.deactivate(membership, actor_membership=actor_membership)
    audit(
        "practice.member_removed",
        practice,
        details={"membership_id": membership.id, "sessions_ended": ended},
    )
    return ended


def restore_member(
    practice: Practice, membership: Membership, *, actor_membership: Membership
) -> None:
    """Give a portal account its access back (OnboardingError when the actor
    may not: a firm's deactivation outranks a practice admin)."""
    from tenants.onboarding import services as onboarding

    onboarding.reactivate(membership, actor_membership=actor_membership)
    audit("practice.member_restored", practice, details={"membership_id": membership.id})
