"""Figures from other features' stores, on the hand-built dataset: fees
earned (the billing fee ledger) and collected (paid invoices), and what each
payer paid as a percent of Medicare and of the 80th percentile (the stored
per-line benchmarks). Skipped while those stores do not exist."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from advocate.cases.models import Payment, ServiceLine
from advocate.extensions import db
from advocate.reports import sources
from tenants import tenant_scope
from tests.reports.conftest import (
    RANGE,
    at,
    csv_sections,
    page_figures,
    page_table_rows,
    page_tables,
)


def _add_fees(ds) -> None:
    FeeLedgerEntry, Invoice = sources.fee_models()
    c = ds.cases
    with tenant_scope(ds.firm.tenant.id):
        pays = db.session.execute(select(Payment.id, Payment.case_id, Payment.paid_on)).all()
        by = {(cid, on.isoformat()): pid for pid, cid, on in pays}
        practice_of = {
            c["c1"]: ds.p1,
            c["c5"]: ds.p1,
            c["c8"]: ds.p1,
            c["c3"]: ds.p2,
            c["c6"]: ds.p2,
        }

        def entry(case, on, amount, kind="accrual", reason=None):
            cid = c[case]
            db.session.add(
                FeeLedgerEntry(
                    practice_id=practice_of[cid],
                    case_id=cid,
                    kind=kind,
                    amount=Decimal(amount),
                    payment_id=by.get((cid, on)) if kind in ("accrual", "reversal") else None,
                    effective_on=date.fromisoformat(on),
                    explanation="test",
                    reason=reason,
                )
            )

        entry("c1", "2026-03-01", "100.00")
        entry("c1", "2026-04-10", "40.00")
        entry("c3", "2026-02-25", "75.00")
        entry("c3", "2026-05-02", "-12.50", kind="reversal")
        entry("c5", "2026-04-05", "250.00")
        entry("c6", "2026-02-10", "160.00")
        entry("c5", "2026-06-15", "-25.00", kind="adjustment", reason="courtesy")
        entry("c8", "2026-07-05", "199.80")  # after the range

        def invoice(practice, key, status, paid, paid_at=None):
            db.session.add(
                Invoice(
                    practice_id=practice,
                    kind="monthly",
                    business_key=key,
                    issued_on=date(2026, 4, 1),
                    status=status,
                    total=Decimal(paid or "10.00"),
                    amount_paid=Decimal(paid or "0"),
                    paid_at=at(paid_at) if paid_at else None,
                )
            )

        invoice(ds.p1, "i1", "paid", "140.00", "2026-04-20")
        invoice(ds.p2, "i2", "paid", "235.00", "2026-06-30")
        invoice(ds.p1, "i3", "open", None)
        invoice(ds.p2, "i4", "paid", "99.00", "2026-07-01")  # after the range
        db.session.commit()


def _add_benchmarks(ds) -> None:
    LineBenchmark = sources.benchmark_model()
    c = ds.cases
    with tenant_scope(ds.firm.tenant.id):
        lines = {
            cid: (lid, no)
            for lid, cid, no in db.session.execute(
                select(ServiceLine.id, ServiceLine.case_id, ServiceLine.line_no)
            )
        }

        def bench(case, paid, medicare, p80):
            lid, no = lines[c[case]]
            db.session.get(ServiceLine, lid).paid = Decimal(paid)
            db.session.add(
                LineBenchmark(
                    case_id=c[case],
                    line_id=lid,
                    line_no=no,
                    medicare=Decimal(medicare) if medicare else None,
                    p80=Decimal(p80) if p80 else None,
                )
            )

        bench("c1", "200.00", "100.00", "400.00")
        bench("c5", "300.00", "200.00", "600.00")
        bench("c6", "100.00", None, "500.00")
        bench("c3", "150.00", "100.00", None)
        db.session.commit()


needs_fees = pytest.mark.skipif(not sources.fees_available(), reason="no fee ledger in this build")
needs_benchmarks = pytest.mark.skipif(
    not sources.benchmarks_available(), reason="no stored benchmarks"
)


@needs_fees
def test_fees_earned_and_collected(ds, owner_browser):
    _add_fees(ds)
    f = page_figures(owner_browser.get(f"/reports/?{RANGE}").get_data(as_text=True))
    # 100 + 40 + 75 - 12.50 + 250 + 160 - 25 (July's left out); invoices paid 140 + 235
    assert (f["fees_earned"], f["fees_collected"]) == ("587.50", "375.00")
    acme = page_figures(
        owner_browser.get(f"/reports/?{RANGE}&payer_id={ds.acme}").get_data(as_text=True)
    )
    # An invoice is per practice, not per payer: collected is not split, and the page says so.
    assert (acme["fees_earned"], acme["fees_collected"]) == ("525.00", "")
    p1 = page_figures(
        owner_browser.get(f"/reports/?{RANGE}&practice_id={ds.p1}").get_data(as_text=True)
    )
    assert (p1["fees_earned"], p1["fees_collected"]) == ("365.00", "140.00")

    body = owner_browser.get(f"/reports/practices?{RANGE}").get_data(as_text=True)
    rows = page_tables(body)["practices"]
    assert [(r["practice"], r["fees_earned"], r["fees_collected"]) for r in rows] == [
        ("Lakeside Orthopedics", "365.00", "140.00"),
        ("Harbor Emergency Physicians", "222.50", "235.00"),
    ]
    one = owner_browser.get(f"/reports/practices/{ds.p1}?{RANGE}").get_data(as_text=True)
    months = page_tables(one)["by_month"]
    assert [(r["month"], r["fees_earned"], r["fees_collected"]) for r in months] == [
        ("2026-01", "0.00", "0.00"),
        ("2026-02", "0.00", "0.00"),
        ("2026-03", "100.00", "0.00"),
        ("2026-04", "290.00", "140.00"),
        ("2026-05", "0.00", "0.00"),
        ("2026-06", "-25.00", "0.00"),
    ]
    export = owner_browser.get(f"/reports/practices/{ds.p1}/export?{RANGE}&format=csv")
    assert csv_sections(export.get_data(as_text=True)) == page_table_rows(one)


@needs_benchmarks
def test_payers_paid_as_a_percent_of_medicare_and_the_80th_percentile(ds, owner_browser):
    _add_benchmarks(ds)
    body = owner_browser.get(f"/reports/payers?{RANGE}").get_data(as_text=True)
    rows = page_tables(body)["payers"]
    # Acme: (200 + 300) / (100 + 200) of Medicare; (200 + 300 + 100) / (400 + 600 + 500) of the 80th
    assert [(r["payer"], r["pct_medicare"], r["pct_p80"]) for r in rows] == [
        ("Acme Health Plan", "166.7", "40.0"),
        ("Beacon Care", "150.0", ""),
    ]
    assert 'data-testid="report-gap"' not in body
    one = page_figures(
        owner_browser.get(f"/reports/payers/{ds.acme}?{RANGE}").get_data(as_text=True)
    )
    assert (one["pct_medicare"], one["pct_p80"]) == ("166.7", "40.0")
    page = owner_browser.get(f"/payers/{ds.acme}").get_data(as_text=True)
    assert 'data-figure="pct_medicare"' in page
    export = owner_browser.get(f"/reports/payers/export?{RANGE}&format=csv")
    assert csv_sections(export.get_data(as_text=True)) == page_table_rows(body)
