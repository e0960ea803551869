"""Ops commands: `flask --app wsgi tenants create`, `tenants delete`, `tokens create`, `demo seed`."""

from __future__ import annotations

import contextvars

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from advocate.extensions import db

tenants_cli = AppGroup("tenants", help="Manage firms (tenants).")
tokens_cli = AppGroup("tokens", help="Manage API tokens.")
demo_cli = AppGroup("demo", help="Demo data for `make run`.")


@tenants_cli.command("create")
@click.option("--name", required=True, help="Firm name")
@click.option("--slug", required=True, help="Unique short name (lowercase, digits, hyphens)")
@click.option("--owner-email", required=True)
@click.option("--owner-password", required=True)
@click.option("--owner-name", default=None, help="Owner's name (defaults to the email)")
def create_tenant(name, slug, owner_email, owner_password, owner_name):
    """Create a firm and its owner account."""
    contextvars.copy_context().run(
        _create_tenant, name, slug, owner_email, owner_password, owner_name
    )


def _create_tenant(name, slug, owner_email, owner_password, owner_name):
    # Runs in a copied context: the tenant it sets stays inside this command.
    from tenants.onboarding.services import OnboardingError, create_firm

    try:
        tenant, user, _ = create_firm(
            firm_name=name,
            owner_name=owner_name or owner_email,
            email=owner_email,
            password=owner_password,
            slug=slug,
        )
    except OnboardingError as err:
        db.session.rollback()
        raise click.ClickException(f"{err.field or 'error'}: {err.message}") from err
    db.session.commit()
    click.echo(
        f"Created firm {tenant.name} (slug {tenant.slug}, id {tenant.id}); owner {user.email}."
    )


@tenants_cli.command("delete")
@click.option("--slug", required=True, help="The firm to delete")
@click.option("--confirm", "confirm_slug", required=True, help="The slug again, to confirm")
def delete_tenant(slug, confirm_slug):
    """Delete a firm and everything it owns (not its audit log). Runs as the
    owner role (MIGRATION_DATABASE_URL): the app role may not delete firms."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from advocate.config import normalise_db_url

    if slug != confirm_slug:
        raise click.ClickException("--confirm must repeat the slug.")
    from flask import current_app

    url = current_app.config.get("MIGRATION_DATABASE_URL")
    if not url:
        raise click.ClickException("Set MIGRATION_DATABASE_URL (the owner role) to delete a firm.")
    engine = create_engine(normalise_db_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            row = conn.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug}).first()
            if row is None:
                raise click.ClickException(f"No firm with slug '{slug}'.")
            if conn.dialect.name == "postgresql":
                # The owner is bound by the forced policies of the audit log.
                conn.execute(
                    text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(row.id)}
                )
            # The audit log is not cascaded (no foreign key): it outlives the firm.
            conn.execute(
                text(
                    "INSERT INTO audit_events (tenant_id, action, object_type, object_id, is_phi, at) "
                    "VALUES (:t, 'tenant.deleted', 'tenants', :o, false, now())"
                ),
                {"t": row.id, "o": str(row.id)},
            )
            conn.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": row.id})
    finally:
        engine.dispose()
    click.echo(f"Deleted firm {slug} (id {row.id}); its audit log is kept.")


@tokens_cli.command("create")
@click.option("--tenant", "slug", required=True, help="Firm slug")
@click.option("--email", required=True, help="The user the token acts as")
@click.option("--name", "label", required=True, help="A label for the token")
def create_token(slug, email, label):
    """Create an API token and print it once."""
    from advocate.audit.services import audit
    from advocate.auth.models import ApiToken, User, new_token, token_hash
    from tenants import set_db_user, tenant_scope
    from tenants.models import Membership, Tenant
    from tenants.scoping import lookup_email, lookup_tenant_slug

    with lookup_tenant_slug(slug):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise click.ClickException(f"No firm with slug '{slug}'.")
    with lookup_email(email):
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with email '{email}'.")
    with tenant_scope(tenant.id):
        set_db_user(user.id)
        membership = db.session.scalar(
            select(Membership).where(
                Membership.tenant_id == tenant.id, Membership.user_id == user.id
            )
        )
        if membership is None or not membership.is_active:
            raise click.ClickException(f"{email} is not an active member of {slug}.")
        if membership.is_practice:
            raise click.ClickException("API tokens are for firm staff.")
        raw = new_token("adv_")
        tok = ApiToken(
            membership_id=membership.id,
            name=label,
            token_prefix=raw[:8],
            token_hash=token_hash(raw),
        )
        db.session.add(tok)
        db.session.flush()
        audit("api_token.created", tok, user_id=user.id, details={"via": "cli"})
        db.session.commit()
    click.echo(raw)


@demo_cli.command("seed")
@click.option("--password", default="demo-password-2026", show_default=True)
def demo_seed(password):
    """Seed a demo firm with people (idempotent) and print the logins."""
    from advocate.demo import seed

    for line in seed(password):
        click.echo(line)


def init_app(app: Flask) -> None:
    app.cli.add_command(tenants_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(demo_cli)
