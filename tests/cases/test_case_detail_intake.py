"""Intake by form: a good claim opens a case with its lines, totals and
initial payment; each kind of bad input is refused with the message on its
field or line row, and nothing at all is saved."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.cases.models import Case, CaseEvent, Payment, ServiceLine
from advocate.db import utcnow
from advocate.extensions import db
from tenants import tenant_scope
from tests.cases.test_case_detail_support import count, intake_form, logged_in, make_shop, text_of


@pytest.fixture()
def shop(db_app):
    return make_shop()


def test_the_form_offers_six_line_rows_and_more_lines_adds_rows_keeping_what_was_typed(
    shop, browser
):
    b = logged_in(browser, shop.advocate)
    r = b.get("/cases/new")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.count('name="lines-5-code"') == 1 and 'name="lines-6-code"' not in html
    assert "<script>" not in html and "onclick" not in html and 'style="' not in html

    data = intake_form(shop)
    data.pop("save")
    data["more_lines"] = "1"
    r = b.post("/cases/new", data)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'name="lines-8-code"' in html and 'name="lines-9-code"' not in html
    assert 'value="27447"' in html and 'value="CO-45 9000.00"' in html
    assert 'id="lines-6-code"' in html and "autofocus" in html  # the first new row
    assert count(Case, shop.tenant_id) == 0


def test_a_good_claim_opens_a_case_with_lines_totals_and_initial_payment(shop, browser):
    b = logged_in(browser, shop.advocate)
    r = b.post("/cases/new", intake_form(shop))
    assert r.status_code == 303, text_of(r)[:2000]
    with tenant_scope(shop.tenant_id):
        case = db.session.scalar(select(Case))
        assert r.headers["Location"].endswith(f"/cases/{case.id}")
        assert case.practice_id == shop.practice_id and case.payer_id == shop.payer_id
        assert case.assignee_id == shop.advocate.user.id
        assert [(ln.line_no, ln.code, ln.modifiers) for ln in case.lines] == [
            (1, "27447", ["RT"]),
            (2, "99223", []),
        ]
        assert case.lines[0].adjustments == [{"group": "CO", "reason": "45", "amount": "9000.00"}]
        assert case.lines[0].remark_codes == ["N381"]
        assert case.billed_total == Decimal("12800.00")
        assert case.allowed_total == Decimal("3200.00")
        assert case.total_paid == case.initial_paid == Decimal("2560.00")
        assert case.amount_at_stake == Decimal("12800.00") - Decimal("2560.00") - Decimal("640.00")
        assert case.status == "intake"
        (payment,) = case.payments
        assert payment.is_initial and payment.paid_on == utcnow().date() - timedelta(days=7)
        summaries = db.session.scalars(
            select(CaseEvent.summary)
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.at, CaseEvent.id)
        ).all()
        assert summaries[0] == "Case opened (2 lines)", summaries  # first on the timeline
        assert summaries[1].startswith("Initial payment 2,560.00"), summaries
        created = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "case.created"))
        assert created.is_phi and created.object_id == str(case.id)
        case_id, ref = case.id, case.reference
    page = b.get(f"/cases/{case_id}")
    assert page.status_code == 200
    text = text_of(page)
    assert ref in text and "Doe, Jane" in text and "CO-45 $9,000.00" in text


def _no_case_saved(shop):
    for model in (Case, ServiceLine, Payment, CaseEvent):
        assert count(model, shop.tenant_id) == 0, model


@pytest.mark.parametrize(
    ("change", "field_id", "message"),
    [
        ({"practice_id": "999999"}, "practice_id", "Choose the practice this claim is for."),
        ({"payer_id": "424242"}, "payer_id", "Choose the payer that processed the claim."),
        ({"lines-1-paid": "900.00"}, "lines-1-paid", "Paid is more than billed"),
        ({"lines-1-units": "-2"}, "lines-1-units", "Units must be more than zero."),
        (
            {"service_from": (utcnow().date() + timedelta(days=3)).isoformat()},
            "service_from",
            "First date of service cannot be in the future.",
        ),
        ({"lines-0-adjustments": "CO45"}, "lines-0-adjustments", "is not GROUP-REASON AMOUNT"),
        ({"lines-1-code": "ABC"}, "lines-1-code", ""),
    ],
    ids=[
        "unknown-practice",
        "unknown-payer",
        "paid-over-billed",
        "negative-units",
        "future-dos",
        "bad-adjustment",
        "bad-code",
    ],
)
def test_bad_input_is_refused_on_its_field_and_nothing_is_saved(
    shop, browser, change, field_id, message
):
    b = logged_in(browser, shop.advocate)
    r = b.post("/cases/new", intake_form(shop, **change))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'data-testid="form-errors"' in html and "Nothing was saved" in html
    # The message sits on the field (or the line row's cell) at fault, and the summary links to it.
    assert f'id="{field_id}-error"' in html
    error_block = html.split(f'id="{field_id}-error"', 1)[1].split("</ul>", 1)[0]
    assert message in error_block
    assert f'href="#{field_id}"' in html
    # What was typed is still there.
    assert 'value="27447"' in html
    _no_case_saved(shop)


def test_every_problem_is_reported_at_once(shop, browser):
    b = logged_in(browser, shop.advocate)
    r = b.post(
        "/cases/new",
        intake_form(shop, payer_id="", **{"lines-1-paid": "900", "lines-0-units": "0"}),
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    for fid in ("payer_id", "lines-1-paid", "lines-0-units"):
        assert f'id="{fid}-error"' in html, fid
    assert "Line 2 paid: Paid is more than billed" in text_of(r)
    _no_case_saved(shop)


def test_a_claim_needs_a_line(shop, browser):
    b = logged_in(browser, shop.advocate)
    r = b.post("/cases/new", intake_form(shop, rows=[]))
    assert r.status_code == 422
    assert "Add at least one service line: its code and the amount billed." in text_of(r)
    _no_case_saved(shop)


def test_blank_rows_between_lines_keep_errors_on_the_right_row(shop, browser):
    rows = [
        {"code": "99213", "billed": "200"},
        {},
        {"code": "99214", "billed": "300", "paid": "400"},
    ]
    b = logged_in(browser, shop.advocate)
    r = b.post("/cases/new", intake_form(shop, rows=rows))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert (
        'id="lines-2-paid-error"' in html
    )  # the third row on screen, the second line to the service
    assert "Line 3 paid: Paid is more than billed" in text_of(r)
    _no_case_saved(shop)


def test_the_form_speaks_to_a_person_not_an_api_client(shop, browser):
    """Blank choices and required fields get sentences that name the field,
    never the service's raw words (value lists, "unknown practice")."""
    b = logged_in(browser, shop.advocate)
    r = b.post("/cases/new", intake_form(shop, practice_id="", plan_type="", patient_first_name=""))
    assert r.status_code == 422
    text = text_of(r)
    assert "Practice: Choose the practice this claim is for." in text
    assert "Plan type: Choose the patient's plan type" in text
    assert "Patient first name: Enter the patient first name." in text
    for raw in ("unknown practice", "must be one of", "erisa_self_funded,", ": is required"):
        assert raw not in text, raw
    _no_case_saved(shop)


def test_required_fields_are_marked(shop, browser):
    html = logged_in(browser, shop.advocate).get("/cases/new").get_data(as_text=True)
    for name in (
        "practice_id",
        "payer_id",
        "plan_type",
        "patient_first_name",
        "patient_last_name",
        "service_from",
    ):
        tag = re.search(rf'<(?:input|select)[^>]*\bid="{name}"[^>]*>', html).group(0)
        assert " required" in tag, name
    tag = re.search(r'<input[^>]*\bid="member_id"[^>]*>', html).group(0)
    assert " required" not in tag  # optional fields stay unmarked


def test_practice_users_and_viewers_cannot_open_cases(shop, browser, make_browser):
    viewer = make_user_in(shop, "viewer")
    r = logged_in(browser, viewer).get("/cases/new")
    assert r.status_code == 403
    r = browser.post("/cases/new", intake_form(shop))
    assert r.status_code == 403
    _no_case_saved(shop)


def make_user_in(shop, role, **kw):
    from tests.factories import make_user

    return make_user(shop.firm.tenant, role, **kw)
