"""Import test helpers: a firm with a practice (the 835 fixtures' payee NPI) and
a payer (the fixtures' payer name and id), cases to match, API tokens, and
counts read inside the firm's scope."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from advocate.auth.models import ApiToken, new_token, token_hash
from advocate.extensions import db
from advocate.imports.era_fixtures import ClaimSpec, LineSpec, RemittanceSpec, build_835
from tenants import tenant_scope
from tenants.models import Tenant
from tests.factories import Firm, Person, make_case, make_firm, make_payer, make_practice, make_user

PAYEE_NPI = "1234567893"  # RemittanceSpec's default payee
PAYER_NAME = "SUMMIT MUTUAL HEALTH PLAN"
PAYER_ID = "87726"
PAY_DATE = date(2024, 6, 14)  # RemittanceSpec's default payment date
D = Decimal


@dataclass
class Setup:
    firm: Firm
    advocate: Person
    practice_id: int
    payer_id: int
    tenant_id: int = 0  # ids kept as plain values: they survive a session reset
    actor_id: int = 0
    slug: str = ""

    @property
    def tenant(self) -> Tenant:
        # The firm's loaded snapshot (RLS shows its row only in its own scope).
        return self.firm.tenant

    def case(self, claim_number: str | None, pcn: str | None, *, paid: bool = True, **kw) -> int:
        """A case at intake; its two lines pay 160.00 at intake unless paid=False."""
        from tests.factories import case_payload

        lines = case_payload(self.practice_id, self.payer_id)["lines"]
        if not paid:
            lines = [dict(ln, paid="0.00") for ln in lines]
        return make_case(
            self.tenant,
            self.practice_id,
            self.payer_id,
            payer_claim_number=claim_number,
            patient_control_number=pcn,
            service_from="2024-05-01",
            service_to="2024-05-01",
            lines=lines,
            **kw,
        )

    def token(self, person: Person | None = None) -> dict:
        person = person or self.advocate
        with tenant_scope(self.tenant_id):
            raw = new_token("adv_")
            db.session.add(
                ApiToken(
                    membership_id=person.membership_id,
                    name="imports test",
                    token_prefix=raw[:8],
                    token_hash=token_hash(raw),
                )
            )
            db.session.commit()
        return {"Authorization": f"Bearer {raw}"}

    def count(self, model, *where) -> int:
        with tenant_scope(self.tenant_id):
            q = select(func.count()).select_from(model).where(model.tenant_id == self.tenant_id)
            for w in where:
                q = q.where(w)
            return db.session.scalar(q)

    def rows(self, model, *where, order_by=None) -> list:
        with tenant_scope(self.tenant_id):
            q = select(model)
            for w in where:
                q = q.where(w)
            q = q.order_by(order_by if order_by is not None else model.id)
            db.session.expire_all()
            out = list(db.session.scalars(q))
            for obj in out:
                db.session.expunge(obj)
            return out


def build_setup(name: str = "Import Firm") -> Setup:
    firm = make_firm(name)
    advocate = make_user(firm.tenant, "advocate")
    practice_id = make_practice(firm.tenant, npi=PAYEE_NPI)
    payer_id = make_payer(firm.tenant, name=PAYER_NAME, edi_payer_id=PAYER_ID)
    return Setup(
        firm,
        advocate,
        practice_id,
        payer_id,
        tenant_id=firm.tenant.id,
        actor_id=advocate.user.id,
        slug=firm.tenant.slug,
    )


# -- files ------------------------------------------------------------------------


def one_line(pcn: str, number: str, charge: str, paid: str, *, status: str = "1") -> ClaimSpec:
    c, p = D(charge), D(paid)
    return ClaimSpec(
        pcn,
        c,
        p,
        status=status,
        payer_claim_number=number,
        lines=[
            LineSpec(
                "99214",
                c,
                p,
                adjustments=[("CO", "45", c - p)] if c != p else [],
                service_date=date(2024, 5, 1),
            )
        ],
    )


def sample_file() -> bytes:
    """Two transactions: a matched claim, a new case, an unmatched claim, a reversal."""
    first = RemittanceSpec(
        claims=[
            one_line("PCN-1", "CN-1", "500", "120.10"),  # matches setup's case
            one_line("PCN-NEW", "CN-NEW", "900", "300"),  # CO-45 600: new case
            one_line("PCN-LOW", "CN-LOW", "100", "95"),  # CO-45 5: unmatched
        ],
        trace_number="EFT-A",
        control_number="0001",
    )
    second = RemittanceSpec(
        claims=[one_line("PCN-1", "CN-1", "-500", "-120.10", status="22")],
        trace_number="EFT-B",
        control_number="0002",
    )
    return build_835([first, second]).encode()


# -- claims CSV ---------------------------------------------------------------------

HEADER = [
    "practice_npi",
    "payer",
    "patient_last_name",
    "patient_first_name",
    "patient_dob",
    "member_id",
    "payer_claim_number",
    "patient_control_number",
    "paid_on",
    "service_date",
    "place_of_service",
    "code",
    "modifiers",
    "units",
    "billed",
    "allowed",
    "paid",
    "patient_resp",
    "adjustments",
    "remark_codes",
]


def row(**kw) -> dict:
    base = {
        "practice_npi": PAYEE_NPI,
        "payer": PAYER_NAME,
        "patient_last_name": "Doe",
        "patient_first_name": "Jane",
        "patient_dob": "1980-04-02",
        "member_id": "W1",
        "payer_claim_number": "CLM-1",
        "patient_control_number": "PCN-1",
        "paid_on": "2024-06-14",
        "service_date": "2024-05-02",
        "place_of_service": "22",
        "code": "29881",
        "modifiers": "RT",
        "units": "1",
        "billed": "12,750.00",
        "allowed": "1463.50",
        "paid": "1170.80",
        "patient_resp": "292.70",
        "adjustments": "CO-45:11286.50; PR-2:292.70",
        "remark_codes": "",
    }
    base.update(kw)
    return base


def to_csv(
    rows: list[dict], header: list[str] = HEADER, rename: dict[str, str] | None = None
) -> bytes:
    out = io.StringIO()
    names = [(rename or {}).get(h, h) for h in header]
    w = csv.writer(out, lineterminator="\n")
    w.writerow(names)
    for r in rows:
        w.writerow([r.get(h, "") for h in header])
    return out.getvalue().encode()


GOOD = [
    row(),
    row(
        code="20610",
        modifiers="59 RT",
        billed="1500",
        allowed="",
        paid="0",
        patient_resp="0",
        adjustments="CO-97:1500",
        remark_codes="M15",
    ),
    row(
        payer_claim_number="CLM-2",
        patient_control_number="PCN-2",
        patient_last_name="Roe",
        code="99285",
        modifiers="25",
        billed="$3,200.00",
        allowed="1790",
        paid="1640",
        patient_resp="150",
        adjustments="CO-45:1410;PR-3:150",
        remark_codes="N864",
        service_date="04/28/2024",
        payer=PAYER_ID,
    ),
]
