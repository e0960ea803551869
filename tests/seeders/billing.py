"""Isolation seed for billing: a case with a payment under a fee agreement (so
the ledger accrues), a manual adjustment, an invoice with its line and billed
entries, the firm's Stripe account and customer, and a processed Stripe event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from advocate.billing import ledger
from advocate.billing.models import (
    FeeLedgerEntry,
    Invoice,
    InvoiceEntry,
    InvoiceLine,
    ProcessedStripeEvent,
    StripeAccount,
    StripeCustomer,
)
from advocate.cases import services as case_services
from advocate.extensions import db
from advocate.practices.models import FeeAgreement
from tenants import tenant_scope
from tests.factories import case_payload
from tests.isolation import Seeded, seeder
from tests.seeders.cases import make_practice_and_payer


@seeder
def _billing(s: Seeded) -> None:
    t = s.firm.tenant
    practice_id, payer_id = make_practice_and_payer(t.id, f"{s.marker} Billing")
    today = datetime.now(UTC).date() - timedelta(days=1)
    with tenant_scope(t.id):
        db.session.add(
            FeeAgreement(
                practice_id=practice_id,
                effective_date=today - timedelta(days=400),
                percent=Decimal("25.00"),
                basis="incremental",
                idr_fee_bearer="firm",
                billing_cadence="per_settlement",
                notes=f"{s.marker} billing agreement",
            )
        )
        data = case_payload(
            practice_id,
            payer_id,
            patient_first_name=f"{s.marker}bfirst",
            patient_last_name=f"{s.marker}blast",
            payer_claim_number=f"{s.marker}BCLM",
            patient_control_number=f"{s.marker}BPCN",
            service_from=(today - timedelta(days=60)).isoformat(),
            service_to=(today - timedelta(days=60)).isoformat(),
        )
        case = case_services.create_case(tenant_id=t.id, actor_id=None, data=data)
        case_services.add_payment(
            case,
            amount=Decimal("400.00"),
            paid_on=today - timedelta(days=3),
            source="settlement",
            reference=f"{s.marker}SET",
            actor_id=None,
        )
        ledger.add_manual_entry(
            case,
            kind="adjustment",
            amount="-1.00",
            reason=f"{s.marker} courtesy",
            effective_on=today,
            actor_id=None,
        )
        entries = list(
            db.session.scalars(select(FeeLedgerEntry).where(FeeLedgerEntry.case_id == case.id))
        )
        invoice = Invoice(
            practice_id=practice_id,
            kind="settlement",
            business_key=f"{s.marker}:settlement",
            case_id=case.id,
            issued_on=today,
            status="open",
            total=sum((e.amount for e in entries), Decimal("0")),
            amount_remaining=sum((e.amount for e in entries), Decimal("0")),
            due_on=today - timedelta(days=1),
            stripe_invoice_id=f"in_{s.marker}",
            number=f"{s.marker}-INV",
            hosted_invoice_url=f"https://invoice.stripe.test/{s.marker}",
            invoice_pdf=f"https://invoice.stripe.test/{s.marker}/pdf",
        )
        db.session.add(invoice)
        db.session.flush()
        line = InvoiceLine(
            invoice_id=invoice.id,
            case_id=case.id,
            case_number=case.reference,
            recovery=Decimal("400.00"),
            basis="incremental",
            percent=Decimal("25.00"),
            amount=invoice.total,
            description=f"{s.marker} line",
        )
        db.session.add(line)
        db.session.flush()
        db.session.add_all(
            InvoiceEntry(invoice_id=invoice.id, line_id=line.id, entry_id=e.id) for e in entries
        )
        db.session.add_all(
            [
                StripeAccount(
                    mode="connect",
                    account_id=f"acct_{s.marker}"[:64],
                    charges_enabled=True,
                    details_submitted=True,
                ),
                StripeCustomer(practice_id=practice_id, customer_id=f"cus_{s.marker}"[:64]),
                ProcessedStripeEvent(
                    event_id=f"evt_{s.marker}",
                    event_type="invoice.paid",
                    object_id=f"in_{s.marker}",
                    outcome=f"{s.marker} processed",
                ),
            ]
        )
        db.session.commit()
        s.add("practice_id", practice_id)
        s.add("invoice_id", invoice.id)
        s.add("case_id", case.id)
