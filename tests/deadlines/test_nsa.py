"""No Surprises Act timeline, fees, batching and appeal date helpers.

The worked example's dates were counted by hand on a wall calendar (the counts
are in the comments) before the code was run; holidays on the way: Veterans
Day (Wed 2026-11-11), Thanksgiving (Thu 2026-11-26), Christmas (Fri
2026-12-25), New Year (Fri 2027-01-01), MLK Day (Mon 2027-01-18), Washington's
Birthday (Mon 2027-02-15), Memorial Day (Mon 2027-05-31), Juneteenth observed
(Fri 2027-06-18), Independence Day observed (Mon 2027-07-05).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advocate.deadlines.calendar import BusinessCalendar
from advocate.deadlines.nsa import (
    API_KEYS,
    IDR_ADMIN_FEES,
    IDRE_FEE_RANGES,
    FeeRange,
    NsaTimeline,
    add_calendar_days,
    add_months,
    admin_fee_on,
    can_batch,
    explain,
    nsa_timeline,
    validate_idre_fee,
)

FEDERAL = BusinessCalendar()
PROPERTY = settings(database=None, deadline=None, max_examples=150)

RECEIVED = date(2026, 11, 2)  # Monday
NOTICE_SENT = date(2026, 11, 20)  # Friday
INITIATED = date(2027, 1, 8)  # Friday, inside the IDR window below
SELECTED = date(2027, 1, 13)  # Wednesday
DETERMINED = date(2027, 2, 24)  # Wednesday


@pytest.fixture
def worked() -> NsaTimeline:
    return nsa_timeline(FEDERAL, RECEIVED, NOTICE_SENT, INITIATED, SELECTED, DETERMINED)


# --- The worked example ---------------------------------------------------------


def test_notice_deadline_worked_example(worked: NsaTimeline) -> None:
    # Period beginning Mon 11-02: 11-02..11-06 = 1..5; 11-09, 11-10 = 6, 7;
    # Wed 11-11 Veterans Day; 11-12, 11-13 = 8, 9; 11-16..11-20 = 10..14;
    # 11-23, 11-24, 11-25 = 15..17; Thu 11-26 Thanksgiving; Fri 11-27 = 18;
    # 11-30..12-04 = 19..23; 12-07..12-11 = 24..28; Mon 12-14 = 29; Tue 12-15 = 30.
    assert worked.notice_deadline == date(2026, 12, 15)


def test_open_negotiation_and_idr_window_worked_example(worked: NsaTimeline) -> None:
    # Period beginning Fri 11-20: 11-20 = 1; 11-23..11-25 = 2..4; Thanksgiving;
    # 11-27 = 5; 11-30..12-04 = 6..10; 12-07..12-11 = 11..15; 12-14..12-18 =
    # 16..20; 12-21..12-24 = 21..24; Fri 12-25 Christmas; 12-28..12-31 =
    # 25..28; Fri 2027-01-01 New Year; Mon 01-04 = 29; Tue 01-05 = 30.
    assert worked.negotiation_ends == date(2027, 1, 5)
    # Window = days 31..34: Wed 01-06 = 31, Thu 01-07 = 32, Fri 01-08 = 33,
    # Mon 01-11 = 34.
    assert worked.idr_window_start == date(2027, 1, 6)
    assert worked.idr_window_end == date(2027, 1, 11)


def test_idre_selection_worked_example(worked: NsaTimeline) -> None:
    # 3 business days after Fri 01-08: Mon 01-11 = 1, Tue 01-12 = 2, Wed 01-13 = 3.
    assert worked.idre_selection_due == date(2027, 1, 13)


def test_offers_and_determination_worked_example(worked: NsaTimeline) -> None:
    # After Wed 01-13: 01-14, 01-15 = 1, 2; Mon 01-18 MLK Day; 01-19..01-22 =
    # 3..6; 01-25..01-28 = 7..10 -> offers due Thu 01-28.
    assert worked.offers_due == date(2027, 1, 28)
    # Continuing: Fri 01-29 = 11; 02-01..02-05 = 12..16; 02-08..02-12 =
    # 17..21; Mon 02-15 Washington's Birthday; 02-16..02-19 = 22..25;
    # 02-22..02-26 = 26..30 -> determination due Fri 02-26.
    assert worked.determination_due == date(2027, 2, 26)


def test_calendar_day_deadlines_worked_example(worked: NsaTimeline) -> None:
    # Wed 2027-02-24 + 30: 4 days to 02-28, 26 more into March -> Fri 03-26.
    assert worked.payment_due == date(2027, 3, 26)
    # + 90: 4 (Feb) + 31 (Mar) + 30 (Apr) = 65 to 04-30, 25 more -> Tue 05-25.
    assert worked.cooling_off_ends == date(2027, 5, 25)


def test_cooling_off_filing_window_worked_example(worked: NsaTimeline) -> None:
    # 30 business days after Tue 2027-05-25: 05-26..05-28 = 1..3; Mon 05-31
    # Memorial Day; 06-01..06-04 = 4..7; 06-07..06-11 = 8..12; 06-14..06-17 =
    # 13..16; Fri 06-18 Juneteenth observed; 06-21..06-25 = 17..21;
    # 06-28..07-02 = 22..26; Mon 07-05 July 4 observed; 07-06..07-09 = 27..30.
    assert worked.cooling_off_filing_ends == date(2027, 7, 9)


def test_firm_closure_shifts_the_open_negotiation_count() -> None:
    # Closing Thu 2026-12-24 removes day 24 of the count above: 12-21..12-23 =
    # 21..23; 12-28..12-31 = 24..27; 01-04, 01-05, 01-06 = 28..30. Window:
    # Thu 01-07 = 31, Fri 01-08 = 32, Mon 01-11 = 33, Tue 01-12 = 34.
    firm = BusinessCalendar({date(2026, 12, 24): "Federal offices closed by executive order"})
    timeline = nsa_timeline(firm, RECEIVED, NOTICE_SENT)
    assert timeline.negotiation_ends == date(2027, 1, 6)
    assert timeline.idr_window_start == date(2027, 1, 7)
    assert timeline.idr_window_end == date(2027, 1, 12)
    assert (
        "2026-12-24 Federal offices closed by executive order" in timeline.rules["negotiation_ends"]
    )


def test_received_on_a_weekend_starts_the_count_on_monday() -> None:
    # Received Sat 2026-03-07: day 1 is Mon 03-09; no holidays until May, so
    # day 30 is six weeks on, Fri 04-17. Received Mon 03-02: Fri 04-10.
    assert nsa_timeline(FEDERAL, date(2026, 3, 7)).notice_deadline == date(2026, 4, 17)
    assert nsa_timeline(FEDERAL, date(2026, 3, 2)).notice_deadline == date(2026, 4, 10)


# --- Serialisation and explanations -----------------------------------------


def test_to_json_dict_has_exactly_the_nine_api_keys(worked: NsaTimeline) -> None:
    assert worked.to_json_dict() == {
        "notice_deadline": "2026-12-15",
        "negotiation_ends": "2027-01-05",
        "idr_window_start": "2027-01-06",
        "idr_window_end": "2027-01-11",
        "idre_selection_due": "2027-01-13",
        "offers_due": "2027-01-28",
        "determination_due": "2027-02-26",
        "payment_due": "2027-03-26",
        "cooling_off_ends": "2027-05-25",
    }
    assert tuple(worked.to_json_dict()) == API_KEYS


def test_unknown_steps_are_none() -> None:
    timeline = nsa_timeline(FEDERAL, RECEIVED)
    assert timeline.to_json_dict() == {key: None for key in API_KEYS} | {
        "notice_deadline": "2026-12-15"
    }
    assert timeline.cooling_off_filing_ends is None


def test_later_steps_do_not_need_earlier_inputs() -> None:
    timeline = nsa_timeline(FEDERAL, RECEIVED, selected=SELECTED)
    assert timeline.offers_due == date(2027, 1, 28)
    assert timeline.negotiation_ends is None
    assert timeline.idre_selection_due is None


def test_explanations_name_the_start_day_the_event_and_the_skipped_holidays(
    worked: NsaTimeline,
) -> None:
    rules = explain(worked)
    assert set(rules) == {*API_KEYS, "cooling_off_filing_ends"}
    notice = rules["notice_deadline"]
    assert "Business day 30 of the 30-business-day period beginning on 2026-11-02" in notice
    assert "the initial payment or denial was received" in notice
    assert "2026-12-15 (Tuesday)" in notice
    assert "2026-11-11 Veterans Day" in notice
    assert "2026-11-26 Thanksgiving Day" in notice
    assert "3 business days after 2027-01-08" in rules["idre_selection_due"]
    assert "not counted" in rules["idre_selection_due"]
    assert "30 calendar days after 2027-02-24" in rules["payment_due"]
    assert worked.explain() == rules


def test_explanation_of_a_weekend_start_names_day_one() -> None:
    rules = explain(nsa_timeline(FEDERAL, date(2026, 3, 7)))
    assert "Day 1 is 2026-03-09 (Monday)" in rules["notice_deadline"]
    assert rules["offers_due"] == "Not computed yet: needs the date the IDR entity was selected."


def test_timeline_is_frozen(worked: NsaTimeline) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        worked.notice_deadline = date(2027, 1, 1)  # type: ignore[misc]


# --- Input validation -------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"notice_sent": RECEIVED - timedelta(days=1)},
        {"notice_sent": NOTICE_SENT, "initiated": NOTICE_SENT - timedelta(days=1)},
        {"initiated": INITIATED, "selected": INITIATED - timedelta(days=1)},
        {"selected": SELECTED, "determined": SELECTED - timedelta(days=1)},
        # A gap in the known dates still compares with the latest known one.
        {"notice_sent": NOTICE_SENT, "determined": NOTICE_SENT - timedelta(days=1)},
    ],
)
def test_out_of_order_dates_are_refused(kwargs: dict[str, date]) -> None:
    with pytest.raises(ValueError, match="is before"):
        nsa_timeline(FEDERAL, RECEIVED, **kwargs)


def test_steps_on_the_same_day_are_allowed() -> None:
    timeline = nsa_timeline(FEDERAL, RECEIVED, RECEIVED, RECEIVED, RECEIVED, RECEIVED)
    assert timeline.payment_due == RECEIVED + timedelta(days=30)


def test_datetime_inputs_are_refused() -> None:
    with pytest.raises(TypeError, match="datetime"):
        nsa_timeline(FEDERAL, datetime(2026, 11, 2, 9, 0))  # noqa: DTZ001


@PROPERTY
@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)),
    st.integers(0, 60),
    st.integers(0, 200),
)
def test_timeline_invariants(received: date, wait: int, later: int) -> None:
    notice_sent = received + timedelta(days=wait)
    selected = notice_sent + timedelta(days=later)
    t = nsa_timeline(FEDERAL, received, notice_sent, selected=selected, determined=selected)
    assert t.negotiation_ends is not None and t.idr_window_start is not None
    assert t.idr_window_end is not None and t.offers_due is not None
    assert t.determination_due is not None and t.cooling_off_ends is not None
    assert t.cooling_off_filing_ends is not None
    # The window opens on the first business day after negotiation ends and
    # spans exactly 4 business days.
    assert t.idr_window_start == FEDERAL.nth_business_day_after(t.negotiation_ends, 1)
    assert FEDERAL.business_days_between(t.negotiation_ends, t.idr_window_end) == 4
    assert FEDERAL.business_days_between(selected, t.offers_due) == 10
    assert FEDERAL.business_days_between(selected, t.determination_due) == 30
    assert (t.cooling_off_ends - selected).days == 90
    assert FEDERAL.business_days_between(t.cooling_off_ends, t.cooling_off_filing_ends) == 30


# --- Fees ---------------------------------------------------------------------


def test_admin_fee_table_is_the_documented_one() -> None:
    assert list(IDR_ADMIN_FEES) == [
        (date(2024, 1, 22), Decimal("115.00")),
        (date(2026, 6, 11), Decimal("15.00")),
    ]


@pytest.mark.parametrize(
    ("initiated", "fee"),
    [
        (date(2024, 1, 22), "115.00"),  # first day of the $115 fee
        (date(2026, 6, 10), "115.00"),  # last day of the $115 fee
        (date(2026, 6, 11), "15.00"),  # first day of the $15 fee
        (date(2031, 1, 1), "15.00"),  # the last row applies indefinitely
    ],
)
def test_admin_fee_boundaries(initiated: date, fee: str) -> None:
    result = admin_fee_on(initiated)
    assert isinstance(result, Decimal)
    assert str(result) == fee


def test_admin_fee_before_the_table_is_refused() -> None:
    with pytest.raises(ValueError, match="2024-01-22"):
        admin_fee_on(date(2024, 1, 21))


def test_admin_fee_uses_a_given_table() -> None:
    table = [(date(2020, 1, 1), Decimal("50.00")), (date(2022, 1, 1), Decimal("350.00"))]
    assert admin_fee_on(date(2021, 12, 31), table) == Decimal("50.00")
    assert admin_fee_on(date(2022, 1, 1), table) == Decimal("350.00")


@pytest.mark.parametrize(
    "table",
    [
        [],
        [(date(2026, 6, 11), Decimal("15.00")), (date(2024, 1, 22), Decimal("115.00"))],
        [(date(2024, 1, 22), Decimal("115.00")), (date(2024, 1, 22), Decimal("15.00"))],
        [(date(2024, 1, 22), 115.0)],
        [(date(2024, 1, 22), Decimal("-1"))],
    ],
)
def test_admin_fee_rejects_a_bad_table(table: list[tuple[date, Decimal]]) -> None:
    with pytest.raises(ValueError):
        admin_fee_on(date(2027, 1, 1), table)


@pytest.mark.parametrize(
    ("kind", "amount"),
    [("single", "200.00"), ("single", "840.00"), ("batched", "268.00"), ("batched", "1173.00")],
)
def test_idre_fee_bounds_are_inclusive(kind: str, amount: str) -> None:
    assert validate_idre_fee(Decimal(amount), kind) == Decimal(amount)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "amount"),
    [
        ("single", "199.99"),
        ("single", "840.01"),
        ("single", "1000.00"),  # fine for a batch, too much for a single dispute
        ("batched", "267.99"),
        ("batched", "1173.01"),
        ("single", "500.001"),  # fractions of a cent
        ("single", "NaN"),
        ("bundled", "500.00"),  # unknown kind
    ],
)
def test_idre_fee_outside_the_rules_is_refused(kind: str, amount: str) -> None:
    with pytest.raises(ValueError):
        validate_idre_fee(Decimal(amount), kind)  # type: ignore[arg-type]


def test_idre_fee_must_be_decimal() -> None:
    with pytest.raises(TypeError):
        validate_idre_fee(500.0)  # type: ignore[arg-type]


def test_idre_fee_ranges_are_the_documented_ones_and_replaceable() -> None:
    assert IDRE_FEE_RANGES["single"] == FeeRange(Decimal("200"), Decimal("840"))
    assert IDRE_FEE_RANGES["batched"] == FeeRange(Decimal("268"), Decimal("1173"))
    ranges = {"single": FeeRange(Decimal("100.00"), Decimal("150.00"))}
    assert validate_idre_fee(Decimal("150.00"), "single", ranges) == Decimal("150.00")
    with pytest.raises(ValueError):
        validate_idre_fee(Decimal("200.00"), "single", ranges)


def test_fee_range_refuses_inverted_bounds() -> None:
    with pytest.raises(ValueError):
        FeeRange(Decimal("10"), Decimal("9"))


# --- Batching -----------------------------------------------------------------


def _item(service_date: date, **overrides: str) -> dict[str, object]:
    base: dict[str, object] = {
        "npi": "1234567893",
        "tin": "12-3456789",
        "plan_id": "PLAN-1",
        "service_date": service_date,
    }
    return base | overrides


def test_batching_window_is_30_business_days_after_the_earlier_date() -> None:
    # 30 business days after Mon 2026-11-02: 11-03..11-06 = 1..4; 11-09, 11-10
    # = 5, 6; Veterans Day; 11-12, 11-13 = 7, 8; 11-16..11-20 = 9..13;
    # 11-23..11-25 = 14..16; Thanksgiving; 11-27 = 17; 11-30..12-04 = 18..22;
    # 12-07..12-11 = 23..27; 12-14, 12-15, 12-16 = 28..30.
    first = _item(date(2026, 11, 2))
    assert can_batch(FEDERAL, first, _item(date(2026, 12, 16)))
    assert not can_batch(FEDERAL, first, _item(date(2026, 12, 17)))
    # Order does not matter.
    assert can_batch(FEDERAL, _item(date(2026, 12, 16)), first)
    assert not can_batch(FEDERAL, _item(date(2026, 12, 17)), first)
    # Same day qualifies.
    assert can_batch(FEDERAL, first, _item(date(2026, 11, 2)))


@pytest.mark.parametrize(
    "different", [{"npi": "1999999994"}, {"tin": "98-7654321"}, {"plan_id": "PLAN-2"}]
)
def test_batching_needs_the_same_provider_and_plan(different: dict[str, str]) -> None:
    d = date(2026, 11, 2)
    assert not can_batch(FEDERAL, _item(d), _item(d, **different))


def test_batching_accepts_objects_and_ignores_tin_formatting() -> None:
    d = date(2026, 11, 2)
    other = SimpleNamespace(npi="1234567893", tin="123456789", plan_id="PLAN-1", service_date=d)
    assert can_batch(FEDERAL, _item(d), other)


def test_batching_with_a_missing_field_is_an_error() -> None:
    with pytest.raises(ValueError, match="plan_id"):
        can_batch(FEDERAL, _item(date(2026, 11, 2)), _item(date(2026, 11, 2), plan_id=""))


# --- Appeals and timely filing ------------------------------------------------------


@pytest.mark.parametrize(
    ("denied", "expected"),
    [
        (date(2026, 1, 15), date(2026, 5, 15)),
        (date(2026, 10, 31), date(2027, 2, 28)),  # no Feb 31: clamp to month end
        (date(2027, 10, 31), date(2028, 2, 29)),  # leap year
        (date(2026, 8, 31), date(2026, 12, 31)),
    ],
)
def test_external_review_four_months_after_denial(denied: date, expected: date) -> None:
    assert add_months(denied, 4) == expected


def test_add_calendar_days_counts_every_day() -> None:
    # Sun 2026-12-20 + 180: 11 to 12-31, +31 Jan = 42, +28 Feb = 70, +31 Mar =
    # 101, +30 Apr = 131, +31 May = 162, +18 -> 2027-06-18 (a holiday, not moved).
    assert add_calendar_days(date(2026, 12, 20), 180) == date(2027, 6, 18)
    # Mon 2026-03-02 + 5 is Saturday 03-07: calendar days are not rolled.
    assert add_calendar_days(date(2026, 3, 2), 5) == date(2026, 3, 7)


@pytest.mark.parametrize("amount", [1.0, True])
def test_date_helpers_take_integers(amount: object) -> None:
    with pytest.raises(TypeError):
        add_calendar_days(date(2026, 1, 1), amount)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        add_months(date(2026, 1, 1), amount)  # type: ignore[arg-type]
