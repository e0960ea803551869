"""The association directory's rules. Services flush, never commit."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select

from advocate.associations.models import Association
from advocate.audit.services import audit
from advocate.extensions import db
from advocate.practices.services import ValidationFailed
from advocate.practices.validators import normalize_specialty, specialty_error

FIELDS = ("name", "specialty", "url", "contact_name", "contact_email", "contact_phone", "notes")
LIMITS = {
    "name": 200,
    "specialty": 100,
    "url": 500,
    "contact_name": 200,
    "contact_email": 254,
    "contact_phone": 40,
    "notes": 5000,
}


def clean(data: Mapping[str, object]) -> dict:
    errors: list[tuple[str, str]] = []
    out: dict = {}
    for key in FIELDS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            errors.append((key, "Must be text."))
            continue
        value = (value or "").strip() or None
        if value is not None and len(value) > LIMITS[key]:
            errors.append((key, f"At most {LIMITS[key]} characters."))
            continue
        out[key] = value
    if "name" in out and not out["name"]:
        errors.append(("name", "Enter the association's name."))
    if "specialty" in out:
        message = specialty_error(out["specialty"])
        if message:
            errors.append(("specialty", message))
        else:
            out["specialty"] = normalize_specialty(out["specialty"])
    if out.get("url"):
        parts = urlsplit(out["url"])
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append(("url", "Enter a full web address, e.g. https://www.asahq.org."))
    if errors:
        raise ValidationFailed(errors)
    return out


def create(*, tenant_id: int, data: Mapping[str, object]) -> Association:
    values = clean(data)
    assoc = Association(tenant_id=tenant_id, **values)
    db.session.add(assoc)
    db.session.flush()
    audit("association.created", assoc, details={"specialty": assoc.specialty})
    return assoc


def update(assoc: Association, *, data: Mapping[str, object]) -> list[str]:
    values = clean(data)
    changed = sorted(k for k, v in values.items() if getattr(assoc, k) != v)
    for key in changed:
        setattr(assoc, key, values[key])
    if changed:
        db.session.flush()
        audit("association.updated", assoc, details={"fields": changed})
    return changed


def delete(assoc: Association) -> None:
    db.session.delete(assoc)
    db.session.flush()
    audit("association.deleted", assoc, details={"specialty": assoc.specialty})


def list_query(*, tenant_id: int, q: str | None = None, specialty: str | None = None):
    # Explicit tenant filter: pagination's COUNT(*) over a subquery escapes the ORM's criteria.
    stmt = select(Association).where(Association.tenant_id == tenant_id)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(func.lower(Association.name).like(like), func.lower(Association.notes).like(like))
        )
    if specialty:
        stmt = stmt.where(Association.specialty == specialty)
    return stmt.order_by(Association.specialty, Association.name, Association.id)


def for_specialty(specialty: str, limit: int = 20) -> list[Association]:
    return list(
        db.session.scalars(
            select(Association)
            .where(Association.specialty == specialty)
            .order_by(Association.name)
            .limit(limit)
        )
    )
