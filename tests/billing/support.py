"""Billing test helpers: a firm with a practice, a payer, fee agreements and
cases whose payments post through the cases service (so the ledger accrues
exactly as in the app)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from advocate.billing.models import FeeLedgerEntry
from advocate.cases import services as case_services
from advocate.cases.models import Case
from advocate.extensions import db
from advocate.practices.models import FeeAgreement
from tenants import tenant_scope
from tests.factories import Firm, case_payload, make_case, make_firm, make_payer, make_practice

D = Decimal


@dataclass
class Books:
    firm: Firm
    practice_id: int
    payer_id: int

    @property
    def tenant_id(self) -> int:
        return self.firm.owner.tenant_id

    def agreement(
        self,
        effective: date,
        percent: str,
        basis: str = "incremental",
        *,
        minimum: str | None = None,
        cap: str | None = None,
        cadence: str = "per_settlement",
        practice_id: int | None = None,
    ) -> None:
        with tenant_scope(self.tenant_id):
            db.session.add(
                FeeAgreement(
                    practice_id=practice_id or self.practice_id,
                    effective_date=effective,
                    percent=D(percent),
                    basis=basis,
                    minimum=None if minimum is None else D(minimum),
                    cap=None if cap is None else D(cap),
                    idr_fee_bearer="firm",
                    billing_cadence=cadence,
                )
            )
            db.session.commit()

    def case(
        self,
        initial: str | None = "100.00",
        initial_on: date = date(2026, 1, 5),
        practice_id: int | None = None,
        number: str = "CLM-1",
    ) -> int:
        """A case whose intake posts ``initial`` as its initial payment (None: unpaid)."""
        lines = case_payload(self.practice_id, self.payer_id)["lines"][:1]
        paid = initial or "0.00"
        lines = [
            dict(
                lines[0],
                billed="1000.00",
                allowed="800.00",
                paid=paid,
                patient_resp="0.00",
                adjustments=[],
            )
        ]
        return make_case(
            self.firm.tenant,
            practice_id or self.practice_id,
            self.payer_id,
            lines=lines,
            service_from="2025-12-01",
            service_to="2025-12-01",
            initial_payment_received_on=initial_on.isoformat() if initial else None,
            payer_claim_number=number,
            patient_control_number=f"PCN-{number}",
        )

    def pay(self, case_id: int, amount: str, on: date, source: str = "settlement") -> int:
        with tenant_scope(self.tenant_id):
            case = db.session.get(Case, case_id)
            pay = case_services.add_payment(
                case,
                amount=D(amount),
                paid_on=on,
                source=source,
                reference=None,
                actor_id=self.firm.owner.user.id,
            )
            pid = pay.id
            db.session.commit()
        return pid

    def entries(self, case_id: int | None = None) -> list[FeeLedgerEntry]:
        with tenant_scope(self.tenant_id):
            db.session.expire_all()
            q = select(FeeLedgerEntry).order_by(FeeLedgerEntry.id)
            if case_id is not None:
                q = q.where(FeeLedgerEntry.case_id == case_id)
            rows = list(db.session.scalars(q))
            for r in rows:
                db.session.expunge(r)
            return rows

    def amounts(self, case_id: int) -> list[Decimal]:
        return [e.amount for e in self.entries(case_id)]


def make_books(name: str = "Ledger Firm", npi: str = "1234567893") -> Books:
    firm = make_firm(name)
    practice_id = make_practice(firm.tenant, npi=npi)
    payer_id = make_payer(firm.tenant)
    return Books(firm, practice_id, payer_id)
