"""security: RLS on tenants, no DELETE of a firm by the app role, the audit log outlives its firm

* tenants: row-level security (a firm sees and changes its own row; narrow
  settings reveal one row before a firm is known: see tenants.rls). The app
  role loses DELETE on tenants: deleting a firm (which cascades to everything
  it owns) is `flask tenants delete`, run as the owner role.
* audit_events: no foreign keys any more. The log outlives a deleted firm
  (HIPAA keeps audit records six years) and a deleted user; tenant_id and
  user_id stay as plain values. A row with no tenant may be inserted only for
  the pre-tenant events (auth.*, signup.*).
* memberships.deactivated_by_role: who deactivated a person decides who may
  reactivate them (a firm's deactivation outranks a practice admin).
* auth_sessions: row-level security (the cookie's own session, the user's own
  sessions, and a firm manager's view of the firm's members' sessions).
* users: row-level security (the signed-in user, the account a cookie or a
  looked-up address names, the members of the firm in scope).
* advocate_tenant_directory(): the list of firms (id, slug, active) for the
  ops commands that run for every firm.

Revision ID: 5ecda7a00001
Revises: a7d1e5000005
Create Date: 2026-12-07 23:20:00

"""
import sqlalchemy as sa
from alembic import op

import advocate.db  # noqa: F401  (custom column types)
from tenants import rls

revision = "5ecda7a00001"
down_revision = "a7d1e5000005"
branch_labels = None
depends_on = None


def _app_role():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return None
    from flask import current_app

    role = current_app.config.get("APP_DB_ROLE", "advocate_app")
    exists = bind.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
    return rls._ident(role) if exists else None


def upgrade():
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deactivated_by_role", sa.String(length=20), nullable=True))
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_audit_events_tenant_id_tenants", type_="foreignkey")
        batch_op.drop_constraint("fk_audit_events_user_id_users", type_="foreignkey")
    rls.run(op, rls.tenants_statements())
    rls.run(op, rls.audit_statements())
    rls.run(op, rls.auth_sessions_statements())
    rls.run(op, rls.users_statements())
    rls.run(op, rls.tenant_directory_statements())
    rls.grant_app_role(op)
    role = _app_role()
    if role:
        op.execute(f"GRANT EXECUTE ON FUNCTION advocate_tenant_directory() TO {role}")


def downgrade():
    role = _app_role()
    rls.run(op, ["DROP FUNCTION IF EXISTS advocate_tenant_directory()"])
    rls.run(op, [
        "DROP POLICY IF EXISTS session_access ON auth_sessions",
        "ALTER TABLE auth_sessions NO FORCE ROW LEVEL SECURITY",
        "ALTER TABLE auth_sessions DISABLE ROW LEVEL SECURITY",
        *(f"DROP POLICY IF EXISTS {p} ON users" for p in rls.USERS_POLICIES),
        "ALTER TABLE users NO FORCE ROW LEVEL SECURITY",
        "ALTER TABLE users DISABLE ROW LEVEL SECURITY",
    ])
    rls.run(op, rls.log_statements("audit_events"))
    rls.run(op, [
        *(f"DROP POLICY IF EXISTS {p} ON tenants" for p in rls.TENANTS_POLICIES),
        "ALTER TABLE tenants DISABLE ROW LEVEL SECURITY",
    ])
    if role:
        op.execute(f"GRANT DELETE ON tenants TO {role}")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Rows of firms or users deleted meanwhile would break the restored keys.
        # (The owner is bound by the forced policies, which allow no UPDATE.)
        op.execute("ALTER TABLE audit_events NO FORCE ROW LEVEL SECURITY")
        op.execute("UPDATE audit_events SET tenant_id = NULL WHERE tenant_id IS NOT NULL "
                   "AND tenant_id NOT IN (SELECT id FROM tenants)")
        op.execute("UPDATE audit_events SET user_id = NULL WHERE user_id IS NOT NULL "
                   "AND user_id NOT IN (SELECT id FROM users)")
        op.execute("ALTER TABLE audit_events FORCE ROW LEVEL SECURITY")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_audit_events_user_id_users", "users", ["user_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            "fk_audit_events_tenant_id_tenants", "tenants", ["tenant_id"], ["id"], ondelete="CASCADE"
        )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_column("deactivated_by_role")
