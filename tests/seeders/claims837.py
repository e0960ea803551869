"""Isolation seed for the 837 import: an imported file with one unmatched claim, per firm."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from advocate.extensions import db
from advocate.imports.claims837_models import X12Claim, X12ClaimFile, X12ClaimInterchange
from tenants import tenant_scope
from tests.isolation import Seeded, seeder


@seeder
def _claims837(s: Seeded) -> None:
    with tenant_scope(s.firm.tenant.id):
        marker = s.marker
        record = X12ClaimFile(
            sha256=marker.lower().rjust(64, "2")[:64],
            filename=f"{marker}.837",
            kinds="P",
            claim_count=1,
            unmatched_count=1,
            billed_total=Decimal("100.00"),
            created_by_id=s.firm.owner.user.id,
        )
        db.session.add(record)
        db.session.flush()
        db.session.add(
            X12ClaimInterchange(
                file_id=record.id,
                sender_id=marker[:15],
                receiver_id="RCV",
                control_number="000000001",
            )
        )
        item = X12Claim(
            file_id=record.id,
            claim_key=marker.lower().rjust(64, "3")[:64],
            kind="P",
            segment_no=20,
            patient_control_number=f"{marker}-PCN"[:38],
            frequency_code="1",
            payer_identifier="ZZ999",
            payer_name=f"{marker} Payer",
            billing_npi="1122334455",
            billing_name=f"{marker} Practice",
            patient_first_name=f"{marker} First",
            patient_last_name=f"{marker} Last",
            service_from=date(2024, 5, 2),
            service_to=date(2024, 5, 2),
            charge=Decimal("100.00"),
            outcome="unmatched",
            status="open",
            reason=f"unknown payer: {marker}",
            data={"lines": [], "plan_type": "other"},
        )
        db.session.add(item)
        db.session.flush()
        s.add("file_id", record.id)
        s.add("claim_id", item.id)
        db.session.commit()
