"""Isolation seeder for practices, their agreements, authorizations and
contacts, portal people, and the association directory."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

from advocate.associations.models import Association
from advocate.db import utcnow
from advocate.extensions import db
from advocate.practices.models import (
    FeeAgreement,
    Practice,
    PracticeAuthorization,
    PracticeContact,
)
from tenants import tenant_scope
from tests.factories import firm_today, make_user
from tests.isolation import Seeded, seeder

# Valid NPIs (check digit included), one per seeded practice.
_NPIS = itertools.cycle(["1234567893", "9876543213", "1928374655", "1000000004", "1111111112"])


@seeder
def _practices(s: Seeded) -> None:
    t = s.firm.tenant
    today = firm_today(t.id)
    with tenant_scope(t.id):
        practice = Practice(
            name=f"{s.marker} Orthopedic Group",
            npi=next(_NPIS),
            tin="123456789",
            specialty="Orthopedic surgery",
            address_line1="1 Main Street",
            city="Albany",
            state="NY",
            zip="12207",
            default_pos="11",
            status="active",
        )
        db.session.add(practice)
        db.session.flush()
        agreement = FeeAgreement(
            practice_id=practice.id,
            effective_date=today + timedelta(days=30),
            percent=Decimal("25.00"),
            basis="incremental",
            idr_fee_bearer="firm",
            billing_cadence="per_settlement",
            notes=f"{s.marker} agreement",
        )
        auth = PracticeAuthorization(
            practice_id=practice.id,
            signed_on=today - timedelta(days=10),
            scope="all",
            notes=f"{s.marker} authorization",
        )
        contact = PracticeContact(
            practice_id=practice.id, name=f"{s.marker} contact", is_primary=True
        )
        assoc = Association(
            name=f"{s.marker} Society",
            specialty="Orthopedic surgery",
            url="https://example.org",
            notes=f"{s.marker} association",
        )
        db.session.add_all([agreement, auth, contact, assoc])
        db.session.flush()
        s.add("practice_id", practice.id)
        s.add("agreement_id", agreement.id)
        s.add("authorization_id", auth.id)
        s.add("contact_id", contact.id)
        s.add("association_id", assoc.id)
        from advocate.auth.models import new_token, token_hash
        from tenants.onboarding.models import Invitation

        inv = Invitation(
            email=f"portal-invitee@{t.slug}.example.com",
            name=f"{s.marker} portal invitee",
            role="practice_user",
            practice_id=practice.id,
            token_hash=token_hash(new_token()),
            expires_at=utcnow() + timedelta(days=7),
        )
        db.session.add(inv)
        db.session.flush()
        s.add("invitation_id", inv.id)
        db.session.commit()
        s.practice_id = practice.id
    for role in ("practice_admin", "practice_user"):
        p = make_user(
            t, role, name=f"{s.marker} {role} person", practice_id=s.practice_id, with_totp=False
        )
        s.firm.people[role] = p
        s.add("membership_id", p.membership_id)
