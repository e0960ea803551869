"""Issue 17 item 2: CMS releases of the fee schedule. The release in effect on
the date of service labels the Medicare figures, and the PostgreSQL caseload
job (SQL) and the per-case Python path give the same figures on either side
of a release's effective date (one rule: advocate.rates.years)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from advocate.cases.models import Case
from advocate.extensions import db
from advocate.rates import benchmark
from advocate.rates.models import PfsYear
from advocate.rates.years import FeeYear, release_for
from tenants import tenant_scope
from tests.rates.test_benchmark import _case, _clear, _line, _setup, _snapshot, pfs  # noqa: F401

RELEASES = [(2024, "A", date(2024, 1, 1)), (2025, "A", date(2025, 1, 1)),
            (2025, "B", date(2025, 4, 1)), (2025, "C", date(2025, 7, 1))]  # fmt: skip


def test_release_in_effect_on_the_date_of_service():
    assert release_for(date(2025, 3, 31), RELEASES) == FeeYear(2025, 2025, "A", date(2025, 1, 1))
    assert release_for(date(2025, 4, 1), RELEASES) == FeeYear(2025, 2025, "B", date(2025, 4, 1))
    assert release_for(date(2025, 12, 31), RELEASES).release == "C"
    assert release_for(date(2025, 4, 1), RELEASES).label == "CY2025 release B rates"
    assert release_for(date(2025, 3, 31), RELEASES).label == "CY2025 rates"  # A: the year's own
    # The years.py fallback is unchanged: a missing year uses the latest loaded
    # year, at that year's latest release, labelled.
    fb = release_for(date(2026, 2, 1), RELEASES)
    assert (fb.year_used, fb.release, fb.fallback) == (2025, "C", True)
    assert fb.label == "CY2025 release C rates; CY2026 not loaded"
    assert release_for(date(2023, 5, 1), RELEASES).year_used is None
    # Only release B of 2025 loaded: a March service is priced with it, and the label says so.
    early = release_for(date(2025, 3, 15), [(2025, "B", date(2025, 4, 1))])
    assert early.early and early.year_used == 2025
    assert "effective 2025-04-01" in early.label and "not loaded" in early.label


def test_python_and_sql_paths_agree_before_and_after_the_release(pfs):  # noqa: F811
    db.session.execute(
        update(PfsYear).where(PfsYear.year == 2025).values(release="B", effective=date(2025, 4, 1))
    )
    db.session.commit()
    firm, practice_id, payer_id = _setup()
    before = _case(firm, practice_id, payer_id, [_line("99213", "250.00", pos="11")],
                   service_from="2025-03-15", service_to="2025-03-15")  # fmt: skip
    after = _case(firm, practice_id, payer_id, [_line("99213", "250.00", pos="11")],
                  service_from="2025-05-01", service_to="2025-05-01")  # fmt: skip
    per_case = _snapshot(firm.tenant.id)  # computed per case, in Python, when created
    assert [r["fee_year"] for r in per_case[0]] == [2025, 2025]
    assert all(str(r["medicare"]) == "101.06" for r in per_case[0])
    _clear(firm.tenant.id)
    with tenant_scope(firm.tenant.id):
        benchmark.benchmark_firm(firm.tenant.id)  # PostgreSQL: the set-based SQL job
        db.session.commit()
    assert _snapshot(firm.tenant.id) == per_case
    with tenant_scope(firm.tenant.id):
        labels = {
            cid: benchmark.for_case(db.session.get(Case, cid)).fee_label for cid in (before, after)
        }
    assert labels[after] == "CY2025 release B rates"
    assert labels[before].startswith("CY2025 release B rates (effective 2025-04-01;")
