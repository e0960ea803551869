"""`flask --app wsgi documents sweep`."""

from __future__ import annotations

from datetime import timedelta

import click

from advocate.documents import bp


@bp.cli.command("sweep")
@click.option(
    "--grace-minutes",
    default=60,
    show_default=True,
    type=click.IntRange(min=0),
    help="Leave objects younger than this alone (uploads in flight).",
)
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
@click.option("--verbose", "-v", is_flag=True, help="Print each object and row acted on.")
def sweep_command(grace_minutes, dry_run, verbose):
    """Remove stored objects no document row owns; mark rows whose object is missing; purge old deletions."""
    from advocate.documents.sweep import sweep
    from advocate.storage import get_storage

    report = sweep(
        get_storage(),
        grace=timedelta(minutes=grace_minutes),
        dry_run=dry_run,
        log=click.echo if verbose else None,
    )
    if dry_run:
        click.echo("Dry run: nothing changed.")
    for line in report.lines():
        click.echo(line)
