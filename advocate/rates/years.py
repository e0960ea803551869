"""Which Medicare fee schedule year prices a service: the one rule every
surface uses (case page, API, letters, the SCA check, the caseload job).

The rule: the fee schedule of the calendar year of the date of service. When
that year is not loaded, the latest loaded year before it is used, and the
figure is *labelled* as a fallback ("CY2025 rates; CY2026 not loaded") on the
case page, in the API (``year_used``, ``fallback: true``) and in letters, so
no one mistakes last year's rate for this year's. With no loaded year at or
before the service year there is no Medicare figure at all (the reason says
so). The PostgreSQL caseload job computes the same year in SQL
(``advocate.rates.benchmark._SQL_LINES``, ``fya``).

Releases: CMS publishes each year as releases (A, B, C, D) with effective
dates. ``release_for`` picks the release in effect on the date of service and
labels it ("CY2025 release B rates"). The fee schedule rows are stored per
year (the release last imported for that year), so the pricing itself, in
Python and in SQL, needs only the year; the release only labels it.

Pure functions: no database, no Flask.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class FeeYear:
    """The fee schedule year used for a service year."""

    service_year: int
    year_used: int | None
    # The CMS release of ``year_used`` that prices the service ("A".."D"), its
    # effective date, and whether the service predates it (that year's release
    # in effect on the date of service is not the one loaded): see release_for.
    release: str | None = None
    effective: date | None = None
    early: bool = False

    @property
    def fallback(self) -> bool:
        return self.year_used is not None and self.year_used != self.service_year

    @property
    def label(self) -> str:
        if self.year_used is None:
            return f"No Medicare fee schedule for CY{self.service_year} or earlier is loaded"
        used = f"CY{self.year_used}"
        if self.release and self.release != "A":
            used += f" release {self.release}"
        if self.fallback:
            return f"{used} rates; CY{self.service_year} not loaded"
        if self.early:
            return (
                f"{used} rates (effective {self.effective.isoformat()}; the release in "
                "effect on the date of service is not loaded)"
            )
        return f"{used} rates"

    def as_json(self) -> dict:
        return {
            "service_year": self.service_year,
            "year_used": self.year_used,
            "fallback": self.fallback,
            "release": self.release,
            "release_effective": self.effective.isoformat() if self.effective else None,
            "label": self.label,
        }


def fee_year_for(service_year: int, loaded: Iterable[int]) -> FeeYear:
    """The fee schedule year for a service year, given the loaded years."""
    best = None
    for y in loaded:
        if y <= service_year and (best is None or y > best):
            best = y
    return FeeYear(service_year, best)


def release_for(service_date: date, releases: Iterable[tuple[int, str, date]]) -> FeeYear:
    """The release that prices a service on ``service_date``, given the loaded
    releases as (year, release label, effective date).

    The year is fee_year_for's (unchanged fallback rule). Within that year: the
    latest release whose effective date is on or before the date of service;
    for a fallback year (the service year is not loaded), that year's latest
    release. When every loaded release of the service's own year takes effect
    after the date of service, the earliest is used and flagged ``early``.
    The PostgreSQL benchmark job does not choose a release itself: the fee
    schedule data are stored per year (one release per year, the one last
    imported), so it shares fee_year_for's year and this function labels it."""
    releases = list(releases)
    fy = fee_year_for(service_date.year, (y for y, _, _ in releases))
    if fy.year_used is None:
        return fy
    same = sorted((eff, rel) for y, rel, eff in releases if y == fy.year_used)
    if fy.fallback:
        eff, rel = same[-1]
        return FeeYear(fy.service_year, fy.year_used, rel, eff)
    in_effect = [(eff, rel) for eff, rel in same if eff <= service_date]
    if in_effect:
        eff, rel = in_effect[-1]
        return FeeYear(fy.service_year, fy.year_used, rel, eff)
    eff, rel = same[0]
    return FeeYear(fy.service_year, fy.year_used, rel, eff, early=True)


def stored_fee_year(
    service_date: date, year_used: int | None, releases: Iterable[tuple[int, str, date]]
) -> FeeYear:
    """The labelled FeeYear of a figure already computed with ``year_used``
    (a line_benchmarks row): release_for's answer when it agrees on the year,
    else the bare year (the loaded years changed since it was computed)."""
    fy = release_for(service_date, releases)
    return fy if fy.year_used == year_used else FeeYear(service_date.year, year_used)


def combined_label(years: Iterable[FeeYear]) -> str:
    """One label for a case whose lines may span years: each distinct
    (used, service) pair once, in order ("CY2025 rates; CY2026 not loaded")."""
    seen: list[str] = []
    for fy in sorted(set(years), key=lambda f: (f.service_year, f.year_used or 0, f.early)):
        if fy.label not in seen:
            seen.append(fy.label)
    return " · ".join(seen)


def missing_current_year(today: date, loaded: Iterable[int]) -> str | None:
    """The banner text when the current calendar year's fee schedule is not
    loaded (None when it is)."""
    loaded = sorted(set(loaded))
    if today.year in loaded:
        return None
    if not loaded:
        return (
            f"No Medicare fee schedule is loaded: CY{today.year} services have no Medicare "
            "benchmark. An operator loads the CMS files with flask rates import-pfs."
        )
    fy = fee_year_for(today.year, loaded)
    if fy.year_used is None:
        return (
            f"The CY{today.year} Medicare fee schedule is not loaded, nor any earlier year: "
            f"CY{today.year} services have no Medicare benchmark (flask rates import-pfs)."
        )
    return (
        f"The CY{today.year} Medicare fee schedule is not loaded: CY{today.year} services are "
        f"priced at CY{fy.year_used} rates, labelled as such on cases, in the API and in "
        f"letters. Load the CY{today.year} files with flask rates import-pfs."
    )
