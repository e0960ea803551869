"""Issue 17, item 3: one NSA eligibility answer drives the badge, the banner,
the workflow actions and the deadlines.

Before: a case recorded "Not eligible" still showed "Send the open
negotiation notice by ... in N business days" and offered "Open NSA
negotiation"; a case never checked showed "NSA: Unknown" beside an
"Eligible" badge.
"""

from __future__ import annotations

from sqlalchemy import select

from advocate.cases.models import Case
from advocate.deadlines import case_services as svc
from advocate.deadlines.case_models import CaseDeadline
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import login
from tests.letters.conftest import make_setup


def _case(s, **kw) -> int:
    return s.case(service_type="emergency", initial_payment_received_on="2026-03-20", **kw)


def test_not_eligible_means_no_nsa_banner_action_or_deadline(db_app, browser):
    s = make_setup()
    cid = _case(s, plan_type="medicare_advantage")
    with tenant_scope(s.tenant.id):
        case = db.session.get(Case, cid)
        case.status = "negotiating"
        result, _ = svc.record_eligibility(case, actor_id=None)
        assert result.status == "not_eligible"
        db.session.commit()
        kinds = set(
            db.session.scalars(select(CaseDeadline.kind).where(CaseDeadline.case_id == cid))
        )
    assert not any(k.startswith("nsa") for k in kinds)
    login(browser, s.advocate)
    nsa = browser.get(f"/cases/{cid}/nsa").get_data(as_text=True)
    assert "NSA: Not eligible" in nsa
    assert "Send the open negotiation notice by" not in nsa
    assert 'data-testid="nsa-approaching"' not in nsa
    page = browser.get(f"/cases/{cid}").get_data(as_text=True)
    assert 'data-testid="transition-nsa_open_negotiation"' not in page
    assert 'data-testid="transition-settled"' in page  # other moves still offered


def test_an_unchecked_case_shows_one_answer_and_says_a_check_would_differ(db_app, browser):
    s = make_setup()
    cid = _case(s)  # ERISA self-funded, emergency: a check would say eligible
    login(browser, s.advocate)
    nsa = browser.get(f"/cases/{cid}/nsa").get_data(as_text=True)
    badges = {m for m in ("NSA: Unknown", ">Eligible<", "NSA: Eligible") if m in nsa}
    assert badges == {"NSA: Unknown"}
    assert 'data-testid="eligibility-stale"' in nsa
    assert 'data-testid="nsa-approaching"' not in nsa  # no NSA track until it is the answer
    with tenant_scope(s.tenant.id):
        case = db.session.get(Case, cid)
        svc.record_eligibility(case, actor_id=None)
        db.session.commit()
    nsa = browser.get(f"/cases/{cid}/nsa").get_data(as_text=True)
    assert "NSA: Eligible" in nsa and 'data-testid="eligibility-stale"' not in nsa
    assert "Send the open negotiation notice by" in nsa
