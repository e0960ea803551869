"""The demo payers: realistic policies, and seeding twice changes nothing."""

from __future__ import annotations

from datetime import date

from advocate.extensions import db
from advocate.payers import services
from advocate.payers.demo import seed_payers
from advocate.payers.models import Payer, PayerAppealLevel, PayerContact, PayerPolicy
from tenants import tenant_scope
from tests.payers.conftest import count


def test_demo_payers_seed_once_with_policies(firm):
    with tenant_scope(firm.tenant.id):
        assert len(seed_payers(firm.tenant.id)) == 2
        db.session.commit()
    counts = [count(firm, m) for m in (Payer, PayerContact, PayerPolicy, PayerAppealLevel)]
    assert counts[0] == 2 and all(counts)
    with tenant_scope(firm.tenant.id):
        assert seed_payers(firm.tenant.id) == []
        db.session.commit()
        northstar = db.session.scalar(db.select(Payer).where(Payer.name == "Northstar Health Plan"))
        before = services.policy_for(northstar, "erisa_self_funded", date(2025, 6, 30))
        after = services.policy_for(northstar, "erisa_self_funded", date(2025, 7, 1))
        assert (before.pricing_summary, after.pricing_summary) == (
            "140% of Medicare",
            "125% of Medicare",
        )
    assert [count(firm, m) for m in (Payer, PayerContact, PayerPolicy, PayerAppealLevel)] == counts
