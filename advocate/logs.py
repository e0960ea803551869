"""Structured logs: JSON lines through ``logging.config.dictConfig``, one line
per request (request id, firm id, user id, route, status, duration, SQL
statement count), and a request id returned in ``X-Request-ID`` and shown on
the 500 page.

No PHI reaches a log line: the request line names the route's pattern
(``/api/v1/cases/<int:case_id>``), never the query string or a body; SQL
parameters are hidden from database error messages (``hide_parameters``).
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

REQUEST_LOGGER = "advocate.request"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the
    request id when there is a request, and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" not in record.__dict__:
            rid = g.get("request_id")
            if rid:
                out["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure(level: str = "INFO", fmt: str = "json") -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "json": {"()": JsonFormatter},
                "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            },
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "stream": "ext://sys.stderr",
                    "formatter": "json" if fmt == "json" else "plain",
                }
            },
            "root": {"level": level, "handlers": ["stderr"]},
            "loggers": {
                # The dev server's access log prints whole URLs (query strings
                # can carry a patient's name): the request line above replaces it.
                "werkzeug": {"level": "WARNING"},
            },
        }
    )


def _count_statement(conn, cursor, statement, parameters, context, executemany):
    if has_request_context():
        g._sql_count = g.get("_sql_count", 0) + 1


def _start():
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    g._request_started = time.perf_counter()
    g._sql_count = 0


def _finish(response):
    from tenants import current_tenant_id

    rid = g.get("request_id")
    if rid:
        response.headers["X-Request-ID"] = rid
    started = g.get("_request_started")
    if started is None:
        return response
    actor = g.get("actor")
    tenant_id = current_tenant_id()
    logging.getLogger(REQUEST_LOGGER).info(
        "request",
        extra={
            "request_id": rid,
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule is not None else None,
            "endpoint": request.endpoint,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            "sql_count": g.get("_sql_count", 0),
            "firm_id": tenant_id,
            "user_id": _identity(actor),
        },
    )
    return response


def _identity(obj) -> int | None:
    """An ORM object's primary key as the session knows it: reading ``.id``
    after the commit would reload the row (a query, which RLS may refuse)."""
    if obj is None:
        return None
    from sqlalchemy import inspect
    from sqlalchemy.exc import NoInspectionAvailable

    try:
        identity = inspect(obj).identity
    except NoInspectionAvailable:
        return getattr(obj, "id", None)
    return identity[0] if identity else None


def init_app(app: Flask) -> None:
    if app.config.get("LOG_CONFIGURE", True):
        configure(app.config.get("LOG_LEVEL", "INFO"), app.config.get("LOG_FORMAT", "json"))
    if not event.contains(Engine, "before_cursor_execute", _count_statement):
        event.listen(Engine, "before_cursor_execute", _count_statement)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
