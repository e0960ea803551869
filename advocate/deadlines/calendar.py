"""Business-day arithmetic for statutory and payer deadlines.

Why this exists: a missed No Surprises Act deadline forfeits the dispute, so
the counting has to be exactly the rule in the regulation, not "roughly six
weeks". A business day is Monday to Friday, not a US federal holiday *as
observed* (from the ``holidays`` package, never a hand-typed list), and not a
closure day the firm has configured. Executive-order closures (federal offices
shut on 2024-12-24 and 2025-01-09, for instance) are deliberately *not* built
in: they are announced at short notice and the firm decides whether they
apply, so they arrive as ``closures``.

Two counting rules, and only these two, are offered (see domain.md):

* "a period of N business days beginning on day D": day 1 is the first business
  day on or after D; the period ends on business day N
  (:meth:`BusinessCalendar.nth_business_day_of_period`).
* "N business days after D": D itself is not counted; the deadline is the Nth
  business day after D (:meth:`BusinessCalendar.nth_business_day_after`).

The module is pure: no Flask, no database, no clock.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from types import MappingProxyType

import holidays

__all__ = ["DEFAULT_CLOSURE_REASON", "BusinessCalendar", "federal_holidays"]

DEFAULT_CLOSURE_REASON = "Firm closure"
"""Reason reported for a closure day given without one of its own."""

_ONE_DAY = timedelta(days=1)


@functools.lru_cache(maxsize=512)
def federal_holidays(year: int) -> Mapping[date, str]:
    """US federal holidays of one calendar year, as observed, keyed by date.

    Why cached at module level: the federal calendar is the same for every
    firm, so all :class:`BusinessCalendar` instances share one computation per
    year. The returned mapping is read-only because it is shared.

    Only dates inside ``year`` are kept, so a lookup by ``d.year`` is exact.
    The package files an observed date under the year it falls in (New Year's
    Day 2022, a Saturday, is observed on Friday 2021-12-31 and appears in the
    2021 set), so nothing is lost by the filter. Only the "public" category is
    used: the package's "government" category also lists executive-order
    closures, which are the firm's call (see the module docstring).
    """
    observed = holidays.country_holidays(
        "US", subdiv=None, years=year, observed=True, categories=(holidays.PUBLIC,)
    )
    return MappingProxyType({d: name for d, name in observed.items() if d.year == year})


def _check_date(value: object, what: str) -> None:
    # datetime is a subclass of date, but it never equals a date, so it would
    # silently miss every holiday lookup: refuse it instead.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{what} must be a datetime.date (not a datetime); got {value!r}")


def _check_n(n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int; got {n!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1: business day 1 is the first day counted; got {n}")


def _weekdays_through(d: date) -> int:
    """Number of Mondays to Fridays from 0001-01-01 (a Monday) through ``d``."""
    weeks, rest = divmod(d.toordinal(), 7)
    return weeks * 5 + min(rest, 5)


class BusinessCalendar:
    """A firm's business days: weekdays minus federal holidays minus closures.

    ``closures`` is either an iterable of dates or a mapping of date to a
    reason (e.g. ``{date(2024, 12, 24): "Federal offices closed by executive
    order"}``); the reason is what :meth:`holiday_name` reports. Instances are
    effectively immutable, so one can be shared between threads.
    """

    __slots__ = ("_closures",)

    def __init__(self, closures: Iterable[date] | Mapping[date, str] | None = None) -> None:
        if closures is None:
            items: dict[date, str] = {}
        elif isinstance(closures, Mapping):
            items = dict(closures.items())
        else:
            items = dict.fromkeys(closures, DEFAULT_CLOSURE_REASON)
        for d, reason in items.items():
            _check_date(d, "closure")
            if not isinstance(reason, str) or not reason.strip():
                raise ValueError(f"closure {d.isoformat()} needs a non-empty reason")
        self._closures: Mapping[date, str] = MappingProxyType(items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(closures={sorted(self._closures)!r})"

    @property
    def closures(self) -> Mapping[date, str]:
        """The firm's closure days and their reasons (read-only)."""
        return self._closures

    def _is_open(self, d: date) -> bool:
        return d.weekday() < 5 and d not in federal_holidays(d.year) and d not in self._closures

    def is_business_day(self, d: date) -> bool:
        """True on a Monday to Friday that is neither an observed federal holiday nor a closure."""
        _check_date(d, "d")
        return self._is_open(d)

    def holiday_name(self, d: date) -> str | None:
        """Why ``d`` is a holiday or closure, or None if it is neither.

        Weekends are not reported (they need no explanation); a holiday that
        falls on a weekend is, under its own name, e.g. "Independence Day" on
        Saturday 2026-07-04, while the weekday it is observed on reads
        "Independence Day (observed)". When a closure coincides with a holiday
        both names are given, holiday first.
        """
        _check_date(d, "d")
        names = [n for n in (federal_holidays(d.year).get(d), self._closures.get(d)) if n]
        return "; ".join(names) or None

    def closed_weekdays(self, start: date, end: date) -> list[tuple[date, str]]:
        """Weekdays in ``[start, end]`` that are not business days, with the reason.

        Why: a deadline explanation should name the holidays it skipped, since
        that is exactly where a hand count goes wrong.
        """
        _check_date(start, "start")
        _check_date(end, "end")
        found: dict[date, str] = {}
        for year in range(start.year, end.year + 1):
            for d in federal_holidays(year):
                if start <= d <= end and d.weekday() < 5:
                    found[d] = self.holiday_name(d) or ""
        for d in self._closures:
            if start <= d <= end and d.weekday() < 5:
                found[d] = self.holiday_name(d) or ""
        return sorted(found.items())

    def nth_business_day_of_period(self, start: date, n: int) -> date:
        """Business day ``n`` of "a period of N business days beginning on ``start``".

        Day 1 is the first business day on or after ``start`` (so ``start``
        counts when it is itself a business day); the result is business day
        ``n``. ``n`` must be at least 1.
        """
        _check_date(start, "start")
        _check_n(n)
        d, counted = start, 0
        while True:
            if self._is_open(d):
                counted += 1
                if counted == n:
                    return d
            d += _ONE_DAY

    def nth_business_day_after(self, d: date, n: int) -> date:
        """The ``n``-th business day after ``d``, "N business days after D".

        ``d`` itself is never counted, whether or not it is a business day.
        ``n`` must be at least 1.
        """
        _check_date(d, "d")
        _check_n(n)
        remaining = n
        while True:
            d += _ONE_DAY
            if self._is_open(d):
                remaining -= 1
                if remaining == 0:
                    return d

    def business_days_between(self, a: date, b: date) -> int:
        """Number of business days in the half-open interval ``(a, b]``.

        ``a`` is excluded and ``b`` included, matching "N business days after
        D": ``business_days_between(d, nth_business_day_after(d, n)) == n``.
        If ``b`` is before ``a`` the result is the negated count of ``(b, a]``,
        so counts add up: ``between(a, b) + between(b, c) == between(a, c)``.
        Computed arithmetically (weekday count minus closed weekdays), so long
        ranges cost one pass over their holidays, not one step per day.
        """
        _check_date(a, "a")
        _check_date(b, "b")
        if b < a:
            return -self.business_days_between(b, a)
        weekdays = _weekdays_through(b) - _weekdays_through(a)
        closed = {d for d in self._closures if a < d <= b and d.weekday() < 5}
        for year in range(a.year, b.year + 1):
            closed.update(d for d in federal_holidays(year) if a < d <= b and d.weekday() < 5)
        return weekdays - len(closed)
