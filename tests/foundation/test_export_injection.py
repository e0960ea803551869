"""CSV injection (OWASP): every CSV and XLSX export goes through
`advocate.spreadsheets`, which quotes a text cell a spreadsheet would run as a
formula and leaves numbers as numbers. One test per export, each with a
formula-leading practice, payer or patient name."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from advocate.extensions import db
from advocate.payers.models import Payer
from advocate.practices.models import Practice
from advocate.spreadsheets import CsvWriter, XlsxWriter, csv_text, neutralise
from tenants import tenant_scope
from tests.billing.support import make_books
from tests.factories import login, make_firm, make_payer, make_practice, make_user
from tests.reports.conftest import RANGE, build_dataset
from tests.seeders.cases import build_case

ATTACKS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_formula_leading_text_cell_is_quoted(attack):
    assert neutralise(attack) == "'" + attack
    text = csv_text([["name", attack]])
    assert next(csv.reader(io.StringIO(text))) == ["name", "'" + attack]


@pytest.mark.parametrize(
    "value",
    [
        "Lakeside Orthopedics",
        "-12.50",
        "1200",
        "",
        None,
        12,
        Decimal("-7.25"),
        1.5,
        date(2026, 1, 2),
    ],
)
def test_plain_text_and_numbers_are_left_alone(value):
    assert neutralise(value) is value or neutralise(value) == value


def test_the_xlsx_writer_stores_formula_text_as_text_and_numbers_as_numbers():
    book = XlsxWriter()
    ws = book.sheet("Data")
    book.append(ws, ["=1+1", Decimal("-12.50"), 3, "@x", "plain"])
    wb = load_workbook(io.BytesIO(book.to_bytes()))
    row = [c for c in wb["Data"][1]]
    assert [c.value for c in row] == ["'=1+1", -12.5, 3, "'@x", "plain"]
    assert [c.data_type for c in row] == ["s", "n", "n", "s", "s"]


def test_the_csv_writer_drains_what_it_wrote():
    w = CsvWriter()
    w.writerow(["=a"])
    assert w.drain() == "'=a\r\n"
    w.writerow(["b"])
    assert w.drain() == "b\r\n" and w.getvalue() == ""


def _rows(r) -> list[list[str]]:
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return list(csv.reader(io.StringIO(r.get_data(as_text=True))))


def test_the_caseload_export_quotes_formula_names(db_app, browser):
    firm = make_firm("Formula Cases")
    adv = make_user(firm.tenant, "advocate", name="-Eve+Export")
    p = make_practice(firm.tenant, name="=Practice()")
    y = make_payer(firm.tenant, name="@Payer")
    build_case(
        firm.tenant.id,
        p,
        y,
        patient_last_name="=cmd|' /C calc'!A0",
        patient_first_name="\tTab",
        assignee_id=adv.user.id,
        amount_at_stake="12.50",
    )
    login(browser, firm.owner)
    header, row = _rows(browser.get("/cases/export.csv"))
    cell = dict(zip(header, row, strict=True))
    assert cell["patient_last_name"] == "'=cmd|' /C calc'!A0"
    assert cell["patient_first_name"] == "'\tTab"
    assert cell["practice"] == "'=Practice()"
    assert cell["payer"] == "'@Payer"
    assert cell["assignee"] == "'-Eve+Export"
    assert cell["amount_at_stake"] == "12.50"


def test_the_fee_report_csv_quotes_a_formula_practice_name(db_app, browser):
    b = make_books()
    b.agreement(date(2025, 1, 1), "25")
    case_id = b.case("100.00")
    b.pay(case_id, "400.00", date(2026, 3, 3))
    with tenant_scope(b.tenant_id):
        db.session.get(Practice, b.practice_id).name = '=HYPERLINK("http://evil.example","fees")'
        db.session.commit()
    login(browser, b.firm.owner)
    header, *rows = _rows(browser.get("/billing/reports?format=csv"))
    assert header == [
        "month",
        "practice_id",
        "practice",
        "earned",
        "invoiced",
        "collected",
        "outstanding",
    ]
    mine = [dict(zip(header, r, strict=True)) for r in rows if r[1] == str(b.practice_id)]
    assert mine and all(r["practice"] == '\'=HYPERLINK("http://evil.example","fees")' for r in mine)
    assert any(r["earned"] == "100.00" for r in mine)  # amounts stay plain numbers


@pytest.fixture()
def formula_ds(db_app):
    ds = build_dataset()
    with tenant_scope(ds.firm.tenant.id):
        db.session.get(Practice, ds.p1).name = "=Lakeside()"
        db.session.get(Payer, ds.acme).name = "+Acme-Health"
        db.session.commit()
    return ds


@pytest.mark.parametrize(
    "url",
    [
        "/reports/export?payer_id={acme}",
        "/reports/payers/export?",
        "/reports/practices/export?",
        "/reports/advocates/export?payer_id={acme}",
        "/reports/payers/{acme}/export?",
        "/reports/practices/{p1}/export?",
    ],
)
def test_report_exports_quote_formula_names_in_csv_and_xlsx(formula_ds, make_browser, url):
    ds = formula_ds
    b = make_browser("10.8.0.9")
    login(b, ds.owner)
    url = url.format(acme=ds.acme, p1=ds.p1)
    text = b.get(f"{url}&{RANGE}&format=csv").get_data(as_text=True)
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    leading = [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert leading == [], url
    assert "'=Lakeside()" in cells or "'+Acme-Health" in cells, url

    r = b.get(f"{url}&{RANGE}&format=xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.get_data()))
    seen = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (url, ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    assert c.value[:1] not in ("=", "+", "@", "\t", "\r"), (url, c.value)
                    seen.append(c.value)
    assert "'=Lakeside()" in seen or "'+Acme-Health" in seen, url
