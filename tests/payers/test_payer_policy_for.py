"""policy_for and the rules of policy versions, through the services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.extensions import db
from advocate.payers import services
from advocate.payers.models import Payer, PayerAppealLevel, PayerPolicy
from advocate.payers.validation import FieldErrors
from tenants import tenant_scope
from tests.factories import make_firm
from tests.payers.conftest import TODAY, add_payer, add_policy, audit_actions, count, policy_data


def _lookup(firm, payer_id, plan_type, on):
    with tenant_scope(firm.tenant.id):
        p = services.policy_for(payer_id, plan_type, on)
        return (
            None
            if p is None
            else (p.id, p.pricing_percent, [(a.level, a.window_days) for a in p.appeal_levels])
        )


def test_policy_for_returns_the_version_in_effect_around_a_change(firm):
    payer_id = add_payer(firm)
    v1 = add_policy(firm, payer_id, effective_date="2024-01-01", pricing_percent="140")
    v2 = add_policy(
        firm,
        payer_id,
        effective_date="2025-07-01",
        pricing_percent="125",
        appeal_levels=[
            {"name": "Level 1 appeal", "window_days": 180},
            {"name": "External review", "window_days": 120},
        ],
    )
    fi = add_policy(
        firm,
        payer_id,
        plan_type="fully_insured",
        effective_date="2025-01-01",
        pricing_method="qpa",
        pricing_percent=None,
    )

    assert _lookup(firm, payer_id, "erisa_self_funded", date(2023, 12, 31)) is None
    assert _lookup(firm, payer_id, "erisa_self_funded", date(2024, 1, 1)) == (
        v1,
        Decimal("140.00"),
        [(1, 180)],
    )
    assert _lookup(firm, payer_id, "erisa_self_funded", date(2025, 6, 30))[0] == v1
    assert _lookup(firm, payer_id, "erisa_self_funded", date(2025, 7, 1)) == (
        v2,
        Decimal("125.00"),
        [(1, 180), (2, 120)],
    )
    assert _lookup(firm, payer_id, "erisa_self_funded", date(2031, 1, 1))[0] == v2
    # Plan types are separate histories.
    assert _lookup(firm, payer_id, "fully_insured", date(2024, 6, 1)) is None
    assert _lookup(firm, payer_id, "fully_insured", date(2025, 1, 1))[0] == fi
    assert _lookup(firm, payer_id, "medicare_advantage", date(2025, 1, 1)) is None


def test_policy_for_accepts_a_payer_object(firm):
    payer_id = add_payer(firm)
    v1 = add_policy(firm, payer_id)
    with tenant_scope(firm.tenant.id):
        payer = db.session.get(Payer, payer_id)
        assert services.policy_for(payer, "erisa_self_funded", date(2024, 5, 1)).id == v1


def test_an_end_date_is_exclusive_and_an_older_version_does_not_come_back(firm):
    payer_id = add_payer(firm)
    v1 = add_policy(firm, payer_id, effective_date="2024-01-01")
    v2 = add_policy(
        firm, payer_id, effective_date="2025-01-01", end_date="2025-06-01", pricing_percent="120"
    )
    assert _lookup(firm, payer_id, "erisa_self_funded", date(2024, 12, 31))[0] == v1
    assert _lookup(firm, payer_id, "erisa_self_funded", date(2025, 5, 31))[0] == v2
    assert _lookup(firm, payer_id, "erisa_self_funded", date(2025, 6, 1)) is None
    assert _lookup(firm, payer_id, "erisa_self_funded", date(2026, 1, 1)) is None


def test_policy_for_refuses_an_unknown_plan_type(firm):
    payer_id = add_payer(firm)
    with tenant_scope(firm.tenant.id), pytest.raises(ValueError):
        services.policy_for(payer_id, "commercial", date(2025, 1, 1))


def test_policy_for_never_sees_another_firms_payer(firm):
    payer_id = add_payer(firm)
    add_policy(firm, payer_id)
    other = make_firm("Other")
    with tenant_scope(other.tenant.id):
        assert services.policy_for(payer_id, "erisa_self_funded", date(2025, 1, 1)) is None


def _refused(firm, payer_id, **overrides) -> dict[str, str]:
    with tenant_scope(firm.tenant.id):
        payer = db.session.get(Payer, payer_id)
        with pytest.raises(FieldErrors) as exc:
            services.create_policy(
                payer, actor_id=firm.owner.user.id, data=policy_data(**overrides), today=TODAY
            )
        db.session.rollback()
    return dict(exc.value.errors)


def test_a_second_version_on_the_same_effective_date_is_refused_and_nothing_saved(firm):
    payer_id = add_payer(firm)
    add_policy(firm, payer_id, effective_date="2024-01-01")
    events = len(audit_actions(firm))
    errors = _refused(firm, payer_id, effective_date="2024-01-01", pricing_percent="150")
    assert "already takes effect on 2024-01-01" in errors["effective_date"]
    assert count(firm, PayerPolicy) == 1
    assert count(firm, PayerAppealLevel) == 1
    assert len(audit_actions(firm)) == events
    # The same date for another plan type is a different history.
    add_policy(firm, payer_id, plan_type="fully_insured", effective_date="2024-01-01")
    assert count(firm, PayerPolicy) == 2


def test_an_end_date_reaching_into_the_next_version_is_refused(firm):
    payer_id = add_payer(firm)
    add_policy(firm, payer_id, effective_date="2025-01-01")
    errors = _refused(firm, payer_id, effective_date="2024-01-01", end_date="2025-03-01")
    assert "next ERISA self-funded version takes effect on 2025-01-01" in errors["end_date"]
    add_policy(
        firm, payer_id, effective_date="2024-01-01", end_date="2025-01-01"
    )  # touching is fine
    assert count(firm, PayerPolicy) == 2


def test_a_version_starting_inside_an_ended_version_is_refused(firm):
    payer_id = add_payer(firm)
    add_policy(firm, payer_id, effective_date="2024-01-01", end_date="2024-12-01")
    errors = _refused(firm, payer_id, effective_date="2024-06-01")
    assert "runs until 2024-12-01" in errors["effective_date"]
    assert count(firm, PayerPolicy) == 1


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        (
            {"pricing_method": "billed_percent", "pricing_percent": "101"},
            "pricing_percent",
            "between 0 and 100",
        ),
        (
            {
                "pricing_method": "commercial_percentile",
                "pricing_percent": "-5",
                "commercial_percentile": 80,
            },
            "pricing_percent",
            "between 0 and 100",
        ),
        (
            {"pricing_method": "medicare_percent", "pricing_percent": "1001"},
            "pricing_percent",
            "between 0 and 1000",
        ),
        (
            {"pricing_method": "medicare_percent", "pricing_percent": ""},
            "pricing_percent",
            "Enter the percent",
        ),
        (
            {"pricing_method": "medicare_percent", "pricing_percent": "abc"},
            "pricing_percent",
            "must be a number",
        ),
        (
            {"pricing_method": "qpa", "pricing_percent": "80"},
            "pricing_percent",
            "Leave the percent empty",
        ),
        (
            {"pricing_method": "commercial_percentile", "pricing_percent": "80"},
            "commercial_percentile",
            "Enter the percentile",
        ),
        (
            {
                "pricing_method": "commercial_percentile",
                "pricing_percent": "80",
                "commercial_percentile": 100,
            },
            "commercial_percentile",
            "between 1 and 99",
        ),
        ({"pricing_method": "flat_rate"}, "pricing_method", "not a pricing method"),
        ({"plan_type": "commercial-ish"}, "plan_type", "not a plan type"),
        ({"effective_date": "2024-02-30"}, "effective_date", "YYYY-MM-DD"),
        ({"effective_date": ""}, "effective_date", "Enter the date"),
        ({"end_date": "2023-12-31"}, "end_date", "after the effective date"),
        ({"timely_filing_days": 0}, "timely_filing_days", "between 1 and 3650"),
        ({"timely_filing_days": "ninety"}, "timely_filing_days", "whole number"),
        ({"source_url": "javascript:alert(1)"}, "source_url", "https://"),
        ({"source_url": "not a url"}, "source_url", "contains spaces"),
        ({"source_rep_date": "2026-01-16"}, "source_rep_date", "cannot be in the future"),
        (
            {"appeal_levels": [{"name": "Level 1 appeal", "window_days": ""}]},
            "appeal_levels[0].window_days",
            "Enter the number of days",
        ),
        (
            {"appeal_levels": [{"name": "", "window_days": 180}]},
            "appeal_levels[0].name",
            "Name the level",
        ),
        (
            {
                "appeal_levels": [
                    {"name": "Level 1 appeal", "window_days": 180, "submit_to_fax": "555-01"}
                ]
            },
            "appeal_levels[0].submit_to_fax",
            "a US number has 10",
        ),
        (
            {
                "appeal_levels": [
                    {"name": "L1", "window_days": 180, "submit_to_portal_url": "ftp://x.example"}
                ]
            },
            "appeal_levels[0].submit_to_portal_url",
            "https://",
        ),
    ],
)
def test_bad_policy_input_is_a_field_error_and_nothing_is_saved(firm, overrides, field, fragment):
    payer_id = add_payer(firm)
    errors = _refused(firm, payer_id, **overrides)
    assert fragment in errors[field], errors
    assert count(firm, PayerPolicy) == 0
    assert count(firm, PayerAppealLevel) == 0


def test_every_problem_is_reported_at_once(firm):
    payer_id = add_payer(firm)
    add_policy(firm, payer_id, effective_date="2024-01-01")
    errors = _refused(firm, payer_id, effective_date="2024-01-01", pricing_percent="abc")
    assert set(errors) == {
        "effective_date",
        "pricing_percent",
    }  # the overlap too, not only the typo
    errors = _refused(
        firm,
        payer_id,
        pricing_method="billed_percent",
        pricing_percent="150",
        source_url="bad url",
        timely_filing_days="",
        end_date="2020-01-01",
    )
    assert set(errors) == {"pricing_percent", "source_url", "timely_filing_days", "end_date"}


def test_a_corrected_version_keeps_its_changes_in_the_audit_log(firm):
    payer_id = add_payer(firm)
    policy_id = add_policy(firm, payer_id)
    with tenant_scope(firm.tenant.id):
        policy = db.session.get(PayerPolicy, policy_id)
        services.update_policy(
            policy,
            actor_id=firm.owner.user.id,
            today=TODAY,
            data=policy_data(
                pricing_percent="130",
                limitations="No modifier 22 increases.",
                appeal_levels=[
                    {"name": "Level 1 appeal", "window_days": 120},
                    {"name": "Level 2 appeal", "window_days": 60},
                ],
            ),
        )
        db.session.commit()
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "payer_policy.updated")
        )
        changes = event.details["changes"]
        assert changes["pricing_percent"] == {"from": "140.00", "to": "130.00"}
        assert changes["limitations"] == {"changed": True}
        assert changes["appeal_levels"]["to"] == [
            "1: Level 1 appeal, 120 days",
            "2: Level 2 appeal, 60 days",
        ]
        assert event.user_id == firm.owner.user.id
        policy = db.session.get(PayerPolicy, policy_id)
        assert [(a.level, a.name, a.window_days) for a in policy.appeal_levels] == [
            (1, "Level 1 appeal", 120),
            (2, "Level 2 appeal", 60),
        ]
    # Fewer levels later: the extra row goes.
    with tenant_scope(firm.tenant.id):
        policy = db.session.get(PayerPolicy, policy_id)
        services.update_policy(
            policy,
            actor_id=firm.owner.user.id,
            today=TODAY,
            data=policy_data(appeal_levels=[{"name": "Reconsideration", "window_days": 60}]),
        )
        db.session.commit()
    assert count(firm, PayerAppealLevel) == 1


def test_an_update_may_not_move_onto_another_versions_date(firm):
    payer_id = add_payer(firm)
    add_policy(firm, payer_id, effective_date="2024-01-01")
    v2 = add_policy(firm, payer_id, effective_date="2025-01-01", pricing_percent="120")
    with tenant_scope(firm.tenant.id):
        policy = db.session.get(PayerPolicy, v2)
        with pytest.raises(FieldErrors) as exc:
            services.update_policy(
                policy, actor_id=None, today=TODAY, data=policy_data(effective_date="2024-01-01")
            )
        db.session.rollback()
        assert "effective_date" in dict(exc.value.errors)
        assert db.session.get(PayerPolicy, v2).effective_date == date(2025, 1, 1)
        # Saving a version onto its own date is not a conflict with itself.
        services.update_policy(
            db.session.get(PayerPolicy, v2),
            actor_id=None,
            today=TODAY,
            data=policy_data(effective_date="2025-01-01", pricing_percent="121"),
        )
        db.session.commit()
        assert db.session.get(PayerPolicy, v2).pricing_percent == Decimal("121.00")


def test_prefill_starts_from_the_plan_types_defaults_then_from_the_latest_version(firm):
    payer_id = add_payer(firm, appeals_fax="800-555-0144")
    with tenant_scope(firm.tenant.id):
        payer = db.session.get(Payer, payer_id)
        ma = services.prefill_policy(payer, "medicare_advantage")
        assert ma["timely_filing_days"] == 365
        assert [(lv["name"], lv["window_days"]) for lv in ma["appeal_levels"]] == [
            ("Reconsideration", 180)
        ]
        erisa = services.prefill_policy(payer, "erisa_self_funded")
        assert erisa["timely_filing_days"] == 90
        assert [(lv["name"], lv["window_days"]) for lv in erisa["appeal_levels"]] == [
            ("Level 1 appeal", 180),
            ("External review", 120),
        ]
        assert erisa["appeal_levels"][0]["submit_to_fax"] == "(800) 555-0144"
    add_policy(firm, payer_id, timely_filing_days=120, pricing_percent="150")
    with tenant_scope(firm.tenant.id):
        payer = db.session.get(Payer, payer_id)
        copy = services.prefill_policy(payer, "erisa_self_funded")
        assert copy["timely_filing_days"] == 120
        assert copy["pricing_percent"] == Decimal("150.00")
        assert copy["effective_date"] is None
