"""A small hand-built firm whose every report figure is worked out by hand
(see EXPECTED comments in the tests), and helpers that read a report page's
figures and tables back out of its HTML and its CSV/XLSX exports."""

from __future__ import annotations

import csv
import html
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from advocate.cases.models import Appeal, Communication, Payment, SingleCaseAgreement
from advocate.deadlines.case_models import CaseDeadline, NsaDispute
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import firm_today, login, make_firm, make_payer, make_practice, make_user
from tests.seeders.cases import build_case

RANGE = "from=2026-01-01&to=2026-06-30"


def at(d: str) -> datetime:
    """Mid-morning in New York on day `d`, as UTC (the same calendar day either way)."""
    return datetime.fromisoformat(d).replace(hour=15, tzinfo=UTC)


@dataclass
class Dataset:
    firm: object
    owner: object
    ana: object
    ben: object
    p1: int
    p2: int
    acme: int
    beacon: int
    today: date
    cases: dict[str, int] = field(default_factory=dict)


def build_dataset(firm=None) -> Dataset:
    """Eight cases over two practices, two payers and two advocates (and one
    unassigned case), with payments, appeals, an SCA, an IDR dispute,
    deadlines and follow-ups. The range under test is 2026-01-01..2026-06-30."""
    firm = firm or make_firm("Harbor Claims Advocacy")
    t = firm.tenant
    ana = make_user(t, "advocate", name="Ana Advocate")
    ben = make_user(t, "advocate", name="Ben Advocate")
    p1 = make_practice(t, name="Lakeside Orthopedics", npi="1234567893")
    p2 = make_practice(t, name="Harbor Emergency Physicians", npi="1245319599")
    acme = make_payer(t, name="Acme Health Plan")
    beacon = make_payer(t, name="Beacon Care")
    today = firm_today(t.id)
    ds = Dataset(firm, firm.owner, ana, ben, p1, p2, acme, beacon, today)

    def mk(name, practice, payer, **kw):
        # Seen the day of the service (median days to payment count from it).
        kw.setdefault("service_from", max(kw["opened_at"].date(), date(2026, 1, 1)))
        ds.cases[name] = build_case(t.id, practice, payer, **kw)
        return ds.cases[name]

    a, b = ana.user.id, ben.user.id
    mk(
        "c1",
        p1,
        acme,
        assignee_id=a,
        opened_at=at("2026-01-10"),
        status="closed_won",
        closed_at=at("2026-03-05"),
        amount_at_stake=Decimal("0"),
    )
    mk(
        "c2",
        p1,
        beacon,
        assignee_id=a,
        opened_at=at("2026-02-03"),
        status="closed_lost",
        closed_at=at("2026-04-20"),
        amount_at_stake=Decimal("0"),
    )
    mk(
        "c3",
        p2,
        beacon,
        assignee_id=b,
        opened_at=at("2026-02-15"),
        status="negotiating",
        amount_at_stake=Decimal("1500.00"),
    )
    mk(
        "c4",
        p2,
        beacon,
        opened_at=at("2026-03-01"),
        status="appeal",
        appeal_level=2,
        amount_at_stake=Decimal("2500.00"),
    )
    mk(
        "c5",
        p1,
        acme,
        assignee_id=b,
        opened_at=at("2026-01-05"),
        status="closed_partial",
        closed_at=at("2026-05-10"),
        amount_at_stake=Decimal("0"),
    )
    mk(
        "c6",
        p2,
        acme,
        assignee_id=a,
        opened_at=at("2025-12-20"),
        status="paid",
        amount_at_stake=Decimal("0"),
    )
    mk(
        "c7",
        p1,
        beacon,
        assignee_id=b,
        opened_at=at("2026-06-15"),
        status="withdrawn",
        closed_at=at("2026-06-20"),
        amount_at_stake=Decimal("0"),
    )
    mk(
        "c8",
        p1,
        acme,
        assignee_id=a,
        opened_at=at("2026-07-02"),
        status="intake",
        amount_at_stake=Decimal("400.00"),
    )
    c = ds.cases

    with tenant_scope(t.id):

        def pay(case, on, amount, initial=False):
            db.session.add(
                Payment(
                    case_id=c[case],
                    paid_on=date.fromisoformat(on),
                    amount=Decimal(amount),
                    source="check",
                    is_initial=initial,
                )
            )

        pay("c1", "2026-01-20", "100.00", initial=True)
        pay("c1", "2026-03-01", "500.00")
        pay("c1", "2026-04-10", "200.00")
        pay("c3", "2026-02-25", "300.00")
        pay("c3", "2026-05-02", "-50.00")
        pay("c5", "2026-04-05", "1000.00")
        pay("c6", "2026-02-10", "800.00")
        pay("c8", "2026-07-05", "999.00")  # after the range

        def appeal(case, level, on, outcome):
            db.session.add(
                Appeal(
                    case_id=c[case],
                    level=level,
                    outcome=outcome,
                    decision_on=date.fromisoformat(on) if on else None,
                )
            )

        appeal("c4", 1, "2026-04-01", "upheld")
        appeal("c4", 2, "2026-05-15", "overturned")
        appeal("c2", 1, "2026-03-20", "partially_overturned")
        appeal("c1", 1, "2026-02-15", "overturned")
        appeal("c8", 1, None, "pending")
        appeal("c5", 1, "2025-12-01", "upheld")  # before the range

        sca = SingleCaseAgreement(
            practice_id=p1,
            payer_id=acme,
            patient_first_name="Pat",
            patient_last_name="Five",
            rate_type="medicare_percent",
            rate_percent=Decimal("150.00"),
            status="signed",
        )
        db.session.add(sca)
        db.session.flush()
        from advocate.cases.models import Case

        db.session.get(Case, c["c5"]).sca_id = sca.id
        db.session.add(NsaDispute(case_id=c["c6"], idr_initiated_on=date(2026, 1, 25)))

        def deadline(case, days, kind="manual", done=False):
            db.session.add(
                CaseDeadline(
                    case_id=c[case],
                    kind=kind,
                    label="Deadline",
                    rule="test",
                    due_on=today + timedelta(days=days),
                    is_done=done,
                )
            )

        deadline("c3", -2)  # overdue
        deadline("c3", 3)  # due this week
        deadline("c4", 10)  # later
        deadline("c4", -1, kind="nsa_negotiation_end")  # a milestone: never at risk
        deadline("c8", -5, done=True)  # done
        deadline("c1", -3)  # a closed case's

        def follow_up(case, days, done=False):
            db.session.add(
                Communication(
                    case_id=c[case],
                    kind="call",
                    direction="outbound",
                    occurred_at=at("2026-06-01"),
                    summary="Called the payer",
                    follow_up_on=today + timedelta(days=days),
                    follow_up_done_at=at("2026-06-02") if done else None,
                )
            )

        follow_up("c8", -3)
        follow_up("c3", -1, done=True)
        follow_up("c6", 2)
        db.session.commit()
    return ds


@pytest.fixture()
def ds(db_app) -> Dataset:
    return build_dataset()


@pytest.fixture()
def owner_browser(ds, make_browser):
    b = make_browser("10.8.0.1")
    login(b, ds.owner)
    return b


# --------------------------------------------------------------------------- reading pages back

_TABLE = re.compile(r'<table class="table report-table" data-table="([^"]+)">(.*?)</table>', re.S)
_ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
_VALUE = re.compile(r'data-col="([^"]+)" data-value="([^"]*)"')
_FIGURE = re.compile(r'data-figure="([^"]+)" data-value="([^"]*)"')
_FIGURE_LABEL = re.compile(
    r'data-figure="[^"]+" data-value="([^"]*)">\s*<span class="report-figure-label">([^<]*)</span>'
)


def page_figures(body: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in _FIGURE.findall(body)}


def page_tables(body: str) -> dict[str, list[dict[str, str]]]:
    """{table key: [{column: raw value}, ...]} from the page's report tables."""
    out = {}
    for key, inner in _TABLE.findall(body):
        tbody = inner.split("<tbody>", 1)[1]
        rows = []
        for r in _ROW.findall(tbody):
            cells = {k: html.unescape(v) for k, v in _VALUE.findall(r)}
            if cells:
                rows.append(cells)
        out[key] = rows
    return out


def page_table_rows(body: str) -> list[list[list[str]]]:
    """Every report table of the page in order, figures first, as lists of raw values."""
    figures = [[html.unescape(label), html.unescape(v)] for v, label in _FIGURE_LABEL.findall(body)]
    tables = [
        [
            [html.unescape(v) for _c, v in _VALUE.findall(r)]
            for r in _ROW.findall(inner.split("<tbody>", 1)[1])
        ]
        for _key, inner in _TABLE.findall(body)
    ]
    return [figures, *[[r for r in t if r] for t in tables]]


def csv_sections(text: str) -> list[list[list[str]]]:
    """Each table of a report CSV, as rows (the header line left out)."""
    sections, current, header_next = [], None, False
    for row in csv.reader(io.StringIO(text)):
        if row[:1] == ["Table"]:
            current = []
            sections.append(current)
            header_next = True
        elif not row:
            current = None
        elif current is not None:
            if header_next:
                header_next = False
            else:
                current.append(row)
    return sections


def xlsx_sections(data: bytes) -> list[list[list[str]]]:
    """Each table sheet of a report XLSX (after "About"), values as the CSV writes them."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    out = []
    for ws in wb.worksheets[1:]:
        rows = list(ws.iter_rows(values_only=True))[1:]
        out.append([[_xlsx_text(v, ws, i, j) for j, v in enumerate(r)] for i, r in enumerate(rows)])
    return out


def _xlsx_text(v, ws, i, j) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    fmt = ws.cell(row=i + 2, column=j + 1).number_format
    if fmt == "#,##0.00":
        return f"{Decimal(str(v)):.2f}"
    if fmt == "0.0":
        return f"{Decimal(str(v)):.1f}"
    return str(int(v)) if float(v).is_integer() else str(v)


@contextmanager
def count_statements():
    seen: list[str] = []

    def before(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
