"""A case's stored deadlines: timely filing and appeals from the payer's policy,
external review (4 months, month-end clamp), follow-ups, the NSA sequence with
its rules in words, recomputed when facts change; deadlines added by hand and
done marks survive a recompute; next_deadline_on follows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from advocate.cases import services as case_services
from advocate.deadlines import case_services as svc
from advocate.deadlines.calendar import BusinessCalendar
from advocate.deadlines.case_rules import AppealFacts, CaseFacts, LevelFacts, PolicyFacts, compute
from advocate.extensions import db
from tenants import tenant_scope
from tests.deadlines.nsa_support import (
    TODAY,
    add_policy,
    deadlines,
    load_case,
    make_shop,
    new_case,
)


@pytest.fixture()
def shop(db_app):
    return make_shop()


def test_timely_filing_and_appeal_deadlines_come_from_the_payer_policy(shop):
    add_policy(
        shop, timely_filing_days=90, levels=(("Level 1 appeal", 180), ("Level 2 appeal", 60))
    )
    # A later version with shorter windows: it must not apply to an earlier adverse decision.
    add_policy(
        shop,
        effective=date(2026, 6, 1),
        timely_filing_days=30,
        levels=(("Level 1 appeal", 45), ("Level 2 appeal", 30)),
    )
    case_id = new_case(shop, service_from="2026-03-02", payer_claim_number="")
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        case.initial_payment_received_on = None  # the claim has not reached the payer yet
        case_services.file_appeal(
            case, actor_id=None, data={"level": 1, "adverse_decision_on": "2026-04-01"}
        )
        svc.recompute_deadlines(case)
        db.session.commit()
    rows = deadlines(shop, case_id)

    tf = rows["timely_filing"]
    assert tf.due_on == date(2026, 5, 31)  # 2026-03-02 + 90 calendar days, a Sunday: not moved
    assert "90 calendar days after 2026-03-02, the first date of service" in tf.rule
    assert (
        "Keystone Health Plan's policy for ERISA self-funded plans effective 2020-01-01" in tf.rule
    )
    assert "2026-05-31 (Sunday)" in tf.rule
    assert not tf.is_done

    l1 = rows["appeal_l1"]
    assert l1.due_on == date(2026, 9, 28)  # 2026-04-01 + 180
    assert l1.label == "File the Level 1 appeal"
    assert "180 calendar days after 2026-04-01, the date of the adverse decision" in l1.rule
    assert "(level 1)" in l1.rule
    assert l1.source_type == "appeal"
    with tenant_scope(shop.tenant_id):
        assert load_case(case_id).next_deadline_on == date(2026, 5, 31)

    # The appeal is filed: its deadline is done, the next deadline moves on.
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        case.payer_claim_number = "CLM-9"  # the claim is on file now: timely filing met
        appeal = db.session.get(case_services.Appeal, l1.source_id)
        appeal.filed_on = date(2026, 5, 1)
        svc.recompute_deadlines(case)
        db.session.commit()
        assert load_case(case_id).next_deadline_on is None
    rows = deadlines(shop, case_id)
    assert rows["appeal_l1"].is_done and rows["timely_filing"].is_done


def test_no_policy_means_no_guessed_deadline_and_a_note_saying_why(shop):
    case_id = new_case(shop, service_from="2026-03-02")
    with tenant_scope(shop.tenant_id):
        result = svc.recompute_deadlines(load_case(case_id))
        db.session.commit()
    assert "timely_filing" not in deadlines(shop, case_id)
    assert any("No payer policy is in effect on 2026-03-02" in n for n in result.notes)


def test_external_review_is_four_months_after_the_final_internal_denial_clamped(shop):
    add_policy(shop, levels=(("Level 1 appeal", 180), ("External review", 120)))
    case_id = new_case(shop, service_from="2026-03-02")
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        appeal = case_services.file_appeal(
            case,
            actor_id=None,
            data={"level": 1, "adverse_decision_on": "2026-05-04", "filed_on": "2026-05-10"},
        )
        case_services.record_appeal_decision(
            case,
            appeal,
            actor_id=None,
            today=TODAY,
            data={"outcome": "upheld", "decision_on": "2026-10-31", "filed_on": "2026-05-10"},
        )
        svc.recompute_deadlines(case)
        db.session.commit()
    er = deadlines(shop, case_id)["external_review"]
    assert er.due_on == date(2027, 2, 28)  # not March 3rd: clamped to February's last day
    assert "4 calendar months after 2026-10-31" in er.rule
    assert "the last internal level" in er.rule
    assert "February has no day 31" in er.rule
    assert not er.is_done


def test_external_review_rule_is_pure_and_knows_a_short_month():
    policy = PolicyFacts(
        "Acme",
        "Fully insured",
        date(2020, 1, 1),
        180,
        (
            LevelFacts(1, "Level 1 appeal", 180),
            LevelFacts(2, "Level 2 appeal", 60),
            LevelFacts(3, "External review", 120),
        ),
    )
    facts = CaseFacts(
        case_id=1,
        service_from=date(2027, 5, 3),
        claim_on_file=True,
        appeals=(
            AppealFacts(1, 1, date(2027, 6, 1), date(2027, 6, 2), date(2027, 7, 1), "upheld"),
            AppealFacts(2, 2, date(2027, 7, 1), date(2027, 7, 5), date(2027, 10, 31), "upheld"),
        ),
    )
    result = compute(facts, policy_on=lambda d: policy, calendar=BusinessCalendar())
    by_kind = {c.kind: c for c in result.deadlines}
    # Level 1's denial is not final (a level 2 exists); level 2's is.
    assert by_kind["external_review"].due_on == date(2028, 2, 29)  # leap year
    assert by_kind["external_review"].source_id == 2
    assert by_kind["appeal_l2"].due_on == date(2027, 8, 30)  # 2027-07-01 + 60


def test_follow_ups_from_communications_are_deadlines(shop):
    case_id = new_case(shop, service_from="2026-03-02")
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        comm = case_services.add_communication(
            case,
            actor_id=None,
            data={
                "kind": "call",
                "direction": "outbound",
                "summary": "Asked for the reprocessing",
                "reference_number": "REF-77",
                "follow_up_on": "2026-03-20",
                "occurred_at": datetime(2026, 3, 10, 15, 0, tzinfo=UTC),
            },
        )
        svc.recompute_deadlines(case)
        db.session.commit()
        comm_id = comm.id
    fu = deadlines(shop, case_id)["follow_up"]
    assert fu.due_on == date(2026, 3, 20)
    assert fu.rule == (
        "Follow-up date set on the outbound call of 2026-03-10 (reference REF-77): "
        "2026-03-20 (Friday)."
    )
    assert "Asked for" not in fu.rule  # the summary is free text: never copied into a deadline
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        case_services.complete_follow_up(
            case, db.session.get(case_services.Communication, comm_id), actor_id=None
        )
        svc.recompute_deadlines(case)
        db.session.commit()
    assert deadlines(shop, case_id)["follow_up"].is_done


def _nsa_case(shop) -> int:
    case_id = new_case(shop, service_from="2026-02-20", initial_payment_received_on="2026-03-02")
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        case.status = "negotiating"
        result, _ = svc.record_eligibility(case, actor_id=None)
        assert result.status == "eligible", result
        db.session.commit()
    return case_id


def test_the_nsa_sequence_is_stored_with_its_rules_in_words(shop):
    case_id = _nsa_case(shop)
    rows = deadlines(shop, case_id)
    notice = rows["nsa_notice"]
    assert notice.due_on == date(2026, 4, 10)  # business day 30 beginning on Monday 2026-03-02
    assert notice.rule.startswith(
        "Business day 30 of the 30-business-day period beginning on 2026-03-02, the day the initial "
        "payment or denial was received"
    )
    assert "2026-04-10 (Friday)" in notice.rule
    assert "nsa_negotiation_end" not in rows  # not until the notice is sent
    with tenant_scope(shop.tenant_id):
        assert load_case(case_id).next_deadline_on == date(2026, 4, 10)

    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        svc.record_notice(
            case,
            actor_id=shop.advocate.user.id,
            today=TODAY,
            data={
                "notice_sent_on": "2026-03-10",
                "qpa": "700.00",
                "offer": "1400.00",
                "method": "portal",
            },
        )
        db.session.commit()
        assert load_case(case_id).status == "nsa_open_negotiation"
    rows = deadlines(shop, case_id)
    assert rows["nsa_notice"].is_done
    assert rows["nsa_negotiation_end"].due_on == date(2026, 4, 20)
    assert rows["nsa_idr_window_start"].due_on == date(2026, 4, 21)
    assert rows["nsa_idr_window_end"].due_on == date(2026, 4, 24)
    assert (
        "30-business-day open negotiation period beginning on 2026-03-10, the day the open "
        "negotiation notice was sent" in rows["nsa_negotiation_end"].rule
    )
    assert (
        "the last of the 4 business days in which IDR may be initiated"
        in rows["nsa_idr_window_end"].rule
    )
    window_end_id = rows["nsa_idr_window_end"].id
    with tenant_scope(shop.tenant_id):
        # Milestones are not the next deadline: the window's close is.
        assert load_case(case_id).next_deadline_on == date(2026, 4, 24)

    # The notice date is corrected: everything counted from it moves, in place.
    with tenant_scope(shop.tenant_id):
        svc.record_notice(
            load_case(case_id),
            actor_id=None,
            today=TODAY,
            data={"notice_sent_on": "2026-03-12", "qpa": "700.00", "offer": "1400.00"},
        )
        db.session.commit()
    rows = deadlines(shop, case_id)
    assert rows["nsa_negotiation_end"].due_on == date(2026, 4, 22)
    assert rows["nsa_idr_window_start"].due_on == date(2026, 4, 23)
    assert rows["nsa_idr_window_end"].due_on == date(2026, 4, 28)
    assert rows["nsa_idr_window_end"].id == window_end_id
    assert "Business day 34 counted from 2026-03-12" in rows["nsa_idr_window_end"].rule
    assert "2026-03-10" not in rows["nsa_idr_window_end"].rule


def test_the_idr_dates_follow_initiation_selection_and_determination(shop):
    case_id = _nsa_case(shop)
    today = TODAY
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        svc.record_notice(
            case,
            actor_id=None,
            today=today,
            data={"notice_sent_on": "2026-03-10", "qpa": "700.00", "offer": "1400.00"},
        )
        warnings = svc.record_idr_initiated(
            case,
            actor_id=None,
            today=today,
            data={"initiated_on": "2026-04-22", "idr_reference": "DISP-1", "idr_kind": "single"},
        )
        assert warnings == []
        svc.record_idre(
            case,
            actor_id=None,
            today=today,
            data={"idre_name": "Arbitration Co", "selected_on": "2026-04-27"},
        )
        svc.record_idr_offers(
            case,
            actor_id=None,
            today=today,
            data={
                "our_offer": "1300.00",
                "their_offer": "700.00",
                "offers_submitted_on": "2026-05-08",
                "offer_basis": "The surgeon's training and the acuity of the case justify 186% of the QPA.",
            },
        )
        db.session.commit()
    rows = deadlines(shop, case_id)
    assert rows["idre_selection"].due_on == date(2026, 4, 27) and rows["idre_selection"].is_done
    assert rows["offers_due"].due_on == date(2026, 5, 11) and rows["offers_due"].is_done
    assert rows["determination_due"].due_on == date(2026, 6, 9)  # Memorial Day not counted
    assert "Not counted: 2026-05-25 Memorial Day" in rows["determination_due"].rule
    with tenant_scope(shop.tenant_id):
        assert load_case(case_id).status == "nsa_idr"
        svc.record_determination(
            load_case(case_id),
            actor_id=None,
            today=today,
            data={
                "determined_on": "2026-05-20",
                "prevailing_party": "provider",
                "prevailing_amount": "",
            },
        )
        db.session.commit()
        case = load_case(case_id)
        assert case.status == "settled" and case.agreed_amount == Decimal("1300.00")
        assert case.next_deadline_on == date(2026, 6, 19)
    rows = deadlines(shop, case_id)
    assert rows["payment_due"].due_on == date(2026, 6, 19)
    assert (
        "30 calendar days after 2026-05-20, the day the payment determination was made"
        in rows["payment_due"].rule
    )
    assert rows["cooling_off_end"].due_on == date(2026, 8, 18)
    assert rows["determination_due"].is_done

    with tenant_scope(shop.tenant_id):
        svc.record_payment(
            load_case(case_id),
            actor_id=None,
            today=today,
            data={"payment_received_on": "2026-06-15", "payment_amount": "1300.00"},
        )
        db.session.commit()
        case = load_case(case_id)
        assert case.status == "paid"
        assert case.total_paid == Decimal("1460.00")  # 160.00 at intake + the 1,300.00 award
    assert deadlines(shop, case_id)["payment_due"].is_done


def test_deadlines_added_by_hand_and_done_marks_survive_a_recompute(shop):
    add_policy(shop)
    case_id = new_case(shop, service_from="2026-03-02", payer_claim_number="")
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        case.initial_payment_received_on = None
        manual = svc.add_manual_deadline(
            case,
            actor_id=shop.advocate.user.id,
            data={
                "label": "Send the medical records",
                "due_on": "2026-04-01",
                "note": "The payer asked on the call.",
            },
        )
        db.session.commit()
        manual_id = manual.id
    rows = deadlines(shop, case_id)
    assert rows["manual"].id == manual_id and rows["manual"].rule == "The payer asked on the call."
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        assert case.next_deadline_on == date(2026, 4, 1)
        tf = db.session.get(svc.CaseDeadline, rows["timely_filing"].id)
        svc.mark_deadline_done(case, tf, actor_id=shop.advocate.user.id)
        svc.recompute_deadlines(case)
        db.session.commit()
    rows = deadlines(shop, case_id)
    assert rows["manual"].id == manual_id and not rows["manual"].is_done
    assert rows["timely_filing"].is_done  # marked by a person, facts unchanged: stays done

    # The date of service is corrected: the timely-filing date moves and needs doing again.
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        case.service_from = date(2026, 3, 5)
        svc.recompute_deadlines(case)
        db.session.commit()
    rows = deadlines(shop, case_id)
    assert rows["timely_filing"].due_on == date(2026, 6, 3)
    assert not rows["timely_filing"].is_done
    assert rows["manual"].id == manual_id


def test_validation_names_the_field_and_writes_nothing(shop):
    case_id = _nsa_case(shop)
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        with pytest.raises(svc.NsaError) as err:
            svc.record_notice(
                case,
                actor_id=None,
                today=TODAY,
                data={"notice_sent_on": "2026-02-27", "qpa": "-5", "offer": ""},
            )
        fields = dict(err.value.errors)
        assert "before received" in fields["notice_sent_on"]
        assert fields["qpa"] == "cannot be negative"
        assert fields["offer"] == "is required"
        with pytest.raises(svc.NsaError) as err:
            svc.record_idr_initiated(
                case, actor_id=None, today=TODAY, data={"initiated_on": "2026-04-22"}
            )
        assert dict(err.value.errors)["initiated_on"] == "record the open negotiation notice first"
        with pytest.raises(svc.NsaError) as err:
            svc.record_received(
                case, actor_id=None, today=TODAY, data={"received_on": "2027-01-05"}
            )
        assert "in the future" in dict(err.value.errors)["received_on"]
        db.session.rollback()
        assert svc.dispute_for(load_case(case_id)) is None
