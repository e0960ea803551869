"""The demo seed's practices part is idempotent."""

from __future__ import annotations

from sqlalchemy import select

from advocate.associations.models import Association
from advocate.auth.models import User
from advocate.db import utcnow
from advocate.demo import seed_practices
from advocate.extensions import db
from advocate.practices.models import FeeAgreement, Practice, PracticeAuthorization
from advocate.practices.services import authorization_status
from tenants import set_db_user, tenant_scope
from tenants.models import Membership
from tenants.scoping import lookup_email
from tests.factories import make_firm
from tests.practices.practice_helpers import count


def test_seed_practices_twice_changes_nothing(db_app):
    firm = make_firm("Demo")
    tid = firm.tenant.id
    seed_practices(firm.tenant, "demo-password-2026")
    first = {
        m.__name__: count(tid, m)
        for m in (Practice, FeeAgreement, PracticeAuthorization, Association)
    }
    seed_practices(firm.tenant, "demo-password-2026")
    again = {
        m.__name__: count(tid, m)
        for m in (Practice, FeeAgreement, PracticeAuthorization, Association)
    }
    assert (
        first
        == again
        == {"Practice": 2, "FeeAgreement": 3, "PracticeAuthorization": 2, "Association": 2}
    )
    with lookup_email("practice@demo.advocate.test"):  # RLS on users
        user = db.session.scalar(select(User).where(User.email == "practice@demo.advocate.test"))
    set_db_user(user.id)
    with tenant_scope(tid):
        m = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
        assert m.role == "practice_admin"
        practice = db.session.get(Practice, m.practice_id)
        assert practice.npi == "1548729361"
        statuses = {
            p.npi: authorization_status(p.id, utcnow().date())
            for p in db.session.scalars(select(Practice))
        }
    set_db_user(None)
    assert statuses == {"1548729361": "valid", "1682304757": "expired"}


def test_the_demo_has_won_cases_whose_recoveries_earned_fees(db_app):
    from decimal import Decimal

    from advocate.billing.models import FeeLedgerEntry
    from advocate.cases.models import Case
    from advocate.demo import DEMO_WON, seed_cases, seed_payers

    firm = make_firm("Demo")
    tid = firm.tenant.id
    seed_practices(firm.tenant, "demo-password-2026")
    seed_payers(firm.tenant)
    seed_cases(firm.tenant)
    with tenant_scope(tid):
        won = db.session.scalars(select(Case).where(Case.status == "closed_won")).all()
        assert len(won) == len(DEMO_WON)
        recovered = sum((c.total_paid - c.initial_paid for c in won), Decimal("0"))
        expected = sum(Decimal(agreed) - Decimal(paid) for *_, paid, agreed, _days in DEMO_WON)
        assert recovered == expected
        fees = db.session.scalars(
            select(FeeLedgerEntry).where(FeeLedgerEntry.case_id.in_([c.id for c in won]))
        ).all()
        assert sum(e.amount for e in fees) > 0
    assert seed_cases(firm.tenant) == ["Demo cases: already seeded"]
