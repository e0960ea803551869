"""Business-day calendar: hand-counted examples around real holidays, then properties.

Every example states its count in a comment so a reviewer can redo it with a
wall calendar. Weekday names were checked against the 2026/2027 calendars.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advocate.deadlines.calendar import DEFAULT_CLOSURE_REASON, BusinessCalendar

FEDERAL = BusinessCalendar()

# No example database (keeps the shared working tree clean) and no per-example
# deadline (the first lookup of a year builds that year's holidays).
PROPERTY = settings(database=None, deadline=None, max_examples=200)

DATES = st.dates(min_value=date(1995, 1, 1), max_value=date(2060, 12, 31))
NS = st.integers(min_value=1, max_value=300)


@st.composite
def calendars_and_dates(draw: st.DrawFn) -> tuple[BusinessCalendar, date]:
    """A date and a calendar whose closures cluster near it, so they matter."""
    d = draw(DATES)
    offsets = draw(st.lists(st.integers(min_value=-7, max_value=120), max_size=15))
    return BusinessCalendar({d + timedelta(days=o) for o in offsets}), d


# --- Hand-counted examples ---------------------------------------------------


def test_independence_day_2026_is_observed_on_friday_july_3() -> None:
    # July 4, 2026 is a Saturday, so the federal holiday is observed on Friday
    # July 3. Thursday July 2 is open; the next business day after it is
    # Monday July 6 (Fri observed holiday, Sat, Sun skipped).
    assert not FEDERAL.is_business_day(date(2026, 7, 3))
    assert FEDERAL.holiday_name(date(2026, 7, 3)) == "Independence Day (observed)"
    assert FEDERAL.is_business_day(date(2026, 7, 2))
    assert FEDERAL.nth_business_day_after(date(2026, 7, 2), 1) == date(2026, 7, 6)


def test_thanksgiving_2026_is_skipped_but_the_friday_after_is_open() -> None:
    # Thanksgiving is Thursday 2026-11-26. The Friday after is not a federal
    # holiday. After Wed 11-25: Fri 11-27 is day 1, Mon 11-30 is day 2.
    assert not FEDERAL.is_business_day(date(2026, 11, 26))
    assert FEDERAL.is_business_day(date(2026, 11, 27))
    assert FEDERAL.nth_business_day_after(date(2026, 11, 25), 1) == date(2026, 11, 27)
    assert FEDERAL.nth_business_day_after(date(2026, 11, 25), 2) == date(2026, 11, 30)
    # A period beginning on the holiday starts on the next business day.
    assert FEDERAL.nth_business_day_of_period(date(2026, 11, 26), 1) == date(2026, 11, 27)


def test_christmas_2026_and_new_year_2027_both_on_fridays() -> None:
    # After Thu 2026-12-24 (open: no executive-order closure is built in):
    # Fri 12-25 holiday, Sat/Sun; Mon 12-28 = 1, Tue 12-29 = 2, Wed 12-30 = 3,
    # Thu 12-31 = 4; Fri 2027-01-01 holiday, Sat/Sun; Mon 2027-01-04 = 5.
    assert FEDERAL.is_business_day(date(2026, 12, 24))
    assert FEDERAL.nth_business_day_after(date(2026, 12, 24), 4) == date(2026, 12, 31)
    assert FEDERAL.nth_business_day_after(date(2026, 12, 24), 5) == date(2027, 1, 4)
    assert FEDERAL.business_days_between(date(2026, 12, 24), date(2027, 1, 4)) == 5


def test_juneteenth_and_july_4_2026_in_one_period() -> None:
    # Period beginning Thu 2026-06-18: 06-18 = 1; Fri 06-19 Juneteenth skipped;
    # Mon 06-22..Fri 06-26 = 2..6; Mon 06-29, Tue 06-30, Wed 07-01, Thu 07-02
    # = 7..10; Fri 07-03 (July 4 observed) skipped; Mon 07-06 = 11.
    assert FEDERAL.nth_business_day_of_period(date(2026, 6, 18), 1) == date(2026, 6, 18)
    assert FEDERAL.nth_business_day_of_period(date(2026, 6, 18), 2) == date(2026, 6, 22)
    assert FEDERAL.nth_business_day_of_period(date(2026, 6, 18), 10) == date(2026, 7, 2)
    assert FEDERAL.nth_business_day_of_period(date(2026, 6, 18), 11) == date(2026, 7, 6)


def test_weekends_and_the_two_counting_rules() -> None:
    # Sat 2026-03-07: a period beginning on it starts Mon 03-09; a period
    # beginning on Mon 03-09 starts that same day.
    assert FEDERAL.nth_business_day_of_period(date(2026, 3, 7), 1) == date(2026, 3, 9)
    assert FEDERAL.nth_business_day_of_period(date(2026, 3, 9), 1) == date(2026, 3, 9)
    # "1 business day after" Fri 03-06 or Sat 03-07 is Mon 03-09; after Mon
    # 03-09 it is Tue 03-10 (the start day is never counted).
    assert FEDERAL.nth_business_day_after(date(2026, 3, 6), 1) == date(2026, 3, 9)
    assert FEDERAL.nth_business_day_after(date(2026, 3, 7), 1) == date(2026, 3, 9)
    assert FEDERAL.nth_business_day_after(date(2026, 3, 9), 1) == date(2026, 3, 10)
    # March 2 to April 10, 2026 holds no federal holiday: six full weeks, so
    # business day 30 of the period beginning Mon 03-02 is Fri 04-10, while
    # 30 business days *after* Mon 03-02 is one day later, Mon 04-13.
    assert FEDERAL.nth_business_day_of_period(date(2026, 3, 2), 30) == date(2026, 4, 10)
    assert FEDERAL.nth_business_day_after(date(2026, 3, 2), 30) == date(2026, 4, 13)


def test_firm_closure_on_christmas_eve_2024_is_skipped() -> None:
    # Tue 2024-12-24 (federal offices closed by executive order) and Wed 12-25
    # (Christmas): with the closure, the business day after Mon 12-23 is Thu
    # 12-26; without it, it is Tue 12-24.
    reason = "Federal offices closed by executive order"
    firm = BusinessCalendar({date(2024, 12, 24): reason})
    assert firm.nth_business_day_after(date(2024, 12, 23), 1) == date(2024, 12, 26)
    assert FEDERAL.nth_business_day_after(date(2024, 12, 23), 1) == date(2024, 12, 24)
    assert firm.holiday_name(date(2024, 12, 24)) == reason
    assert not firm.is_business_day(date(2024, 12, 24))


def test_closures_given_as_plain_dates_get_the_default_reason() -> None:
    firm = BusinessCalendar([date(2025, 1, 9)])
    assert firm.holiday_name(date(2025, 1, 9)) == DEFAULT_CLOSURE_REASON
    assert not firm.is_business_day(date(2025, 1, 9))


def test_executive_order_closures_are_not_built_in() -> None:
    # The holidays package lists these under its "government" category; the
    # calendar must only use them when the firm passes them as closures.
    assert FEDERAL.is_business_day(date(2024, 12, 24))
    assert FEDERAL.is_business_day(date(2025, 1, 9))
    assert FEDERAL.holiday_name(date(2025, 1, 9)) is None


def test_good_friday_is_a_business_day() -> None:
    # Good Friday (2026-04-03) closes the stock market, not federal offices:
    # guards against using a financial calendar.
    assert FEDERAL.is_business_day(date(2026, 4, 3))


def test_new_year_observed_in_the_previous_year() -> None:
    # New Year's Day 2022 and 2028 fall on Saturdays, so the holiday is
    # observed on Friday Dec 31 of the year before.
    assert FEDERAL.holiday_name(date(2021, 12, 31)) == "New Year's Day (observed)"
    assert not FEDERAL.is_business_day(date(2027, 12, 31))
    # After Thu 2027-12-30: Fri 12-31 observed, Sat/Sun, so Mon 2028-01-03.
    assert FEDERAL.nth_business_day_after(date(2027, 12, 30), 1) == date(2028, 1, 3)
    # Christmas 2027 is a Saturday, observed Fri 12-24; Mon 12-27 is open.
    assert FEDERAL.nth_business_day_after(date(2027, 12, 23), 1) == date(2027, 12, 27)


def test_holiday_name_reports_holidays_not_weekends() -> None:
    assert FEDERAL.holiday_name(date(2026, 7, 4)) == "Independence Day"  # Saturday itself
    assert FEDERAL.holiday_name(date(2026, 3, 7)) is None  # ordinary Saturday
    assert FEDERAL.holiday_name(date(2026, 3, 9)) is None  # ordinary Monday
    both = BusinessCalendar({date(2026, 11, 26): "Office closed"})
    assert both.holiday_name(date(2026, 11, 26)) == "Thanksgiving Day; Office closed"


def test_closed_weekdays_lists_what_a_count_skips() -> None:
    # November 2026: Veterans Day (Wed 11-11) and Thanksgiving (Thu 11-26);
    # the closure on Sat 11-14 is a weekend anyway, so it is not listed.
    firm = BusinessCalendar({date(2026, 11, 27): "Office closed", date(2026, 11, 14): "x"})
    assert firm.closed_weekdays(date(2026, 11, 1), date(2026, 11, 30)) == [
        (date(2026, 11, 11), "Veterans Day"),
        (date(2026, 11, 26), "Thanksgiving Day"),
        (date(2026, 11, 27), "Office closed"),
    ]


def test_business_days_in_2026() -> None:
    # 2026 has 365 days and starts on a Thursday: 52 weeks (260 weekdays) plus
    # Thu 12-31, so 261 weekdays. Federal holidays on weekdays: Jan 1, Jan 19,
    # Feb 16, May 25, Jun 19, Jul 3 (observed), Sep 7, Oct 12, Nov 11, Nov 26,
    # Dec 25 = 11 (July 4 itself is a Saturday). 261 - 11 = 250.
    assert FEDERAL.business_days_between(date(2025, 12, 31), date(2026, 12, 31)) == 250


def test_business_days_between_is_half_open_and_signed() -> None:
    # (Fri 03-06, Mon 03-09] holds only Mon 03-09.
    assert FEDERAL.business_days_between(date(2026, 3, 6), date(2026, 3, 9)) == 1
    assert FEDERAL.business_days_between(date(2026, 3, 9), date(2026, 3, 6)) == -1
    assert FEDERAL.business_days_between(date(2026, 3, 9), date(2026, 3, 9)) == 0
    # (Fri 07-03, Sun 07-05] holds none: Sat and Sun.
    assert FEDERAL.business_days_between(date(2026, 7, 2), date(2026, 7, 5)) == 0


@pytest.mark.parametrize("n", [0, -1, -30])
def test_n_below_one_is_rejected(n: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FEDERAL.nth_business_day_of_period(date(2026, 3, 2), n)
    with pytest.raises(ValueError, match="at least 1"):
        FEDERAL.nth_business_day_after(date(2026, 3, 2), n)


@pytest.mark.parametrize("n", [1.0, True, "3"])
def test_n_must_be_an_int(n: object) -> None:
    with pytest.raises(TypeError):
        FEDERAL.nth_business_day_after(date(2026, 3, 2), n)  # type: ignore[arg-type]


def test_datetimes_are_refused() -> None:
    # A datetime never equals a date, so it would slip past every holiday.
    with pytest.raises(TypeError, match="datetime"):
        FEDERAL.is_business_day(datetime(2026, 7, 3, 12, 0))  # noqa: DTZ001
    with pytest.raises(TypeError, match="datetime"):
        BusinessCalendar([datetime(2024, 12, 24)])  # noqa: DTZ001


def test_closure_reason_must_not_be_blank() -> None:
    with pytest.raises(ValueError, match="reason"):
        BusinessCalendar({date(2024, 12, 24): " "})


def test_closures_are_read_only() -> None:
    firm = BusinessCalendar([date(2024, 12, 24)])
    with pytest.raises(TypeError):
        firm.closures[date(2024, 12, 31)] = "x"  # type: ignore[index]


# --- Properties ----------------------------------------------------------------


@PROPERTY
@given(DATES)
def test_is_business_day_matches_the_holidays_package(d: date) -> None:
    expected = d.weekday() < 5 and d not in holidays.country_holidays("US", years=d.year)
    assert FEDERAL.is_business_day(d) is expected


@PROPERTY
@given(calendars_and_dates(), NS)
def test_period_result_is_a_business_day_on_or_after_start(
    case: tuple[BusinessCalendar, date], n: int
) -> None:
    cal, d = case
    result = cal.nth_business_day_of_period(d, n)
    assert cal.is_business_day(result)
    assert result >= d


@PROPERTY
@given(calendars_and_dates(), NS)
def test_after_result_is_a_business_day_after_start(
    case: tuple[BusinessCalendar, date], n: int
) -> None:
    cal, d = case
    result = cal.nth_business_day_after(d, n)
    assert cal.is_business_day(result)
    assert result > d
    assert cal.business_days_between(d, result) == n


@PROPERTY
@given(calendars_and_dates(), NS, NS)
def test_results_are_strictly_increasing_in_n(
    case: tuple[BusinessCalendar, date], n: int, m: int
) -> None:
    cal, d = case
    if n == m:
        return
    lo, hi = sorted((n, m))
    assert cal.nth_business_day_of_period(d, lo) < cal.nth_business_day_of_period(d, hi)
    assert cal.nth_business_day_after(d, lo) < cal.nth_business_day_after(d, hi)


@PROPERTY
@given(calendars_and_dates(), NS)
def test_consecutive_period_days_are_consecutive_business_days(
    case: tuple[BusinessCalendar, date], n: int
) -> None:
    cal, d = case
    day_n = cal.nth_business_day_of_period(d, n)
    assert cal.nth_business_day_of_period(d, n + 1) == cal.nth_business_day_after(day_n, 1)


@PROPERTY
@given(calendars_and_dates(), NS)
def test_after_equals_period_beginning_the_next_day(
    case: tuple[BusinessCalendar, date], n: int
) -> None:
    cal, d = case
    assert cal.nth_business_day_after(d, n) == cal.nth_business_day_of_period(
        d + timedelta(days=1), n
    )


@PROPERTY
@given(calendars_and_dates())
def test_period_day_one_is_the_first_business_day_on_or_after_start(
    case: tuple[BusinessCalendar, date],
) -> None:
    cal, d = case
    day1 = cal.nth_business_day_of_period(d, 1)
    if cal.is_business_day(d):
        assert day1 == d
    else:
        assert day1 > d
        gap = (day1 - d).days
        assert not any(cal.is_business_day(d + timedelta(days=i)) for i in range(gap))


@PROPERTY
@given(calendars_and_dates(), NS)
def test_period_count_includes_a_business_day_start(
    case: tuple[BusinessCalendar, date], n: int
) -> None:
    cal, d = case
    result = cal.nth_business_day_of_period(d, n)
    counted_start = 1 if cal.is_business_day(d) else 0
    assert cal.business_days_between(d, result) == n - counted_start


@PROPERTY
@given(calendars_and_dates(), st.integers(min_value=-400, max_value=400))
def test_business_days_between_matches_a_day_by_day_count(
    case: tuple[BusinessCalendar, date], span: int
) -> None:
    cal, a = case
    b = a + timedelta(days=span)
    lo, hi = sorted((a, b))
    brute = sum(cal.is_business_day(lo + timedelta(days=i)) for i in range(1, (hi - lo).days + 1))
    assert cal.business_days_between(lo, hi) == brute
    assert cal.business_days_between(hi, lo) == -brute


@PROPERTY
@given(calendars_and_dates(), st.integers(-500, 500), st.integers(-500, 500))
def test_business_days_between_adds_up(case: tuple[BusinessCalendar, date], i: int, j: int) -> None:
    cal, a = case
    b, c = a + timedelta(days=i), a + timedelta(days=j)
    assert cal.business_days_between(a, b) + cal.business_days_between(
        b, c
    ) == cal.business_days_between(a, c)


@PROPERTY
@given(calendars_and_dates(), NS)
def test_closures_never_make_a_deadline_earlier(
    case: tuple[BusinessCalendar, date], n: int
) -> None:
    cal, d = case
    assert cal.nth_business_day_after(d, n) >= FEDERAL.nth_business_day_after(d, n)
    assert cal.nth_business_day_of_period(d, n) >= FEDERAL.nth_business_day_of_period(d, n)
