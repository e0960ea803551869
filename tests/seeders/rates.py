"""Isolation seed for rates: one pending percentile import (its file name
carries the marker) and one commercial percentile row per firm."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from advocate.extensions import db
from advocate.rates.models import CommercialPercentile, PercentileImport
from advocate.rates.percentiles import TEMPLATE_CSV
from tenants import tenant_scope
from tests.isolation import Seeded, seeder


@seeder
def _rates(s: Seeded) -> None:
    with tenant_scope(s.firm.tenant.id):
        data = (TEMPLATE_CSV + "99214,,100,1,2,3,4,5,6,7,8,2025\n").encode()
        imp = PercentileImport(
            filename=f"{s.marker} benchmark.csv",
            sha256=hashlib.sha256(data).hexdigest(),
            status="pending",
            row_count=2,
            years="2025",
            content=data,
        )
        db.session.add(imp)
        db.session.flush()
        values = {f"p{p}": Decimal(p) for p in (50, 60, 70, 75, 80, 85, 90, 95)}
        row = CommercialPercentile(
            year=2025, code="99213", modifier="", zip3="100", import_id=imp.id, **values
        )
        db.session.add(row)
        db.session.flush()
        s.add("import_id", imp.id)
        db.session.commit()


@seeder
def _line_benchmarks(s: Seeded) -> None:
    """The firm's case (from the cases seeder) benchmarked: its line_benchmarks rows."""
    from sqlalchemy import select

    from advocate.cases.models import Case
    from advocate.rates.benchmark import benchmark_firm

    with tenant_scope(s.firm.tenant.id):
        if db.session.scalar(select(Case.id).limit(1)) is not None:
            benchmark_firm(s.firm.tenant.id)
            db.session.commit()
