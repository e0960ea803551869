"""No Surprises Act (federal IDR) deadlines, fees and batching, plus appeal date helpers.

Why pure functions: every deadline here follows from a handful of dates the
advocate records (payment received, notice sent, IDR initiated, IDR entity
selected, determination), so the timeline is recomputed on demand instead of
stored, and can be tested without an app. The rules are those of domain.md,
section "No Surprises Act (federal IDR)", using exactly its two counting rules
(see :mod:`advocate.deadlines.calendar`).

Each computed date carries a sentence saying how it was reached, because an
advocate has to be able to defend a deadline to a payer or an IDR entity.
Fees are dated data, not constants: they change by regulation and are passed
in where a firm keeps its own table.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from dateutil.relativedelta import relativedelta

from advocate.deadlines.calendar import BusinessCalendar

__all__ = [
    "API_KEYS",
    "BATCH_WINDOW_BUSINESS_DAYS",
    "IDRE_FEE_RANGES",
    "IDR_ADMIN_FEES",
    "DisputeKind",
    "FeeRange",
    "NsaTimeline",
    "add_calendar_days",
    "add_months",
    "admin_fee_on",
    "can_batch",
    "explain",
    "nsa_timeline",
    "validate_idre_fee",
]

API_KEYS: tuple[str, ...] = (
    "notice_deadline",
    "negotiation_ends",
    "idr_window_start",
    "idr_window_end",
    "idre_selection_due",
    "offers_due",
    "determination_due",
    "payment_due",
    "cooling_off_ends",
)
"""The keys of :meth:`NsaTimeline.to_json_dict`, in timeline order (the API contract)."""

_DATE_FIELDS: tuple[str, ...] = (*API_KEYS, "cooling_off_filing_ends")


@dataclass(frozen=True, slots=True)
class NsaTimeline:
    """The federal IDR deadlines that follow from the dates known so far.

    The first five fields are the inputs; every later field is a deadline, or
    None while the date it depends on is unknown. ``rules`` maps each deadline
    field to a sentence explaining it (see :func:`explain`).
    """

    received: date
    notice_sent: date | None = None
    initiated: date | None = None
    selected: date | None = None
    determined: date | None = None
    notice_deadline: date | None = None
    negotiation_ends: date | None = None
    idr_window_start: date | None = None
    idr_window_end: date | None = None
    idre_selection_due: date | None = None
    offers_due: date | None = None
    determination_due: date | None = None
    payment_due: date | None = None
    cooling_off_ends: date | None = None
    cooling_off_filing_ends: date | None = None
    rules: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def to_json_dict(self) -> dict[str, str | None]:
        """The nine API deadlines as ISO 8601 strings, or None where not yet known."""
        result: dict[str, str | None] = {}
        for key in API_KEYS:
            value: date | None = getattr(self, key)
            result[key] = value.isoformat() if value is not None else None
        return result

    def explain(self) -> dict[str, str]:
        """Same as :func:`explain`."""
        return explain(self)


def explain(timeline: NsaTimeline) -> dict[str, str]:
    """One sentence per deadline field saying how it was computed (or what it still needs)."""
    missing = "No explanation recorded: this timeline was not built by nsa_timeline()."
    return {name: timeline.rules.get(name, missing) for name in _DATE_FIELDS}


def _check_date(value: object, what: str) -> None:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{what} must be a datetime.date (not a datetime); got {value!r}")


def _day(d: date) -> str:
    return f"{d.isoformat()} ({d:%A})"


def _skipped(cal: BusinessCalendar, first: date, last: date) -> str:
    closed = cal.closed_weekdays(first, last)
    if not closed:
        return ""
    return " Not counted: " + ", ".join(f"{d.isoformat()} {why}" for d, why in closed) + "."


def _period(
    cal: BusinessCalendar, start: date, n: int, counted_as: str, event: str, note: str = ""
) -> tuple[date, str]:
    """Business day ``n`` of the period beginning on ``start``, with its explanation."""
    result = cal.nth_business_day_of_period(start, n)
    day1 = cal.nth_business_day_of_period(start, 1)
    first = (
        "" if day1 == start else f" Day 1 is {_day(day1)}, the first business day on or after it."
    )
    text = (
        f"Business day {n} {counted_as} {start.isoformat()}, the day {event}{note}: "
        f"{_day(result)}.{first}{_skipped(cal, start, result)}"
    )
    return result, text


def _after(
    cal: BusinessCalendar, start: date, n: int, event: str, note: str = ""
) -> tuple[date, str]:
    """The ``n``-th business day after ``start``, with its explanation."""
    result = cal.nth_business_day_after(start, n)
    text = (
        f"{n} business days after {start.isoformat()}, the day {event} "
        f"(that day not counted){note}: {_day(result)}."
        f"{_skipped(cal, start + timedelta(days=1), result)}"
    )
    return result, text


def _calendar_days(start: date, days: int, event: str) -> tuple[date, str]:
    result = add_calendar_days(start, days)
    text = (
        f"{days} calendar days after {start.isoformat()}, the day {event}: {_day(result)}. "
        "Calendar days: weekends and holidays count, and the date is not moved off them."
    )
    return result, text


def _needs(what: str) -> str:
    return f"Not computed yet: needs the date {what}."


def nsa_timeline(
    calendar: BusinessCalendar,
    received: date,
    notice_sent: date | None = None,
    initiated: date | None = None,
    selected: date | None = None,
    determined: date | None = None,
) -> NsaTimeline:
    """Compute every federal IDR deadline that the known dates allow.

    ``received``: the initial payment or denial was received; ``notice_sent``:
    the open negotiation notice was sent; ``initiated``: IDR was initiated;
    ``selected``: the IDR entity was selected; ``determined``: the payment
    determination was made. Each deadline depends only on its own input, so a
    later one can be computed while an earlier input is unknown. Given inputs
    must be in that chronological order (ValueError otherwise), because an
    out-of-order date is a data-entry error that would yield confident but
    wrong deadlines.

    Calendar-day deadlines (payment, cooling-off) are not moved off weekends
    or holidays: domain.md states them in calendar days without a roll rule.
    """
    inputs = {
        "received": received,
        "notice_sent": notice_sent,
        "initiated": initiated,
        "selected": selected,
        "determined": determined,
    }
    _check_date(received, "received")
    previous: tuple[str, date] | None = None
    for name, value in inputs.items():
        if value is None:
            continue
        _check_date(value, name)
        if previous is not None and value < previous[1]:
            raise ValueError(
                f"{name} ({value.isoformat()}) is before {previous[0]} "
                f"({previous[1].isoformat()}); the steps happen in that order"
            )
        previous = (name, value)

    dates: dict[str, date | None] = dict.fromkeys(_DATE_FIELDS)
    rules: dict[str, str] = {}

    dates["notice_deadline"], rules["notice_deadline"] = _period(
        calendar,
        received,
        30,
        "of the 30-business-day period beginning on",
        "the initial payment or denial was received",
        " (the open negotiation notice must be sent within that period)",
    )

    if notice_sent is not None:
        event = "the open negotiation notice was sent"
        dates["negotiation_ends"], rules["negotiation_ends"] = _period(
            calendar,
            notice_sent,
            30,
            "of the 30-business-day open negotiation period beginning on",
            event,
        )
        dates["idr_window_start"], rules["idr_window_start"] = _period(
            calendar,
            notice_sent,
            31,
            "counted from",
            event,
            " (the first of the 4 business days in which IDR may be initiated)",
        )
        dates["idr_window_end"], rules["idr_window_end"] = _period(
            calendar,
            notice_sent,
            34,
            "counted from",
            event,
            " (the last of the 4 business days in which IDR may be initiated)",
        )
    else:
        for name in ("negotiation_ends", "idr_window_start", "idr_window_end"):
            rules[name] = _needs("the open negotiation notice was sent")

    if initiated is not None:
        dates["idre_selection_due"], rules["idre_selection_due"] = _after(
            calendar, initiated, 3, "IDR was initiated"
        )
    else:
        rules["idre_selection_due"] = _needs("IDR was initiated")

    if selected is not None:
        event = "the IDR entity was selected"
        dates["offers_due"], rules["offers_due"] = _after(calendar, selected, 10, event)
        dates["determination_due"], rules["determination_due"] = _after(
            calendar, selected, 30, event
        )
    else:
        for name in ("offers_due", "determination_due"):
            rules[name] = _needs("the IDR entity was selected")

    if determined is not None:
        event = "the payment determination was made"
        dates["payment_due"], rules["payment_due"] = _calendar_days(determined, 30, event)
        cooling_off_ends, rules["cooling_off_ends"] = _calendar_days(determined, 90, event)
        dates["cooling_off_ends"] = cooling_off_ends
        dates["cooling_off_filing_ends"], rules["cooling_off_filing_ends"] = _after(
            calendar,
            cooling_off_ends,
            30,
            "the 90-day cooling-off period ends",
            "; items held back during cooling-off may be filed through this day",
        )
    else:
        for name in ("payment_due", "cooling_off_ends", "cooling_off_filing_ends"):
            rules[name] = _needs("the payment determination was made")

    return NsaTimeline(**inputs, **dates, rules=MappingProxyType(rules))  # type: ignore[arg-type]


# --- Fees -------------------------------------------------------------------

IDR_ADMIN_FEES: tuple[tuple[date, Decimal], ...] = (
    (date(2024, 1, 22), Decimal("115.00")),
    (date(2026, 6, 11), Decimal("15.00")),
)
"""Administrative fee per party per dispute, by the date the dispute was initiated.

Each row applies from its date until the next row's date. A tuple, not a list,
so no caller can edit the shared default in place; a firm's own table is
passed to :func:`admin_fee_on` instead.
"""


def admin_fee_on(
    initiated: date, table: Sequence[tuple[date, Decimal]] = IDR_ADMIN_FEES
) -> Decimal:
    """The administrative fee for a dispute initiated on ``initiated``.

    Raises ValueError for a date before the table's first row (the fee is not
    known there, and guessing one is worse than saying so) and for a table
    that is empty, not strictly ascending by date, or not priced in Decimal.
    """
    _check_date(initiated, "initiated")
    if not table:
        raise ValueError("the fee table is empty")
    starts = [start for start, _ in table]
    for start, amount in table:
        _check_date(start, "fee table date")
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
            raise ValueError(f"fee for {start.isoformat()} must be a non-negative Decimal")
    if any(later <= earlier for earlier, later in zip(starts, starts[1:], strict=False)):
        raise ValueError("fee table dates must be strictly ascending")
    index = bisect.bisect_right(starts, initiated) - 1
    if index < 0:
        raise ValueError(
            f"no administrative fee is known for disputes initiated on {initiated.isoformat()}:"
            f" the fee table starts on {starts[0].isoformat()}"
        )
    return table[index][1]


DisputeKind = Literal["single", "batched"]


@dataclass(frozen=True, slots=True)
class FeeRange:
    """An inclusive range of allowed fees, in dollars."""

    minimum: Decimal
    maximum: Decimal

    def __post_init__(self) -> None:
        for bound in (self.minimum, self.maximum):
            if not isinstance(bound, Decimal) or not bound.is_finite():
                raise TypeError(f"fee bounds must be finite Decimals; got {bound!r}")
        if self.minimum > self.maximum:
            raise ValueError(f"fee range minimum {self.minimum} exceeds maximum {self.maximum}")

    def __contains__(self, amount: object) -> bool:
        return isinstance(amount, Decimal) and self.minimum <= amount <= self.maximum


IDRE_FEE_RANGES: Mapping[str, FeeRange] = MappingProxyType(
    {
        "single": FeeRange(Decimal("200.00"), Decimal("840.00")),
        "batched": FeeRange(Decimal("268.00"), Decimal("1173.00")),
    }
)
"""Allowed certified IDR entity fees, by dispute kind (bounds inclusive).

Not dated here because domain.md gives no effective date for these ranges;
pass a firm-maintained mapping to :func:`validate_idre_fee` when they change.
"""


def validate_idre_fee(
    amount: Decimal,
    kind: DisputeKind = "single",
    ranges: Mapping[str, FeeRange] = IDRE_FEE_RANGES,
) -> Decimal:
    """Return ``amount`` if it is a valid IDR entity fee for ``kind``, else raise.

    TypeError unless ``amount`` is a Decimal (a float has already lost cents);
    ValueError for an unknown kind, a non-finite amount, fractions of a cent,
    or an amount outside the allowed range.
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"fee must be a Decimal; got {type(amount).__name__}")
    if kind not in ranges:
        raise ValueError(f"unknown dispute kind {kind!r}; expected one of {sorted(ranges)}")
    if not amount.is_finite():
        raise ValueError(f"fee must be a finite amount; got {amount}")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"fee must be in whole cents; got {amount}")
    allowed = ranges[kind]
    if amount not in allowed:
        raise ValueError(
            f"{kind} IDR entity fee must be between {allowed.minimum} and {allowed.maximum};"
            f" got {amount}"
        )
    return amount


# --- Batching ---------------------------------------------------------------

BATCH_WINDOW_BUSINESS_DAYS = 30
"""Service dates of batched items must lie within this many business days of each other."""


def _item_field(item: object, name: str) -> object:
    value = item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"cannot decide batching: {name} is missing")
    return value


def _identifier(item: object, name: str) -> str:
    # NPIs and TINs arrive as "12-3456789" or "123456789" depending on the source.
    return "".join(str(_item_field(item, name)).split()).replace("-", "")


def can_batch(calendar: BusinessCalendar, a: object, b: object) -> bool:
    """Whether two disputed items may go into one batched IDR dispute.

    ``a`` and ``b`` are mappings or objects with ``npi``, ``tin``, ``plan_id``
    and ``service_date``. They batch when NPI, TIN and plan are the same
    (NPI/TIN compared ignoring spaces and hyphens) and their service dates are
    within 30 business days of each other, defined precisely as: the later
    service date is no later than the 30th business day after the earlier one
    (:meth:`BusinessCalendar.nth_business_day_after`). Equal dates qualify.

    Not checked: "similar condition" (same or similar items or services),
    which needs the service codes and the advocate's judgement. A missing
    field raises ValueError rather than answering False, so bad data is seen.
    """
    for name in ("npi", "tin", "plan_id"):
        if _identifier(a, name) != _identifier(b, name):
            return False
    first = _item_field(a, "service_date")
    second = _item_field(b, "service_date")
    _check_date(first, "service_date")
    _check_date(second, "service_date")
    earlier, later = sorted((first, second))  # type: ignore[type-var]
    return later <= calendar.nth_business_day_after(earlier, BATCH_WINDOW_BUSINESS_DAYS)


# --- Appeals and timely filing (calendar days) ------------------------------
# The windows themselves (180 days to appeal, 4 months for external review,
# 90 to 180 days of timely filing...) are payer-policy data, never constants
# here: these helpers only do the arithmetic.


def add_calendar_days(d: date, days: int) -> date:
    """``d`` plus ``days`` calendar days; weekends and holidays count and nothing is rolled."""
    _check_date(d, "d")
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError(f"days must be an int; got {days!r}")
    return d + timedelta(days=days)


def add_months(d: date, months: int) -> date:
    """``d`` plus ``months`` calendar months, clamped to the end of a shorter month.

    E.g. external review "within 4 months" of a final internal denial on
    2026-10-31 ends on 2027-02-28: there is no February 31, and rolling into
    March would grant days the rule does not.
    """
    _check_date(d, "d")
    if isinstance(months, bool) or not isinstance(months, int):
        raise TypeError(f"months must be an int; got {months!r}")
    return d + relativedelta(months=months)
