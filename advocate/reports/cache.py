"""A short-lived cache of built reports in Redis, per firm and filter.

The firm dashboard (also the staff landing page) runs six whole-firm
aggregates; at 8 a.m. every log-in would run them again. A built `Report`
holds figures and names, no patient data, so it may sit in Redis for
`REPORTS_CACHE_SECONDS` (default 60; 0 turns the cache off). The key holds
the firm's id and the whole filter (dates, the firm's today and zone,
practices, payers, advocate), so one firm's or one filter's figures are never
served for another. No Redis configured (tests, a laptop): no cache. Redis
unreachable: the report is built as if there were no cache.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Callable
from typing import TypeVar

from flask import current_app, g

log = logging.getLogger(__name__)
T = TypeVar("T")
PREFIX = "advocate:reports:v1:"


def _client():
    ext = current_app.extensions
    client = ext.get("advocate_reports_cache")
    if client is None:
        from redis import Redis

        client = Redis.from_url(
            current_app.config["REDIS_URL"], socket_timeout=0.5, socket_connect_timeout=0.5
        )
        ext["advocate_reports_cache"] = client
    return client


def cache_key(name: str, *parts) -> str:
    """The Redis key of report `name` for the current firm and `parts` (hashed:
    a filter's search text never appears in a key)."""
    from tenants import current_tenant_id

    tenant_id = g.tenant.id if getattr(g, "tenant", None) is not None else current_tenant_id()
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return f"{PREFIX}{name}:{int(tenant_id)}:{digest}"


def cached(
    name: str, parts: tuple, build: Callable[[], T], *, setting: str = "REPORTS_CACHE_SECONDS"
) -> T:
    """`build()`, or its value of the last `setting` seconds (REPORTS_CACHE_SECONDS
    unless told) for the same firm, report and `parts` (include everything the
    report depends on)."""
    ttl = int(current_app.config.get(setting) or 0)
    if ttl <= 0 or not current_app.config.get("REDIS_URL"):
        return build()
    key = cache_key(name, *parts)
    try:
        raw = _client().get(key)
    except Exception:  # noqa: BLE001 (Redis down: build it)
        log.warning("reports cache unavailable", exc_info=True)
        raw = None
    if raw is not None:
        try:
            return pickle.loads(raw)  # noqa: S301 (our own Redis, our own objects)
        except Exception:  # noqa: BLE001 (an older version's object: rebuild)
            log.info("reports cache: unreadable entry, rebuilt")
    value = build()
    try:
        _client().set(key, pickle.dumps(value), ex=ttl)
    except Exception:  # noqa: BLE001
        log.warning("reports cache unavailable", exc_info=True)
    return value
