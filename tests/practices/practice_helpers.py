"""Builders shared by the practices tests (not a test module)."""

from __future__ import annotations

import email
import email.policy
import itertools
import pathlib
import re
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from advocate.auth.models import ApiToken, new_token, token_hash
from advocate.extensions import db
from advocate.practices.models import FeeAgreement, Practice, PracticeAuthorization
from advocate.practices.validators import _luhn_check_digit
from tenants import tenant_scope

_seq = itertools.count(200_000_000)


def valid_npi() -> str:
    """A fresh NPI with a correct check digit."""
    base = str(next(_seq))[:9]
    return base + str(_luhn_check_digit("80840" + base))


def practice_data(**overrides) -> dict:
    data = {
        "name": "Lakeside Orthopedics, PLLC",
        "npi": valid_npi(),
        "tin": "12-3456789",
        "specialty": "Orthopedic surgery",
        "address_line1": "1 Main Street",
        "address_line2": "",
        "city": "Albany",
        "state": "NY",
        "zip": "12207",
        "default_pos": "11",
        "phone": "(518) 555-0100",
        "fax": "",
        "status": "active",
        "notes": "",
    }
    data.update(overrides)
    return data


def add_practice(tenant_id: int, **fields) -> int:
    """Insert a practice directly (valid data); returns its id."""
    values = {
        "name": "Lakeside Orthopedics, PLLC",
        "npi": valid_npi(),
        "tin": "123456789",
        "specialty": "Orthopedic surgery",
        "address_line1": "1 Main Street",
        "city": "Albany",
        "state": "NY",
        "zip": "12207",
        "default_pos": "11",
        "status": "active",
    }
    values.update(fields)
    with tenant_scope(tenant_id):
        p = Practice(tenant_id=tenant_id, **values)
        db.session.add(p)
        db.session.flush()
        pid = p.id
        db.session.commit()
    return pid


def add_agreement(
    tenant_id: int, practice_id: int, effective: date, percent: str = "25.00", **fields
) -> int:
    with tenant_scope(tenant_id):
        a = FeeAgreement(
            practice_id=practice_id,
            effective_date=effective,
            percent=Decimal(percent),
            basis=fields.pop("basis", "incremental"),
            **fields,
        )
        db.session.add(a)
        db.session.flush()
        aid = a.id
        db.session.commit()
    return aid


def add_authorization(
    tenant_id: int, practice_id: int, signed: date, expires: date | None = None, **fields
) -> int:
    with tenant_scope(tenant_id):
        a = PracticeAuthorization(
            practice_id=practice_id,
            signed_on=signed,
            expires_on=expires,
            scope=fields.pop("scope", "all"),
            **fields,
        )
        db.session.add(a)
        db.session.flush()
        aid = a.id
        db.session.commit()
    return aid


def count(tenant_id: int, model) -> int:
    with tenant_scope(tenant_id):
        return db.session.scalar(select(func.count(model.id)).where(model.tenant_id == tenant_id))


def api_token(person) -> str:
    raw = new_token("adv_")
    with tenant_scope(person.tenant_id):
        db.session.add(
            ApiToken(
                membership_id=person.membership_id,
                name="practices test",
                token_prefix=raw[:8],
                token_hash=token_hash(raw),
            )
        )
        db.session.commit()
    return raw


def last_link(
    app, tenant_id: int, pattern: str = r"https?://[^/\s]+(/invitations/accept/\S+)"
) -> str:
    """The path of the link in the newest email that has one. Read from the
    mailed .eml files, as the recipient would: the outbox table, which the
    firm can read, keeps links with tokens redacted (issue 15)."""
    db.session.commit()
    for f in sorted(pathlib.Path(app.config["OUTBOX_DIR"]).glob("*.eml"), reverse=True):
        body = email.message_from_bytes(f.read_bytes(), policy=email.policy.default).get_content()
        found = re.search(pattern, body)
        if found:
            return found.group(1)
    raise AssertionError(f"no mailed link matches {pattern!r} (firm {tenant_id})")
