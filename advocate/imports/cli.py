"""Ops commands, on the blueprint's `import` group:

    flask --app wsgi import 835 FILE --tenant SLUG [--user EMAIL]
    flask --app wsgi import claims FILE --tenant SLUG [--user EMAIL] [--map "Their header=column" ...]

Each prints the same JSON summary as the API and exits 0; a file with errors
imports nothing, prints {"error", "details"} and exits 1.
"""

from __future__ import annotations

import contextvars
import json
from pathlib import Path

import click
from sqlalchemy import select

from advocate.extensions import db
from advocate.imports import bp

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _firm_and_actor(slug: str, email: str | None) -> tuple[int, int | None]:
    from advocate.auth.models import User
    from tenants import set_db_user
    from tenants.models import WORKER_ROLES, Membership, Tenant
    from tenants.scoping import lookup_email, lookup_tenant_slug

    with lookup_tenant_slug(slug):
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise click.ClickException(f"No firm with slug '{slug}'.")
    if email is None:
        return tenant.id, None
    with lookup_email(email):
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with email '{email}'.")
    set_db_user(user.id)
    membership = db.session.scalar(
        select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == user.id)
    )
    if membership is None or not membership.is_active or membership.role not in WORKER_ROLES:
        raise click.ClickException(f"{email} is not an active owner, admin or advocate of {slug}.")
    return tenant.id, user.id


def _run(fn, *args) -> None:
    # A copied context: the tenant set inside stays inside this command.
    contextvars.copy_context().run(fn, *args)


def _fail(message: str, details: list[dict]) -> None:
    click.echo(json.dumps({"error": message, "details": details}, indent=2))
    raise click.exceptions.Exit(1)


@bp.cli.command("835")
@click.argument("file", type=_FILE)
@click.option("--tenant", "slug", required=True, help="Firm slug")
@click.option("--user", "email", default=None, help="Record the import as this person's")
def import_835_command(file: Path, slug: str, email: str | None):
    """Post an X12 835 remittance file to the firm's cases."""
    _run(_import_835, file, slug, email)


def _import_835(file: Path, slug: str, email: str | None) -> None:
    from advocate.imports import edge, posting
    from tenants import tenant_scope

    tenant_id, actor_id = _firm_and_actor(slug, email)
    data = file.read_bytes()
    with tenant_scope(tenant_id):
        try:
            summary = edge.commit_835(
                data, tenant_id=tenant_id, actor_id=actor_id, filename=file.name, source="cli"
            )
        except posting.EraImportError as err:
            _fail(
                f"{len(err.errors)} error(s) in the file: nothing was imported",
                posting.error_details(err.errors),
            )
    click.echo(json.dumps(summary.as_json(), indent=2))


@bp.cli.command("claims")
@click.argument("file", type=_FILE)
@click.option("--tenant", "slug", required=True, help="Firm slug")
@click.option("--user", "email", default=None, help="Record the import as this person's")
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="HEADER=COLUMN",
    help="A column name in the file and the claims column it means (this run only; "
    "the firm's saved mapping applies too). May be repeated.",
)
def import_claims_command(file: Path, slug: str, email: str | None, maps: tuple[str, ...]):
    """Open the claims of a CSV (one row per service line) as cases at intake."""
    _run(_import_claims, file, slug, email, maps)


def _import_claims(file: Path, slug: str, email: str | None, maps: tuple[str, ...]) -> None:
    from advocate.csvimport import normalise_header
    from advocate.imports import claims_csv, edge, services
    from tenants import tenant_scope

    extra: dict[str, str] = {}
    for item in maps:
        header, sep, column = item.rpartition("=")
        if not sep or not header.strip() or column.strip() not in claims_csv.COLUMN_KEYS:
            raise click.BadParameter(
                f"'{item}': write HEADER=COLUMN, COLUMN one of {', '.join(sorted(claims_csv.COLUMN_KEYS))}",
                param_hint="--map",
            )
        extra[normalise_header(header)] = column.strip()
    tenant_id, actor_id = _firm_and_actor(slug, email)
    data = file.read_bytes()
    with tenant_scope(tenant_id):
        aliases = services.header_aliases(claims_csv.KIND)
        aliases.update(extra)
        try:
            summary = edge.commit_claims(
                data,
                tenant_id=tenant_id,
                actor_id=actor_id,
                filename=file.name,
                source="cli",
                aliases=aliases,
            )
        except claims_csv.ClaimsImportError as err:
            _fail(
                f"{len(err.errors)} error(s) in the file: nothing was imported",
                claims_csv.error_details(err.errors),
            )
    click.echo(json.dumps(summary.as_json(), indent=2))
