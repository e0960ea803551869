"""Isolation seed for case deadlines and the NSA track: the cases seeder's case
made NSA-eligible with a dispute under way, its computed deadlines, one
deadline added by hand and one digest record."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from advocate.cases.models import Case
from advocate.deadlines.case_models import CaseDeadline, DeadlineDigest, NsaDispute
from advocate.deadlines.case_services import recompute_deadlines
from advocate.extensions import db
from tenants import tenant_scope
from tests.isolation import Seeded, seeder


@seeder
def _nsa(s: Seeded) -> None:
    t = s.firm.tenant
    case_id = s.ids["case_id"][0]
    with tenant_scope(t.id):
        case = db.session.get(Case, case_id)
        case.is_nsa_eligible = True
        received = case.service_from + timedelta(days=7)
        case.initial_payment_received_on = received
        dispute = NsaDispute(
            case_id=case.id,
            qpa=Decimal("700.00"),
            notice_offer=Decimal("1400.00"),
            notice_sent_on=received + timedelta(days=3),
            notice_method="portal",
            idr_reference=f"{s.marker}DISP",
            response_note=f"{s.marker} response",
            idre_name=f"{s.marker} IDR entity",
            offer_basis=f"{s.marker} basis of the offer",
        )
        db.session.add(dispute)
        db.session.flush()
        manual = CaseDeadline(
            case_id=case.id,
            kind="manual",
            label=f"{s.marker} call the payer's medical director",
            due_on=received + timedelta(days=20),
            rule=f"{s.marker} set by hand",
            is_manual=True,
        )
        db.session.add(manual)
        db.session.flush()
        recompute_deadlines(case)
        digest = DeadlineDigest(user_id=s.firm.owner.user.id, sent_on=received, overdue_count=1)
        db.session.add(digest)
        db.session.flush()
        s.add("deadline_id", manual.id)
        db.session.commit()
