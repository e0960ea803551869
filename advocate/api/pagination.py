"""Cursor pagination for API lists: a stable order (ending in the id, so no two
rows tie), ``limit`` rows per page, and a ``next`` link carrying an opaque
cursor (the sort key of the page's last row). Rows added or removed between
pages never shift the pages that follow, unlike page numbers."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal

from flask import request, url_for
from sqlalchemy import Select, and_, or_

from advocate.api.openapi import Param
from advocate.extensions import db

DEFAULT_LIMIT = 25
MAX_LIMIT = 100

CURSOR_PARAMS = [
    Param("cursor", "Where the page starts: the `next` link of the previous page carries it."),
    Param("limit", f"Rows per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).", "integer"),
]


def _encode(values: Sequence) -> str:
    parts = []
    for v in values:
        if isinstance(v, datetime):
            parts.append(["t", v.isoformat()])
        elif isinstance(v, date):
            parts.append(["d", v.isoformat()])
        elif isinstance(v, Decimal):
            parts.append(["n", str(v)])
        else:
            parts.append(["v", v])
    return (
        base64.urlsafe_b64encode(json.dumps(parts, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )


def _decode(raw: str, size: int) -> list:
    from advocate.api.auth import api_error

    try:
        parts = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not isinstance(parts, list) or len(parts) != size:
            raise ValueError
        out = []
        for kind, v in parts:
            out.append(
                datetime.fromisoformat(v)
                if kind == "t"
                else date.fromisoformat(v)
                if kind == "d"
                else Decimal(v)
                if kind == "n"
                else v
            )
        return out
    except (ValueError, TypeError, json.JSONDecodeError):
        api_error(
            422,
            "invalid cursor",
            [{"field": "cursor", "message": "use the `next` link of the previous page"}],
        )
        raise AssertionError("unreachable") from None


def limit_arg() -> int:
    from advocate.api.auth import api_error

    raw = request.args.get("limit", "")
    if raw == "":
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        api_error(
            422,
            "invalid query parameter",
            [{"field": "limit", "message": f"limit must be a whole number from 1 to {MAX_LIMIT}"}],
        )
    return int(raw)


def cursor_page(
    query: Select, order: Sequence[tuple], key: Callable[[object], tuple]
) -> tuple[list, str | None]:
    """One page of ``query`` in ``order`` ((column, "asc"|"desc"), ..., ending in the id)
    and the URL of the next page (None on the last). ``key(row)`` is the row's sort key."""
    limit = limit_arg()
    raw = request.args.get("cursor")
    if raw:
        after = _decode(raw, len(order))
        clauses = []
        for i, (col, direction) in enumerate(order):
            eq = [order[j][0] == after[j] for j in range(i)]
            step = col > after[i] if direction == "asc" else col < after[i]
            clauses.append(and_(*eq, step))
        query = query.where(or_(*clauses))
    query = query.order_by(*[(c.asc() if d == "asc" else c.desc()) for c, d in order]).limit(
        limit + 1
    )
    rows = list(db.session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    next_url = None
    if more:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        args["cursor"] = _encode(key(rows[-1]))
        next_url = url_for(request.endpoint, **(request.view_args or {}), **args, _external=True)
    return rows, next_url


def refuse_page_numbers() -> None:
    """The lists that used page numbers now use cursors: a client still sending
    ``page``/``per_page`` gets a 422 naming the parameter rather than the first
    page again and again (a loop that never ends)."""
    from advocate.api.auth import api_error

    old = [k for k in ("page", "per_page") if k in request.args]
    if old:
        api_error(
            422,
            "invalid query parameter",
            [
                {
                    "field": k,
                    "message": "this list is cursor-paginated: use `limit` and follow `next`",
                }
                for k in old
            ],
        )
