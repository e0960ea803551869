"""Hostile input is a 4xx with a clear message, never a 500.

- Ids in paths: the `int` converter only matches ids a database key can hold
  (1 .. 2**63-1); anything longer is no such page (404), not an overflow.
- NUL characters: no field of any form, query string or JSON body may carry
  one (PostgreSQL text cannot store it): 400 naming the field.
- A value the database still refuses as out of range or malformed (SQLSTATE
  class 22, `DataError`) is the request's fault: 400 (the API: 422), the
  transaction rolled back, and only the SQLSTATE logged (never the values).
"""

from __future__ import annotations

import logging

from flask import Flask, abort, jsonify, render_template, request
from sqlalchemy.exc import DataError
from werkzeug.routing import IntegerConverter

log = logging.getLogger(__name__)

MAX_ID = 2**63 - 1  # PostgreSQL bigint
BAD_VALUE = "A value in this request is out of range or not valid for its field; nothing was saved."


class IdConverter(IntegerConverter):
    """`<int:...>` limited to what a bigint key can hold."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def as_id(value) -> int | None:
    """A database id from text ("12", " 12 "), or None when it is not one:
    ASCII digits only, 1 .. 2**63-1."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    n = int(text)
    return n if 1 <= n <= MAX_ID else None


def _nul_field(items) -> str | None:
    for key, value in items:
        if "\x00" in key or (isinstance(value, str) and "\x00" in value):
            return key.replace("\x00", "")
    return None


def _json_nul(value, path: str = "") -> str | None:
    if isinstance(value, str):
        return path or "body" if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            name = f"{path}.{k}" if path else str(k)
            if "\x00" in str(k):
                return name.replace("\x00", "")
            found = _json_nul(v, name)
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _json_nul(v, f"{path}[{i}]")
            if found:
                return found
    return None


def _refuse_nul():
    field = _nul_field(request.args.items(multi=True))
    if field is None and request.method not in ("GET", "HEAD", "OPTIONS"):
        if request.is_json:
            field = _json_nul(request.get_json(silent=True))
        else:
            field = _nul_field(request.form.items(multi=True))
    if field is not None:
        abort(400, description=f"{field or 'A field'}: text may not contain NUL characters.")


def _data_error(err: DataError):
    from advocate.extensions import db

    db.session.rollback()
    log.warning(
        "refused a value the database rejects (SQLSTATE %s) on %s",
        getattr(err.orig, "sqlstate", None),
        request.endpoint,
    )
    if request.path.startswith("/api/"):
        return jsonify(error=BAD_VALUE, details=[]), 422
    return render_template("errors/400.html", message=BAD_VALUE), 400


def install_converters(app: Flask) -> None:
    """Before any blueprint adds its routes."""
    app.url_map.converters["int"] = IdConverter


def init_app(app: Flask) -> None:
    install_converters(app)
    app.before_request(_refuse_nul)
    app.register_error_handler(DataError, _data_error)
