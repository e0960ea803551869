"""Figures that come from other features' data: contingency fees (the fee
ledger and invoices of `advocate.billing`) and per-line benchmarks (Medicare
amount and commercial percentiles). Until those stores exist, the reports
say so ("not yet available") instead of showing a made-up number.
"""

from __future__ import annotations

FEES_GAP = (
    "Fees earned and collected are not yet available: the firm's fee ledger and invoices "
    "are not recorded yet."
)
BENCHMARKS_GAP = (
    "Paid as a percent of Medicare and of the 80th percentile is not yet available: "
    "benchmarks per service line are not stored yet."
)


def fee_models():
    """(FeeLedgerEntry, Invoice) once billing stores them, else None."""
    try:
        from advocate.billing.models import FeeLedgerEntry, Invoice  # type: ignore[attr-defined]
    except ImportError:
        return None
    return FeeLedgerEntry, Invoice


def benchmark_model():
    """The stored per-line benchmark (`advocate.rates.models.LineBenchmark`)
    once it exists, else None."""
    try:
        from advocate.rates.models import LineBenchmark  # type: ignore[attr-defined]
    except ImportError:
        return None
    return LineBenchmark


def fees_available() -> bool:
    return fee_models() is not None


def benchmarks_available() -> bool:
    return benchmark_model() is not None
