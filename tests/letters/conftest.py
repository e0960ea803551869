"""Letters test data: a firm on its letterhead, a practice with (or without)
a signed authorization, a payer, and cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest

from advocate.db import utcnow
from advocate.extensions import db
from tenants import tenant_scope
from tenants.models import Tenant
from tests.factories import Firm, make_case, make_firm, make_payer, make_practice, make_user


@dataclass
class LetterSetup:
    firm: Firm
    practice_id: int
    payer_id: int
    case_id: int
    advocate: object
    admin: object
    viewer: object
    extra: dict = field(default_factory=dict)

    @property
    def tenant(self):
        return self.firm.tenant

    def case(self, **overrides) -> int:
        return make_case(
            self.tenant, self.practice_id, self.payer_id, self.advocate.user.id, **overrides
        )


def authorize(tenant_id: int, practice_id: int, *, signed_on: date | None = None) -> None:
    from advocate.practices.models import PracticeAuthorization

    with tenant_scope(tenant_id):
        db.session.add(
            PracticeAuthorization(
                tenant_id=tenant_id,
                practice_id=practice_id,
                signed_on=signed_on or (utcnow().date() - timedelta(days=30)),
                scope="all",
            )
        )
        db.session.commit()


def add_nsa(tenant_id: int, case_id: int, *, qpa="1850.00", offer="4200.00") -> None:
    from advocate.deadlines.case_models import NsaDispute

    with tenant_scope(tenant_id):
        db.session.add(
            NsaDispute(
                tenant_id=tenant_id,
                case_id=case_id,
                qpa=Decimal(qpa),
                our_offer=Decimal(offer),
                idr_reference="DISP-123456",
            )
        )
        db.session.commit()


def make_setup(*, authorized: bool = True, **case_overrides) -> LetterSetup:
    firm = make_firm("Harbor Claims Advocacy")
    t = firm.tenant
    letterhead = {
        "address_line1": "12 Harbor Street",
        "city": "Boston",
        "state": "MA",
        "zip": "02110",
        "phone": "617-555-0100",
        "fax": "617-555-0101",
        "letterhead_tagline": "Out-of-network claim advocacy",
    }
    # firm.tenant is a detached snapshot (RLS shows a firm's row only in its
    # scope): change the row in scope, and the snapshot for later reads.
    with tenant_scope(t.id):
        row = db.session.get(Tenant, t.id)
        for name, value in letterhead.items():
            setattr(row, name, value)
            setattr(t, name, value)
        db.session.commit()
    practice_id = make_practice(t, name="Lakeside Orthopedics")
    payer_id = make_payer(
        t,
        name="Keystone Health Plan",
        claims_address="PO Box 1234\nHarrisburg, PA 17101",
        appeals_address="Appeals Unit\nPO Box 99\nHarrisburg, PA 17101",
        appeals_fax="717-555-0150",
    )
    if authorized:
        authorize(t.id, practice_id)
    advocate = make_user(t, "advocate", name="Arlo Advocate")
    admin = make_user(t, "admin", name="Ada Admin")
    viewer = make_user(t, "viewer", name="Vic Viewer")
    case_id = make_case(t, practice_id, payer_id, advocate.user.id, **case_overrides)
    return LetterSetup(
        firm=firm,
        practice_id=practice_id,
        payer_id=payer_id,
        case_id=case_id,
        advocate=advocate,
        admin=admin,
        viewer=viewer,
    )


@pytest.fixture(autouse=True)
def fresh_storage(request, tmp_path):
    """Each test writes its letters to its own folder (ids restart per test)."""
    if "db_app" not in request.fixturenames:
        yield None
        return
    from advocate.storage import LocalStorage, set_storage

    app = request.getfixturevalue("db_app")
    storage = LocalStorage(tmp_path / "storage", secret_key=app.config["SECRET_KEY"])
    previous = set_storage(app, storage)
    yield storage
    set_storage(app, previous)


@pytest.fixture()
def setup(db_app) -> LetterSetup:
    return make_setup()


def pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def bulk_cases(
    tenant_id: int, practice_id: int, payer_id: int, n: int, *, lines: int = 2
) -> list[int]:
    """`n` cases with `lines` service lines each, in one transaction (fast
    enough for batches of hundreds)."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from advocate.cases.models import Case, CaseCounter, ServiceLine

    with tenant_scope(tenant_id):
        counter = db.session.scalar(select(CaseCounter))
        if counter is None:
            counter = CaseCounter(tenant_id=tenant_id, last_number=0)
            db.session.add(counter)
            db.session.flush()
        first = counter.last_number + 1
        counter.last_number += n
        cases = []
        for i in range(n):
            billed = Decimal("250.00") * lines
            case = Case(
                tenant_id=tenant_id,
                number=first + i,
                practice_id=practice_id,
                payer_id=payer_id,
                plan_type="erisa_self_funded",
                patient_first_name=f"Pat{first + i}",
                patient_last_name=f"Tester{first + i}",
                member_id=f"M{first + i:06d}",
                payer_claim_number=f"CLM{first + i:06d}",
                patient_control_number=f"PCN{first + i:06d}",
                service_from=date(2026, 1, 5),
                service_to=date(2026, 1, 5),
                place_of_service="11",
                status="intake",
                billed_total=billed,
                total_paid=Decimal("64.00") * lines,
                amount_at_stake=billed,
                opened_at=datetime(2026, 2, 1, 15, 0, tzinfo=UTC),
            )
            case.lines = [
                ServiceLine(
                    tenant_id=tenant_id,
                    line_no=j + 1,
                    code=("99213", "20610", "99283")[j % 3],
                    billed=Decimal("250.00"),
                    paid=Decimal("64.00"),
                    service_date=date(2026, 1, 5),
                )
                for j in range(lines)
            ]
            cases.append(case)
        db.session.add_all(cases)
        db.session.flush()
        ids = [c.id for c in cases]
        db.session.commit()
    return ids
