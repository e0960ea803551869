"""Idempotency-Key on API POSTs (the scheme Stripe's API uses).

A client that retries a POST sends the same ``Idempotency-Key`` header: the
first request's answer is stored per firm and token (in the database, so every
web process sees it) and a retry with the same key and the same body gets that
answer back (``Idempotent-Replayed: true``) without running the view again, so
nothing is created twice. The same key with another body (or another path) is
a 422. A key is kept for ``IDEMPOTENCY_HOURS`` (24). While the first request
is still running a retry is a 409. Answers with a server error (5xx) are not
kept, so a retry runs again.

The key is recorded (committed) before the view runs: a concurrent retry hits
the unique key and waits for its 409 instead of racing the first request.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from flask import Response, current_app, g, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from advocate.api.models import IdempotencyKey
from advocate.db import utcnow
from advocate.extensions import db

HEADER = "Idempotency-Key"
KEPT_HEADERS = ("Content-Type", "Location")


def fingerprint() -> str:
    """A hash of the request: method, path and body (JSON compared as data, so
    key order and spacing do not matter; multipart by its fields and file contents)."""
    h = hashlib.sha256()
    h.update(f"{request.method}\0{request.path}\0".encode())
    if request.mimetype == "multipart/form-data":
        for name in sorted(request.form):
            for value in request.form.getlist(name):
                h.update(f"f\0{name}\0{value}\0".encode())
        for name in sorted(request.files):
            for upload in request.files.getlist(name):
                content = upload.stream.read()
                upload.stream.seek(0)
                h.update(f"u\0{name}\0{upload.filename}\0".encode())
                h.update(hashlib.sha256(content).digest())
    else:
        data = request.get_json(silent=True)
        if data is not None:
            h.update(json.dumps(data, sort_keys=True, separators=(",", ":")).encode())
        else:
            h.update(request.get_data())
    return h.hexdigest()


def begin() -> Response | None:
    """Before the view: replay a stored answer, refuse a reused key, or record a new one."""
    from advocate.api.auth import api_error

    raw = request.headers.get(HEADER)
    if raw is None or request.method != "POST":
        return None
    key = raw.strip()
    if not key or len(key) > 200 or not key.isprintable():
        api_error(
            422,
            "invalid Idempotency-Key",
            [{"field": HEADER, "message": "send 1 to 200 printable characters"}],
        )
    token = g.api_token
    fp = fingerprint()
    now = utcnow()
    row = db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.token_id == token.id, IdempotencyKey.key == key)
    )
    if row is not None and row.expires_at <= now:
        db.session.delete(row)
        db.session.flush()
        row = None
    if row is not None:
        if row.fingerprint != fp:
            api_error(
                422,
                "this Idempotency-Key was already used with another request",
                [
                    {
                        "field": HEADER,
                        "message": "a key belongs to one request (method, path and body); use a new key",
                    }
                ],
            )
        if row.status_code is None:
            api_error(
                409, "the first request with this Idempotency-Key is still running; retry shortly"
            )
        response = Response(row.response_body or "", status=row.status_code)
        for name, value in (row.response_headers or {}).items():
            response.headers[name] = value
        response.headers["Idempotent-Replayed"] = "true"
        db.session.commit()
        return response
    hours = current_app.config.get("IDEMPOTENCY_HOURS", 24)
    # Lapsed keys of this token go when it makes a new one (a CLI can sweep the rest).
    db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.token_id == token.id, IdempotencyKey.expires_at <= now
        )
    )
    row = IdempotencyKey(
        token_id=token.id,
        key=key,
        method=request.method,
        path=request.path[:500],
        fingerprint=fp,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        api_error(
            409, "the first request with this Idempotency-Key is still running; retry shortly"
        )
    g.idempotency_key_id = row.id
    return None


def finish(response: Response) -> None:
    """After the view: keep the answer (or forget the key after a server error)."""
    key_id = g.pop("idempotency_key_id", None)
    if key_id is None:
        return
    if response.status_code >= 500:
        db.session.rollback()
        db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == key_id))
        db.session.commit()
        return
    row = db.session.get(IdempotencyKey, key_id)
    if row is None:
        return
    row.status_code = response.status_code
    row.response_body = response.get_data(as_text=True)
    row.response_headers = {h: response.headers[h] for h in KEPT_HEADERS if h in response.headers}
    db.session.commit()
