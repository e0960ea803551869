"""GET /api/v1/nsa/timeline: dates counted by hand, nulls, 422s, closures.

The worked example runs through Thanksgiving, Christmas and New Year 2024/25.
Holidays on the way (federal, as observed): Thanksgiving Thu 2024-11-28,
Christmas Wed 2024-12-25, New Year's Day Wed 2025-01-01, Martin Luther King
Jr. Day Mon 2025-01-20, Washington's Birthday Mon 2025-02-17. Executive-order
closures that are NOT federal holidays (the firm decides): Tue 2024-12-24 and
Thu 2025-01-09. Weekday names checked on a 2024/2025 wall calendar
(2024-11-15 is a Friday, 2024-12-02 a Monday, 2025-01-16 a Thursday).
"""

from __future__ import annotations

from datetime import date

import pytest

from advocate.auth.models import ApiToken, new_token, token_hash
from advocate.deadlines.models import ClosureDay
from advocate.deadlines.nsa import API_KEYS
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import make_firm, make_user

URL = "/api/v1/nsa/timeline"

# The full example, federal holidays only.
FULL = {
    "received": "2024-11-15",
    "notice_sent": "2024-12-02",
    "initiated": "2025-01-16",
    "selected": "2025-01-22",
    "determined": "2025-03-06",
}
FULL_EXPECTED = {
    # 30-business-day period beginning Fri 11-15: 11-15 is day 1; 11-18..22 days
    # 2-6; 11-25, 26, 27 days 7-9 (Thanksgiving 11-28 skipped); 11-29 day 10;
    # 12-2..6 days 11-15; 12-9..13 days 16-20; 12-16..20 days 21-25; 12-23 day
    # 26, 12-24 day 27 (Christmas 12-25 skipped), 12-26 day 28, 12-27 day 29;
    # Mon 12-30 day 30.
    "notice_deadline": "2024-12-30",
    # Beginning Mon 12-2: 12-2..6 days 1-5, 12-9..13 6-10, 12-16..20 11-15,
    # 12-23 16, 12-24 17, 12-26 18, 12-27 19, 12-30 20, 12-31 21 (New Year 1-1
    # skipped), 1-2 22, 1-3 23, 1-6..10 24-28, 1-13 29, Tue 1-14 day 30.
    "negotiation_ends": "2025-01-14",
    # Day 31 Wed 1-15, 32 Thu 1-16, 33 Fri 1-17, MLK Day Mon 1-20 skipped,
    # day 34 Tue 1-21.
    "idr_window_start": "2025-01-15",
    "idr_window_end": "2025-01-21",
    # 3 business days after Thu 1-16: Fri 1-17 (1), MLK Day skipped, Tue 1-21
    # (2), Wed 1-22 (3).
    "idre_selection_due": "2025-01-22",
    # 10 after Wed 1-22: 1-23 (1), 1-24 (2), 1-27..31 (3-7), 2-3 (8), 2-4 (9),
    # Wed 2-5 (10).
    "offers_due": "2025-02-05",
    # 30 after 1-22: ... 2-5 (10), 2-6 (11), 2-7 (12), 2-10..14 (13-17),
    # Washington's Birthday 2-17 skipped, 2-18..21 (18-21), 2-24..28 (22-26),
    # 3-3 (27), 3-4 (28), 3-5 (29), Thu 3-6 (30).
    "determination_due": "2025-03-06",
    # 30 calendar days after 3-6: 25 days to 3-31, 5 more: Sat 4-5, not rolled.
    "payment_due": "2025-04-05",
    # 90 calendar days after 3-6: 25 (to 3-31) + 30 (April) + 31 (May) = 86,
    # 4 more: Wed 6-4.
    "cooling_off_ends": "2025-06-04",
}


def _bearer(person) -> dict[str, str]:
    raw = new_token("adv_")
    with tenant_scope(person.tenant_id):
        db.session.add(
            ApiToken(
                membership_id=person.membership_id,
                name="test",
                token_prefix=raw[:8],
                token_hash=token_hash(raw),
            )
        )
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture()
def firm(db_app):
    return make_firm("Deadline Advocacy")


@pytest.fixture()
def api(browser, firm):
    headers = _bearer(make_user(firm.tenant, "viewer"))

    def get(**params):
        return browser.get(URL, query_string=params, headers=headers)

    return get


def _add_closures(firm, *days):
    with tenant_scope(firm.tenant.id):
        for d in days:
            db.session.add(ClosureDay(day=d, reason="Federal offices closed by executive order"))
        db.session.commit()


def test_full_example_through_the_holidays(api):
    r = api(**FULL)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert {k: body[k] for k in API_KEYS} == FULL_EXPECTED
    assert set(body) == {*API_KEYS, "rules", "closures", "warnings"}
    assert body["closures"] == []
    assert body["warnings"] == []  # every step was taken in time
    # Each deadline comes with its explanation, naming the skipped holidays.
    assert "Thanksgiving Day" in body["rules"]["notice_deadline"]
    assert "2025-01-20 Martin Luther King Jr. Day" in body["rules"]["idr_window_end"]
    assert "calendar days" in body["rules"]["payment_due"]
    assert "cooling_off_filing_ends" in body["rules"]


def test_received_on_a_holiday_starts_counting_the_next_business_day(api):
    # Thanksgiving 11-28 is not a business day: day 1 is Fri 11-29; 12-2..6
    # days 2-6, 12-9..13 7-11, 12-16..20 12-16, 12-23 17, 12-24 18, 12-26 19,
    # 12-27 20, 12-30 21, 12-31 22, 1-2 23, 1-3 24, 1-6..10 25-29, Mon 1-13 30.
    body = api(received="2024-11-28").get_json()
    assert body["notice_deadline"] == "2025-01-13"


@pytest.mark.parametrize(
    ("given", "computed"),
    [
        ({}, {"notice_deadline"}),
        (
            {"notice_sent": "2024-12-02"},
            {"notice_deadline", "negotiation_ends", "idr_window_start", "idr_window_end"},
        ),
        ({"initiated": "2025-01-16"}, {"notice_deadline", "idre_selection_due"}),
        ({"selected": "2025-01-22"}, {"notice_deadline", "offers_due", "determination_due"}),
        ({"determined": "2025-03-06"}, {"notice_deadline", "payment_due", "cooling_off_ends"}),
    ],
)
def test_each_deadline_is_null_until_its_input_is_given(api, given, computed):
    body = api(received="2024-11-15", **given).get_json()
    for key in API_KEYS:
        if key in computed:
            assert body[key] == FULL_EXPECTED[key], key
        else:
            assert body[key] is None, key
            assert body["rules"][key].startswith("Not computed yet")


def test_empty_optional_parameters_count_as_missing(api):
    body = api(received="2024-11-15", notice_sent="", determined=" ").get_json()
    assert body["negotiation_ends"] is None and body["payment_due"] is None


def test_missing_received_is_422_naming_it(api):
    r = api(notice_sent="2024-12-02")
    assert r.status_code == 422
    body = r.get_json()
    assert "received" in body["error"]
    assert [d["field"] for d in body["details"]] == ["received"]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("received", "2024-13-01"),
        ("received", "20241115"),  # ISO basic format: not YYYY-MM-DD
        ("notice_sent", "yesterday"),
        ("initiated", "2025-02-30"),
        ("selected", "1999-12-31"),  # outside the plausible years
        ("determined", "2025-3-6"),
        ("closures", "2024-12-24,24/12/2024"),
    ],
)
def test_a_bad_date_is_422_naming_the_parameter(api, param, value):
    params = {"received": "2024-11-15", param: value}
    r = api(**params)
    assert r.status_code == 422
    body = r.get_json()
    assert param in body["error"]
    assert body["details"][0]["field"] == param
    assert value.split(",")[-1] in body["details"][0]["message"]


def test_every_bad_parameter_is_named_at_once(api):
    r = api(received="nope", determined="also-nope")
    assert r.status_code == 422
    assert [d["field"] for d in r.get_json()["details"]] == ["received", "determined"]


def test_dates_out_of_order_are_422_with_a_clear_message(api):
    r = api(received="2024-11-15", notice_sent="2024-12-02", initiated="2024-11-29")
    assert r.status_code == 422
    body = r.get_json()
    assert body["details"][0]["field"] == "initiated"
    assert (
        "initiated (2024-11-29" in body["error"]
        and "is before notice_sent (2024-12-02" in body["error"]
    )
    # Order is checked between the dates given, skipping the missing ones.
    r = api(received="2024-11-15", determined="2024-11-14")
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "determined"


def test_closures_parameter_shifts_the_dates(api):
    # With 12-24 closed: the count of the first example loses day 27 there, so
    # 12-26 is day 27, 12-27 day 28, 12-30 day 29, Tue 12-31 day 30.
    body = api(received="2024-11-15", closures="2024-12-24").get_json()
    assert body["notice_deadline"] == "2024-12-31"
    assert body["closures"] == [
        {"date": "2024-12-24", "reason": "Closure given for this calculation", "source": "request"}
    ]
    assert "2024-12-24 Closure given for this calculation" in body["rules"]["notice_deadline"]
    # Closing 12-31 as well: New Year's Day is skipped too, so day 30 is Thu 1-2.
    body = api(received="2024-11-15", closures="2024-12-24, 2024-12-31").get_json()
    assert body["notice_deadline"] == "2025-01-02"


def test_firm_closures_shift_the_dates(api, firm):
    _add_closures(firm, date(2024, 12, 24), date(2025, 1, 9))
    body = api(received="2024-11-15", notice_sent="2024-12-02").get_json()
    assert body["notice_deadline"] == "2024-12-31"
    # Negotiation count from 12-2 without 12-24 and 1-9: 12-23 day 16, 12-26
    # 17, 12-27 18, 12-30 19, 12-31 20, 1-2 21, 1-3 22, 1-6 23, 1-7 24, 1-8 25,
    # 1-10 26, 1-13 27, 1-14 28, 1-15 29, Thu 1-16 day 30; 31 Fri 1-17; MLK Day
    # skipped; 32 1-21, 33 1-22, 34 Thu 1-23.
    assert body["negotiation_ends"] == "2025-01-16"
    assert body["idr_window_start"] == "2025-01-17"
    assert body["idr_window_end"] == "2025-01-23"
    assert [c["source"] for c in body["closures"]] == ["firm", "firm"]


def test_closures_parameter_adds_to_the_firm_closures(api, firm):
    _add_closures(firm, date(2024, 12, 24))
    body = api(received="2024-11-15", closures="2024-12-31,2024-12-24").get_json()
    assert body["notice_deadline"] == "2025-01-02"
    # A date given again keeps the firm's own reason.
    assert body["closures"] == [
        {
            "date": "2024-12-24",
            "reason": "Federal offices closed by executive order",
            "source": "firm",
        },
        {"date": "2024-12-31", "reason": "Closure given for this calculation", "source": "request"},
    ]


def test_another_firms_closures_do_not_apply(api, db_app):
    other = make_firm("Other Advocacy")
    _add_closures(other, date(2024, 12, 24))
    assert api(received="2024-11-15").get_json()["notice_deadline"] == "2024-12-30"


def test_steps_taken_outside_their_window_are_warned_about(api):
    # The window is 2025-01-15 to 2025-01-21 (see FULL_EXPECTED).
    early = api(received="2024-11-15", notice_sent="2024-12-02", initiated="2025-01-14").get_json()
    assert early["warnings"] == [
        "IDR was initiated on 2025-01-14, before the initiation window opens on 2025-01-15 "
        "(the 30-business-day open negotiation period must end first)."
    ]
    late = api(received="2024-11-15", notice_sent="2024-12-31", initiated="2025-02-20").get_json()
    assert late["notice_deadline"] == "2024-12-30"
    assert [w.split(",")[0] for w in late["warnings"]] == [
        "The open negotiation notice was sent on 2024-12-31",
        "IDR was initiated on 2025-02-20",
    ]


def test_the_api_needs_a_staff_token(browser, firm):
    assert browser.get(URL, query_string={"received": "2024-11-15"}).status_code == 401
