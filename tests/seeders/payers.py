"""Isolation seed for payers: a payer, a contact, a policy version with an
appeal level, and an import stash, per firm."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from advocate.csvimport import ImportStash
from advocate.db import utcnow
from advocate.extensions import db
from advocate.payers.models import Payer, PayerAppealLevel, PayerContact, PayerPolicy
from advocate.payers.validation import name_key
from tenants import tenant_scope
from tests.isolation import Seeded, seeder


@seeder
def _payers(s: Seeded) -> None:
    with tenant_scope(s.firm.tenant.id):
        name = f"{s.marker} Health Plan"
        payer = Payer(
            name=name,
            name_key=name_key(name),
            edi_payer_id="87726",
            plan_types=["erisa_self_funded"],
            notes=f"{s.marker} notes",
        )
        contact = PayerContact(payer=payer, name=f"{s.marker} Rep", role="Provider relations")
        policy = PayerPolicy(
            payer=payer,
            plan_type="erisa_self_funded",
            effective_date=date(2024, 1, 1),
            pricing_method="medicare_percent",
            pricing_percent=Decimal("140.00"),
            timely_filing_days=90,
            limitations=f"{s.marker} limitations",
        )
        policy.appeal_levels.append(
            PayerAppealLevel(level=1, name=f"{s.marker} Level 1 appeal", window_days=180)
        )
        stash = ImportStash(
            token=f"{s.marker}-stash-token",
            kind="payers",
            filename=f"{s.marker}.csv",
            sha256="0" * 64,
            data=f"name\n{s.marker}\n".encode(),
            created_by_id=s.firm.owner.user.id,
            expires_at=utcnow() + timedelta(hours=1),
        )
        db.session.add_all([payer, contact, policy, stash])
        db.session.flush()
        s.add("payer_id", payer.id)
        s.add("payer_contact_id", contact.id)
        s.add("policy_id", policy.id)
        db.session.commit()
