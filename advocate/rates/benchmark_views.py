"""The case page's benchmark panel reads its figures through a template
global, so the case page includes it with one line (no view changes)."""

from __future__ import annotations

from flask import g

from advocate.rates import benchmark, bp


def request_benchmark(case) -> benchmark.CaseBenchmark:
    """benchmark.for_case, once per case per request: the panel, the
    negotiation suggestion and the header read the same figures (one query)."""
    cache = g.setdefault("_case_benchmarks", {})
    if case.id not in cache:
        cache[case.id] = benchmark.for_case(case)
    return cache[case.id]


@bp.app_template_global("case_benchmark")
def _case_benchmark(case) -> benchmark.CaseBenchmark:
    """The case's stored benchmarks and case-level figures (one query)."""
    return request_benchmark(case)


@bp.app_template_global("fee_schedule_banner")
def _fee_schedule_banner() -> str | None:
    """The warning shown on the dashboard and the Medicare rates page when
    the current year's fee schedule is not loaded (the firm's today)."""
    from advocate.practices.services import tenant_today
    from advocate.rates.services import loaded_years
    from advocate.rates.years import missing_current_year

    tenant = getattr(g, "tenant", None)
    if tenant is None:
        return None
    return missing_current_year(tenant_today(tenant), loaded_years())
