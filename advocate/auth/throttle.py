"""Log-in throttling per account (failures per hour) on the same storage as
Flask-Limiter's per-IP limits: Redis when configured, else process memory."""

from __future__ import annotations

import hashlib

from flask import current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

_limiters: dict[str, MovingWindowRateLimiter] = {}


def _limiter() -> MovingWindowRateLimiter:
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    lim = _limiters.get(uri)
    if lim is None:
        lim = MovingWindowRateLimiter(storage_from_string(uri))
        _limiters[uri] = lim
    return lim


def _key(email: str) -> str:
    # Hash the address: the limiter's storage is not a place for identifiers.
    return "login-fail:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _item():
    return parse(f"{current_app.config['LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR']} per hour")


def account_locked(email: str) -> bool:
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return False
    return not _limiter().test(_item(), _key(email))


def record_failure(email: str) -> None:
    if current_app.config.get("RATELIMIT_ENABLED", True):
        _limiter().hit(_item(), _key(email))


def reset(email: str) -> None:
    if current_app.config.get("RATELIMIT_ENABLED", True):
        _limiter().clear(_item(), _key(email))
