"""Ops command: ``flask --app wsgi billing run`` (schedule it daily, e.g. cron at 06:00).

For every active firm (or ``--tenant SLUG``): post pending fees, prepare the
invoices each practice's cadence calls for, issue them on Stripe. One RQ job
per firm when Redis is configured, inline otherwise. Safe to run twice.
"""

from __future__ import annotations

import contextvars
from datetime import date

import click

from advocate.billing import bp
from advocate.extensions import db


def _tenants(slug: str | None) -> list[tuple[int, str]]:
    from tenants.scoping import tenant_directory

    # The app role cannot list firms (RLS on tenants): the directory can.
    tenants = tenant_directory(slug) if slug else [t for t in tenant_directory() if t[2]]
    if slug and not tenants:
        raise click.ClickException(f"No firm with slug '{slug}'.")
    out = [(tid, tslug) for tid, tslug, _active in tenants]
    db.session.rollback()  # no transaction left open across the firms' scopes
    return out


@bp.cli.command("run")
@click.option(
    "--tenant", "slug", default=None, help="Only this firm (slug); default: every active firm."
)
@click.option(
    "--date",
    "on",
    default=None,
    help="Bill as of this day (YYYY-MM-DD); default: each firm's today.",
)
def run_command(slug, on):
    """Post pending fees and bill what each practice's cadence says is due."""
    from advocate import jobs
    from advocate.billing.scheduled import bill_firm, bill_firm_job

    if on:
        try:
            date.fromisoformat(on)
        except ValueError:
            raise click.ClickException(f"--date: '{on}' is not YYYY-MM-DD") from None
    failed = 0
    for tenant_id, tenant_slug in _tenants(slug):

        def run(tid=tenant_id, s=tenant_slug):
            if jobs.is_inline():
                result = bill_firm(tid, today=date.fromisoformat(on) if on else None)
                click.echo(f"{s}: {result.summary()}.")
                for err in result.errors:
                    click.echo(f"{s}: {err}", err=True)
                return result.failed
            job = jobs.enqueue(bill_firm_job, tid, on)
            click.echo(f"{s}: queued job {job.id}.")
            return 0

        # A copied context: the tenant a run sets stays inside it.
        failed += contextvars.copy_context().run(run)
    if failed:
        raise click.exceptions.Exit(1)
