"""Row-level security DDL, used by Alembic revisions (PostgreSQL only).

Every table with a tenant_id column gets ENABLE and FORCE row level security
and a policy on the transaction-local `app.tenant_id` setting. A few tables
need one more way in, before any tenant is known: memberships (by the user
logging in), and rows found by a secret token's hash (API tokens, invitations).
"""

from __future__ import annotations

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"
CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::bigint"
CURRENT_TOKEN = "NULLIF(current_setting('app.token_hash', true), '')"  # noqa: S105 - SQL, not a secret


def enable_statements(table: str, extra_using: str | None = None) -> list[str]:
    using = f"tenant_id = {CURRENT_TENANT}"
    if extra_using:
        using = f"({using}) OR ({extra_using})"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} USING ({using}) "
        f"WITH CHECK (tenant_id = {CURRENT_TENANT})",
    ]


def log_statements(table: str) -> list[str]:
    """Logs (audit events, outgoing mail): readable by their own tenant;
    insertable for the tenant in scope or with no tenant (a failed log-in of an
    unknown address, a password-reset email)."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_read ON {table}",
        f"DROP POLICY IF EXISTS tenant_insert ON {table}",
        f"CREATE POLICY tenant_read ON {table} FOR SELECT USING (tenant_id = {CURRENT_TENANT})",
        f"CREATE POLICY tenant_insert ON {table} FOR INSERT "
        f"WITH CHECK (tenant_id IS NULL OR tenant_id = {CURRENT_TENANT})",
    ]


def grant_statements(app_role: str, append_only: tuple[str, ...] = ("audit_events",)) -> list[str]:
    """The app role may use every table, but only INSERT/SELECT on append-only
    ones, and nothing on Alembic's bookkeeping beyond reading it."""
    role = _ident(app_role)
    stmts = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
    ]
    for table in append_only:
        stmts.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}")
    return stmts


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unsafe role name {name!r}")
    return name


def run(op, statements: list[str]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for stmt in statements:
        op.execute(stmt)


def grant_app_role(op) -> None:
    """Grant the app role its privileges, if that role exists on this server."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from flask import current_app
    from sqlalchemy import text

    role = current_app.config.get("APP_DB_ROLE", "advocate_app")
    exists = bind.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
    if exists:
        for stmt in grant_statements(role):
            op.execute(stmt)
