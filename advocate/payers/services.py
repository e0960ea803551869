"""The payer directory, contacts and OON policies. Services flush, never commit.

Everything is validated before anything is written: a call either raises
`FieldErrors` (every problem at once, by field) and changes nothing, or
applies the whole change and writes an audit event saying who changed what.

Other features read policies through `policy_for(payer, plan_type, on_date)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Select, Text, cast, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from advocate.audit.services import audit
from advocate.extensions import db
from advocate.payers.defaults import (
    PERCENT_BOUNDS,
    PERCENTILE_BOUNDS,
    PLAN_TYPES,
    PRICING_METHODS,
    defaults_for,
    plan_type_label,
)
from advocate.payers.models import Payer, PayerAppealLevel, PayerContact, PayerPolicy
from advocate.payers.validation import (
    FieldErrors,
    name_key,
    parse_bool_or_none,
    parse_date,
    parse_email,
    parse_int,
    parse_percent,
    parse_phone,
    parse_plan_type,
    parse_plan_types,
    parse_text,
    parse_url,
    text_or_none,
)

MAX_APPEAL_LEVELS = 10


def parse_payer_code(value) -> str | None:
    """An electronic (EDI) payer ID: letters, digits and hyphens, e.g. 60054."""
    value = parse_text(value, max_length=40, label="The payer ID")
    if value is not None and not all(c.isascii() and (c.isalnum() or c == "-") for c in value):
        raise ValueError(
            f"'{value}' is not a payer ID: use letters, digits and hyphens only, e.g. 60054."
        )
    return value


def _text(max_length: int, label: str):
    return lambda v: parse_text(v, max_length=max_length, label=label)


PAYER_PARSERS = {
    "name": _text(200, "The name"),
    "edi_payer_id": parse_payer_code,
    "plan_types": parse_plan_types,
    "provider_phone": parse_phone,
    "portal_url": parse_url,
    "claims_address": _text(1000, "The claims address"),
    "claims_fax": parse_phone,
    "appeals_address": _text(1000, "The appeals address"),
    "appeals_fax": parse_phone,
    "appeals_phone": parse_phone,
    "notes": _text(5000, "The notes"),
}

CONTACT_PARSERS = {
    "name": _text(200, "The name"),
    "role": _text(120, "The role"),
    "direct_line": parse_phone,
    "email": parse_email,
    "notes": _text(2000, "The notes"),
}

APPEAL_LEVEL_FIELDS = (
    "name",
    "window_days",
    "submit_to_address",
    "submit_to_fax",
    "submit_to_portal_url",
)

# Fields of a policy version that audit events show as before/after values;
# long free text is recorded as changed without its content.
_SHORT_POLICY_FIELDS = (
    "plan_type",
    "effective_date",
    "end_date",
    "pricing_method",
    "pricing_percent",
    "commercial_percentile",
    "benchmark_name",
    "timely_filing_days",
    "is_sca_available",
    "source_document",
    "source_url",
    "source_rep_name",
    "source_rep_date",
    "source_reference",
)
_LONG_POLICY_FIELDS = ("sca_how_to_request", "nsa_notes", "limitations")


def _parse_all(
    parsers: Mapping, data: Mapping, *, partial: bool, prefix: str = ""
) -> tuple[dict, list]:
    out: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for key, parse in parsers.items():
        if partial and key not in data:
            continue
        try:
            out[key] = parse(data.get(key))
        except ValueError as exc:
            errors.append((prefix + key, str(exc)))
    return out, errors


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return str(value)


def diff_fields(obj, new: Mapping[str, Any], long_fields=()) -> dict:
    out = {}
    for key, value in new.items():
        old = getattr(obj, key)
        if old != value:
            out[key] = (
                {"changed": True}
                if key in long_fields
                else {"from": _jsonable(old), "to": _jsonable(value)}
            )
    return out


# -- payers -----------------------------------------------------------------


def clean_payer_data(data: Mapping, *, partial: bool = False) -> dict:
    """Clean directory fields (form, API or CSV): raises FieldErrors.
    With `partial`, only the keys present are cleaned (an update that leaves
    the rest alone)."""
    out, errors = _parse_all(PAYER_PARSERS, data, partial=partial)
    if (
        ("name" in out or not partial)
        and not out.get("name")
        and not any(f == "name" for f, _ in errors)
    ):
        errors.append(("name", "Enter the payer's name."))
    if errors:
        raise FieldErrors(errors)
    if "plan_types" in out and out["plan_types"] is None:
        out["plan_types"] = []
    return out


def find_payer_by_name(name: str, *, exclude_id: int | None = None) -> Payer | None:
    q = select(Payer).where(Payer.name_key == name_key(name))
    if exclude_id is not None:
        q = q.where(Payer.id != exclude_id)
    return db.session.scalar(q)


def _refuse_duplicate_name(name: str, exclude_id: int | None = None) -> None:
    other = find_payer_by_name(name, exclude_id=exclude_id)
    if other is not None:
        raise FieldErrors(
            [("name", f"The firm already has a payer named '{other.name}'. Edit that one instead.")]
        )


def create_payer(*, tenant_id: int, actor_id: int | None, data: Mapping) -> Payer:
    clean = clean_payer_data(data)
    _refuse_duplicate_name(clean["name"])
    payer = Payer(tenant_id=tenant_id, name_key=name_key(clean["name"]), **clean)
    db.session.add(payer)
    db.session.flush()
    audit(
        "payer.created", payer, tenant_id=tenant_id, user_id=actor_id, details={"name": payer.name}
    )
    return payer


def update_payer(
    payer: Payer, *, actor_id: int | None, data: Mapping, partial: bool = False
) -> Payer:
    clean = clean_payer_data(data, partial=partial)
    if "name" in clean:
        _refuse_duplicate_name(clean["name"], exclude_id=payer.id)
    changes = diff_fields(payer, clean, long_fields=("notes", "claims_address", "appeals_address"))
    for key, value in clean.items():
        setattr(payer, key, value)
    if "name" in clean:
        payer.name_key = name_key(clean["name"])
    db.session.flush()
    if changes:
        audit(
            "payer.updated",
            payer,
            tenant_id=payer.tenant_id,
            user_id=actor_id,
            details={"changes": changes},
        )
    return payer


def search_payers(tenant_id: int, q: str | None = None, plan_type: str | None = None) -> Select:
    """The firm's payers by name or payer ID (substring, case-insensitive), by name.

    The tenant filter is explicit as well as automatic: the automatic one does
    not reach the count query that pagination wraps around this statement.
    """
    stmt = select(Payer).where(Payer.tenant_id == tenant_id)
    q = " ".join((q or "").split()).casefold()
    if q:
        stmt = stmt.where(
            or_(
                Payer.name_key.contains(q, autoescape=True),
                func.lower(Payer.edi_payer_id).contains(q, autoescape=True),
            )
        )
    if plan_type in PLAN_TYPES:
        # Plan types are a short JSON list of known codes: match its text.
        stmt = stmt.where(cast(Payer.plan_types, Text).contains(f'"{plan_type}"'))
    return stmt.order_by(Payer.name_key, Payer.id)


def payer_to_dict(payer: Payer, *, contacts: bool = False) -> dict:
    out = {
        "id": payer.id,
        "name": payer.name,
        "edi_payer_id": payer.edi_payer_id,
        "plan_types": list(payer.plan_types or []),
        "provider_phone": payer.provider_phone,
        "portal_url": payer.portal_url,
        "claims_address": payer.claims_address,
        "claims_fax": payer.claims_fax,
        "appeals_address": payer.appeals_address,
        "appeals_fax": payer.appeals_fax,
        "appeals_phone": payer.appeals_phone,
        "notes": payer.notes,
        "created_at": payer.created_at.isoformat() if payer.created_at else None,
        "updated_at": payer.updated_at.isoformat() if payer.updated_at else None,
    }
    if contacts:
        out["contacts"] = [
            {
                "id": c.id,
                "name": c.name,
                "role": c.role,
                "direct_line": c.direct_line,
                "email": c.email,
                "notes": c.notes,
            }
            for c in payer.contacts
        ]
    return out


# -- contacts ---------------------------------------------------------------


def clean_contact_data(data: Mapping) -> dict:
    out, errors = _parse_all(CONTACT_PARSERS, data, partial=False)
    if not out.get("name") and not any(f == "name" for f, _ in errors):
        errors.append(("name", "Enter the contact's name."))
    if errors:
        raise FieldErrors(errors)
    return out


def add_contact(payer: Payer, *, actor_id: int | None, data: Mapping) -> PayerContact:
    clean = clean_contact_data(data)
    contact = PayerContact(tenant_id=payer.tenant_id, payer=payer, **clean)
    db.session.add(contact)
    db.session.flush()
    audit(
        "payer_contact.created",
        contact,
        tenant_id=payer.tenant_id,
        user_id=actor_id,
        details={"payer_id": payer.id},
    )
    return contact


def update_contact(contact: PayerContact, *, actor_id: int | None, data: Mapping) -> PayerContact:
    clean = clean_contact_data(data)
    changes = diff_fields(contact, clean, long_fields=("notes",))
    for key, value in clean.items():
        setattr(contact, key, value)
    db.session.flush()
    if changes:
        audit(
            "payer_contact.updated",
            contact,
            tenant_id=contact.tenant_id,
            user_id=actor_id,
            details={"payer_id": contact.payer_id, "changes": changes},
        )
    return contact


def delete_contact(contact: PayerContact, *, actor_id: int | None) -> None:
    audit(
        "payer_contact.deleted",
        contact,
        tenant_id=contact.tenant_id,
        user_id=actor_id,
        details={"payer_id": contact.payer_id, "name": contact.name},
    )
    db.session.delete(contact)
    db.session.flush()


# -- policies ---------------------------------------------------------------


def _parse_pricing_method(value) -> str:
    raw = text_or_none(value)
    if raw is None:
        raise ValueError("Choose how the payer prices OON claims (or 'unknown').")
    if raw not in PRICING_METHODS:
        raise ValueError(
            f"'{raw}' is not a pricing method; use one of: {', '.join(PRICING_METHODS)}."
        )
    return raw


POLICY_PARSERS = {
    "plan_type": parse_plan_type,
    "effective_date": lambda v: parse_date(v, label="The effective date"),
    "end_date": lambda v: parse_date(v, label="The end date"),
    "pricing_method": _parse_pricing_method,
    "commercial_percentile": lambda v: parse_int(
        v, low=PERCENTILE_BOUNDS[0], high=PERCENTILE_BOUNDS[1], label="The percentile"
    ),
    "benchmark_name": _text(120, "The benchmark"),
    "timely_filing_days": lambda v: parse_int(v, low=1, high=3650, label="The timely-filing limit"),
    "is_sca_available": parse_bool_or_none,
    "sca_how_to_request": _text(2000, "How to ask"),
    "nsa_notes": _text(5000, "The No Surprises Act notes"),
    "limitations": _text(5000, "The limitations"),
    "source_document": _text(300, "The document"),
    "source_url": parse_url,
    "source_rep_name": _text(200, "The representative's name"),
    "source_rep_date": lambda v: parse_date(v, label="The date"),
    "source_reference": _text(100, "The reference number"),
}

APPEAL_LEVEL_PARSERS = {
    "name": _text(80, "The level's name"),
    "window_days": lambda v: parse_int(v, low=1, high=3650, label="The window"),
    "submit_to_address": _text(1000, "The address"),
    "submit_to_fax": parse_phone,
    "submit_to_portal_url": parse_url,
}


def _clean_appeal_levels(value) -> tuple[list[dict], list[tuple[str, str]]]:
    """Appeal levels in order: level 1 first. Field names in errors are
    `appeal_levels[i].<field>` with i the position in the given list."""
    if value is None:
        return [], []
    if not isinstance(value, (list, tuple)):
        return [], [("appeal_levels", "Give the appeal levels as a list, first level first.")]
    if len(value) > MAX_APPEAL_LEVELS:
        return [], [("appeal_levels", f"At most {MAX_APPEAL_LEVELS} appeal levels.")]
    levels, errors = [], []
    for i, item in enumerate(value):
        prefix = f"appeal_levels[{i}]."
        if not isinstance(item, Mapping):
            errors.append(
                (
                    f"appeal_levels[{i}]",
                    "Each appeal level is an object with a name and window_days.",
                )
            )
            continue
        if item.get("level") not in (None, "", i + 1):
            errors.append(
                (
                    prefix + "level",
                    f"Levels are numbered by their order in the list: this one is {i + 1}.",
                )
            )
        clean, errs = _parse_all(APPEAL_LEVEL_PARSERS, item, partial=False, prefix=prefix)
        if not clean.get("name") and not any(f == prefix + "name" for f, _ in errs):
            errs.append((prefix + "name", "Name the level, e.g. Level 1 appeal."))
        if clean.get("window_days") is None and not any(
            f == prefix + "window_days" for f, _ in errs
        ):
            errs.append((prefix + "window_days", "Enter the number of days to file this level."))
        errors.extend(errs)
        clean["level"] = i + 1
        levels.append(clean)
    return levels, errors


def clean_policy_data(data: Mapping, *, today: date) -> dict:
    """Clean one policy version (form or API): raises FieldErrors with every
    problem. Does not look at other versions; `_version_conflicts` does."""
    out, errors = _clean_policy(data, today=today)
    if errors:
        raise FieldErrors(errors)
    return out


def _clean_policy(data: Mapping, *, today: date) -> tuple[dict, list[tuple[str, str]]]:
    out, errors = _parse_all(POLICY_PARSERS, data, partial=False)
    failed = {f for f, _ in errors}
    if "effective_date" not in failed and out.get("effective_date") is None:
        errors.append(("effective_date", "Enter the date this version takes effect."))
    if "timely_filing_days" not in failed and out.get("timely_filing_days") is None:
        errors.append(("timely_filing_days", "Enter the timely-filing limit in days."))
    eff, end = out.get("effective_date"), out.get("end_date")
    if eff and end and end <= eff:
        errors.append(
            ("end_date", f"The end date must be after the effective date ({eff.isoformat()}).")
        )
    rep_date = out.get("source_rep_date")
    if rep_date and rep_date > today:
        errors.append(
            ("source_rep_date", "The date the representative said it cannot be in the future.")
        )

    method = out.get("pricing_method")
    raw_percent = data.get("pricing_percent")
    has_percent = text_or_none(raw_percent) is not None
    out["pricing_percent"] = None
    if method in PERCENT_BOUNDS:
        low, high = PERCENT_BOUNDS[method]
        try:
            out["pricing_percent"] = parse_percent(
                raw_percent, low=low, high=high, label="The percent"
            )
        except ValueError as exc:
            errors.append(("pricing_percent", str(exc)))
        else:
            if out["pricing_percent"] is None:
                errors.append(
                    ("pricing_percent", f"Enter the percent for '{PRICING_METHODS[method]}'.")
                )
    elif method is not None and has_percent:
        errors.append(
            ("pricing_percent", f"Leave the percent empty for '{PRICING_METHODS[method]}'.")
        )
    if method is not None and method != "commercial_percentile":
        if out.get("commercial_percentile") is not None:
            errors.append(
                (
                    "commercial_percentile",
                    "Only for 'Percent of a commercial percentile'; leave it empty.",
                )
            )
        if out.get("benchmark_name"):
            errors.append(
                ("benchmark_name", "Only for 'Percent of a commercial percentile'; leave it empty.")
            )
    elif (
        method == "commercial_percentile"
        and out.get("commercial_percentile") is None
        and "commercial_percentile" not in failed
    ):
        errors.append(("commercial_percentile", "Enter the percentile, e.g. 80."))

    out["appeal_levels"], level_errors = _clean_appeal_levels(data.get("appeal_levels"))
    errors.extend(level_errors)
    return out, errors


def _checked_policy(data: Mapping, *, payer_id: int, exclude_id: int | None, today: date) -> dict:
    """The clean version, or FieldErrors with its own problems and, when its
    plan type and dates are readable, its conflicts with other versions."""
    clean, errors = _clean_policy(data, today=today)
    failed = {f for f, _ in errors}
    if (
        clean.get("plan_type")
        and clean.get("effective_date")
        and not failed & {"end_date", "effective_date"}
    ):
        errors.extend(
            _version_conflicts(
                payer_id,
                clean["plan_type"],
                clean["effective_date"],
                clean.get("end_date"),
                exclude_id,
            )
        )
    if errors:
        raise FieldErrors(errors)
    return clean


def _version_conflicts(
    payer_id: int, plan_type: str, eff: date, end: date | None, exclude_id: int | None
) -> list[tuple[str, str]]:
    """Versions of one payer and plan type never overlap: one per effective
    date, and an end date never reaches into the next version."""
    q = select(PayerPolicy).where(
        PayerPolicy.payer_id == payer_id, PayerPolicy.plan_type == plan_type
    )
    if exclude_id is not None:
        q = q.where(PayerPolicy.id != exclude_id)
    label = plan_type_label(plan_type)
    errors = []
    same = db.session.scalar(q.where(PayerPolicy.effective_date == eff))
    if same is not None:
        errors.append(
            (
                "effective_date",
                f"A {label} version already takes effect on {eff.isoformat()}; "
                "edit that version or choose another date.",
            )
        )
        return errors
    before = db.session.scalar(
        q.where(PayerPolicy.effective_date < eff).order_by(PayerPolicy.effective_date.desc())
    )
    if before is not None and before.end_date is not None and before.end_date > eff:
        errors.append(
            (
                "effective_date",
                f"The {label} version from {before.effective_date.isoformat()} runs until "
                f"{before.end_date.isoformat()}; a new version cannot start inside it. "
                "Change that version's end date first.",
            )
        )
    after = db.session.scalar(
        q.where(PayerPolicy.effective_date > eff).order_by(PayerPolicy.effective_date)
    )
    if after is not None and end is not None and end > after.effective_date:
        errors.append(
            (
                "end_date",
                f"The next {label} version takes effect on {after.effective_date.isoformat()}; "
                "end this one on or before that date, or leave the end date empty.",
            )
        )
    return errors


_SCALAR_POLICY_KEYS = tuple(POLICY_PARSERS) + ("pricing_percent",)


def _levels_summary(levels) -> list[str]:
    def get(obj, key):
        return obj[key] if isinstance(obj, Mapping) else getattr(obj, key)

    return [
        f"{get(lv, 'level')}: {get(lv, 'name')}, {get(lv, 'window_days')} days"
        + (f", fax {get(lv, 'submit_to_fax')}" if get(lv, "submit_to_fax") else "")
        + (f", portal {get(lv, 'submit_to_portal_url')}" if get(lv, "submit_to_portal_url") else "")
        + (", address given" if get(lv, "submit_to_address") else "")
        for lv in levels
    ]


def _apply_levels(policy: PayerPolicy, levels: list[dict]) -> None:
    # Update rows in place by position: deleting and re-inserting the same
    # level number in one flush would trip the unique key.
    existing = list(policy.appeal_levels)
    for i, data in enumerate(levels):
        row = existing[i] if i < len(existing) else None
        if row is None:
            row = PayerAppealLevel(tenant_id=policy.tenant_id)
            policy.appeal_levels.append(row)
        for key in ("level", *APPEAL_LEVEL_FIELDS):
            setattr(row, key, data[key])
    for row in existing[len(levels) :]:
        policy.appeal_levels.remove(row)


def create_policy(payer: Payer, *, actor_id: int | None, data: Mapping, today: date) -> PayerPolicy:
    clean = _checked_policy(data, payer_id=payer.id, exclude_id=None, today=today)
    levels = clean.pop("appeal_levels")
    policy = PayerPolicy(
        tenant_id=payer.tenant_id,
        payer=payer,
        created_by_id=actor_id,
        updated_by_id=actor_id,
        **clean,
    )
    db.session.add(policy)
    _apply_levels(policy, levels)
    db.session.flush()
    audit(
        "payer_policy.created",
        policy,
        tenant_id=payer.tenant_id,
        user_id=actor_id,
        details={
            "payer_id": payer.id,
            "plan_type": policy.plan_type,
            "effective_date": policy.effective_date.isoformat(),
            "pricing": policy.pricing_summary,
            "timely_filing_days": policy.timely_filing_days,
            "appeal_levels": _levels_summary(policy.appeal_levels),
        },
    )
    return policy


def update_policy(
    policy: PayerPolicy, *, actor_id: int | None, data: Mapping, today: date
) -> PayerPolicy:
    clean = _checked_policy(data, payer_id=policy.payer_id, exclude_id=policy.id, today=today)
    levels = clean.pop("appeal_levels")
    changes = diff_fields(policy, clean, long_fields=_LONG_POLICY_FIELDS)
    old_levels, new_levels = _levels_summary(policy.appeal_levels), _levels_summary(levels)
    if old_levels != new_levels:
        changes["appeal_levels"] = {"from": old_levels, "to": new_levels}
    for key, value in clean.items():
        setattr(policy, key, value)
    _apply_levels(policy, levels)
    if changes:
        policy.updated_by_id = actor_id
    db.session.flush()
    if changes:
        audit(
            "payer_policy.updated",
            policy,
            tenant_id=policy.tenant_id,
            user_id=actor_id,
            details={
                "payer_id": policy.payer_id,
                "plan_type": policy.plan_type,
                "effective_date": policy.effective_date.isoformat(),
                "changes": changes,
            },
        )
    return policy


def policy_for(payer: Payer | int, plan_type: str, on_date: date) -> PayerPolicy | None:
    """The payer's policy for `plan_type` in effect on `on_date`, or None.

    The version in effect is the latest one whose effective date is on or
    before `on_date`; if that version has an end date on or before `on_date`
    the payer had no known policy that day (an older version does not come
    back: the newer one replaced it). Appeal levels come loaded, in order.
    Runs in the tenant in scope, like every query.
    """
    if plan_type not in PLAN_TYPES:
        raise ValueError(f"unknown plan type {plan_type!r}")
    payer_id = payer.id if isinstance(payer, Payer) else int(payer)
    version = db.session.scalar(
        select(PayerPolicy)
        .where(
            PayerPolicy.payer_id == payer_id,
            PayerPolicy.plan_type == plan_type,
            PayerPolicy.effective_date <= on_date,
        )
        .order_by(PayerPolicy.effective_date.desc())
        .limit(1)
        .options(selectinload(PayerPolicy.appeal_levels))
    )
    if version is None or (version.end_date is not None and version.end_date <= on_date):
        return None
    return version


def policy_versions(payer_id: int, plan_type: str | None = None) -> list[PayerPolicy]:
    """Every version of a payer's policies, by plan type, newest first."""
    q = (
        select(PayerPolicy)
        .where(PayerPolicy.payer_id == payer_id)
        .options(
            selectinload(PayerPolicy.appeal_levels),
            joinedload(PayerPolicy.created_by),
            joinedload(PayerPolicy.updated_by),
        )
        .order_by(PayerPolicy.plan_type, PayerPolicy.effective_date.desc())
    )
    if plan_type is not None:
        q = q.where(PayerPolicy.plan_type == plan_type)
    return list(db.session.scalars(q).unique())


def current_versions(versions: list[PayerPolicy], on_date: date) -> dict[str, PayerPolicy]:
    """From `policy_versions`, the version in effect on `on_date` per plan type
    (the same rule as `policy_for`, without another query)."""
    out: dict[str, PayerPolicy] = {}
    seen: set[str] = set()
    for v in versions:  # newest first within each plan type
        if v.plan_type in seen or v.effective_date > on_date:
            continue
        seen.add(v.plan_type)
        if v.end_date is None or v.end_date > on_date:
            out[v.plan_type] = v
    return out


def prefill_policy(payer: Payer, plan_type: str) -> dict:
    """Starting values for a new version: a copy of the latest version of
    this plan type (a new version usually changes one thing), else the
    plan type's defaults."""
    latest = db.session.scalar(
        select(PayerPolicy)
        .where(PayerPolicy.payer_id == payer.id, PayerPolicy.plan_type == plan_type)
        .order_by(PayerPolicy.effective_date.desc())
        .limit(1)
        .options(selectinload(PayerPolicy.appeal_levels))
    )
    if latest is not None:
        data = policy_to_form_data(latest)
        data.update(
            effective_date=None,
            end_date=None,
            source_document=None,
            source_url=None,
            source_rep_name=None,
            source_rep_date=None,
            source_reference=None,
        )
        return data
    d = defaults_for(plan_type)
    levels = []
    for lv in d.appeal_levels:
        row = {"name": lv.name, "window_days": lv.window_days}
        if lv.name != "External review":  # that goes to an independent reviewer, not the payer
            row.update(submit_to_address=payer.appeals_address, submit_to_fax=payer.appeals_fax)
        levels.append(row)
    return {
        "plan_type": plan_type,
        "pricing_method": "unknown",
        "timely_filing_days": d.timely_filing_days,
        "appeal_levels": levels,
    }


def policy_to_form_data(policy: PayerPolicy) -> dict:
    data = {key: getattr(policy, key) for key in _SCALAR_POLICY_KEYS}
    data["appeal_levels"] = [
        {key: getattr(lv, key) for key in ("level", *APPEAL_LEVEL_FIELDS)}
        for lv in policy.appeal_levels
    ]
    return data


def policy_to_dict(policy: PayerPolicy) -> dict:
    def iso(d):
        return d.isoformat() if d else None

    return {
        "id": policy.id,
        "payer_id": policy.payer_id,
        "plan_type": policy.plan_type,
        "effective_date": iso(policy.effective_date),
        "end_date": iso(policy.end_date),
        "pricing": {
            "method": policy.pricing_method,
            "percent": None if policy.pricing_percent is None else str(policy.pricing_percent),
            "commercial_percentile": policy.commercial_percentile,
            "benchmark_name": policy.benchmark_name,
            "summary": policy.pricing_summary,
        },
        "timely_filing_days": policy.timely_filing_days,
        "appeal_levels": [
            {
                "level": lv.level,
                "name": lv.name,
                "window_days": lv.window_days,
                "submit_to_address": lv.submit_to_address,
                "submit_to_fax": lv.submit_to_fax,
                "submit_to_portal_url": lv.submit_to_portal_url,
            }
            for lv in policy.appeal_levels
        ],
        "single_case_agreements": {
            "available": policy.is_sca_available,
            "how_to_request": policy.sca_how_to_request,
        },
        "nsa_notes": policy.nsa_notes,
        "limitations": policy.limitations,
        "source": {
            "document": policy.source_document,
            "url": policy.source_url,
            "rep_name": policy.source_rep_name,
            "rep_date": iso(policy.source_rep_date),
            "reference": policy.source_reference,
        },
        "updated_at": policy.updated_at.isoformat() if policy.updated_at else None,
    }
