"""Staff pages: practice list (search, filters, pagination), add and edit
with field errors, fee agreement versions, authorizations, contacts."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from advocate.associations.models import Association
from advocate.extensions import db
from advocate.practices.models import FeeAgreement, Practice, PracticeAuthorization, PracticeContact
from tenants import tenant_scope
from tests.factories import firm_today, login, make_firm, make_payer, make_user
from tests.practices.practice_helpers import (
    add_agreement,
    add_authorization,
    add_practice,
    count,
    practice_data,
)


def _text(r) -> str:
    return r.get_data(as_text=True)


def _rows(r) -> list[str]:
    table = re.search(r'data-testid="practices-table".*?</table>', _text(r), re.S)
    return re.findall(r'class="fw-600">([^<]+)</a>', table.group(0)) if table else []


@pytest.fixture()
def admin_browser(db_app, make_browser):
    firm = make_firm("Acme Advocacy")
    admin = make_user(firm.tenant, "admin")
    b = make_browser()
    login(b, admin)
    b.firm = firm
    return b


# --------------------------------------------------------------------------- list


def test_list_paginates_searches_and_filters(admin_browser):
    tid = admin_browser.firm.tenant.id
    for i in range(27):
        add_practice(
            tid,
            name=f"Practice {i:02d}",
            city="Albany" if i % 2 else "Buffalo",
            specialty="Anesthesiology" if i < 5 else "Orthopedic surgery",
            state="NJ" if i == 3 else "NY",
            status="paused" if i == 4 else "active",
        )
    other = make_firm("Other firm")
    add_practice(other.tenant.id, name="Practice 99 of another firm")

    r = admin_browser.get("/practices/")
    assert r.status_code == 200
    assert len(_rows(r)) == 25
    assert "of 27" in _text(r)  # the total counts this firm's practices only
    page2 = admin_browser.get("/practices/?page=2")
    assert _rows(page2) == ["Practice 25", "Practice 26"]
    assert "another firm" not in _text(r) + _text(page2)

    assert _rows(admin_browser.get("/practices/?q=practice 1")) == [
        f"Practice 1{i}" for i in range(10)
    ]
    assert len(_rows(admin_browser.get("/practices/?q=buffalo"))) == 14
    assert _rows(admin_browser.get("/practices/?specialty=Anesthesiology&state=NJ")) == [
        "Practice 03"
    ]
    assert _rows(admin_browser.get("/practices/?status=paused")) == ["Practice 04"]
    desc = _rows(admin_browser.get("/practices/?sort=name&dir=desc"))
    assert desc[0] == "Practice 26"
    empty = admin_browser.get("/practices/?q=zzz-nothing")
    assert "No practices match these filters" in _text(empty)


def test_list_filters_by_authorization_today(admin_browser):
    tid = admin_browser.firm.tenant.id
    today = firm_today(tid)
    valid = add_practice(tid, name="Valid Practice")
    add_authorization(tid, valid, today - timedelta(days=5))
    lapsed = add_practice(tid, name="Lapsed Practice")
    add_authorization(tid, lapsed, today - timedelta(days=400), today - timedelta(days=35))
    add_practice(tid, name="Missing Practice")
    assert _rows(admin_browser.get("/practices/?authorization=valid")) == ["Valid Practice"]
    assert _rows(admin_browser.get("/practices/?authorization=missing")) == [
        "Lapsed Practice",
        "Missing Practice",
    ]
    page = _text(admin_browser.get("/practices/"))
    assert 'data-authorization="valid"' in page and 'data-authorization="expired"' in page
    assert 'data-authorization="missing"' in page


def test_list_runs_the_same_number_of_queries_for_3_or_25_practices(admin_browser, db_app):
    tid = admin_browser.firm.tenant.id
    today = firm_today(tid)

    def queries():
        statements = []

        def listen(conn, cursor, statement, *args):
            statements.append(statement)

        with db_app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", listen)
        try:
            assert admin_browser.get("/practices/").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        return len(statements)

    for i in range(3):
        pid = add_practice(tid, name=f"P{i}")
        add_agreement(tid, pid, today - timedelta(days=10))
        add_authorization(tid, pid, today - timedelta(days=10))
    few = queries()
    for i in range(22):
        pid = add_practice(tid, name=f"Q{i}")
        add_agreement(tid, pid, today - timedelta(days=10))
        add_authorization(tid, pid, today - timedelta(days=10))
    assert queries() == few


# --------------------------------------------------------------------------- create and edit


def test_admin_adds_a_practice(admin_browser):
    tid = admin_browser.firm.tenant.id
    data = practice_data(name="Harbor Spine Center", npi="1234567893", tin="98-7654321")
    r = admin_browser.post("/practices/new", data)
    assert r.status_code == 302
    with tenant_scope(tid):
        p = db.session.scalar(select(Practice))
        assert (p.name, p.npi, p.tin, p.zip) == (
            "Harbor Spine Center",
            "1234567893",
            "987654321",
            "12207",
        )
    assert r.headers["Location"].endswith(f"/practices/{p.id}")
    page = _text(admin_browser.get(f"/practices/{p.id}"))
    assert "XX-XXX4321" in page and "987654321" not in page and "98-7654321" not in page
    assert 'data-testid="authorization-warning"' in page  # nothing signed yet
    assert 'data-testid="practice-cases"' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("npi", "1234567890", "check digit does not match"),
        ("npi", "", "Enter the 10-digit NPI"),
        ("tin", "12-34", "A TIN has 9 digits"),
        ("tin", "", "Enter the practice&#39;s 9-digit TIN"),
        ("zip", "ABCDE", "A ZIP code is 5 digits"),
        ("state", "", "Choose a state"),
        ("name", "", "Enter the practice&#39;s legal name"),
    ],
)
def test_bad_input_on_create_is_a_field_error_and_nothing_is_saved(
    admin_browser, field, value, message
):
    r = admin_browser.post("/practices/new", practice_data(**{field: value}))
    assert r.status_code == 422
    body = _text(r)
    assert message in body
    assert f'id="{field}-error"' in body  # next to its field
    assert count(admin_browser.firm.tenant.id, Practice) == 0


def test_several_bad_fields_are_all_reported(admin_browser):
    r = admin_browser.post("/practices/new", practice_data(npi="1234567890", tin="1", zip="1"))
    body = _text(r)
    assert r.status_code == 422
    for field in ("npi", "tin", "zip"):
        assert f'id="{field}-error"' in body
    assert count(admin_browser.firm.tenant.id, Practice) == 0


def test_duplicate_npi_is_refused_on_the_form(admin_browser):
    add_practice(admin_browser.firm.tenant.id, npi="1234567893", name="First")
    r = admin_browser.post("/practices/new", practice_data(npi="1234567893"))
    assert r.status_code == 422 and "already has this NPI (First)" in _text(r)
    assert count(admin_browser.firm.tenant.id, Practice) == 1


def test_edit_with_bad_input_changes_nothing_and_a_blank_tin_keeps_the_stored_one(admin_browser):
    tid = admin_browser.firm.tenant.id
    pid = add_practice(tid, npi="1234567893", tin="987654321", city="Albany")
    form = _text(admin_browser.get(f"/practices/{pid}/edit"))
    assert "987654321" not in form and "XX-XXX4321" in form  # the TIN is never prefilled
    bad = admin_browser.post(
        f"/practices/{pid}/edit", practice_data(npi="1234567893", city="Troy", zip="9")
    )
    assert bad.status_code == 422 and 'id="zip-error"' in _text(bad)
    with tenant_scope(tid):
        assert db.session.get(Practice, pid).city == "Albany"
    ok = admin_browser.post(
        f"/practices/{pid}/edit", practice_data(npi="1234567893", tin="", city="Troy")
    )
    assert ok.status_code == 302
    db.session.expire_all()
    with tenant_scope(tid):
        p = db.session.get(Practice, pid)
        assert (p.city, p.tin) == ("Troy", "987654321")


def test_advocates_and_viewers_read_but_cannot_change_practices(db_app, make_browser):
    firm = make_firm()
    pid = add_practice(firm.tenant.id)
    for role in ("advocate", "viewer"):
        b = make_browser(f"10.0.7.{len(role)}")
        login(b, make_user(firm.tenant, role))
        assert b.get("/practices/").status_code == 200
        page = _text(b.get(f"/practices/{pid}"))
        assert "Edit practice" not in page and "Add version" not in page
        assert b.get("/practices/new").status_code == 403
        assert b.post("/practices/new", practice_data()).status_code == 403
        assert b.post(f"/practices/{pid}/edit", practice_data()).status_code == 403
        assert (
            b.post(
                f"/practices/{pid}/agreements/new",
                {"effective_date": "2025-01-01", "percent": "20", "basis": "gross"},
            ).status_code
            == 403
        )
    assert count(firm.tenant.id, Practice) == 1 and count(firm.tenant.id, FeeAgreement) == 0


def test_another_firms_practice_is_a_404(admin_browser):
    other = make_firm("Other")
    pid = add_practice(other.tenant.id, name="Not yours")
    for url in (f"/practices/{pid}", f"/practices/{pid}/edit", f"/practices/{pid}/agreements/new"):
        assert admin_browser.get(url).status_code == 404


# --------------------------------------------------------------------------- fee agreements


def _agreement(**overrides) -> dict:
    data = {
        "effective_date": "2025-01-01",
        "percent": "25.00",
        "basis": "incremental",
        "minimum": "",
        "cap": "",
        "idr_fee_bearer": "firm",
        "billing_cadence": "per_settlement",
        "notes": "",
    }
    data.update(overrides)
    return data


def test_agreement_versions_are_added_and_the_one_in_force_is_shown(admin_browser):
    tid = admin_browser.firm.tenant.id
    pid = add_practice(tid)
    today = firm_today(tid)
    assert (
        admin_browser.post(
            f"/practices/{pid}/agreements/new",
            _agreement(effective_date="2024-01-01", percent="25"),
        ).status_code
        == 302
    )
    r = admin_browser.post(
        f"/practices/{pid}/agreements/new",
        _agreement(
            effective_date=(today - timedelta(days=1)).isoformat(),
            percent="22.5",
            minimum="250",
            cap="30000",
            idr_fee_bearer="split",
            billing_cadence="monthly",
        ),
    )
    assert r.status_code == 302
    page = _text(admin_browser.get(f"/practices/{pid}"))
    assert "22.50%" in page and "Split evenly" in page and "Monthly statement" in page
    assert "Superseded" in page and "In force" in page
    assert count(tid, FeeAgreement) == 2


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"percent": "100.5"}, "percent", "between 0 and 100"),
        ({"percent": "-3"}, "percent", "between 0 and 100"),
        ({"percent": "12.345"}, "percent", "at most 2 decimal places"),
        ({"percent": "lots"}, "percent", "Not a valid decimal"),
        ({"minimum": "500", "cap": "100"}, "cap", "Cap must not be below the minimum"),
        ({"effective_date": ""}, "effective_date", "Enter the date this version takes effect"),
    ],
)
def test_bad_agreement_input_is_a_field_error_and_nothing_is_saved(
    admin_browser, overrides, field, message
):
    pid = add_practice(admin_browser.firm.tenant.id)
    r = admin_browser.post(f"/practices/{pid}/agreements/new", _agreement(**overrides))
    assert r.status_code == 422
    body = _text(r)
    assert message in body and f'id="{field}-error"' in body
    assert count(admin_browser.firm.tenant.id, FeeAgreement) == 0


def test_a_second_version_on_the_same_date_is_refused_on_the_form(admin_browser):
    tid = admin_browser.firm.tenant.id
    pid = add_practice(tid)
    add_agreement(tid, pid, date(2025, 1, 1))
    r = admin_browser.post(
        f"/practices/{pid}/agreements/new", _agreement(effective_date="2025-01-01", percent="30")
    )
    assert r.status_code == 422
    assert "already takes effect on 2025-01-01" in _text(
        r
    ) and 'id="effective_date-error"' in _text(r)
    assert count(tid, FeeAgreement) == 1


def test_a_scheduled_version_can_be_withdrawn_but_not_one_in_force(admin_browser):
    tid = admin_browser.firm.tenant.id
    pid = add_practice(tid)
    today = firm_today(tid)
    past = add_agreement(tid, pid, today - timedelta(days=30))
    future = add_agreement(tid, pid, today + timedelta(days=30), "30.00")
    admin_browser.post(f"/practices/{pid}/agreements/{past}/withdraw")
    admin_browser.post(f"/practices/{pid}/agreements/{future}/withdraw")
    with tenant_scope(tid):
        assert db.session.scalars(select(FeeAgreement.id)).all() == [past]


# --------------------------------------------------------------------------- authorizations


def test_recording_an_authorization_removes_the_warning(admin_browser):
    tid = admin_browser.firm.tenant.id
    pid = add_practice(tid)
    assert 'data-testid="authorization-warning"' in _text(admin_browser.get(f"/practices/{pid}"))
    today = firm_today(tid)
    # Listed payer ids must be the firm's own payers (issue 15: ids are checked).
    y1 = make_payer(admin_browser.firm.tenant, name="Listed One")
    y2 = make_payer(admin_browser.firm.tenant, name="Listed Two")
    r = admin_browser.post(
        f"/practices/{pid}/authorizations/new",
        {
            "signed_on": (today - timedelta(days=3)).isoformat(),
            "expires_on": (today + timedelta(days=362)).isoformat(),
            "scope": "listed",
            "payer_names": "Aetna\nCigna",
            "payer_ids": f"{y2}, {y1}",
            "notes": "",
        },
    )
    assert r.status_code == 302
    page = _text(admin_browser.get(f"/practices/{pid}"))
    assert 'data-testid="authorization-warning"' not in page
    assert f"Listed payers: Aetna, Cigna, payer #{y1}, payer #{y2}" in page
    with tenant_scope(tid):
        auth = db.session.scalar(select(PracticeAuthorization))
        assert auth.payer_ids == [y1, y2]


def test_an_expired_authorization_shows_the_warning(admin_browser):
    tid = admin_browser.firm.tenant.id
    pid = add_practice(tid)
    today = firm_today(tid)
    add_authorization(tid, pid, today - timedelta(days=400), today - timedelta(days=1))
    page = _text(admin_browser.get(f"/practices/{pid}"))
    assert 'data-testid="authorization-warning"' in page and "Authorization expired" in page


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"payer_ids": "3, abc", "scope": "listed"}, "payer_ids", "whole numbers"),
        ({"scope": "listed"}, "payer_names", "List the payers"),
        ({"signed_on": "2999-01-01"}, "signed_on", "cannot be in the future"),
        ({"expires_on": "2020-01-01"}, "expires_on", "on or after the signed date"),
    ],
)
def test_bad_authorization_input_is_a_field_error_and_nothing_is_saved(
    admin_browser, overrides, field, message
):
    pid = add_practice(admin_browser.firm.tenant.id)
    data = {
        "signed_on": "2025-01-10",
        "expires_on": "",
        "scope": "all",
        "payer_names": "",
        "payer_ids": "",
        "notes": "",
    }
    data.update(overrides)
    r = admin_browser.post(f"/practices/{pid}/authorizations/new", data)
    assert r.status_code == 422
    assert message in _text(r) and f'id="{field}-error"' in _text(r)
    assert count(admin_browser.firm.tenant.id, PracticeAuthorization) == 0


def test_revoking_an_authorization(admin_browser):
    tid = admin_browser.firm.tenant.id
    pid = add_practice(tid)
    aid = add_authorization(tid, pid, firm_today(tid) - timedelta(days=3))
    assert admin_browser.post(f"/practices/{pid}/authorizations/{aid}/revoke").status_code == 302
    assert 'data-testid="authorization-warning"' in _text(admin_browser.get(f"/practices/{pid}"))


# --------------------------------------------------------------------------- contacts, associations


def test_contacts_are_added_with_field_errors_and_removed(admin_browser):
    tid = admin_browser.firm.tenant.id
    pid = add_practice(tid)
    bad = admin_browser.post(
        f"/practices/{pid}/contacts", {"contact_name": "", "contact_email": "nope"}
    )
    assert bad.status_code == 422 and 'id="contact_name-error"' in _text(bad)
    assert count(tid, PracticeContact) == 0
    ok = admin_browser.post(
        f"/practices/{pid}/contacts",
        {
            "contact_name": "Dana Whitfield",
            "contact_title": "Billing manager",
            "contact_email": "Dana@Example.com",
            "contact_phone": "(212) 555-0101",
            "contact_is_primary": "y",
        },
    )
    assert ok.status_code == 302
    with tenant_scope(tid):
        c = db.session.scalar(select(PracticeContact))
        assert (c.email, c.is_primary) == ("dana@example.com", True)
        cid = c.id
    assert "Dana Whitfield" in _text(admin_browser.get(f"/practices/{pid}"))
    admin_browser.post(f"/practices/{pid}/contacts/{cid}/delete")
    assert count(tid, PracticeContact) == 0


def test_the_practice_page_lists_the_associations_of_its_specialty(admin_browser):
    tid = admin_browser.firm.tenant.id
    pid = add_practice(tid, specialty="Anesthesiology")
    with tenant_scope(tid):
        db.session.add_all(
            [
                Association(
                    name="American Society of Anesthesiologists", specialty="Anesthesiology"
                ),
                Association(
                    name="American Academy of Orthopaedic Surgeons", specialty="Orthopedic surgery"
                ),
            ]
        )
        db.session.commit()
    page = _text(admin_browser.get(f"/practices/{pid}"))
    assert "American Society of Anesthesiologists" in page
    assert "Orthopaedic" not in page


def test_changes_show_in_the_practice_activity(admin_browser):
    tid = admin_browser.firm.tenant.id
    pid = add_practice(tid)
    admin_browser.post(
        f"/practices/{pid}/agreements/new", _agreement(effective_date="2025-03-01", percent="20")
    )
    page = _text(admin_browser.get(f"/practices/{pid}"))
    assert "Fee agreement version added: 20.00% incremental, effective 2025-03-01" in page


def test_the_practice_page_summarises_its_cases_with_links_to_the_caseload(admin_browser):
    from advocate.cases import workflow
    from advocate.cases.models import Case
    from tests.factories import make_case, make_payer

    firm = admin_browser.firm
    tid = firm.tenant.id
    pid = add_practice(tid)
    other = add_practice(tid, name="Other Practice")
    payer = make_payer(firm.tenant)
    ids = [
        make_case(
            firm.tenant,
            pid,
            payer,
            payer_claim_number=f"CLM-{n}",
            patient_control_number=f"PCN-{n}",
        )
        for n in range(3)
    ]
    make_case(firm.tenant, other, payer, payer_claim_number="CLM-X", patient_control_number="PCN-X")
    with tenant_scope(tid):
        closed = db.session.get(Case, ids[0])
        closed.status = workflow.CLOSED_LOST
        ready = db.session.get(Case, ids[1])
        ready.status = workflow.READY
        db.session.commit()
        stake = {
            c.id: c.amount_at_stake
            for c in db.session.scalars(select(Case).where(Case.practice_id == pid))
        }
        references = [db.session.get(Case, i).reference for i in ids]
    page = _text(admin_browser.get(f"/practices/{pid}"))
    assert 'data-testid="practice-open-cases"' in page
    open_cell = page.split('data-testid="practice-open-cases"', 1)[1].split("</dd>", 1)[0]
    assert ">2</a>" in open_cell and "of 3" in open_cell
    at_stake = stake[ids[1]] + stake[ids[2]]
    assert (
        f"{at_stake:,.2f}"
        in page.split('data-testid="practice-at-stake"', 1)[1].split("</dd>", 1)[0]
    )
    by_status = page.split('data-testid="practice-cases-by-status"', 1)[1].split("</table>", 1)[0]
    assert f"/cases/?practice_id={pid}&amp;status={workflow.READY}" in by_status
    assert f"/cases/?practice_id={pid}&amp;status=intake" in by_status
    assert "closed_lost" not in by_status
    recent = page.split('data-testid="practice-recent-cases"', 1)[1].split("</table>", 1)[0]
    assert all(ref in recent for ref in references)
    assert "CLM-X" not in recent


def test_a_practice_without_cases_offers_to_open_one(admin_browser):
    pid = add_practice(admin_browser.firm.tenant.id)
    page = _text(admin_browser.get(f"/practices/{pid}"))
    assert "No cases yet" in page and f"/cases/new?practice_id={pid}" in page
