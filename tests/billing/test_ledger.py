"""The fee ledger: what each posted payment earned, written once, through the
cases service and the 835 import (the fee arithmetic scenarios end to end)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from advocate.audit.models import AuditEvent
from advocate.billing import ledger
from advocate.billing.models import FeeLedgerEntry
from advocate.cases.models import Case
from advocate.extensions import db
from tenants import tenant_scope
from tests.billing.support import make_books
from tests.conftest import IS_PG

D = Decimal


def test_several_partial_payments_accrue_on_the_recovery_above_the_initial_payment(db_app):
    b = make_books()
    b.agreement(date(2025, 1, 1), "25")
    case_id = b.case("100.00")
    b.pay(case_id, "200.00", date(2026, 2, 1))
    b.pay(case_id, "300.00", date(2026, 3, 1))
    b.pay(case_id, "0.04", date(2026, 3, 2))
    entries = b.entries(case_id)
    assert [e.amount for e in entries] == [D("0.00"), D("50.00"), D("75.00"), D("0.01")]
    assert [e.kind for e in entries] == ["accrual"] * 4
    assert [e.cumulative_fee for e in entries] == [D("0.00"), D("50.00"), D("125.00"), D("125.01")]
    assert entries[-1].fee_base == D("500.04")
    assert all(e.payment_id is not None and e.case_id == case_id for e in entries)
    assert entries[1].percent == D("25.00") and entries[1].basis == "incremental"
    assert "recovered above initial payment 100.00" in entries[1].explanation


def test_a_recoupment_is_a_negative_reversal_entry(db_app):
    b = make_books()
    b.agreement(date(2025, 1, 1), "30")
    case_id = b.case("100.00")
    b.pay(case_id, "400.00", date(2026, 2, 1))
    b.pay(case_id, "-150.00", date(2026, 2, 20), source="recoupment")
    entries = b.entries(case_id)
    assert [e.amount for e in entries] == [D("0.00"), D("120.00"), D("-45.00")]
    assert entries[-1].kind == "reversal"
    assert entries[-1].recovery == D("-150.00")
    assert sum(e.amount for e in entries) == D("75.00")


def test_the_cap_is_reached_halfway_and_holds_for_the_case(db_app):
    b = make_books()
    b.agreement(date(2025, 1, 1), "25", cap="120.00")
    case_id = b.case("100.00")
    b.pay(case_id, "400.00", date(2026, 2, 1))  # 100.00
    b.pay(case_id, "400.00", date(2026, 2, 2))  # 200.00 -> capped at 120.00: +20.00
    b.pay(case_id, "100.00", date(2026, 2, 3))  # still capped
    assert b.amounts(case_id) == [D("0.00"), D("100.00"), D("20.00"), D("0.00")]


def test_the_minimum_applies_to_the_case_not_each_payment(db_app):
    b = make_books()
    b.agreement(date(2025, 1, 1), "20", minimum="150.00")
    case_id = b.case("100.00")
    b.pay(case_id, "200.00", date(2026, 2, 1))  # 20% = 40 -> minimum 150
    b.pay(case_id, "500.00", date(2026, 2, 2))  # 20% of 700 = 140 -> still 150
    b.pay(case_id, "300.00", date(2026, 2, 3))  # 20% of 1000 = 200
    assert b.amounts(case_id) == [D("0.00"), D("150.00"), D("0.00"), D("50.00")]


def test_the_minimum_never_exceeds_what_was_recovered(db_app):
    b = make_books()
    b.agreement(date(2025, 1, 1), "20", minimum="150.00")
    case_id = b.case("100.00")
    b.pay(case_id, "90.00", date(2026, 2, 1))
    assert b.amounts(case_id) == [D("0.00"), D("90.00")]


def test_an_agreement_changing_between_two_payments(db_app):
    b = make_books()
    b.agreement(date(2025, 1, 1), "20")
    b.agreement(date(2026, 3, 1), "30")
    case_id = b.case("100.00")
    b.pay(case_id, "200.00", date(2026, 2, 15))  # 20%
    b.pay(case_id, "100.00", date(2026, 3, 15))  # 30%
    entries = b.entries(case_id)
    assert [e.amount for e in entries] == [D("0.00"), D("40.00"), D("30.00")]
    assert [e.percent for e in entries[1:]] == [D("20.00"), D("30.00")]
    assert entries[1].agreement_id != entries[2].agreement_id


def test_rounding_is_half_up_on_the_cumulative_fee(db_app):
    b = make_books()
    b.agreement(date(2025, 1, 1), "12.50")
    case_id = b.case("100.00")
    b.pay(case_id, "0.20", date(2026, 2, 1))  # 0.025 -> 0.03 (half-up, not half-even)
    b.pay(case_id, "0.20", date(2026, 2, 2))  # 0.05
    b.pay(case_id, "0.20", date(2026, 2, 3))  # 0.075 -> 0.08
    b.pay(case_id, "100.05", date(2026, 2, 4))  # 100.65 * 12.5% = 12.58125 -> 12.58
    amounts = b.amounts(case_id)
    # Differences of the rounded cumulative fee: never 3 x 0.03 for 0.60 recovered.
    assert amounts == [D("0.00"), D("0.03"), D("0.02"), D("0.03"), D("12.50")]
    assert sum(amounts) == D("12.58")


def test_gross_basis_charges_the_whole_payment_once_something_is_recovered(db_app):
    b = make_books()
    b.agreement(date(2025, 1, 1), "10", basis="gross")
    case_id = b.case("100.00")
    b.pay(case_id, "50.00", date(2026, 2, 1))
    assert b.amounts(case_id) == [D("0.00"), D("15.00")]


def test_accrual_is_idempotent_and_a_second_entry_for_a_payment_is_refused(db_app):
    b = make_books()
    b.agreement(date(2025, 1, 1), "25")
    case_id = b.case("100.00")
    pay_id = b.pay(case_id, "200.00", date(2026, 2, 1))
    with tenant_scope(b.tenant_id):
        run = ledger.accrue_cases(b.tenant_id, [case_id, case_id])
        assert run.entries == 0
        db.session.commit()
        db.session.add(
            FeeLedgerEntry(
                practice_id=b.practice_id,
                case_id=case_id,
                payment_id=pay_id,
                kind="accrual",
                amount=D("50.00"),
                effective_on=date(2026, 2, 1),
                explanation="duplicate",
            )
        )
        with pytest.raises(Exception):  # noqa: B017 - IntegrityError on either backend
            db.session.flush()
        db.session.rollback()
    assert b.amounts(case_id) == [D("0.00"), D("50.00")]


def test_a_backdated_payment_is_ledgered_as_the_difference_it_makes(db_app):
    b = make_books()
    b.agreement(date(2025, 1, 1), "20", cap="100.00")
    b.agreement(date(2026, 3, 1), "40", cap="100.00")
    case_id = b.case("100.00")
    b.pay(case_id, "100.00", date(2026, 3, 10))  # 40.00
    b.pay(case_id, "100.00", date(2026, 2, 10))  # back-dated at 20%: +20.00
    entries = b.entries(case_id)
    assert [e.amount for e in entries] == [D("0.00"), D("40.00"), D("20.00")]
    assert entries[0].amount == 0 and entries[1].amount == D("40.00")  # history unchanged


def test_payments_without_an_agreement_wait_until_one_is_added(db_app):
    b = make_books()
    case_id = b.case("100.00")
    b.pay(case_id, "200.00", date(2026, 2, 1))
    # The initial payment needs no agreement (no fee); the recovery does.
    assert b.amounts(case_id) == [D("0.00")]
    b.agreement(date(2025, 1, 1), "25")
    with tenant_scope(b.tenant_id):
        run = ledger.accrue_pending(b.tenant_id, actor_id=b.firm.owner.user.id)
        db.session.commit()
    assert run.entries == 1
    assert b.amounts(case_id) == [D("0.00"), D("50.00")]


def test_manual_adjustments_and_write_offs_need_a_reason_and_are_audited(db_app):
    b = make_books()
    b.agreement(date(2025, 1, 1), "25")
    case_id = b.case("100.00")
    b.pay(case_id, "200.00", date(2026, 2, 1))
    with tenant_scope(b.tenant_id):
        case = db.session.get(Case, case_id)
        with pytest.raises(ledger.LedgerError) as err:
            ledger.add_manual_entry(
                case,
                kind="adjustment",
                amount="10.00",
                reason="  ",
                effective_on=date(2026, 2, 2),
                actor_id=None,
            )
        assert [f for f, _ in err.value.errors] == ["reason"]
        with pytest.raises(ledger.LedgerError) as err:
            ledger.add_manual_entry(
                case,
                kind="write_off",
                amount="60.00",
                reason="too much",
                effective_on=date(2026, 2, 2),
                actor_id=None,
            )
        assert [f for f, _ in err.value.errors] == ["amount"]
        ledger.add_manual_entry(
            case,
            kind="adjustment",
            amount="-5.00",
            reason="courtesy discount",
            effective_on=date(2026, 2, 2),
            actor_id=b.firm.owner.user.id,
        )
        ledger.add_manual_entry(
            case,
            kind="write_off",
            amount="45.00",
            reason="practice closed",
            effective_on=date(2026, 2, 3),
            actor_id=b.firm.owner.user.id,
        )
        db.session.commit()
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("fee_ledger.%"))
        ).all()
    assert sorted(actions) == ["fee_ledger.adjustment", "fee_ledger.write_off"]
    entries = b.entries(case_id)
    assert [(e.kind, e.amount) for e in entries[2:]] == [
        ("adjustment", D("-5.00")),
        ("write_off", D("-45.00")),
    ]
    assert sum(e.amount for e in entries) == D("0.00")


def test_an_835_remittance_accrues_its_payments(db_app):
    from advocate.imports import posting
    from advocate.imports.era_fixtures import ClaimSpec, LineSpec, RemittanceSpec, build_835

    b = make_books()
    b.agreement(date(2020, 1, 1), "25")
    case_id = b.case("100.00", initial_on=date(2024, 6, 1), number="CLM-835")
    line = LineSpec(
        "99214",
        D("1000"),
        D("300"),
        adjustments=[("CO", "45", D("700"))],
        service_date=date(2024, 5, 1),
        allowed=D("300"),
    )
    spec = ClaimSpec(
        "PCN-CLM-835", D("1000"), D("300"), status="1", payer_claim_number="CLM-835", lines=[line]
    )
    data = build_835(
        [RemittanceSpec(claims=[spec], trace_number="EFT9", control_number="0009")],
        interchange_control_number=9,
    ).encode()
    with tenant_scope(b.tenant_id):
        summary = posting.import_835(
            data, tenant_id=b.tenant_id, actor_id=None, today=date(2026, 1, 15)
        )
        db.session.commit()
    assert summary.matched == 1
    assert b.amounts(case_id) == [D("0.00"), D("75.00")]


@pytest.mark.skipif(not IS_PG, reason="the append-only trigger is PostgreSQL's")
def test_the_database_refuses_to_change_a_ledger_entry(db_app):
    b = make_books()
    b.agreement(date(2025, 1, 1), "25")
    case_id = b.case("100.00")
    b.pay(case_id, "200.00", date(2026, 2, 1))
    with tenant_scope(b.tenant_id):
        for stmt in ("UPDATE fee_ledger_entries SET amount = 0", "DELETE FROM fee_ledger_entries"):
            with pytest.raises(Exception, match="never changed|permission denied"):
                db.session.execute(text(stmt))
            db.session.rollback()
    # A firm deleted with everything it owns takes its ledger along (as the owner).
    from sqlalchemy import create_engine

    engine = create_engine(db_app.config["MIGRATION_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": b.tenant_id})
            left = conn.execute(text("SELECT count(*) FROM fee_ledger_entries")).scalar()
    finally:
        engine.dispose()
    assert left == 0
