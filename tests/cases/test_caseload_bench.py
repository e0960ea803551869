"""The benchmark generator (bench/generate_cases.py), on a tiny firm: it
loads through COPY as the owner with RLS in force, the same seed gives the
same data, totals agree with the lines, and the caseload pages work on it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from advocate.cases.models import Case, CaseEvent, Communication, Payment, ServiceLine
from advocate.cases.queries import page_of_cases, parse_case_filter
from advocate.extensions import db
from tenants import tenant_scope

pytestmark = pytest.mark.postgres


def _generate(app, slug):
    from bench.generate_cases import generate

    return generate(
        app.config["MIGRATION_DATABASE_URL"],
        n_cases=60,
        seed=3,
        slug=slug,
        replace=False,
        n_practices=5,
        n_payers=4,
        n_advocates=3,
        today=date(2026, 6, 1),
        quiet=True,
    )


def _snapshot(tenant_id):
    with tenant_scope(tenant_id):
        return db.session.execute(
            select(
                Case.number,
                Case.patient_last_name,
                Case.status,
                Case.billed_total,
                Case.total_paid,
                Case.amount_at_stake,
                Case.service_from,
                Case.opened_at,
                Case.next_deadline_on,
            ).order_by(Case.number)
        ).all()


def test_generator_is_deterministic_and_loads_under_rls(db_app):
    a = _generate(db_app, "gen-a")
    b = _generate(db_app, "gen-b")
    assert a["counts"] == b["counts"] and a["counts"]["cases"] == 60
    assert 120 <= a["counts"]["service_lines"] <= 240
    snap_a, snap_b = _snapshot(a["tenant_id"]), _snapshot(b["tenant_id"])
    assert snap_a == snap_b and len(snap_a) == 60
    assert len({row.status for row in snap_a}) >= 4
    with tenant_scope(a["tenant_id"]):
        # Only firm A's rows are visible in its scope (RLS and the ORM filter).
        assert db.session.scalar(select(func.count(Case.id))) == 60
        assert db.session.scalar(select(func.count(ServiceLine.id))) == a["counts"]["service_lines"]
        assert db.session.scalar(select(func.count(Payment.id))) == a["counts"]["payments"]
        assert (
            db.session.scalar(select(func.count(Communication.id))) == a["counts"]["communications"]
        )
        assert db.session.scalar(select(func.count(CaseEvent.id))) == a["counts"]["case_events"]
        # The denormalised totals agree with the lines and the ledger.
        billed = dict(
            db.session.execute(
                select(ServiceLine.case_id, func.sum(ServiceLine.billed)).group_by(
                    ServiceLine.case_id
                )
            ).all()
        )
        paid = dict(
            db.session.execute(
                select(Payment.case_id, func.sum(Payment.amount)).group_by(Payment.case_id)
            ).all()
        )
        for case in db.session.scalars(select(Case)):
            assert case.billed_total == billed[case.id]
            assert case.total_paid == paid[case.id]
            assert case.amount_at_stake >= Decimal("0")
        f, errors = parse_case_filter({"status": "open", "sort": "at_stake", "per_page": "10"})
        assert not errors
        page = page_of_cases(f)
        assert page.total > 0 and len(page.items) == min(10, page.total)
        amounts = [c.amount_at_stake for c in page.items]
        assert amounts == sorted(amounts, reverse=True)
