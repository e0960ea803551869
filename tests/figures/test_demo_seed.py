"""Issue 17, item 9: the demo shows a working firm, relative to the day it is
seeded (here 2026-12-07, with only the CY2025 fee schedule: the labelled
fallback of item 1 shows, with figures).

Before: the seeded payments sat above the payers' own policy amounts ($31.58
at stake over 12 open cases), with no deadline due, no follow-up, no NSA
negotiation under way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import time_machine
from sqlalchemy import select

from advocate.cases.models import Appeal, Case, Payment
from advocate.deadlines import case_services as dsvc
from advocate.deadlines.case_models import NsaDispute
from advocate.extensions import db
from advocate.practices.services import tenant_today
from advocate.rates import benchmark
from tenants import tenant_scope
from tests.factories import make_firm


def test_the_demo_firm_has_work_due_today(db_app):
    from advocate.billing.models import FeeLedgerEntry
    from advocate.demo import seed_cases, seed_medicare_rates, seed_payers, seed_practices

    with time_machine.travel(datetime(2026, 12, 7, 14, 0, tzinfo=UTC)):
        firm = make_firm("Demo")
        tid = firm.tenant.id
        seed_medicare_rates()
        seed_practices(firm.tenant, "demo-password-2026")
        seed_payers(firm.tenant)
        out = seed_cases(firm.tenant)
        today = tenant_today(firm.tenant)
        with tenant_scope(tid):
            cases = db.session.scalars(select(Case)).all()
            open_cases = [c for c in cases if c.is_open]
            at_stake = [c.amount_at_stake for c in open_cases]
            assert sum(at_stake) > Decimal("1000.00"), out
            assert sum(1 for a in at_stake if a > 0) >= len(open_cases) // 2
            bms = [benchmark.for_case(c) for c in open_cases]
            assert any(b.fee_fallback and b.medicare_total is not None for b in bms)
            assert all(
                "CY2025 rates; CY2026 not loaded" in b.fee_label for b in bms if b.fee_fallback
            )
            summary = dsvc.due_summary(today=today, until=dsvc.due_horizon(tid, today))
            assert sum(r["overdue"] for r in summary) >= 1
            assert sum(r["due_soon"] for r in summary) >= 2
            assert (
                sum(1 for c in open_cases if c.next_follow_up_on and c.next_follow_up_on <= today)
                >= 2
            )
            dispute = db.session.scalar(select(NsaDispute))
            assert dispute is not None and dispute.notice_sent_on <= today
            timeline = dsvc.nsa_timeline_of(db.session.get(Case, dispute.case_id), dispute)
            assert timeline.negotiation_ends >= today  # inside the open negotiation period
            appeal = db.session.scalar(select(Appeal).where(Appeal.deadline_on.is_not(None)))
            assert today <= appeal.deadline_on <= today + timedelta(days=7)
            by_id = {c.id: c for c in cases}
            for p in db.session.scalars(select(Payment)):
                assert p.paid_on >= by_id[p.case_id].service_from
                assert p.paid_on <= today
            won = [c.id for c in cases if c.status == "closed_won"]
            assert db.session.scalars(
                select(FeeLedgerEntry).where(FeeLedgerEntry.case_id.in_(won))
            ).all()
