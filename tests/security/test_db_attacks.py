"""Attacks on the database as the app role (issue 15, item 6): one statement
as the app role used to erase a firm's audit log and fee ledger by cascade.
Raw SQL on the app role's own connection: only the database stands guard."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from advocate.audit.models import PRE_TENANT_PREFIXES
from advocate.extensions import db
from tenants import rls
from tests.factories import make_firm

pytestmark = pytest.mark.postgres


@pytest.fixture()
def app_conn(db_app):
    engine = create_engine(db_app.config["SQLALCHEMY_DATABASE_URI"])
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def _as(conn, tenant_id=None, **settings):  # noqa: D103
    conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id or "")})
    for name, value in settings.items():
        conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": f"app.{name}", "v": value})


def _owner_count(db_app, sql, **params):
    """A count as the schema owner (bound by forced policies too: in the firm `t`)."""
    engine = create_engine(db_app.config["MIGRATION_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            _as(conn, params.get("t"))
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def test_the_app_role_cannot_delete_a_firm(db_app, app_conn):
    a = make_firm("Alpha")
    with app_conn.begin():
        _as(app_conn, a.tenant.id)
        app_conn.execute(
            text(
                "INSERT INTO audit_events (tenant_id, action, is_phi, at) VALUES (:t, 'case.view', true, now())"
            ),
            {"t": a.tenant.id},
        )
    for stmt in (
        "DELETE FROM tenants",
        "DELETE FROM tenants WHERE id = :t",
        "TRUNCATE tenants CASCADE",
    ):
        trans = app_conn.begin()
        _as(app_conn, a.tenant.id)
        with pytest.raises(Exception, match="permission denied"):
            app_conn.execute(text(stmt), {"t": a.tenant.id})
        trans.rollback()
    assert _owner_count(db_app, "SELECT count(*) FROM tenants WHERE id = :t", t=a.tenant.id) == 1
    assert (
        _owner_count(
            db_app, "SELECT count(*) FROM audit_events WHERE tenant_id = :t", t=a.tenant.id
        )
        >= 1
    )


def test_a_firm_sees_only_its_own_tenant_row(db_app, app_conn):
    a = make_firm("Alpha")
    b = make_firm("Bravo")
    with app_conn.begin():
        _as(app_conn, a.tenant.id)
        assert app_conn.execute(text("SELECT id FROM tenants ORDER BY id")).scalars().all() == [
            a.tenant.id
        ]
        assert (
            app_conn.execute(
                text("SELECT count(*) FROM tenants WHERE id = :b"), {"b": b.tenant.id}
            ).scalar()
            == 0
        )
        # Nor can it change another firm's row.
        changed = app_conn.execute(
            text("UPDATE tenants SET name = 'pwned' WHERE id = :b"), {"b": b.tenant.id}
        ).rowcount
        assert changed == 0
    with app_conn.begin():
        _as(app_conn)  # nothing in scope: nothing
        assert app_conn.execute(text("SELECT count(*) FROM tenants")).scalar() == 0
    with app_conn.begin():
        # A slug reveals one row (sign-up, ops commands), not the others.
        _as(app_conn, tenant_slug=b.tenant.slug)
        assert app_conn.execute(text("SELECT id FROM tenants")).scalars().all() == [b.tenant.id]
    trans = app_conn.begin()
    _as(app_conn, a.tenant.id)
    with pytest.raises(Exception, match="row-level security"):
        app_conn.execute(
            text(
                "INSERT INTO tenants (name, slug, timezone, is_active, created_at, updated_at) "
                "VALUES ('Evil', 'evil', 'UTC', true, now(), now())"
            )
        )
    trans.rollback()


def test_the_tenant_directory_lists_ids_and_slugs_only(db_app, app_conn):
    a = make_firm("Alpha")
    b = make_firm("Bravo")
    with app_conn.begin():
        rows = app_conn.execute(text("SELECT * FROM advocate_tenant_directory()")).all()
    assert [(r.id, r.slug) for r in rows] == [
        (a.tenant.id, a.tenant.slug),
        (b.tenant.id, b.tenant.slug),
    ]
    assert set(rows[0]._mapping) == {"id", "slug", "is_active"}


def test_audit_rows_with_no_tenant_only_for_pre_tenant_events(db_app, app_conn):
    a = make_firm("Alpha")
    insert = text(
        "INSERT INTO audit_events (tenant_id, action, is_phi, at) VALUES (:t, :a, false, now())"
    )
    for action in ("case.view", "tenant.deleted", "document.download", "xauth.login_failed"):
        trans = app_conn.begin()
        _as(app_conn, a.tenant.id)
        with pytest.raises(Exception, match="row-level security"):
            app_conn.execute(insert, {"t": None, "a": action})
        trans.rollback()
    # Nor into another firm's log.
    b = make_firm("Bravo")
    trans = app_conn.begin()
    _as(app_conn, a.tenant.id)
    with pytest.raises(Exception, match="row-level security"):
        app_conn.execute(insert, {"t": b.tenant.id, "a": "case.view"})
    trans.rollback()
    with app_conn.begin():
        _as(app_conn)
        app_conn.execute(insert, {"t": None, "a": "auth.login_failed"})
        app_conn.execute(insert, {"t": None, "a": "signup.started"})
    assert PRE_TENANT_PREFIXES == rls.PRE_TENANT_AUDIT_PREFIXES


def test_the_audit_log_outlives_a_deleted_firm(db_app):
    from advocate.cli import delete_tenant

    a = make_firm("Alpha")
    b = make_firm("Bravo")
    engine = create_engine(db_app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.begin() as conn:
            _as(conn, a.tenant.id)
            conn.execute(
                text(
                    "INSERT INTO audit_events (tenant_id, user_id, action, is_phi, at) "
                    "VALUES (:t, :u, 'case.view', true, now())"
                ),
                {"t": a.tenant.id, "u": a.owner.user.id},
            )
    finally:
        engine.dispose()
    runner = CliRunner()
    bad = runner.invoke(delete_tenant, ["--slug", a.tenant.slug, "--confirm", "nope"], obj=None)
    assert bad.exit_code != 0
    with db_app.test_request_context():
        result = db_app.test_cli_runner().invoke(
            args=["tenants", "delete", "--slug", a.tenant.slug, "--confirm", a.tenant.slug]
        )
    assert result.exit_code == 0, result.output
    assert _owner_count(db_app, "SELECT count(*) FROM tenants WHERE id = :t", t=a.tenant.id) == 0
    assert (
        _owner_count(db_app, "SELECT count(*) FROM memberships WHERE tenant_id = :t", t=a.tenant.id)
        == 0
    )
    # The log is whole, tenant and user kept as plain values, plus the deletion itself.
    assert (
        _owner_count(
            db_app,
            "SELECT count(*) FROM audit_events WHERE tenant_id = :t AND action = 'case.view' "
            "AND user_id = :u",
            t=a.tenant.id,
            u=a.owner.user.id,
        )
        == 1
    )
    assert (
        _owner_count(
            db_app,
            "SELECT count(*) FROM audit_events WHERE tenant_id = :t AND action = 'tenant.deleted'",
            t=a.tenant.id,
        )
        == 1
    )
    assert _owner_count(db_app, "SELECT count(*) FROM tenants WHERE id = :t", t=b.tenant.id) == 1
    # No foreign key leads into the audit log any more.
    fks = db.session.execute(
        text(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'audit_events'::regclass AND contype = 'f'"
        )
    ).scalar()
    assert fks == 0


def test_sessions_are_visible_only_to_their_user_and_the_firms_managers(
    db_app, app_conn, make_browser
):
    from tests.factories import login, make_user

    a = make_firm("Alpha")
    b = make_firm("Bravo")
    adv = make_user(a.tenant, "advocate")
    viewer = make_user(a.tenant, "viewer")
    login(make_browser("10.9.9.1"), adv)
    login(make_browser("10.9.9.2"), b.owner)
    count = text("SELECT count(*) FROM auth_sessions")
    with app_conn.begin():
        _as(app_conn)  # nothing known: nothing (the old table showed every session)
        assert app_conn.execute(count).scalar() == 0
    with app_conn.begin():
        _as(app_conn, user_id=str(adv.user.id))
        assert app_conn.execute(
            text("SELECT DISTINCT user_id FROM auth_sessions")
        ).scalars().all() == [adv.user.id]
    with app_conn.begin():
        # A colleague who manages no one sees no one's sessions.
        _as(app_conn, a.tenant.id, user_id=str(viewer.user.id))
        assert app_conn.execute(count).scalar() == 0
    with app_conn.begin():
        # Firm A's owner (to end a deactivated person's sessions): A's members only.
        _as(app_conn, a.tenant.id, user_id=str(a.owner.user.id))
        assert app_conn.execute(
            text("SELECT DISTINCT user_id FROM auth_sessions")
        ).scalars().all() == [adv.user.id]
        changed = app_conn.execute(
            text("UPDATE auth_sessions SET revoked_at = now() WHERE user_id = :u"),
            {"u": b.owner.user.id},
        ).rowcount
        assert changed == 0


def test_accounts_are_visible_only_to_themselves_their_firm_and_a_lookup(db_app, app_conn):
    from tests.factories import make_user

    a = make_firm("Alpha")
    b = make_firm("Bravo")
    colleague = make_user(a.tenant, "advocate")
    ids = text("SELECT id FROM users ORDER BY id")
    with app_conn.begin():
        _as(app_conn)  # nothing known: no account (the old table showed every one)
        assert app_conn.execute(ids).scalars().all() == []
    with app_conn.begin():
        _as(app_conn, a.tenant.id, user_id=str(a.owner.user.id))
        assert app_conn.execute(ids).scalars().all() == sorted([a.owner.user.id, colleague.user.id])
        # Another firm's account: neither readable nor writable.
        hijack = text("UPDATE users SET password_hash = 'x' WHERE id = :u")
        assert app_conn.execute(hijack, {"u": b.owner.user.id}).rowcount == 0
        # Nor a colleague's: only the user themself changes their account.
        assert app_conn.execute(hijack, {"u": colleague.user.id}).rowcount == 0
    with app_conn.begin():
        # Log-in looks up one address, and sees that account only.
        _as(app_conn, email=b.owner.user.email)
        assert app_conn.execute(ids).scalars().all() == [b.owner.user.id]
