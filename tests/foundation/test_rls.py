"""Row-level security on PostgreSQL, proven as the app role."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from advocate.extensions import db
from tests.factories import make_firm

pytestmark = pytest.mark.postgres


def test_app_role_is_not_privileged(db_app):
    row = db.session.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    ).one()
    assert tuple(row) == (False, False)
    owners = db.session.execute(
        text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
        )
    ).scalar()
    assert owners == 0


def test_every_tenant_table_forces_rls_with_a_policy(db_app):
    rows = db.session.execute(
        text(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname) AS policies
            FROM information_schema.columns col
            JOIN pg_class c ON c.relname = col.table_name
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
            WHERE col.table_schema = 'public' AND col.column_name = 'tenant_id' AND c.relkind = 'r'
            """
        )
    ).all()
    tables = {r.relname for r in rows}
    # Every ORM model with a tenant_id column is a table here, and vice versa.
    model_tables = {t.name for t in db.metadata.sorted_tables if "tenant_id" in t.c}
    assert tables == model_tables
    bad = [
        r.relname
        for r in rows
        if not (r.relrowsecurity and r.relforcerowsecurity and r.policies >= 1)
    ]
    assert bad == []


def _raw(app):
    return create_engine(app.config["SQLALCHEMY_DATABASE_URI"])


def test_rls_alone_hides_another_tenants_rows(db_app):
    a = make_firm("Alpha")
    b = make_firm("Bravo")
    engine = _raw(db_app)
    try:
        with engine.connect() as conn:
            # Raw SQL, no ORM filter: only the database's policy stands guard.
            def visible(tenant_id):
                with conn.begin():
                    conn.execute(
                        text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id}
                    )
                    return (
                        conn.execute(text("SELECT DISTINCT tenant_id FROM memberships"))
                        .scalars()
                        .all()
                    )

            assert visible(str(a.tenant.id)) == [a.tenant.id]
            assert visible(str(b.tenant.id)) == [b.tenant.id]
            assert visible("") == []  # no tenant: nothing
            with conn.begin():
                count = conn.execute(text("SELECT count(*) FROM memberships")).scalar()
            assert count == 0  # a fresh transaction carries no tenant over
    finally:
        engine.dispose()


def test_rls_refuses_writing_into_another_tenant(db_app):
    a = make_firm("Alpha")
    b = make_firm("Bravo")
    engine = _raw(db_app)
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a.tenant.id)}
            )
            with pytest.raises(Exception, match="row-level security"):
                conn.execute(
                    text(
                        "INSERT INTO invitations (tenant_id, email, role, token_hash, expires_at, created_at, updated_at)"
                        " VALUES (:t, 'x@example.com', 'advocate', 'h', now(), now(), now())"
                    ),
                    {"t": b.tenant.id},
                )
            trans.rollback()
            with conn.begin():
                conn.execute(
                    text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a.tenant.id)}
                )
                updated = conn.execute(
                    text("UPDATE memberships SET role = 'viewer' WHERE tenant_id = :b"),
                    {"b": b.tenant.id},
                ).rowcount
            assert updated == 0
    finally:
        engine.dispose()


def test_audit_log_is_append_only_for_the_app_role(db_app):
    a = make_firm("Alpha")
    engine = _raw(db_app)
    try:
        with engine.connect() as conn:
            with conn.begin():
                conn.execute(
                    text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a.tenant.id)}
                )
                conn.execute(
                    text(
                        "INSERT INTO audit_events (tenant_id, action, is_phi, at) VALUES (:t, 'x', false, now())"
                    ),
                    {"t": a.tenant.id},
                )
            for stmt in ("UPDATE audit_events SET action = 'y'", "DELETE FROM audit_events"):
                trans = conn.begin()
                conn.execute(
                    text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a.tenant.id)}
                )
                with pytest.raises(Exception, match="permission denied"):
                    conn.execute(text(stmt))
                trans.rollback()
    finally:
        engine.dispose()
