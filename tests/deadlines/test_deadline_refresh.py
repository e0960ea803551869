"""Facts that many cases share change on their own pages: a payer's policy
version, the firm's closure days. Saving either recomputes the open cases'
stored deadlines (a background job; inline here, without Redis)."""

from __future__ import annotations

from datetime import date

import pytest

from advocate.deadlines import case_services as svc
from advocate.extensions import db
from tenants import tenant_scope
from tests.deadlines.nsa_support import add_policy, deadlines, load_case, make_shop, new_case
from tests.factories import login


@pytest.fixture()
def shop(db_app):
    return make_shop()


@pytest.fixture()
def owner(shop, make_browser):
    b = make_browser()
    login(b, shop.firm.owner)
    return b


def _policy_form(timely_filing_days: str) -> dict:
    return {
        "plan_type": "erisa_self_funded",
        "effective_date": "2020-01-01",
        "end_date": "",
        "pricing_method": "medicare_percent",
        "pricing_percent": "140",
        "commercial_percentile": "",
        "benchmark_name": "",
        "timely_filing_days": timely_filing_days,
        "is_sca_available": "yes",
        "sca_how_to_request": "",
        "nsa_notes": "",
        "limitations": "",
        "source_document": "OON policy",
        "source_url": "",
        "source_rep_name": "",
        "source_rep_date": "",
        "source_reference": "",
        "appeal_levels-0-name": "Level 1 appeal",
        "appeal_levels-0-window_days": "180",
        "appeal_levels-0-submit_to_address": "",
        "appeal_levels-0-submit_to_fax": "",
        "appeal_levels-0-submit_to_portal_url": "",
    }


def test_a_corrected_policy_moves_the_open_cases_timely_filing_deadline(shop, owner):
    policy_id = add_policy(shop, timely_filing_days=90)
    case_id = new_case(shop, service_from="2026-03-02", payer_claim_number="")
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        case.initial_payment_received_on = None  # not yet filed with the payer
        svc.recompute_deadlines(case)
        db.session.commit()
    assert deadlines(shop, case_id)["timely_filing"].due_on == date(2026, 5, 31)

    r = owner.post(f"/payers/{shop.payer_id}/policies/{policy_id}/edit", _policy_form("30"))
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    tf = deadlines(shop, case_id)["timely_filing"]
    assert tf.due_on == date(2026, 4, 1)  # 2026-03-02 + 30 calendar days
    assert "30 calendar days after 2026-03-02" in tf.rule


def test_a_closure_day_moves_business_day_deadlines_and_removing_it_moves_them_back(shop, owner):
    case_id = new_case(shop, service_from="2026-02-20", initial_payment_received_on="2026-03-02")
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        case.status = "negotiating"
        result, _ = svc.record_eligibility(case, actor_id=None)
        assert result.status == "eligible", result
        db.session.commit()
    assert deadlines(shop, case_id)["nsa_notice"].due_on == date(2026, 4, 10)

    r = owner.post("/deadlines/closures", {"day": "2026-03-05", "reason": "Office move"})
    assert r.status_code == 302
    assert deadlines(shop, case_id)["nsa_notice"].due_on == date(
        2026, 4, 13
    )  # one day later, past a weekend

    from sqlalchemy import select

    from advocate.deadlines.models import ClosureDay

    with tenant_scope(shop.tenant_id):
        closure_id = db.session.scalar(select(ClosureDay.id))
    assert owner.post(f"/deadlines/closures/{closure_id}/delete", {}).status_code == 302
    assert deadlines(shop, case_id)["nsa_notice"].due_on == date(2026, 4, 10)


def test_the_refresh_job_touches_only_the_payers_open_cases(shop):
    from tests.factories import make_payer

    add_policy(shop, timely_filing_days=90)
    other_payer = make_payer(shop.firm.tenant, name="Other Plan")
    add_policy(shop, timely_filing_days=90, payer_id=other_payer)
    mine = new_case(shop, service_from="2026-03-02", payer_claim_number="")
    with tenant_scope(shop.tenant_id):
        from advocate.cases.models import Case

        other = load_case(mine)
        assert other.payer_id == shop.payer_id
        counted = svc.refresh_open_cases(shop.tenant_id, payer_id=other_payer)
        assert counted == 0
        assert svc.refresh_open_cases(shop.tenant_id, payer_id=shop.payer_id) == 1
        assert db.session.query(Case).count() == 1
