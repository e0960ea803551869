"""CSV export: the same cases, in the same order, as the filtered list;
money as plain decimals; formulas defused; audited as a PHI export."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import login, make_firm, make_payer, make_practice, make_user
from tests.seeders.cases import build_case


def _csv(r) -> list[dict]:
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))


def test_export_matches_the_filtered_list_and_is_audited(db_app, browser):
    firm = make_firm("Export Firm")
    adv = make_user(firm.tenant, "advocate", name="Eve Export")
    p = make_practice(firm.tenant, name="Export Practice")
    y1, y2 = make_payer(firm.tenant, name="Payer One"), make_payer(firm.tenant, name="Payer Two")
    t = firm.tenant.id
    for i in range(30):
        build_case(
            t,
            p,
            (y1, y2)[i % 2],
            status=("negotiating", "intake", "closed_lost")[i % 3],
            amount_at_stake=f"{1234 + i * 10}.5",
            billed_total="99999.99",
            assignee_id=adv.user.id if i % 4 else None,
        )
    login(browser, firm.owner)
    query = f"status=open&payer_id={y1}&amount_min=1300&sort=at_stake&dir=desc"
    listed = browser.get(f"/cases/?{query}&per_page=200").get_data(as_text=True)
    refs = re.findall(r'<a href="[^"]+">(C-\d{6})</a>', listed)
    r = browser.get(f"/cases/export.csv?{query}")
    assert "attachment; filename=cases-" in r.headers["Content-Disposition"]
    rows = _csv(r)
    assert refs and [row["case"] for row in rows] == refs
    assert {row["payer"] for row in rows} == {"Payer One"}
    assert all(row["status"] in ("Negotiating", "Intake") for row in rows)
    # Money as plain decimals, largest first.
    amounts = [row["amount_at_stake"] for row in rows]
    assert all(re.fullmatch(r"\d+\.\d\d", a) for a in amounts)
    assert amounts == sorted(amounts, key=float, reverse=True)
    assert rows[0]["billed_total"] == "99999.99"
    assert {row["assignee"] for row in rows} <= {"Eve Export", ""}
    assert re.fullmatch(r"Tester\d+", rows[0]["patient_last_name"])
    with tenant_scope(t):
        ev = db.session.scalars(
            select(AuditEvent).where(AuditEvent.tenant_id == t, AuditEvent.action == "case.export")
        ).one()
    assert ev.is_phi is True and ev.user_id == firm.owner.user.id
    assert ev.details == {"rows": len(rows), "filters": ["amount_min", "payer_id", "status"]}


def test_export_of_everything_streams_every_case(db_app, browser):
    firm = make_firm("Big Export Firm")
    p, y = make_practice(firm.tenant), make_payer(firm.tenant)
    for _ in range(60):
        build_case(firm.tenant.id, p, y)
    login(browser, firm.owner)
    rows = _csv(browser.get("/cases/export.csv?sort=number&dir=asc"))
    assert [row["case"] for row in rows] == [f"C-{n:06d}" for n in range(1, 61)]


def test_export_defuses_spreadsheet_formulas(db_app, browser):
    firm = make_firm("Formula Firm")
    p, y = make_practice(firm.tenant), make_payer(firm.tenant, name="=HYPERLINK(1)")
    build_case(
        firm.tenant.id,
        p,
        y,
        patient_last_name="=cmd|' /C calc'!A0",
        patient_first_name="+1",
        payer_claim_number="@SUM(A1)",
    )
    login(browser, firm.owner)
    (row,) = _csv(browser.get("/cases/export.csv"))
    assert row["patient_last_name"] == "'=cmd|' /C calc'!A0"
    assert row["patient_first_name"] == "'+1"
    assert row["payer"] == "'=HYPERLINK(1)"
    assert row["payer_claim_number"] == "'@SUM(A1)"


def test_export_refuses_bad_filters_and_other_firms_see_only_their_own(db_app, make_browser):
    a = make_firm("Alpha Export")
    b = make_firm("Bravo Export")
    for firm in (a, b):
        build_case(
            firm.tenant.id,
            make_practice(firm.tenant),
            make_payer(firm.tenant, name=f"{firm.tenant.name} payer"),
        )
    br = make_browser("10.3.3.3")
    login(br, b.owner)
    r = br.get("/cases/export.csv?amount_min=lots")
    assert r.status_code == 400 and "amount_min: 'lots' is not an amount" in r.get_data(
        as_text=True
    )
    rows = _csv(br.get("/cases/export.csv"))
    assert [row["payer"] for row in rows] == ["Bravo Export payer"]
    with tenant_scope(b.tenant.id):
        assert db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "case.export", AuditEvent.tenant_id == b.tenant.id
            )
        ).all()
