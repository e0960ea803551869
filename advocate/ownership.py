"""One check for every id a request names: it must be one of the firm's own rows.

A tenant-owned foreign key holds a bare id, and the database's foreign key
accepts any row of any firm (FK checks do not go through row-level security).
So every id that arrives in a form, a JSON body, a bulk action or an import
(assignee, practice, payer, template, document, agreement, SCA, saved filter,
an authorization's payers) goes through `require_own` (or `require_member` for
people) before it is stored. A wrong id is a field error (HTTP 422 on the API,
a form error on the web), never a 500 and never stored:

* not a whole number, or out of the database's id range: "is not an id";
* no such row in the firm in scope (another firm's, deleted, never existed):
  "unknown <label>: <id> is not one of this firm's" (the same answer whether or not it exists
  elsewhere, so the check leaks nothing).

`ForeignIdError` is an HTTP 422 exception: a call site that collects field
errors catches it and adds `.errors` to its own list; one that does not lets it
propagate and the app answers 422 with the field named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from werkzeug.exceptions import UnprocessableEntity

from advocate.extensions import db
from tenants import require_tenant_id
from tenants.models import ROLE_LABELS, WORKER_ROLES, Membership

MAX_ID = 2**63 - 1  # PostgreSQL bigint; larger values would fail in the database
_DIGITS = re.compile(r"[0-9]{1,19}")


class ForeignIdError(UnprocessableEntity):
    """An id that is not one of the firm's own rows: `field` names the input."""

    def __init__(self, field: str, message: str):
        super().__init__(description=f"{field}: {message}")
        self.field = field
        self.message = message
        self.errors = [(field, message)]
        self.details = [{"field": field, "message": message}]

    def as_details(self) -> list[dict]:
        return list(self.details)


def _show(value: Any) -> str:
    text = str(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text[:40]


def parse_id(value: Any, *, field: str) -> int | None:
    """The id as an int, None when empty; ForeignIdError when it is not a
    positive whole number the database can hold."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, bool):
        raise ForeignIdError(field, f"'{_show(value)}' is not an id")
    if isinstance(value, int):
        pk = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        pk = int(value.strip())
    else:
        raise ForeignIdError(field, f"'{_show(value)}' is not an id")
    if not 1 <= pk <= MAX_ID:
        raise ForeignIdError(field, f"'{_show(value)}' is not an id")
    return pk


def require_own(
    model,
    value: Any,
    *,
    field: str,
    label: str | None = None,
    required: bool = True,
    where: Iterable = (),
):
    """The firm's own `model` row named by `value` (an id from a request), or
    ForeignIdError naming `field`. Empty is None when not `required`. `where`
    adds conditions the row must also meet (e.g. the practice of a case)."""
    label = label or getattr(model, "__tablename__", "record").rstrip("s").replace("_", " ")
    pk = parse_id(value, field=field)
    if pk is None:
        if required:
            raise ForeignIdError(field, "is required")
        return None
    tid = require_tenant_id()
    where = tuple(where)
    if where:
        obj = db.session.scalar(select(model).where(model.id == pk, model.tenant_id == tid, *where))
    else:
        # get() answers from the identity map when it can (imports name the
        # same practice and payer on every row); the tenant is checked here
        # as well as by the ORM's filter and RLS.
        obj = db.session.get(model, pk)
    if obj is None or obj.tenant_id != tid:
        raise ForeignIdError(field, f"unknown {label}: {pk} is not one of this firm's")
    return obj


def require_own_ids(model, values: Iterable[Any], *, field: str, label: str | None = None) -> list:
    """Each id of a list (an authorization's payers): all the firm's own, or
    ForeignIdError naming the first that is not."""
    label = label or getattr(model, "__tablename__", "record").rstrip("s").replace("_", " ")
    ids = []
    for v in values:
        pk = parse_id(v, field=field)
        if pk is None:
            raise ForeignIdError(field, f"'{_show(v)}' is not an id")
        ids.append(pk)
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    tid = require_tenant_id()
    rows = db.session.scalars(select(model).where(model.id.in_(ids), model.tenant_id == tid)).all()
    found = {r.id for r in rows}
    for pk in ids:
        if pk not in found:
            raise ForeignIdError(field, f"unknown {label}: {pk} is not one of this firm's")
    return sorted(rows, key=lambda r: ids.index(r.id))


def require_member(
    value: Any,
    *,
    field: str = "assignee_id",
    roles: Iterable[str] = WORKER_ROLES,
    required: bool = False,
):
    """The user named by `value` if they are an active member of the firm in
    scope with one of `roles` (by default, who may work cases), else
    ForeignIdError. Empty is None when not `required`."""
    from advocate.auth.models import User

    roles = tuple(roles)
    pk = parse_id(value, field=field)
    if pk is None:
        if required:
            raise ForeignIdError(field, "is required")
        return None
    tid = require_tenant_id()
    row = db.session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(
            User.id == pk,
            Membership.tenant_id == tid,
            Membership.is_active.is_(True),
            User.is_active.is_(True),
        )
    ).first()
    if row is None:
        raise ForeignIdError(field, f"person {pk} is not an active member of this firm")
    if row.role not in roles:
        names = [ROLE_LABELS[r].lower() + "s" for r in roles]
        allowed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        raise ForeignIdError(field, f"Only {allowed} can be chosen here")
    return row.User
