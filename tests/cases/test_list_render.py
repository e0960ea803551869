"""The caseload tables render their cells with Python twins of the ui macros
(a macro call per cell cost more than the cell): same output, value by value."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from advocate.cases.views_list import _cell_date, _cell_deadline, _cell_money

MONEY = [
    None,
    "",
    Decimal("0"),
    Decimal("-0.001"),
    Decimal("1234.5"),
    Decimal("-1234.567"),
    Decimal("1000000"),
    12.5,
    -3,
    "42.1",
]
DATES = [None, "", date(2026, 3, 2), datetime(2026, 3, 2, 14, 5, tzinfo=UTC), "not a date"]


@pytest.fixture()
def ui(app):
    with app.test_request_context():
        yield app.jinja_env.get_template("macros/ui.html").module


@pytest.mark.parametrize("value", MONEY)
def test_money_cell_is_the_money_macro(ui, value):
    assert str(ui.money(value)) == _cell_money(value)


@pytest.mark.parametrize("value", DATES)
def test_date_cell_is_the_date_macro(ui, value):
    assert str(ui.date(value)) == _cell_date(value)


@pytest.mark.parametrize(
    "due", [None, date(2026, 2, 1), date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 10)]
)
@pytest.mark.parametrize("is_open", [True, False])
def test_deadline_cell_is_the_old_macro(ui, due, is_open):
    today = date(2026, 3, 2)
    c = SimpleNamespace(next_deadline_on=due, is_open=is_open)
    if due is None:
        want = '<span class="muted">—</span>'
    elif is_open and due < today:
        want = f'<span class="nowrap">{ui.date(due)} {ui.badge("Overdue", "danger")}</span>'
    elif is_open and (due - today).days <= 7:
        want = f'<span class="nowrap">{ui.date(due)} {ui.badge("This week", "warning")}</span>'
    else:
        want = f'<span class="nowrap">{ui.date(due)}</span>'
    assert str(_cell_deadline(c, today)) == want


def test_case_url_is_url_for(app):
    from flask import url_for

    from advocate.cases.views_list import _case_url

    with app.test_request_context():
        for case_id in (1, 10, 123456):
            assert _case_url(SimpleNamespace(id=case_id)) == url_for(
                "cases.detail", case_id=case_id
            )
