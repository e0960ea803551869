"""Test fixtures: one app per session on PostgreSQL (as the app role, so RLS
is really exercised) when DATABASE_URL points at it, else SQLite.

Pure-module tests (calendars, parsers, fee arithmetic) need none of this; the
app fixtures are created lazily.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

PG_URL = os.environ.get("DATABASE_URL", "")
IS_PG = PG_URL.startswith("postgres")


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL; .ci/run does)")
    for item in items:
        if "postgres" in item.keywords and not IS_PG:
            item.add_marker(skip_pg)


def _reset_pg_schema(owner_url: str) -> None:
    from sqlalchemy import create_engine, text

    from advocate.config import normalise_db_url

    engine = create_engine(normalise_db_url(owner_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    from flask_migrate import upgrade

    from advocate import create_app

    instance = tmp_path_factory.mktemp("instance")
    overrides = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SERVER_NAME": "advocate.test",
        # As `make run`: links in mail go to this base, and only these hosts are served.
        "APP_BASE_URL": "http://localhost",
        "TRUSTED_HOSTS": ["localhost", "127.0.0.1"],
        "RATELIMIT_STORAGE_URI": "memory://",
        # Every API response in the tests is checked against its OpenAPI schema.
        "API_CHECK_RESPONSES": True,
        "OUTBOX_DIR": str(instance / "outbox"),
        "STORAGE_LOCAL_ROOT": str(instance / "documents"),
    }
    if IS_PG:
        owner = os.environ.get("MIGRATION_DATABASE_URL")
        assert owner, "MIGRATION_DATABASE_URL (the schema owner) is needed with PostgreSQL"
        _reset_pg_schema(owner)
    else:
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'test.db'}"
        overrides["MIGRATION_DATABASE_URL"] = overrides["SQLALCHEMY_DATABASE_URI"]
    os.environ.setdefault("SECRET_KEY", overrides["SECRET_KEY"])
    application = create_app(overrides)
    application.config["SERVER_NAME"] = None
    with application.app_context():
        upgrade(
            directory=str(Path(__file__).resolve().parent.parent / "migrations"), revision="heads"
        )
    return application


def _truncate(app) -> None:
    from sqlalchemy import create_engine, text

    from advocate.extensions import db

    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if IS_PG:
        engine = create_engine(app.config["MIGRATION_DATABASE_URL"])
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))  # noqa: S608 - our table names
        engine.dispose()
    else:
        with app.app_context():
            with db.engine.begin() as conn:
                for t in tables:
                    conn.execute(text(f"DELETE FROM {t}"))  # noqa: S608 - our table names


@pytest.fixture()
def db_app(app):
    """The app with empty tables, a fresh limiter and nothing in tenant scope."""
    from advocate.extensions import db, limiter
    from tenants import _current_tenant_id, _current_user_id

    # Nothing in scope at the start of a test, whatever the last one left.
    _current_tenant_id.set(None)
    _current_user_id.set(None)
    _truncate(app)
    limiter.reset()
    from advocate.auth import throttle

    throttle._limiters.clear()
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture()
def db_session(db_app):
    from advocate.extensions import db

    return db.session


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """A test client that behaves like a person's browser: it reads the CSRF
    token off the page like a form would."""

    def __init__(self, app, ip: str = "127.0.0.1"):
        self.app = app
        self.client = app.test_client()
        self.ip = ip

    def _environ(self, ip=None):
        return {"REMOTE_ADDR": ip or self.ip}

    def open(self, *args, **kw):
        """One request in its own app context, as in production (a fresh `g`
        and database session), after ending the test's own transaction so
        SQLite's locks and stale reads don't get in the way."""
        from advocate.extensions import db

        db.session.commit()
        with self.app.app_context():
            return self.client.open(*args, **kw)

    def get(self, url, **kw):
        return self.open(url, method="GET", environ_base=self._environ(kw.pop("ip", None)), **kw)

    def csrf(self) -> str:
        for url in ("/account", "/login", "/signup"):
            r = self.get(url)
            m = CSRF_RE.search(r.get_data(as_text=True))
            if m:
                return m.group(1)
        raise AssertionError("no page with a CSRF token")

    def post(self, url, data=None, *, csrf=True, ip=None, **kw):
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            data["csrf_token"] = self.csrf()
        return self.open(url, method="POST", data=data, environ_base=self._environ(ip), **kw)


@pytest.fixture()
def browser(db_app):
    return Browser(db_app)


@pytest.fixture()
def make_browser(db_app):
    def make(ip="127.0.0.1"):
        return Browser(db_app, ip=ip)

    return make
