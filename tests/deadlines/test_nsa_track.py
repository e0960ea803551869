"""The NSA track services: eligibility stored on the case, the dated fee table,
the IDR entity fee range, batching candidates, the notice's data, and the IDR
offer guard on the service."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from advocate.cases.models import CaseEvent
from advocate.deadlines import case_services as svc
from advocate.deadlines.models import SpecifiedStateLaw
from advocate.extensions import db
from tenants import tenant_scope
from tests.deadlines.nsa_support import TODAY, dispute, load_case, make_shop, new_case
from tests.factories import make_practice


@pytest.fixture()
def shop(db_app):
    return make_shop()


def _through_notice(shop, case_id, *, sent="2026-03-10"):
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        case.status = "negotiating"
        svc.record_eligibility(case, actor_id=None)
        svc.record_notice(
            case,
            actor_id=None,
            today=TODAY,
            data={"notice_sent_on": sent, "qpa": "700.00", "offer": "1400.00"},
        )
        db.session.commit()


def test_eligibility_is_stored_on_the_case_eligible_not_eligible_or_unknown(shop):
    case_id = new_case(shop, service_from="2026-03-02", service_type="other")
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        result, _ = svc.record_eligibility(case, actor_id=shop.advocate.user.id)
        assert result.status == "not_eligible"
        assert "covers only emergency services" in result.reason
        assert case.is_nsa_eligible is False

        result, _ = svc.record_eligibility(case, actor_id=None, data={"service_type": "emergency"})
        assert result.status == "eligible" and case.is_nsa_eligible is True
        assert case.service_type == "emergency"

        # A fully insured plan in a state whose law sets the rate: the state's process.
        db.session.add(SpecifiedStateLaw(tenant_id=shop.tenant_id, state="NJ"))
        case.plan_type = "fully_insured"
        result, _ = svc.record_eligibility(case, actor_id=None, data={"state": "NJ"})
        assert result.status == "not_eligible" and "NJ has a specified state law" in result.reason
        assert case.is_nsa_eligible is False

        # Unknown: what is missing is said, and nothing is guessed.
        case.plan_type = "other"
        result, _ = svc.record_eligibility(case, actor_id=None, data={"state": ""})
        assert result.status == "unknown" and case.is_nsa_eligible is None
        assert [m.field for m in result.missing] == ["plan_type"]
        db.session.commit()
        summaries = [
            e.summary
            for e in db.session.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == case_id, CaseEvent.kind == "nsa")
                .order_by(CaseEvent.id)
            )
        ]
    assert summaries == [
        "NSA eligibility checked: not eligible",
        "NSA eligibility checked: eligible",
        "NSA eligibility checked: not eligible",
        "NSA eligibility checked: unknown",
    ]


def test_a_case_not_eligible_gets_no_nsa_track(shop):
    case_id = new_case(shop, service_from="2026-03-02", plan_type="medicare_advantage")
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        svc.record_eligibility(case, actor_id=None)
        with pytest.raises(svc.NsaError) as err:
            svc.record_notice(
                case,
                actor_id=None,
                today=TODAY,
                data={"notice_sent_on": "2026-03-10", "qpa": "700", "offer": "1400"},
            )
        assert "does not apply" in dict(err.value.errors)["eligibility"]
        assert [
            d.kind for d in svc.recompute_deadlines(case).deadlines if d.kind.startswith("nsa")
        ] == []


@pytest.mark.parametrize(("initiated", "fee"), [("2026-06-10", "115.00"), ("2026-06-11", "15.00")])
def test_the_administrative_fee_comes_from_the_dated_fee_table(shop, initiated, fee):
    case_id = new_case(shop, service_from="2026-03-02", initial_payment_received_on="2026-03-02")
    _through_notice(shop, case_id)
    with tenant_scope(shop.tenant_id):
        warnings = svc.record_idr_initiated(
            load_case(case_id),
            actor_id=None,
            today=TODAY,
            data={"initiated_on": initiated, "idr_kind": "single"},
        )
        db.session.commit()
    assert dispute(shop, case_id).admin_fee == Decimal(fee)
    # Initiated well after the 4-business-day window (2026-04-21 to 2026-04-24): said, not refused.
    assert any("after the initiation window closed on 2026-04-24" in w for w in warnings)


def test_the_idr_entity_fee_must_be_in_the_range_for_the_dispute_kind(shop):
    case_id = new_case(shop, service_from="2026-03-02", initial_payment_received_on="2026-03-02")
    _through_notice(shop, case_id)
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        svc.record_idr_initiated(
            case, actor_id=None, today=TODAY, data={"initiated_on": "2026-04-22"}
        )
        with pytest.raises(svc.NsaError) as err:
            svc.record_fees(case, actor_id=None, today=TODAY, data={"idre_fee": "1000.00"})
        assert dict(err.value.errors)["idre_fee"] == (
            "single IDR entity fee must be between 200.00 and 840.00; got 1000.00"
        )
        svc.record_fees(
            case,
            actor_id=None,
            today=TODAY,
            data={
                "idre_fee": "840.00",
                "idre_fee_paid_on": "2026-04-23",
                "admin_fee_paid_on": "2026-04-23",
            },
        )
        # A batched dispute allows up to 1,173.00.
        svc.record_idr_initiated(
            case,
            actor_id=None,
            today=TODAY,
            data={"initiated_on": "2026-04-22", "idr_kind": "batched"},
        )
        svc.record_fees(case, actor_id=None, today=TODAY, data={"idre_fee": "1000.00"})
        db.session.commit()
    d = dispute(shop, case_id)
    assert d.idre_fee == Decimal("1000.00") and d.idr_kind == "batched"
    assert d.admin_fee == Decimal("115.00")


def test_the_idr_offer_guard_refuses_medicare_and_billed_figures(shop):
    case_id = new_case(shop, service_from="2026-03-02", initial_payment_received_on="2026-03-02")
    _through_notice(shop, case_id)
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        svc.record_idr_initiated(
            case, actor_id=None, today=TODAY, data={"initiated_on": "2026-04-22"}
        )
        svc.record_idre(
            case,
            actor_id=None,
            today=TODAY,
            data={"idre_name": "Arbitration Co", "selected_on": "2026-04-27"},
        )
        db.session.commit()
        for basis, ours, field in [
            ("Our offer is 200% of Medicare.", "1300.00", "offer_basis"),
            ("The usual and customary rate supports it.", "1300.00", "offer_basis"),
            (
                "QPA-based, per the statutory factors.",
                "650.00",
                "our_offer",
            ),  # = the billed charges
        ]:
            with pytest.raises(svc.NsaError) as err:
                svc.record_idr_offers(
                    case,
                    actor_id=None,
                    today=TODAY,
                    data={
                        "our_offer": ours,
                        "offers_submitted_on": "2026-05-08",
                        "offer_basis": basis,
                    },
                )
            assert field in dict(err.value.errors), err.value.errors
            db.session.rollback()
            case = load_case(case_id)
    assert dispute(shop, case_id).our_offer is None


def test_batching_candidates_share_npi_tin_plan_and_service_dates_within_30_business_days(shop):
    base = new_case(shop, service_from="2026-03-02")
    near = new_case(shop, service_from="2026-04-10")  # 29 business days later
    edge = new_case(shop, service_from="2026-04-13")  # the 30th business day after: still in
    far = new_case(shop, service_from="2026-04-14")  # 31: out
    other_plan = new_case(shop, service_from="2026-03-03", plan_type="fully_insured")
    other_practice = make_practice(
        shop.tenant, name="Other Group", npi="1245319599", tin="111111111"
    )
    elsewhere = new_case(shop, service_from="2026-03-03", practice_id=other_practice)
    new_case(shop, service_from="2026-03-04")  # eligibility not checked: not an NSA case
    with tenant_scope(shop.tenant_id):
        for cid in (base, near, edge, far, other_plan, elsewhere):
            load_case(cid).is_nsa_eligible = True
            db.session.flush()
        db.session.commit()
        refs = [c["reference"] for c in svc.batch_candidates(load_case(base))]
        expected = [load_case(near).reference, load_case(edge).reference]
    assert refs == expected


def test_the_notice_data_has_the_qpa_the_offer_the_claim_and_the_period(shop):
    case_id = new_case(
        shop,
        service_from="2026-02-27",
        initial_payment_received_on="2026-03-02",
        payer_claim_number="KHP-417",
    )
    _through_notice(shop, case_id, sent="2026-03-10")
    with tenant_scope(shop.tenant_id):
        data = svc.notice_data(load_case(case_id))
        preview = svc.notice_data(load_case(case_id), sent_on=date(2026, 3, 14))  # a Saturday
    assert data["qpa"] == Decimal("700.00") and data["offer"] == Decimal("1400.00")
    assert data["offer_percent_of_qpa"] == Decimal("200.0")
    assert data["claim"]["payer_claim_number"] == "KHP-417"
    assert [ln["code"] for ln in data["claim"]["lines"]] == ["99213", "20610"]
    assert data["claim"]["initial_payment_or_denial_received_on"] == date(2026, 3, 2)
    assert data["notice_deadline"] == date(2026, 4, 10)
    period = data["open_negotiation_period"]
    assert period["business_days"] == 30
    assert (period["begins_on"], period["ends_on"]) == (date(2026, 3, 10), date(2026, 4, 20))
    assert (period["idr_window_opens_on"], period["idr_window_closes_on"]) == (
        date(2026, 4, 21),
        date(2026, 4, 24),
    )
    assert "30-business-day open negotiation period beginning on 2026-03-10" in period["rule"]
    assert "Doe" not in str(data)
    # A notice sent on a Saturday: day 1 is the Monday after.
    assert preview["open_negotiation_period"]["day_1"] == date(2026, 3, 16)
