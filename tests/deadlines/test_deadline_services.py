"""Deadline services: the firm's calendar, its closures and state laws, parsing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.exc import IntegrityError

from advocate.deadlines import services
from advocate.deadlines.eligibility import ELIGIBLE, NOT_ELIGIBLE, ServiceType
from advocate.deadlines.models import ClosureDay, SpecifiedStateLaw
from advocate.deadlines.services import DeadlineError
from advocate.extensions import db
from tenants import TenantScopeError, tenant_scope
from tests.factories import make_firm

EVE = date(2024, 12, 24)  # a Tuesday: federal offices closed by executive order
MOURNING = date(2025, 1, 9)  # a Thursday: national day of mourning


def test_calendar_for_includes_the_firms_closures_only(db_app):
    a, b = make_firm("A"), make_firm("B")
    with tenant_scope(a.tenant.id):
        services.add_closure(a.tenant.id, a.owner.user, EVE, "Executive order")
        db.session.commit()
    with tenant_scope(b.tenant.id):
        services.add_closure(b.tenant.id, b.owner.user, MOURNING, "Day of mourning")
        db.session.commit()
    with tenant_scope(a.tenant.id):
        cal = services.calendar_for(a.tenant.id)
        assert dict(cal.closures) == {EVE: "Executive order"}
        assert not cal.is_business_day(EVE)
        assert cal.is_business_day(MOURNING)
        assert cal.holiday_name(EVE) == "Executive order"
        # Federal holidays are still there.
        assert not cal.is_business_day(date(2024, 12, 25))


def test_calendar_for_is_cached_and_forgotten_when_closures_change(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    with tenant_scope(tid):
        first = services.calendar_for(tid)
        assert services.calendar_for(tid) is first  # one read per request
        closure = services.add_closure(tid, firm.owner.user, EVE, "Executive order")
        second = services.calendar_for(tid)
        assert second is not first and EVE in second.closures
        services.remove_closure(tid, firm.owner.user, closure)
        assert EVE not in services.calendar_for(tid).closures
        db.session.commit()


def test_calendar_for_reads_afresh_after_the_transaction(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    with tenant_scope(tid):
        assert services.calendar_for(tid).closures == {}
        db.session.commit()
        # Someone else adds a closure (here: behind the service's back).
        db.session.add(ClosureDay(day=EVE, reason="Executive order"))
        db.session.commit()
        assert EVE in services.calendar_for(tid).closures


def test_calendar_for_refuses_another_tenant_than_the_one_in_scope(db_app):
    a, b = make_firm("A"), make_firm("B")
    with tenant_scope(a.tenant.id), pytest.raises(TenantScopeError):
        services.calendar_for(b.tenant.id)
    with pytest.raises(TenantScopeError):
        services.calendar_for(a.tenant.id)


def test_closure_days_are_unique_per_firm_in_the_database(db_app):
    a, b = make_firm("A"), make_firm("B")
    for firm in (a, b):  # the same day in two firms is fine
        with tenant_scope(firm.tenant.id):
            db.session.add(ClosureDay(day=EVE, reason="Executive order"))
            db.session.commit()
    with tenant_scope(a.tenant.id):
        db.session.add(ClosureDay(day=EVE, reason="Twice"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_state_laws_are_unique_per_firm_in_the_database(db_app):
    firm = make_firm()
    with tenant_scope(firm.tenant.id):
        db.session.add(SpecifiedStateLaw(state="NY"))
        db.session.commit()
        db.session.add(SpecifiedStateLaw(state="NY"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_add_closure_refuses_duplicates_weekends_and_holidays(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    with tenant_scope(tid):
        services.add_closure(tid, None, EVE, "Executive order")
        cases = [
            (EVE, "2024-12-24 is already a closure day."),
            (date(2024, 12, 21), "2024-12-21 is a Saturday: weekends are never business days."),
            (date(2025, 1, 1), "2025-01-01 is already a federal holiday (New Year's Day)."),
            (date(1999, 12, 31), "Choose a date between 2000 and 2100."),
        ]
        for day, message in cases:
            with pytest.raises(DeadlineError) as err:
                services.add_closure(tid, None, day, "x")
            assert (err.value.field, err.value.message) == ("day", message)
        with pytest.raises(DeadlineError) as err:
            services.add_closure(tid, None, MOURNING, "   ")
        assert err.value.field == "reason"
        db.session.rollback()


def test_check_eligibility_uses_the_firms_state_laws(db_app):
    a, b = make_firm("A"), make_firm("B")
    with tenant_scope(a.tenant.id):
        services.add_state_law(
            a.tenant.id, None, "ny", "Surprise bill law", is_facility_covered=False
        )
        db.session.commit()
        assert services.state_laws_for(a.tenant.id) == {"NY": frozenset({ServiceType.EMERGENCY})}
        kwargs = {"plan_type": "fully_insured", "state": "NY", "remark_codes": ["N864"]}
        assert (
            services.check_eligibility(a.tenant.id, service_type="emergency", **kwargs).status
            == NOT_ELIGIBLE
        )
        facility = services.check_eligibility(
            a.tenant.id, service_type="nonemergency_in_network_facility", **kwargs
        )
        assert facility.status != NOT_ELIGIBLE
    with tenant_scope(b.tenant.id):
        result = services.check_eligibility(
            b.tenant.id, service_type="emergency", plan_type="fully_insured", state="NY"
        )
        assert result.status == ELIGIBLE


def test_add_state_law_validates(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    with tenant_scope(tid):
        with pytest.raises(DeadlineError) as err:
            services.add_state_law(tid, None, "ZZ")
        assert err.value.field == "state"
        with pytest.raises(DeadlineError) as err:
            services.add_state_law(
                tid, None, "NY", is_emergency_covered=False, is_facility_covered=False
            )
        assert err.value.field == "is_emergency_covered"
        services.add_state_law(tid, None, "NY")
        with pytest.raises(DeadlineError, match="New York is already on the list"):
            services.add_state_law(tid, None, "ny")
        db.session.rollback()


def test_nsa_timeline_for_uses_firm_and_extra_closures(db_app):
    firm = make_firm()
    tid = firm.tenant.id
    with tenant_scope(tid):
        services.add_closure(tid, None, EVE, "Executive order")
        received = date(2024, 11, 15)
        # Counted by hand in test_nsa_timeline_api.py: 12-30 on the federal
        # calendar, 12-31 without 12-24, 2025-01-02 without 12-31 as well.
        assert services.nsa_timeline_for(
            tid, received, use_firm_closures=False
        ).notice_deadline == date(2024, 12, 30)
        assert services.nsa_timeline_for(tid, received).notice_deadline == date(2024, 12, 31)
        later = services.nsa_timeline_for(tid, received, extra_closures=[date(2024, 12, 31)])
        assert later.notice_deadline == date(2025, 1, 2)
        with pytest.raises(DeadlineError) as err:
            services.nsa_timeline_for(tid, received, selected=date(2024, 11, 1))
        assert err.value.field == "selected"
        db.session.rollback()


def test_with_extra_closures_keeps_the_firms_reason():
    from advocate.deadlines.calendar import BusinessCalendar

    firm = BusinessCalendar({EVE: "Executive order"})
    both = services.with_extra_closures(firm, [EVE, MOURNING])
    assert dict(both.closures) == {EVE: "Executive order", MOURNING: services.EXTRA_CLOSURE_REASON}
    assert dict(firm.closures) == {EVE: "Executive order"}  # the firm's calendar is untouched


@pytest.mark.parametrize(
    "raw", ["20241224", "2024-W52-2", "2024-12-24T00:00", "24/12/2024", "2024-02-30", ""]
)
def test_parse_date_takes_only_yyyy_mm_dd(raw):
    with pytest.raises(DeadlineError) as err:
        services.parse_date(raw, "received")
    assert err.value.field == "received"


def test_parse_dates_splits_sorts_and_names_every_bad_one():
    assert services.parse_dates(" 2025-01-09, 2024-12-24\n2024-12-24 ", "closures") == [
        EVE,
        MOURNING,
    ]
    assert services.parse_dates("", "closures") == []
    with pytest.raises(DeadlineError) as err:
        services.parse_dates("2024-12-24, x, 2024-13-01", "closures")
    assert "'x'" in err.value.message and "'2024-13-01'" in err.value.message
    with pytest.raises(DeadlineError, match="at most 2 dates"):
        services.parse_dates("2024-12-23 2024-12-24 2024-12-26", "closures", limit=2)


def test_timeline_warnings_name_each_late_step():
    from advocate.deadlines.calendar import BusinessCalendar
    from advocate.deadlines.nsa import nsa_timeline

    cal = BusinessCalendar()
    # Deadlines of this example (hand counts in test_nsa_timeline_api.py):
    # notice 2024-12-30, window 2025-01-15..21, selection 3 business days after
    # initiation, determination 30 business days after selection.
    on_time = nsa_timeline(
        cal,
        date(2024, 11, 15),
        date(2024, 12, 2),
        date(2025, 1, 16),
        date(2025, 1, 22),
        date(2025, 3, 6),
    )
    assert services.timeline_warnings(on_time) == []
    late = nsa_timeline(
        cal,
        date(2024, 11, 15),
        date(2024, 12, 31),
        date(2025, 2, 20),
        date(2025, 2, 26),
        date(2025, 4, 30),
    )
    # Selection due 3 business days after Thu 2-20: 2-21, 2-24, Tue 2-25;
    # determination due 30 after Wed 2-26 (no holiday on the way): 2-27 (1),
    # 2-28 (2), 3-3..7 (3-7), 3-10..14 (8-12), 3-17..21 (13-17), 3-24..28
    # (18-22), 3-31..4-4 (23-27), 4-7 (28), 4-8 (29), Wed 4-9 (30).
    assert [w.split(",")[0] for w in services.timeline_warnings(late)] == [
        "The open negotiation notice was sent on 2024-12-31",
        "IDR was initiated on 2025-02-20",
        "The IDR entity was selected on 2025-02-26",
        "The determination was made on 2025-04-30",
    ]
    assert "after the selection deadline of 2025-02-25" in services.timeline_warnings(late)[2]
    assert "after it was due on 2025-04-09" in services.timeline_warnings(late)[3]
