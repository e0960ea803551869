"""Working a case from its page: transitions (refused with the reason when
the workflow does not allow them, and each on the timeline with its actor),
communications and follow-ups, offers and acceptance, appeals with their
deadline from the payer policy, the payment ledger, target/floor and notes."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from advocate.cases.models import Appeal, CaseEvent, Communication, Offer, Payment
from advocate.db import utcnow
from advocate.extensions import db
from advocate.payers.models import PayerAppealLevel, PayerPolicy
from tenants import tenant_scope
from tests.cases.test_case_detail_support import (
    PAST,
    count,
    days_ago,
    load,
    logged_in,
    make_case,
    make_shop,
    text_of,
)


@pytest.fixture()
def shop(db_app):
    return make_shop()


@pytest.fixture()
def adv(shop, browser):
    return logged_in(browser, shop.advocate)


def events(shop, case_id, kind=None):
    with tenant_scope(shop.tenant_id):
        db.session.expire_all()
        q = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        if kind:
            q = q.where(CaseEvent.kind == kind)
        return list(db.session.scalars(q))


# --------------------------------------------------------------------------- transitions


def test_an_illegal_transition_is_refused_with_the_reason_and_nothing_changes(shop, adv):
    case_id = make_case(shop)
    r = adv.post(f"/cases/{case_id}/transition", {"to": "paid"})
    assert r.status_code == 422
    text = text_of(r)
    assert "A case in 'Intake' cannot move to 'Paid'" in text and "Allowed next:" in text
    assert 'data-testid="action-error"' in r.get_data(as_text=True)
    with tenant_scope(shop.tenant_id):
        assert load(case_id).status == "intake"
    assert events(shop, case_id, "transition") == []


def test_a_transition_that_needs_facts_is_refused_until_it_has_them(shop, adv):
    case_id = make_case(shop, status="negotiating")
    r = adv.post(f"/cases/{case_id}/transition", {"to": "settled"})
    assert r.status_code == 422 and "A settlement needs the agreed amount." in text_of(r)
    r = adv.post(f"/cases/{case_id}/transition", {"to": "settled", "agreed_amount": "12.345"})
    assert (
        r.status_code == 422 and "The agreed amount has more than two decimal places." in text_of(r)
    )
    r = adv.post(f"/cases/{case_id}/transition", {"to": "appeal"})
    assert r.status_code == 422 and "Say which appeal level" in text_of(r)
    r = adv.post(f"/cases/{case_id}/transition", {"to": "not_a_state"})
    assert r.status_code == 422 and "'not_a_state' is not a case status." in text_of(r)
    with tenant_scope(shop.tenant_id):
        assert load(case_id).status == "negotiating"
    r = adv.post(
        f"/cases/{case_id}/transition",
        {"to": "settled", "agreed_amount": "5,250.00", "note": "phone deal"},
    )
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/cases/{case_id}#next-steps")
    with tenant_scope(shop.tenant_id):
        case = load(case_id)
        assert (case.status, case.agreed_amount) == ("settled", Decimal("5250.00"))


def test_every_transition_goes_on_the_timeline_with_its_actor(shop, adv):
    case_id = make_case(shop)
    path = [
        "gathering_evidence",
        "ready_to_negotiate",
        "negotiating",
        ("appeal", 1),
        ("appeal", 2),
        "negotiating",
        ("settled", "4000.00"),
        "paid",
        "closed_won",
    ]
    for step in path:
        data = {"to": step}
        if isinstance(step, tuple):
            data = (
                {"to": step[0], "appeal_level": str(step[1])}
                if step[0] == "appeal"
                else {"to": step[0], "agreed_amount": step[1]}
            )
        if data["to"] == "paid":
            # Money above the initial payment arrives first (closing as won needs a recovery).
            r = adv.post(
                f"/cases/{case_id}/payments",
                {"pay-paid_on": days_ago(0), "pay-amount": "1440.00", "pay-source": "settlement"},
            )
            assert r.status_code == 303, text_of(r)[:800]
        r = adv.post(f"/cases/{case_id}/transition", data)
        assert r.status_code == 303, (step, text_of(r)[:800])
    moves = events(shop, case_id, "transition")
    assert [e.data["to"] for e in moves] == [s if isinstance(s, str) else s[0] for s in path]
    assert all(e.actor_id == shop.advocate.user.id and e.at is not None for e in moves)
    assert moves[3].summary == "Negotiating → Appeal (level 1)"
    with tenant_scope(shop.tenant_id):
        case = load(case_id)
        assert case.status == "closed_won" and case.closed_at is not None and case.appeal_level == 2
    page = adv.get(f"/cases/{case_id}")
    text = text_of(page)
    for summary in (
        "Intake → Gathering evidence",
        "Gathering evidence → Ready to negotiate",
        "Ready to negotiate → Negotiating",
        "Appeal → Appeal (level 2)",
        "Paid → Closed – won",
    ):
        assert summary in text, summary
    assert text.count("Avery Advocate") >= len(path)
    # A closed case offers only reopening.
    html = page.get_data(as_text=True)
    assert (
        'data-testid="transition-negotiating"' in html
        and 'data-testid="transition-paid"' not in html
    )


def test_the_page_offers_only_the_allowed_next_steps(shop, adv):
    case_id = make_case(shop, status="negotiating")
    html = adv.get(f"/cases/{case_id}").get_data(as_text=True)
    offered = {
        s
        for s in (
            "appeal",
            "nsa_open_negotiation",
            "sca",
            "settled",
            "closed_lost",
            "withdrawn",
            "paid",
            "intake",
            "ready_to_negotiate",
        )
        if f'data-testid="transition-{s}"' in html
    }
    assert offered == {
        "appeal",
        "nsa_open_negotiation",
        "sca",
        "settled",
        "closed_lost",
        "withdrawn",
    }


# --------------------------------------------------------------------------- communications


def comm(case_id, **kw):
    data = {
        "comm-kind": "call",
        "comm-direction": "outbound",
        "comm-occurred_at": f"{days_ago(1)}T10:30",
        "comm-contact_name": "Pat at provider relations",
        "comm-reference_number": "REF-77",
        "comm-summary": "Asked for reprocessing at 80% of billed.",
        "comm-outcome": "Sent to review",
        "comm-follow_up_on": "",
    }
    data.update({f"comm-{k}": v for k, v in kw.items()})
    return data


def test_a_follow_up_sets_the_next_follow_up_and_marking_it_done_moves_it_on(shop, adv):
    case_id = make_case(shop)
    later, sooner = (
        (utcnow().date() + timedelta(days=9)).isoformat(),
        (utcnow().date() + timedelta(days=2)).isoformat(),
    )
    r = adv.post(f"/cases/{case_id}/communications", comm(case_id, follow_up_on=later))
    assert r.status_code == 303 and r.headers["Location"].endswith("#communications")
    with tenant_scope(shop.tenant_id):
        assert load(case_id).next_follow_up_on == date.fromisoformat(later)
    adv.post(
        f"/cases/{case_id}/communications",
        comm(case_id, kind="fax", follow_up_on=sooner, summary="Faxed LOA"),
    )
    with tenant_scope(shop.tenant_id):
        assert load(case_id).next_follow_up_on == date.fromisoformat(sooner)
        fax = db.session.scalar(select(Communication).where(Communication.kind == "fax"))
        call = db.session.scalar(select(Communication).where(Communication.kind == "call"))
        assert call.occurred_at.tzinfo is not None and call.reference_number == "REF-77"
        fax_id, call_id = fax.id, call.id
    text = text_of(adv.get(f"/cases/{case_id}"))
    assert "Outbound call: Asked for reprocessing" in text and "ref. REF-77" in text

    r = adv.post(f"/cases/{case_id}/communications/{fax_id}/done")
    assert r.status_code == 303
    with tenant_scope(shop.tenant_id):
        assert load(case_id).next_follow_up_on == date.fromisoformat(later)
        assert db.session.get(Communication, fax_id).follow_up_done_at is not None
    r = adv.post(f"/cases/{case_id}/communications/{fax_id}/done")
    assert r.status_code == 422 and "already done" in text_of(r)
    adv.post(f"/cases/{case_id}/communications/{call_id}/done")
    with tenant_scope(shop.tenant_id):
        assert load(case_id).next_follow_up_on is None
    assert [e.summary for e in events(shop, case_id, "follow_up")] == [
        f"Follow-up due {sooner} done (fax)",
        f"Follow-up due {later} done (call)",
    ]


def test_a_communication_with_bad_input_shows_errors_and_saves_nothing(shop, adv):
    case_id = make_case(shop)
    future = f"{(utcnow().date() + timedelta(days=3)).isoformat()}T09:00"
    r = adv.post(
        f"/cases/{case_id}/communications",
        comm(case_id, kind="pigeon", summary="", occurred_at=future),
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    for fid in ("comm-kind", "comm-summary", "comm-occurred_at"):
        assert f'id="{fid}-error"' in html, fid
    assert "is in the future" in html and "is required" in html
    assert count(Communication, shop.tenant_id) == 0
    assert events(shop, case_id, "communication") == []


def test_a_follow_up_of_another_case_is_not_found(shop, adv):
    a, b = make_case(shop), make_case(shop)
    adv.post(f"/cases/{a}/communications", comm(a, follow_up_on=days_ago(-5)))
    with tenant_scope(shop.tenant_id):
        comm_id = db.session.scalar(select(Communication.id))
    assert adv.post(f"/cases/{b}/communications/{comm_id}/done").status_code == 404


# --------------------------------------------------------------------------- negotiation


def offer(**kw):
    data = {
        "offer-party": "payer",
        "offer-amount": "3000.00",
        "offer-basis": "150% of Medicare",
        "offer-offered_on": days_ago(1),
        "offer-expires_on": "",
        "offer-note": "",
    }
    data.update({f"offer-{k}": v for k, v in kw.items()})
    return data


def test_accepting_an_offer_settles_at_its_amount_and_rejects_the_other_open_offers(shop, adv):
    case_id = make_case(shop, status="negotiating")
    for o in (
        offer(amount="3000.00"),
        offer(party="firm", amount="8000.00", basis="Our counter"),
        offer(amount="4500.00", basis="175% of Medicare"),
    ):
        r = adv.post(f"/cases/{case_id}/offers", o)
        assert r.status_code == 303, text_of(r)[:500]
    with tenant_scope(shop.tenant_id):
        ids = {o.amount: o.id for o in db.session.scalars(select(Offer))}
    r = adv.post(f"/cases/{case_id}/offers/{ids[Decimal('4500.00')]}/accept")
    assert r.status_code == 303
    with tenant_scope(shop.tenant_id):
        case = load(case_id)
        assert case.status == "settled" and case.agreed_amount == Decimal("4500.00")
        statuses = {o.amount: o.status for o in db.session.scalars(select(Offer))}
    assert statuses == {
        Decimal("4500.00"): "accepted",
        Decimal("3000.00"): "rejected",
        Decimal("8000.00"): "rejected",
    }
    (move,) = events(shop, case_id, "transition")
    assert move.data["to"] == "settled" and move.body == "Accepted payer offer of 4,500.00"
    assert move.actor_id == shop.advocate.user.id
    text = text_of(adv.get(f"/cases/{case_id}"))
    assert "Negotiating → Settled (awaiting payment)" in text and "Agreed $4,500.00" in text


def test_an_offer_cannot_be_accepted_while_the_workflow_forbids_settling(shop, adv):
    case_id = make_case(shop)  # intake
    adv.post(f"/cases/{case_id}/offers", offer())
    with tenant_scope(shop.tenant_id):
        offer_id = db.session.scalar(select(Offer.id))
    r = adv.post(f"/cases/{case_id}/offers/{offer_id}/accept")
    assert r.status_code == 422
    assert "cannot move to 'Settled (awaiting payment)'" in text_of(r)
    with tenant_scope(shop.tenant_id):
        assert load(case_id).status == "intake"
        assert db.session.get(Offer, offer_id).status == "open"


def test_bad_offers_are_refused_per_field(shop, adv):
    case_id = make_case(shop, status="negotiating")
    r = adv.post(
        f"/cases/{case_id}/offers", offer(party="broker", amount="-5", expires_on=days_ago(9))
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    for fid in ("offer-party", "offer-amount", "offer-expires_on"):
        assert f'id="{fid}-error"' in html, fid
    assert count(Offer, shop.tenant_id) == 0


def test_target_and_floor_and_the_suggested_counter(shop, adv):
    case_id = make_case(shop, status="negotiating")
    r = adv.post(
        f"/cases/{case_id}/negotiation", {"neg-target_amount": "9000", "neg-floor_amount": "9500"}
    )
    assert r.status_code == 422 and "is above the target" in text_of(r)
    r = adv.post(
        f"/cases/{case_id}/negotiation", {"neg-target_amount": "9000", "neg-floor_amount": "6000"}
    )
    assert r.status_code == 303
    adv.post(f"/cases/{case_id}/offers", offer(amount="3000.00"))
    text = text_of(adv.get(f"/cases/{case_id}"))
    assert "Our target $9,000.00" in text and "Walk-away floor $6,000.00" in text
    # Midpoint of 3,000 and 9,000 is 6,000: at the floor, not below it.
    assert (
        "Suggested counteroffer $6,000.00 Midpoint of the payer's 3,000.00 and our target 9,000.00."
        in text
    )
    (limits,) = events(shop, case_id, "negotiation")
    assert limits.is_internal


# --------------------------------------------------------------------------- appeals


def _policy(shop, window_days=180):
    with tenant_scope(shop.tenant_id):
        policy = PayerPolicy(
            payer_id=shop.payer_id,
            plan_type="erisa_self_funded",
            effective_date=date(2020, 1, 1),
            pricing_method="medicare_percent",
            pricing_percent=Decimal("140"),
            timely_filing_days=90,
        )
        policy.appeal_levels.append(
            PayerAppealLevel(level=1, name="First level", window_days=window_days)
        )
        policy.appeal_levels.append(PayerAppealLevel(level=2, name="Second level", window_days=60))
        db.session.add(policy)
        db.session.commit()


def test_an_appeal_takes_its_deadline_from_the_payer_policy(shop, adv):
    _policy(shop, window_days=180)
    case_id = make_case(shop, status="negotiating")
    adverse = PAST - timedelta(days=20)
    r = adv.post(
        f"/cases/{case_id}/appeals",
        {
            "appeal-level": "1",
            "appeal-adverse_decision_on": adverse.isoformat(),
            "appeal-method": "fax",
            "appeal-tracking_number": "FAX-1",
        },
    )
    assert r.status_code == 303, text_of(r)[:500]
    with tenant_scope(shop.tenant_id):
        appeal = db.session.scalar(select(Appeal))
        assert appeal.deadline_on == adverse + timedelta(days=180)
        assert load(case_id).next_deadline_on == appeal.deadline_on
        appeal_id = appeal.id
    html = adv.get(f"/cases/{case_id}").get_data(as_text=True)
    assert (adverse + timedelta(days=180)).isoformat() in html.split(
        'data-testid="appeal-deadline"', 1
    )[1][:80]

    # Level 2 uses its own window.
    adv.post(
        f"/cases/{case_id}/appeals",
        {"appeal-level": "2", "appeal-adverse_decision_on": adverse.isoformat()},
    )
    with tenant_scope(shop.tenant_id):
        second = db.session.scalar(select(Appeal).where(Appeal.level == 2))
        assert second.deadline_on == adverse + timedelta(days=60)

    # Filing and the decision.
    r = adv.post(
        f"/cases/{case_id}/appeals/{appeal_id}",
        {
            f"appeal{appeal_id}-filed_on": days_ago(10),
            f"appeal{appeal_id}-outcome": "overturned",
            f"appeal{appeal_id}-decision_on": days_ago(1),
            f"appeal{appeal_id}-amount_awarded": "2500.00",
            f"appeal{appeal_id}-method": "fax",
            f"appeal{appeal_id}-tracking_number": "FAX-1",
        },
    )
    assert r.status_code == 303, text_of(r)[:800]
    with tenant_scope(shop.tenant_id):
        appeal = db.session.get(Appeal, appeal_id)
        assert (appeal.outcome, appeal.amount_awarded) == ("overturned", Decimal("2500.00"))
        assert appeal.decision_on == PAST - timedelta(days=1)
    assert any("Appeal level 1 decided" in e.summary for e in events(shop, case_id, "appeal"))


def test_without_a_policy_an_appeal_has_no_deadline(shop, adv):
    case_id = make_case(shop, status="negotiating")
    adv.post(
        f"/cases/{case_id}/appeals",
        {"appeal-level": "1", "appeal-adverse_decision_on": days_ago(3)},
    )
    with tenant_scope(shop.tenant_id):
        assert db.session.scalar(select(Appeal)).deadline_on is None
    assert "No policy window" in text_of(adv.get(f"/cases/{case_id}"))


def test_an_appeal_decision_with_bad_input_is_refused(shop, adv):
    case_id = make_case(shop, status="negotiating")
    adv.post(
        f"/cases/{case_id}/appeals",
        {"appeal-level": "1", "appeal-adverse_decision_on": days_ago(3)},
    )
    with tenant_scope(shop.tenant_id):
        appeal_id = db.session.scalar(select(Appeal.id))
    p = f"appeal{appeal_id}"
    r = adv.post(
        f"/cases/{case_id}/appeals/{appeal_id}",
        {f"{p}-outcome": "upheld", f"{p}-decision_on": "", f"{p}-amount_awarded": "10"},
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f'id="{p}-decision_on-error"' in html and f'id="{p}-amount_awarded-error"' in html
    with tenant_scope(shop.tenant_id):
        assert db.session.get(Appeal, appeal_id).outcome == "pending"
    r = adv.post(
        f"/cases/{case_id}/appeals",
        {"appeal-level": "7", "appeal-adverse_decision_on": days_ago(-4)},
    )
    assert r.status_code == 422
    assert count(Appeal, shop.tenant_id) == 1


# --------------------------------------------------------------------------- payments


def test_the_payment_ledger_and_the_totals(shop, adv):
    case_id = make_case(shop, status="negotiating")  # 2,560.00 paid at intake: the initial payment
    r = adv.post(
        f"/cases/{case_id}/payments",
        {
            "pay-paid_on": days_ago(3),
            "pay-amount": "1,500.00",
            "pay-source": "check",
            "pay-reference": "CHK-9001",
        },
    )
    assert r.status_code == 303, text_of(r)[:500]
    adv.post(
        f"/cases/{case_id}/payments",
        {
            "pay-paid_on": days_ago(1),
            "pay-amount": "-200.00",
            "pay-source": "recoupment",
            "pay-note": "Overpayment letter",
        },
    )
    with tenant_scope(shop.tenant_id):
        case = load(case_id)
        assert case.total_paid == Decimal("3860.00")
        assert case.initial_paid == Decimal("2560.00")
        assert case.recovered == Decimal("1300.00")
        assert case.amount_at_stake == Decimal("12800.00") - Decimal("3860.00") - Decimal("640.00")
        ledger = [(p.amount, p.source, p.is_initial) for p in case.payments]
    assert ledger == [
        (Decimal("2560.00"), "remittance", True),
        (Decimal("1500.00"), "check", False),
        (Decimal("-200.00"), "recoupment", False),
    ]
    text = text_of(adv.get(f"/cases/{case_id}"))
    assert (
        "Total paid $3,860.00" in text and "Recovered above the initial payment $1,300.00" in text
    )
    assert "CHK-9001" in text and "-$200.00" in text
    assert [e.summary for e in events(shop, case_id, "payment")][-2:] == [
        "Payment 1,500.00 (check, CHK-9001)",
        "Recoupment -200.00 (recoupment)",
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"pay-amount": "0"}, "pay-amount"),
        ({"pay-amount": "100", "pay-source": "recoupment"}, "pay-amount"),
        ({"pay-amount": "-100", "pay-source": "check"}, "pay-amount"),
        ({"pay-amount": "ten dollars"}, "pay-amount"),
        ({"pay-paid_on": (utcnow().date() + timedelta(days=4)).isoformat()}, "pay-paid_on"),
        ({"pay-source": "barter"}, "pay-source"),
    ],
)
def test_bad_payments_are_refused(shop, adv, data, field):
    case_id = make_case(shop, status="negotiating")
    post = {"pay-paid_on": days_ago(1), "pay-amount": "100.00", "pay-source": "check", **data}
    r = adv.post(f"/cases/{case_id}/payments", post)
    assert r.status_code == 422
    assert f'id="{field}-error"' in r.get_data(as_text=True)
    assert count(Payment, shop.tenant_id) == 1  # the intake's initial payment only


def test_a_settlement_on_a_denied_claim_is_all_recovery(shop, adv):
    lines = [{"code": "99285", "billed": "2400.00", "paid": "0", "patient_resp": "0"}]
    case_id = make_case(shop, status="settled", lines=lines)
    adv.post(
        f"/cases/{case_id}/payments",
        {"pay-paid_on": days_ago(0), "pay-amount": "1800.00", "pay-source": "eft"},
    )
    with tenant_scope(shop.tenant_id):
        case = load(case_id)
        assert (case.initial_paid, case.recovered) == (Decimal("0.00"), Decimal("1800.00"))


# --------------------------------------------------------------------------- notes


def test_notes_go_on_the_timeline(shop, adv):
    case_id = make_case(shop)
    assert adv.post(f"/cases/{case_id}/notes", {"note-body": "  "}).status_code == 422
    r = adv.post(
        f"/cases/{case_id}/notes",
        {"note-body": "Payer rep hinted at 70% of billed.\nCall back Monday."},
    )
    assert r.status_code == 303
    adv.post(
        f"/cases/{case_id}/notes",
        {"note-body": "Records requested from the practice.", "note-is_shared": "y"},
    )
    notes = events(shop, case_id, "note")
    assert [(n.summary, n.is_internal) for n in notes] == [
        ("Note: Payer rep hinted at 70% of billed.…", True),
        ("Note: Records requested from the practice.", False),
    ]
    text = text_of(adv.get(f"/cases/{case_id}"))
    assert "Call back Monday." in text and "Staff only" in text


def test_documents_on_the_case_show_on_its_timeline(shop, adv):
    from io import BytesIO

    from advocate.documents import services as documents

    case_id = make_case(shop)
    with tenant_scope(shop.tenant_id):
        documents.upload(
            tenant_id=shop.tenant_id,
            actor=shop.advocate.user,
            owner_type="case",
            owner_id=case_id,
            category="eob",
            stream=BytesIO(b"EOB for claim CLM-0001\n"),
            filename="keystone-eob.txt",
            note="Initial EOB",
        )
        db.session.commit()
    text = text_of(adv.get(f"/cases/{case_id}"))
    assert "Document added: keystone-eob.txt" in text and "Initial EOB" in text
