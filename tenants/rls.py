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
# Pre-tenant look-ups of a firm row: sign-up's slug check, an ops command's
# --tenant SLUG, a Stripe webhook's connected account.
CURRENT_SLUG = "NULLIF(current_setting('app.tenant_slug', true), '')"
CURRENT_STRIPE_ACCOUNT = "NULLIF(current_setting('app.stripe_account', true), '')"
# A pre-sign-in look-up of one account by its address (log-in, password reset).
CURRENT_EMAIL = "NULLIF(current_setting('app.email', true), '')"

# Audit rows with no tenant are allowed only for these actions: events before
# anyone is known to belong to a firm (a failed log-in of an unknown address,
# a password-reset request, a sign-up). Everything else, and every PHI event,
# carries its firm. Kept in step with advocate.audit.models.PRE_TENANT_PREFIXES.
PRE_TENANT_AUDIT_PREFIXES = ("auth.", "signup.", "rates.pfs_")


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


def tenants_statements() -> list[str]:
    """The firms table: a firm sees (and changes) its own row. Before a firm is
    known, narrow settings reveal one row each: the firms of the user logging
    in (app.user_id), the firm of a token being checked (app.token_hash), one
    slug (sign-up, ops commands), one Stripe account (webhooks). A new firm is
    inserted under its own slug setting. No DELETE policy: with no DELETE
    privilege either, only the owner role (an ops command) deletes a firm."""
    visible = (
        f"id = {CURRENT_TENANT}"  # noqa: S608 - constants, no input
        f" OR slug = {CURRENT_SLUG}"
        f" OR stripe_account_id = {CURRENT_STRIPE_ACCOUNT}"
        f" OR id IN (SELECT m.tenant_id FROM memberships m WHERE m.user_id = {CURRENT_USER})"
        f" OR id IN (SELECT t.tenant_id FROM api_tokens t WHERE t.token_hash = {CURRENT_TOKEN})"
        f" OR id IN (SELECT i.tenant_id FROM invitations i WHERE i.token_hash = {CURRENT_TOKEN})"
    )
    return [
        # Enabled, not forced: the schema owner (migrations, the ops command
        # that deletes a firm, advocate_tenant_directory()) is not bound; the
        # app role, which owns nothing, is.
        "ALTER TABLE tenants ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY",
        *(f"DROP POLICY IF EXISTS {p} ON tenants" for p in TENANTS_POLICIES),
        f"CREATE POLICY tenant_read ON tenants FOR SELECT USING ({visible})",
        f"CREATE POLICY tenant_signup ON tenants FOR INSERT WITH CHECK (slug = {CURRENT_SLUG})",
        f"CREATE POLICY tenant_update ON tenants FOR UPDATE USING (id = {CURRENT_TENANT}) "
        f"WITH CHECK (id = {CURRENT_TENANT})",
    ]


TENANTS_POLICIES = ("tenant_read", "tenant_signup", "tenant_update")


def users_statements() -> list[str]:
    """Accounts: a request sees the signed-in user (app.user_id), the account
    its session cookie names and the inviter of the invitation it opens
    (app.token_hash), the one address being looked up
    before sign-in (app.email), and the members of the firm in scope (names on
    cases, the audit log, the people page). Only the user themself (or the
    looked-up address: log-in, password reset, sign-up) changes or creates an
    account row. No DELETE."""
    visible = (
        f"id = {CURRENT_USER} OR email = {CURRENT_EMAIL}"  # noqa: S608 - constants, no input
        f" OR id IN (SELECT s.user_id FROM auth_sessions s WHERE s.token_hash = {CURRENT_TOKEN})"
        f" OR id IN (SELECT i.invited_by_id FROM invitations i WHERE i.token_hash = {CURRENT_TOKEN})"
        f" OR id IN (SELECT m.user_id FROM memberships m WHERE m.tenant_id = {CURRENT_TENANT})"
    )
    own = f"id = {CURRENT_USER} OR email = {CURRENT_EMAIL}"
    return [
        "ALTER TABLE users ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE users FORCE ROW LEVEL SECURITY",
        *(f"DROP POLICY IF EXISTS {p} ON users" for p in USERS_POLICIES),
        f"CREATE POLICY user_read ON users FOR SELECT USING ({visible})",
        f"CREATE POLICY user_create ON users FOR INSERT WITH CHECK (email = {CURRENT_EMAIL})",
        f"CREATE POLICY user_update ON users FOR UPDATE USING ({own}) WITH CHECK ({own})",
    ]


USERS_POLICIES = ("user_read", "user_create", "user_update")


def auth_sessions_statements() -> list[str]:
    """Log-in sessions: a request sees the session its cookie names (by token
    hash), the signed-in user's own sessions, and, for a manager of the firm in
    scope (owner, admin, practice admin), the sessions of the firm's members
    (a deactivation or role change ends them). Nothing else: no other firm's,
    and not the colleagues' sessions of anyone who manages no one."""
    manager = (
        "EXISTS (SELECT 1 FROM memberships me WHERE me.user_id = "  # noqa: S608 - constants, no input
        f"{CURRENT_USER} AND me.tenant_id = {CURRENT_TENANT} AND me.is_active "
        "AND me.role IN ('owner', 'admin', 'practice_admin'))"
    )
    visible = (
        f"user_id = {CURRENT_USER} OR token_hash = {CURRENT_TOKEN}"  # noqa: S608 - constants, no input
        f" OR (membership_id IN (SELECT m.id FROM memberships m WHERE m.tenant_id = {CURRENT_TENANT})"
        f" AND {manager})"
    )
    return [
        "ALTER TABLE auth_sessions ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE auth_sessions FORCE ROW LEVEL SECURITY",
        "DROP POLICY IF EXISTS session_access ON auth_sessions",
        f"CREATE POLICY session_access ON auth_sessions USING ({visible}) WITH CHECK ({visible})",
    ]


def audit_statements() -> list[str]:
    """The audit log: readable by its own firm; insertable for the firm in
    scope, or with no firm only for the pre-tenant events."""
    pre = " OR ".join(f"action LIKE '{p}%'" for p in PRE_TENANT_AUDIT_PREFIXES)
    return [
        "ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE audit_events FORCE ROW LEVEL SECURITY",
        "DROP POLICY IF EXISTS tenant_read ON audit_events",
        "DROP POLICY IF EXISTS tenant_insert ON audit_events",
        f"CREATE POLICY tenant_read ON audit_events FOR SELECT USING (tenant_id = {CURRENT_TENANT})",
        "CREATE POLICY tenant_insert ON audit_events FOR INSERT "
        f"WITH CHECK (tenant_id = {CURRENT_TENANT} OR (tenant_id IS NULL AND ({pre})))",
    ]


def tenant_directory_statements() -> list[str]:
    """Ops commands that run for every firm (billing, digests) list the firms
    through this function: ids, slugs and whether active, nothing else. It runs
    as its owner, the schema owner, whom the policies on `tenants` do not bind
    (RLS is enabled there, not forced: the app role never owns a table)."""
    return [
        "CREATE OR REPLACE FUNCTION advocate_tenant_directory() "
        "RETURNS TABLE (id bigint, slug varchar, is_active boolean) "
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp "
        "AS $$ SELECT t.id, t.slug, t.is_active FROM tenants t ORDER BY t.id $$",
        "REVOKE ALL ON FUNCTION advocate_tenant_directory() FROM PUBLIC",
    ]


def grant_statements(app_role: str, append_only: tuple[str, ...] = ("audit_events",)) -> list[str]:
    """The app role may use every table, but only INSERT/SELECT on append-only
    ones, nothing on Alembic's bookkeeping beyond reading it, and never DELETE
    a firm (deleting a firm cascades to everything it owns: an ops command
    run as the owner role does it)."""
    role = _ident(app_role)
    stmts = [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
        f"REVOKE DELETE, TRUNCATE ON tenants FROM {role}",
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
