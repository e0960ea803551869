"""Isolation seed for imports: a posted 835 (transaction, claim), an unmatched
claim on the review list, a claim import, the firm's settings and a saved
header mapping entry, per firm."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from advocate.extensions import db
from advocate.imports.models import (
    ClaimImport,
    HeaderAlias,
    IdentifierAlias,
    ImportSettings,
    Remittance,
    RemittanceAdjustment,
    RemittanceClaim,
    RemittanceTransaction,
    UnmatchedClaim,
)
from tenants import tenant_scope
from tests.isolation import Seeded, seeder


@seeder
def _imports(s: Seeded) -> None:
    with tenant_scope(s.firm.tenant.id):
        marker = s.marker
        rem = Remittance(
            sha256=marker.lower().ljust(64, "0")[:64],
            filename=f"{marker}.835",
            payer_name=f"{marker} Health Plan",
            transaction_count=1,
            claim_count=1,
            unmatched_count=1,
            total_paid=Decimal("12.34"),
            payment_total=Decimal("12.34"),
            created_by_id=s.firm.owner.user.id,
        )
        db.session.add(rem)
        db.session.flush()
        tx = RemittanceTransaction(
            remittance_id=rem.id,
            payer_identifier="87726",
            trace_number=f"{marker}-EFT",
            control_number="0001",
            payer_name=f"{marker} Health Plan",
            payee_name=f"{marker} Practice",
            payee_npi="1234567893",
            payment_amount=Decimal("12.34"),
            payment_method="ACH",
            payment_date=date(2024, 6, 14),
            claim_count=1,
        )
        db.session.add(tx)
        db.session.flush()
        rc = RemittanceClaim(
            remittance_id=rem.id,
            transaction_id=tx.id,
            seq=1,
            segment_no=17,
            patient_control_number=f"{marker}-PCN",
            payer_claim_number=f"{marker}-CLAIM",
            status_code="1",
            charge=Decimal("100.00"),
            paid=Decimal("12.34"),
            amount_posted=Decimal("12.34"),
            co45_amount=Decimal("10.00"),
            remark_codes=["N381"],
            outcome="unmatched",
            reason=f"no case: {marker}",
        )
        db.session.add(rc)
        db.session.flush()
        item = UnmatchedClaim(
            remittance_id=rem.id,
            remittance_claim_id=rc.id,
            reason=f"no case: {marker}",
            payer_name=f"{marker} Health Plan",
            payer_identifier="87726",
            payee_npi="1234567893",
            patient_first_name=f"{marker} First",
            patient_last_name=f"{marker} Last",
            member_id=f"{marker}-MEMBER",
            patient_control_number=f"{marker}-PCN",
            payer_claim_number=f"{marker}-CLAIM",
            status_code="1",
            charge=Decimal("100.00"),
            paid=Decimal("12.34"),
            co45_amount=Decimal("10.00"),
            paid_on=date(2024, 6, 14),
            trace_number=f"{marker}-EFT",
            service_from=date(2024, 5, 1),
            service_to=date(2024, 5, 1),
            data={"lines": [], "plan_type": "other"},
        )
        claims = ClaimImport(
            sha256=marker.lower().rjust(64, "1")[:64],
            filename=f"{marker}.csv",
            row_count=1,
            claim_count=1,
            created_count=1,
            created_by_id=s.firm.owner.user.id,
        )
        alias = HeaderAlias(
            kind="claims",
            header=f"{marker} Column",
            header_key=f"{marker.lower()}column",
            column="billed",
        )
        settings = ImportSettings(co45_threshold=Decimal("25.00"))
        plb = RemittanceAdjustment(
            remittance_id=rem.id,
            transaction_id=tx.id,
            segment_no=30,
            provider_identifier="1234567893",
            fiscal_period_date=date(2024, 12, 31),
            reason="WO",
            reference=f"{marker}-CLAIM",
            amount=Decimal("5.00"),
        )
        identifier = IdentifierAlias(kind="npi", value=f"{marker}"[:80])
        db.session.add_all([item, claims, alias, settings, plb, identifier])
        db.session.flush()
        s.add("remittance_id", rem.id)
        s.add("unmatched_id", item.id)
        s.add("alias_id", alias.id)
        db.session.commit()
