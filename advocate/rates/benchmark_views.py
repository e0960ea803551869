"""The case page's benchmark panel reads its figures through a template
global, so the case page includes it with one line (no view changes)."""

from __future__ import annotations

from advocate.rates import benchmark, bp


@bp.app_template_global("case_benchmark")
def _case_benchmark(case) -> benchmark.CaseBenchmark:
    """The case's stored benchmarks and case-level figures (one query)."""
    return benchmark.for_case(case)
