"""An in-memory stand-in for the Redis behind advocate.reports.cache (the
dashboard cache and the large case-list totals): the two calls it makes."""

from __future__ import annotations

import time


class FakeRedis:
    """get/set with expiry, in memory."""

    def __init__(self):
        self.data: dict[str, tuple[bytes, float]] = {}

    def get(self, key):
        v = self.data.get(key)
        if v is None or v[1] < time.monotonic():
            return None
        return v[0]

    def set(self, key, value, ex=None):
        self.data[key] = (value, time.monotonic() + (ex or 10**9))


class DownRedis:
    def get(self, key):
        raise ConnectionError("redis down")

    def set(self, key, value, ex=None):
        raise ConnectionError("redis down")


def install(app, monkeypatch, setting: str, seconds: int = 60) -> FakeRedis:
    """Configure a Redis URL and `setting` = `seconds`, and put a FakeRedis
    where the cache looks for its client; returns it."""
    fake = FakeRedis()
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://cache.invalid:6379/0")
    monkeypatch.setitem(app.config, setting, seconds)
    monkeypatch.setitem(app.extensions, "advocate_reports_cache", fake)
    return fake
