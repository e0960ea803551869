"""Per-token rate limits on the API (Flask-Limiter; in Redis when REDIS_URL is
set, so every web process counts together). The key is the bearer token's hash,
read from the header before any database work, so a flood costs no queries;
requests without a token are counted per address. A 429 carries Retry-After."""

from __future__ import annotations

import math
import time

from flask import current_app, request
from flask_limiter.util import get_remote_address

from advocate.auth.models import token_hash
from advocate.extensions import limiter


def api_rate_key() -> str:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and raw.strip():
        return "api-token:" + token_hash(raw.strip())
    return "api-ip:" + (get_remote_address() or "unknown")


def _limit() -> str:
    return current_app.config.get("API_RATE_LIMIT") or "600 per minute"


def install(bp) -> None:
    limiter.limit(_limit, key_func=api_rate_key)(bp)


def retry_after_seconds() -> int:
    """Seconds until the limit that was hit lets a request through again."""
    current = limiter.current_limit
    if current is None:
        return 60
    window = current.limit.get_expiry()
    return max(1, min(window, math.ceil(current.reset_at - time.time())))
