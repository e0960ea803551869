"""Isolation seed for cases: a practice and payer of the firm's own (this
seeder runs before the practices and payers ones), one case with its line,
payments, a communication, an offer, an appeal, a single case agreement, a
timeline event and a saved filter. The case detail pages and the API crawl on
these ids too.

`build_case` is the quick builder the caseload tests use to make many cases
with chosen statuses, dates and amounts (straight rows, no intake service)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from advocate.cases import services
from advocate.cases.models import Case, CaseCounter, SavedFilter, ServiceLine, SingleCaseAgreement
from advocate.extensions import db
from tenants import tenant_scope
from tests.isolation import Seeded, seeder

# Valid NPIs the practices seeder does not use (it cycles its own list).
_NPIS = itertools.cycle(["5550001114", "5550002229", "2468135795"])


def make_practice_and_payer(tenant_id: int, marker: str) -> tuple[int, int]:
    from advocate.payers.models import Payer
    from advocate.practices.models import Practice

    with tenant_scope(tenant_id):
        practice = Practice(
            name=f"{marker} Case Clinic",
            npi=next(_NPIS),
            tin="987654321",
            specialty="Emergency medicine",
            address_line1="2 Hospital Way",
            city="Albany",
            state="NY",
            zip="12208",
            default_pos="23",
            status="active",
        )
        name = f"{marker} Case Health Plan"
        payer = Payer(
            name=name, name_key=" ".join(name.casefold().split()), plan_types=["erisa_self_funded"]
        )
        db.session.add_all([practice, payer])
        db.session.flush()
        ids = practice.id, payer.id
        db.session.commit()
    return ids


@seeder
def _cases(s: Seeded) -> None:
    t = s.firm.tenant
    practice_id, payer_id = make_practice_and_payer(t.id, s.marker)
    actor_id = s.firm.owner.user.id
    advocate_id = s.firm.people["advocate"].user.id
    today = datetime.now(UTC).date() - timedelta(
        days=1
    )  # yesterday: never "in the future" anywhere
    with tenant_scope(t.id):
        case = services.create_case(
            tenant_id=t.id,
            actor_id=actor_id,
            data={
                "practice_id": practice_id,
                "payer_id": payer_id,
                "plan_type": "erisa_self_funded",
                "patient_first_name": f"{s.marker}first",
                "patient_last_name": f"{s.marker}last",
                "patient_dob": "1975-06-01",
                "member_id": f"{s.marker}M1",
                "payer_claim_number": f"{s.marker}CLM",
                "patient_control_number": f"{s.marker}PCN",
                "service_from": (today - timedelta(days=40)).isoformat(),
                "place_of_service": "23",
                "service_type": "emergency",
                "assignee_id": advocate_id,
                "lines": [
                    {
                        "code": "99285",
                        "billed": "2400.00",
                        "allowed": "600.00",
                        "paid": "480.00",
                        "patient_resp": "120.00",
                        "remark_codes": ["N864"],
                        "adjustments": [{"group": "CO", "reason": "45", "amount": "1800.00"}],
                    }
                ],
            },
        )
        payment = services.add_payment(
            case,
            amount=Decimal("150.00"),
            paid_on=today - timedelta(days=5),
            source="check",
            reference=f"{s.marker}CHK",
            actor_id=actor_id,
        )
        comm = services.add_communication(
            case,
            actor_id=actor_id,
            data={
                "kind": "call",
                "direction": "outbound",
                "contact_name": f"{s.marker} rep",
                "summary": f"{s.marker} called the payer",
                "follow_up_on": (today + timedelta(days=3)).isoformat(),
            },
        )
        offer = services.add_offer(
            case,
            actor_id=actor_id,
            data={
                "party": "payer",
                "amount": "900.00",
                "basis": f"{s.marker} basis",
                "offered_on": today.isoformat(),
            },
        )
        appeal = services.file_appeal(
            case,
            actor_id=actor_id,
            data={
                "level": 1,
                "adverse_decision_on": (today - timedelta(days=10)).isoformat(),
                "method": "fax",
                "tracking_number": f"{s.marker}TRK",
                "note": f"{s.marker} appeal",
            },
        )
        sca = SingleCaseAgreement(
            practice_id=practice_id,
            payer_id=payer_id,
            authorization_number=f"{s.marker}AUTH",
            patient_first_name=f"{s.marker}first",
            patient_last_name=f"{s.marker}last",
            codes=["99285"],
            starts_on=today - timedelta(days=30),
            ends_on=today + timedelta(days=335),
            rate_type="medicare_percent",
            rate_percent=Decimal("150.00"),
            status="signed",
            signed_on=today - timedelta(days=29),
            note=f"{s.marker} sca",
        )
        db.session.add(sca)
        db.session.flush()
        case.sca_id = sca.id
        case.next_deadline_on = today + timedelta(days=2)
        ev = services.event(case, "note", f"{s.marker} note on the timeline", actor_id=actor_id)
        saved = SavedFilter(user_id=actor_id, name=f"{s.marker} open cases", query="status=open")
        db.session.add(saved)
        db.session.flush()
        s.add("case_id", case.id)
        s.add("line_id", case.lines[0].id)
        s.add("payment_id", payment.id)
        s.add("communication_id", comm.id)
        s.add("offer_id", offer.id)
        s.add("appeal_id", appeal.id)
        s.add("sca_id", sca.id)
        s.add("event_id", ev.id)
        s.add("filter_id", saved.id)
        db.session.commit()
    s.case_practice_id, s.case_payer_id = practice_id, payer_id


# --------------------------------------------------------------------------- builders for tests

_n = itertools.count(1)


def build_case(tenant_id: int, practice_id: int, payer_id: int, **kw) -> int:
    """One case row with one line, fast, for tests that need many cases in
    chosen states. Call inside no scope; returns the id."""
    with tenant_scope(tenant_id):
        counter = db.session.scalar(select(CaseCounter))
        if counter is None:
            counter = CaseCounter(last_number=0)
            db.session.add(counter)
        counter.last_number += 1
        n = next(_n)
        billed = Decimal(kw.pop("billed_total", "1000.00"))
        at_stake = Decimal(kw.pop("amount_at_stake", billed))
        service_from = kw.pop("service_from", date(2026, 1, 5))
        values = {
            "number": counter.last_number,
            "practice_id": practice_id,
            "payer_id": payer_id,
            "plan_type": "erisa_self_funded",
            "patient_first_name": f"Pat{n}",
            "patient_last_name": f"Tester{n}",
            "payer_claim_number": f"CLM{n:06d}",
            "patient_control_number": f"PCN{n:06d}",
            "service_from": service_from,
            "service_to": kw.pop("service_to", service_from),
            "place_of_service": "11",
            "status": "intake",
            "billed_total": billed,
            "amount_at_stake": at_stake,
            "opened_at": datetime(2026, 2, 1, 15, 0, tzinfo=UTC),
        }
        values.update(kw)
        case = Case(**values)
        case.lines = [ServiceLine(line_no=1, code="99213", billed=billed)]
        db.session.add(case)
        db.session.flush()
        cid = case.id
        if case.next_deadline_on is not None:
            # The next deadline is the earliest open item of the case's deadlines
            # table (issue 17): a case seeded with one has that item.
            from advocate.deadlines.case_models import CaseDeadline

            db.session.add(
                CaseDeadline(
                    tenant_id=tenant_id, case_id=cid, kind="manual", label="Seeded deadline",
                    due_on=case.next_deadline_on, rule="Seeded by the test.", is_manual=True,
                )
            )  # fmt: skip
        db.session.commit()
    return cid
