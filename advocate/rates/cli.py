"""Ops commands: `flask --app wsgi rates import-pfs` and `flask --app wsgi rates pfs-years`.

Registered on the blueprint's own command group, so `rates` appears in the
`flask` command list with the blueprint.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from advocate.extensions import db
from advocate.rates import bp
from advocate.rates.pfs_files import PfsFileError

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@bp.cli.command("import-pfs")
@click.option(
    "--year", type=int, required=True, help="Calendar year of the fee schedule, e.g. 2025"
)
@click.option("--rvu", type=_FILE, help="PPRRVU<yy>_<release>.csv (relative values)")
@click.option("--gpci", type=_FILE, help="GPCI<yyyy>.csv (geographic practice cost indices)")
@click.option("--zip", "zip5", type=_FILE, help="ZIP5_<MON><yyyy>.txt (ZIP code to locality)")
@click.option("--anes", type=_FILE, help="ANES<yyyy>.csv (anesthesia conversion factors; optional)")
@click.option(
    "--bundle",
    "bundles",
    type=_FILE,
    multiple=True,
    help="A CMS zip as downloaded (the RVU zip and/or the ZIP code zip); may be repeated.",
)
@click.option(
    "--release", default="A", show_default=True, help="The CMS release letter (A, B, C, D)"
)
@click.option(
    "--effective",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The release's effective date, YYYY-MM-DD (default: January 1 of --year)",
)
def import_pfs_command(year, rvu, gpci, zip5, anes, bundles, release, effective):
    """Load (or replace) one year of the Medicare Physician Fee Schedule, as the
    given CMS release (its rows replace whichever release of the year was loaded)."""
    from advocate.rates.importer import import_pfs

    started = time.perf_counter()
    try:
        result = import_pfs(
            db.session,
            year,
            rvu=rvu,
            gpci=gpci,
            zip5=zip5,
            anes=anes,
            bundles=bundles,
            release=release,
            effective=effective.date() if effective else None,
        )
        db.session.commit()
        from advocate.rates.benchmark import enqueue_all_firms

        enqueue_all_firms()  # every firm's Medicare amounts may have changed
    except PfsFileError as err:
        db.session.rollback()
        raise click.ClickException(f"{err} -- nothing was imported.") from err
    except Exception:
        db.session.rollback()
        raise
    c = result.counts
    verb = "Replaced" if result.replaced else "Imported"
    click.echo(
        f"{verb} the {year} Medicare fee schedule (release {release.strip().upper()}, effective "
        f"{(effective.date() if effective else None) or f'{year}-01-01'}): {c['rvu']:,} RVU rows, {c['gpci']:,} "
        f"localities, {c['zip5']:,} ZIP codes, {c['anes']:,} anesthesia factors "
        f"in {time.perf_counter() - started:.1f} s "
        f"(read {result.read_seconds:.1f} s, write {result.write_seconds:.1f} s)."
    )


@bp.cli.command("benchmark")
@click.option("--firm", "slug", default=None, help="the firm's slug (default: every firm)")
def benchmark_command(slug):
    """Re-benchmark the caseload (set-based), now, in this process."""
    from sqlalchemy import select

    from advocate.rates.benchmark import benchmark_firm, rebenchmark_all_firms_job
    from tenants import tenant_scope
    from tenants.models import Tenant
    from tenants.scoping import lookup_tenant_slug

    if slug is None:
        rebenchmark_all_firms_job()
        click.echo("Re-benchmarked every firm's caseload.")
        return
    with lookup_tenant_slug(slug):  # RLS on tenants: this one firm
        tenant_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    if tenant_id is None:
        raise click.ClickException(f"no firm with slug {slug!r}")
    with tenant_scope(tenant_id):
        run = benchmark_firm(tenant_id)
        db.session.commit()
    click.echo(
        f"Benchmarked {run.lines:,} lines of {run.cases:,} cases in {run.seconds['total']:.2f} s."
    )


@bp.cli.command("pfs-years")
def pfs_years_command():
    """List the loaded fee schedule years."""
    from advocate.rates.services import pfs_years

    years = pfs_years()
    if not years:
        click.echo("No Medicare fee schedule is loaded.")
        return
    for y in years:
        click.echo(
            f"{y.year} release {y.release} (effective {y.effective:%Y-%m-%d}): "
            f"CF {y.conversion_factor}, {y.rvu_rows:,} RVU rows ({y.rvu_file}), "
            f"{y.gpci_rows} localities ({y.gpci_file}), {y.zip_rows:,} ZIPs ({y.zip_file}, "
            f"{y.zip_year_quarter}), imported {y.imported_at:%Y-%m-%d %H:%M} UTC"
        )
