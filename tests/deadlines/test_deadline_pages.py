"""The firm's closure-day and state-law pages, and the NSA calculator page."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.deadlines.models import ClosureDay, SpecifiedStateLaw
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import login, make_firm, make_user


def _text(r) -> str:
    return r.get_data(as_text=True)


def _audits(tenant_id: int, prefix: str) -> list[AuditEvent]:
    with tenant_scope(tenant_id):
        return list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.tenant_id == tenant_id, AuditEvent.action.startswith(prefix))
                .order_by(AuditEvent.id)
            )
        )


def _closures(tenant_id: int) -> list[tuple[date, str]]:
    db.session.expire_all()
    with tenant_scope(tenant_id):
        return [
            (c.day, c.reason)
            for c in db.session.scalars(select(ClosureDay).order_by(ClosureDay.day))
        ]


def _laws(tenant_id: int) -> list[SimpleNamespace]:
    db.session.expire_all()
    columns = (
        "id",
        "state",
        "citation",
        "is_emergency_covered",
        "is_facility_covered",
        "is_air_ambulance_covered",
    )
    with tenant_scope(tenant_id):
        rows = db.session.execute(
            select(*(getattr(SpecifiedStateLaw, c) for c in columns)).order_by(
                SpecifiedStateLaw.state
            )
        )
        return [SimpleNamespace(**dict(zip(columns, row, strict=True))) for row in rows]


def _field_errors(html: str, field: str) -> list[str]:
    m = re.search(rf'<ul class="field-errors" id="{field}-error">(.*?)</ul>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", m.group(1)) if m else []


@pytest.fixture()
def firm(db_app):
    return make_firm("Deadline Advocacy")


@pytest.fixture()
def owner(browser, firm):
    login(browser, firm.owner)
    return browser


# --- Closure days -------------------------------------------------------------


def test_owner_adds_a_closure_day_and_it_is_listed_and_audited(owner, firm):
    r = owner.post(
        "/deadlines/closures", {"day": "2024-12-24", "reason": "Executive order: Christmas Eve"}
    )
    assert r.status_code == 302
    assert _closures(firm.tenant.id) == [(date(2024, 12, 24), "Executive order: Christmas Eve")]
    page = _text(owner.get("/deadlines/closures"))
    assert "2024-12-24" in page and "Tuesday" in page and "Executive order: Christmas Eve" in page
    [event] = _audits(firm.tenant.id, "closure_day.")
    assert event.action == "closure_day.created"
    assert event.details == {"day": "2024-12-24"}
    assert event.user_id == firm.owner.user.id and not event.is_phi


def test_a_duplicate_closure_day_is_refused_with_a_field_error(owner, firm):
    owner.post("/deadlines/closures", {"day": "2025-01-09", "reason": "National day of mourning"})
    r = owner.post("/deadlines/closures", {"day": "2025-01-09", "reason": "Again"})
    assert r.status_code == 422
    assert _field_errors(_text(r), "day") == ["2025-01-09 is already a closure day."]
    assert _closures(firm.tenant.id) == [(date(2025, 1, 9), "National day of mourning")]
    assert len(_audits(firm.tenant.id, "closure_day.")) == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"day": "2024-12-28", "reason": "x"},
            "day",
            "2024-12-28 is a Saturday: weekends are never business days.",
        ),
        (
            {"day": "2024-12-25", "reason": "x"},
            "day",
            "2024-12-25 is already a federal holiday (Christmas Day).",
        ),
        ({"day": "24/12/2024", "reason": "x"}, "day", "Not a date: use YYYY-MM-DD."),
        ({"day": "", "reason": "x"}, "day", "Enter a date."),
        ({"day": "2024-12-24", "reason": ""}, "reason", "Give the reason for the closure."),
    ],
)
def test_invalid_closure_days_are_refused_naming_the_field(owner, firm, data, field, message):
    r = owner.post("/deadlines/closures", data)
    assert r.status_code == 422
    assert _field_errors(_text(r), field) == [message]
    assert _closures(firm.tenant.id) == []


def test_owner_removes_a_closure_day_and_it_is_audited(owner, firm):
    owner.post("/deadlines/closures", {"day": "2024-12-24", "reason": "Executive order"})
    with tenant_scope(firm.tenant.id):
        closure_id = db.session.scalar(select(ClosureDay.id))
    r = owner.post(f"/deadlines/closures/{closure_id}/delete")
    assert r.status_code == 302
    assert _closures(firm.tenant.id) == []
    actions = [e.action for e in _audits(firm.tenant.id, "closure_day.")]
    assert actions == ["closure_day.created", "closure_day.deleted"]
    assert owner.post(f"/deadlines/closures/{closure_id}/delete").status_code == 404


def test_another_firms_closure_day_is_a_404_and_stays(make_browser, firm):
    other = make_firm("Other")
    with tenant_scope(other.tenant.id):
        closure = ClosureDay(day=date(2024, 12, 24), reason="Other's closure")
        db.session.add(closure)
        db.session.commit()
        closure_id = closure.id
    b = make_browser()
    login(b, firm.owner)
    assert b.post(f"/deadlines/closures/{closure_id}/delete").status_code == 404
    assert _closures(other.tenant.id) == [(date(2024, 12, 24), "Other's closure")]
    assert "Other&#39;s closure" not in _text(b.get("/deadlines/closures"))


@pytest.mark.parametrize("role", ["advocate", "viewer"])
def test_only_owners_and_admins_manage_closures_and_state_laws(make_browser, firm, role):
    person = make_user(firm.tenant, role)
    b = make_browser()
    login(b, person)
    assert b.get("/deadlines/closures").status_code == 403
    assert b.post("/deadlines/closures", {"day": "2024-12-24", "reason": "x"}).status_code == 403
    assert b.get("/deadlines/state-laws").status_code == 403
    assert b.post("/deadlines/state-laws", {"state": "NY"}).status_code == 403
    assert _closures(firm.tenant.id) == []
    # The calculator is for every staff role.
    assert b.get("/deadlines/nsa").status_code == 200


def test_admin_manages_closures(make_browser, firm):
    b = make_browser()
    login(b, make_user(firm.tenant, "admin"))
    assert b.post("/deadlines/closures", {"day": "2024-12-24", "reason": "EO"}).status_code == 302


# --- Specified state laws -------------------------------------------------------


def test_owner_adds_a_state_law_and_it_is_listed_and_audited(owner, firm):
    r = owner.post(
        "/deadlines/state-laws",
        {"state": "NY", "citation": "N.Y. Fin. Serv. Law art. 6", "is_emergency_covered": "y"},
    )
    assert r.status_code == 302
    [law] = _laws(firm.tenant.id)
    assert (law.state, law.citation) == ("NY", "N.Y. Fin. Serv. Law art. 6")
    # Unticked boxes are not covered.
    assert (law.is_emergency_covered, law.is_facility_covered, law.is_air_ambulance_covered) == (
        True,
        False,
        False,
    )
    page = _text(owner.get("/deadlines/state-laws"))
    assert "New York (NY)" in page and "N.Y. Fin. Serv. Law art. 6" in page
    [event] = _audits(firm.tenant.id, "specified_state_law.")
    assert event.action == "specified_state_law.created"
    assert event.details == {"state": "NY", "services": ["emergency"]}


def test_the_add_form_ticks_emergency_and_facility_services_by_default(owner):
    html = _text(owner.get("/deadlines/state-laws"))
    assert re.search(
        r'<input[^>]*checked[^>]*id="is_emergency_covered"|<input[^>]*id="is_emergency_covered"[^>]*checked',
        html,
    )
    assert re.search(
        r'<input[^>]*id="is_facility_covered"[^>]*checked|<input[^>]*checked[^>]*id="is_facility_covered"',
        html,
    )
    assert not re.search(r'<input[^>]*id="is_air_ambulance_covered"[^>]*checked', html)


def test_a_duplicate_state_is_refused_with_a_field_error(owner, firm):
    owner.post("/deadlines/state-laws", {"state": "NJ", "is_emergency_covered": "y"})
    r = owner.post("/deadlines/state-laws", {"state": "NJ", "is_facility_covered": "y"})
    assert r.status_code == 422
    assert _field_errors(_text(r), "state") == ["New Jersey is already on the list."]
    assert len(_laws(firm.tenant.id)) == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"state": "", "is_emergency_covered": "y"}, "state", "Choose a state."),
        ({"state": "XX", "is_emergency_covered": "y"}, "state", "Not a valid choice."),
        (
            {"state": "NY"},
            "is_emergency_covered",
            "Tick at least one kind of service the law covers.",
        ),
    ],
)
def test_invalid_state_laws_are_refused_naming_the_field(owner, firm, data, field, message):
    r = owner.post("/deadlines/state-laws", data)
    assert r.status_code == 422
    assert _field_errors(_text(r), field) == [message]
    assert _laws(firm.tenant.id) == []


def test_owner_removes_a_state_law_and_it_is_audited(owner, firm):
    owner.post("/deadlines/state-laws", {"state": "TX", "is_emergency_covered": "y"})
    [law] = _laws(firm.tenant.id)
    assert owner.post(f"/deadlines/state-laws/{law.id}/delete").status_code == 302
    assert _laws(firm.tenant.id) == []
    actions = [e.action for e in _audits(firm.tenant.id, "specified_state_law.")]
    assert actions == ["specified_state_law.created", "specified_state_law.deleted"]


# --- NSA calculator -------------------------------------------------------------


def _rows(html: str) -> dict[str, str]:
    """Step key -> the date cell's text."""
    rows = re.findall(r'<tr data-step="(\w+)">.*?<td class="nowrap">(.*?)</td>', html, re.S)
    return {key: re.sub(r"<[^>]+>", " ", cell).split()[0] for key, cell in rows}


def test_calculator_shows_each_date_with_its_rule(make_browser, firm):
    b = make_browser()
    login(b, make_user(firm.tenant, "viewer"))
    r = b.get(
        "/deadlines/nsa",
        query_string={
            "received": "2024-11-15",
            "notice_sent": "2024-12-02",
            "use_firm_closures": "y",
        },
    )
    assert r.status_code == 200
    html = _text(r)
    rows = _rows(html)
    # Hand counts: see tests/deadlines/test_nsa_timeline_api.py.
    assert rows["notice_deadline"] == "2024-12-30"
    assert rows["negotiation_ends"] == "2025-01-14"
    assert rows["idr_window_start"] == "2025-01-15"
    assert rows["idr_window_end"] == "2025-01-21"
    assert rows["idre_selection_due"] == "—"
    assert "Business day 30 of the 30-business-day period beginning on 2024-11-15" in html
    assert "Not computed yet: needs the date IDR was initiated." in html


def test_calculator_uses_the_firm_closures_by_default_and_can_leave_them_out(owner, firm):
    owner.post("/deadlines/closures", {"day": "2024-12-24", "reason": "Executive order"})
    first = _text(owner.get("/deadlines/nsa"))
    # First visit: the box is ticked.
    assert re.search(
        r'<input[^>]*checked[^>]*id="use_firm_closures"|<input[^>]*id="use_firm_closures"[^>]*checked',
        first,
    )
    with_firm = _text(
        owner.get(
            "/deadlines/nsa", query_string={"received": "2024-11-15", "use_firm_closures": "y"}
        )
    )
    assert _rows(with_firm)["notice_deadline"] == "2024-12-31"
    assert "2024-12-24 (Tuesday): Executive order" in with_firm
    without = _text(owner.get("/deadlines/nsa", query_string={"received": "2024-11-15"}))
    assert _rows(without)["notice_deadline"] == "2024-12-30"


def test_calculator_extra_closures_shift_the_dates(owner):
    r = owner.get(
        "/deadlines/nsa",
        query_string={
            "received": "2024-11-15",
            "closures": "2024-12-24\n2024-12-31",
            "use_firm_closures": "y",
        },
    )
    assert _rows(_text(r))["notice_deadline"] == "2025-01-02"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"received": ""}, "received", "Enter a date."),
        ({"received": "2024-02-30"}, "received", "Not a date: use YYYY-MM-DD."),
        (
            {"received": "2024-11-15", "closures": "2024-12-24, soon"},
            "closures",
            "&#39;soon&#39; is not a date: use YYYY-MM-DD",
        ),
    ],
)
def test_calculator_names_the_bad_field(owner, params, field, message):
    r = owner.get("/deadlines/nsa", query_string=params)
    assert r.status_code == 422
    assert _field_errors(_text(r), field) == [message]
    assert 'data-testid="timeline-table"' not in _text(r)


def test_calculator_refuses_dates_out_of_order_on_the_later_field(owner):
    r = owner.get(
        "/deadlines/nsa", query_string={"received": "2024-11-15", "notice_sent": "2024-11-01"}
    )
    assert r.status_code == 422
    [error] = _field_errors(_text(r), "notice_sent")
    assert "notice_sent (2024-11-01" in error and "is before received (2024-11-15" in error


def test_calculator_warns_about_a_step_outside_its_window(owner):
    r = owner.get(
        "/deadlines/nsa",
        query_string={
            "received": "2024-11-15",
            "notice_sent": "2024-12-02",
            "initiated": "2025-01-22",
        },
    )
    assert r.status_code == 200
    assert "after the initiation window closed on 2025-01-21" in _text(r)


def test_practice_users_cannot_use_the_calculator(make_browser, firm):
    b = make_browser()
    login(b, make_user(firm.tenant, "practice_user"))
    assert b.get("/deadlines/nsa").status_code == 403


def test_nav_shows_the_pages_by_role(make_browser, firm):
    b = make_browser()
    login(b, firm.owner)
    html = _text(b.get("/"))
    assert "NSA calculator" in html
    # The firm's settings are grouped on the Settings page, not in the menu.
    settings = _text(b.get("/settings"))
    for label in ("Closure days", "State surprise-billing laws"):
        assert label in settings and label not in html
    v = make_browser("10.0.0.9")
    login(v, make_user(firm.tenant, "viewer"))
    html = _text(v.get("/"))
    assert "NSA calculator" in html and "Closure days" not in _text(v.get("/settings"))
