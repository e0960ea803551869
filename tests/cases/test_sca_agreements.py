"""Single case agreements: recorded by form (bad terms refused per field,
nothing saved), changed through their statuses, visits used counted from the
claims under them, and claims checked against a signed agreement's rate and
flagged when underpaid (percent of billed, fixed amounts; percent of Medicare
says why not when the fee schedule is not loaded)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.cases import services
from advocate.cases.models import Case, CaseEvent, SingleCaseAgreement
from advocate.extensions import db
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


def sca_form(shop, **kw):
    data = {
        "practice_id": str(shop.practice_id),
        "payer_id": str(shop.payer_id),
        "authorization_number": "AUTH-778",
        "patient_first_name": "Jane",
        "patient_last_name": "Doe",
        "patient_dob": "1980-04-02",
        "member_id": "W123456789",
        "codes": "27447, 99223",
        "starts_on": days_ago(60),
        "ends_on": days_ago(-300),
        "visits_allowed": "3",
        "rate_type": "billed_percent",
        "rate_percent": "80",
        "fixed_rates": "",
        "status": "requested",
        "signed_on": "",
        "document_id": "",
        "note": "",
    }
    data.update(kw)
    return data


def make_sca(shop, **kw) -> int:
    data = {k: v for k, v in sca_form(shop, **kw).items()}
    with tenant_scope(shop.tenant_id):
        sca = services.create_sca(
            tenant_id=shop.tenant_id, actor_id=shop.advocate.user.id, data=data
        )
        db.session.commit()
        return sca.id


def link(adv, case_id, sca_id):
    return adv.post(f"/cases/{case_id}/sca", {"sca-sca_id": str(sca_id)})


# --------------------------------------------------------------------------- record and change


def test_an_agreement_is_recorded_by_form(shop, adv):
    r = adv.post("/cases/scas/new", sca_form(shop))
    assert r.status_code == 303, text_of(r)[:1500]
    with tenant_scope(shop.tenant_id):
        sca = db.session.scalar(select(SingleCaseAgreement))
        assert (sca.codes, sca.rate_type, sca.rate_percent, sca.visits_allowed, sca.status) == (
            ["27447", "99223"],
            "billed_percent",
            Decimal("80"),
            3,
            "requested",
        )
        assert r.headers["Location"].endswith(f"/cases/scas/{sca.id}")
        sca_id = sca.id
    page = adv.get(f"/cases/scas/{sca_id}")
    assert page.status_code == 200
    text = text_of(page)
    assert "AUTH-778" in text and "80% of billed" in text and "0 of 3" in text
    assert adv.get("/cases/scas").status_code == 200
    with tenant_scope(shop.tenant_id):
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.is_phi.is_(True))
        ).all()
    assert {"sca.created", "sca.view", "sca.list"} <= set(actions)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"rate_percent": ""}, "rate_percent", "is required for a percent rate"),
        ({"rate_percent": "120"}, "rate_percent", "at most 100"),
        ({"ends_on": days_ago(90)}, "ends_on", "is before the start"),
        (
            {"rate_type": "fixed", "fixed_rates": ""},
            "fixed_rates",
            "give an amount for each covered code",
        ),
        ({"rate_type": "fixed", "fixed_rates": "27447=1500"}, "fixed_rates", "no amount for 99223"),
        ({"status": "signed", "signed_on": ""}, "signed_on", "is required"),
        ({"codes": "ABC"}, "codes", "ABC"),
        ({"visits_allowed": "0"}, "visits_allowed", "must be at least 1"),
        ({"payer_id": "999999"}, "payer_id", "unknown payer"),
    ],
)
def test_bad_terms_are_refused_per_field_and_nothing_is_saved(shop, adv, change, field, message):
    r = adv.post("/cases/scas/new", sca_form(shop, **change))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    assert message in html.split(f'id="{field}-error"', 1)[1].split("</ul>", 1)[0]
    assert count(SingleCaseAgreement, shop.tenant_id) == 0


def test_an_agreement_moves_through_its_statuses(shop, adv):
    sca_id = make_sca(shop)
    for status, extra in (
        ("offered", {}),
        ("countered", {}),
        ("signed", {"signed_on": days_ago(1)}),
    ):
        r = adv.post(f"/cases/scas/{sca_id}", sca_form(shop, status=status, **extra))
        assert r.status_code == 303, text_of(r)[:800]
    r = adv.post(f"/cases/scas/{sca_id}", sca_form(shop, status="expired", signed_on=days_ago(-5)))
    assert r.status_code == 422 and "is in the future" in text_of(r)
    with tenant_scope(shop.tenant_id):
        sca = db.session.get(SingleCaseAgreement, sca_id)
        assert (sca.status, sca.signed_on) == ("signed", PAST - timedelta(days=1))
    # A signed document must be one of the agreement's own documents.
    r = adv.post(
        f"/cases/scas/{sca_id}",
        sca_form(shop, status="signed", signed_on=days_ago(1), document_id="77"),
    )
    assert r.status_code == 422 and "upload the signed agreement" in text_of(r)


# --------------------------------------------------------------------------- visits used


def test_visits_used_are_counted_from_the_cases_under_it(shop, adv):
    sca_id = make_sca(shop, visits_allowed="2")
    a, b, c = (make_case(shop) for _ in range(3))
    assert link(adv, a, sca_id).status_code == 303
    assert link(adv, b, sca_id).status_code == 303
    text = text_of(adv.get(f"/cases/scas/{sca_id}"))
    assert "Visits used 2 of 2" in text
    r = link(adv, c, sca_id)
    assert r.status_code == 422 and "all 2 visits are used" in text_of(r)
    with tenant_scope(shop.tenant_id):
        assert load(c).sca_id is None
        assert services.sca_visits_used([sca_id]) == {sca_id: 2}
    # A withdrawn claim gives its visit back.
    with tenant_scope(shop.tenant_id):
        load(b).status = "withdrawn"
        db.session.commit()
    assert link(adv, c, sca_id).status_code == 303
    assert "Visits used 2 of 2" in text_of(adv.get(f"/cases/scas/{sca_id}"))
    assert "Billed under SCA AUTH-778 (requested)" in text_of(adv.get(f"/cases/{c}"))


def test_a_case_cannot_go_under_another_patients_or_payers_agreement(shop, adv):
    from tests.factories import make_payer

    sca_id = make_sca(shop)
    other_patient = make_case(shop, patient_first_name="John")
    r = link(adv, other_patient, sca_id)
    assert r.status_code == 422 and "the agreement covers another patient" in text_of(r)
    other_payer = make_case(shop, payer_id=make_payer(shop.firm.tenant, name="Other Plan"))
    r = link(adv, other_payer, sca_id)
    assert r.status_code == 422 and "the agreement is with another payer" in text_of(r)
    uncovered = make_case(shop, lines=[{"code": "99285", "billed": "900.00"}])
    r = link(adv, uncovered, sca_id)
    assert r.status_code == 422 and "codes not covered: 99285" in text_of(r)
    assert link(adv, other_patient, 987654).status_code == 422  # not an agreement of this firm
    with tenant_scope(shop.tenant_id):
        assert db.session.scalar(select(Case.id).where(Case.sca_id.is_not(None))) is None
        assert db.session.scalar(select(CaseEvent.id).where(CaseEvent.kind == "sca")) is None


# --------------------------------------------------------------------------- the rate check


def _case_paid(shop, lines):
    return make_case(shop, lines=lines)


def test_percent_of_billed_underpayment_is_flagged(shop, adv):
    sca_id = make_sca(shop, status="signed", signed_on=days_ago(5), rate_percent="80")
    under = _case_paid(
        shop, [{"code": "27447", "billed": "1000.00", "paid": "500.00", "patient_resp": "100.00"}]
    )
    at_rate = _case_paid(
        shop, [{"code": "27447", "billed": "1000.00", "paid": "700.00", "patient_resp": "100.00"}]
    )
    for c in (under, at_rate):
        assert link(adv, c, sca_id).status_code == 303
    with tenant_scope(shop.tenant_id):
        sca = db.session.get(SingleCaseAgreement, sca_id)
        check = services.check_sca_rate(load(under), sca)
        assert (check.expected, check.received, check.shortfall, check.is_underpaid) == (
            Decimal("800.00"),
            Decimal("600.00"),
            Decimal("200.00"),
            True,
        )
        assert not services.check_sca_rate(load(at_rate), sca).is_underpaid
        # The agreement's rate is now what the claim should have paid.
        assert load(under).expected_payment == Decimal("800.00")
        assert load(under).amount_at_stake == Decimal("200.00")
    page = adv.get(f"/cases/{under}")
    assert 'data-testid="sca-underpaid"' in page.get_data(as_text=True)
    assert "$200.00 short" in text_of(page)
    assert 'data-testid="sca-underpaid"' not in adv.get(f"/cases/{at_rate}").get_data(as_text=True)
    html = adv.get(f"/cases/scas/{sca_id}").get_data(as_text=True)
    assert "Underpaid" in html.split(f'data-testid="sca-check-{under}"', 1)[1][:300]
    assert "At rate" in html.split(f'data-testid="sca-check-{at_rate}"', 1)[1][:300]


def test_fixed_rate_underpayment_is_flagged_per_unit(shop, adv):
    sca_id = make_sca(
        shop,
        status="signed",
        signed_on=days_ago(5),
        rate_type="fixed",
        rate_percent="",
        codes="99213",
        fixed_rates="99213=150.00",
    )
    case_id = _case_paid(
        shop,
        [
            {
                "code": "99213",
                "units": "2",
                "billed": "500.00",
                "paid": "200.00",
                "patient_resp": "40.00",
            }
        ],
    )
    assert link(adv, case_id, sca_id).status_code == 303
    with tenant_scope(shop.tenant_id):
        check = services.check_sca_rate(load(case_id), db.session.get(SingleCaseAgreement, sca_id))
    assert (check.expected, check.received, check.is_underpaid) == (
        Decimal("300.00"),
        Decimal("240.00"),
        True,
    )
    # A later payment that makes it whole clears the flag.
    adv.post(
        f"/cases/{case_id}/payments",
        {"pay-paid_on": days_ago(0), "pay-amount": "60.00", "pay-source": "check"},
    )
    with tenant_scope(shop.tenant_id):
        assert not services.check_sca_rate(
            load(case_id), db.session.get(SingleCaseAgreement, sca_id)
        ).is_underpaid


def test_an_unsigned_agreement_is_not_checked(shop, adv):
    sca_id = make_sca(shop, status="offered")
    case_id = _case_paid(shop, [{"code": "27447", "billed": "1000.00", "paid": "10.00"}])
    link(adv, case_id, sca_id)
    with tenant_scope(shop.tenant_id):
        check = services.check_sca_rate(load(case_id), db.session.get(SingleCaseAgreement, sca_id))
    assert check.expected is None and not check.is_underpaid and "not signed" in check.reason
    # Signing it later prices the claims under it.
    adv.post(f"/cases/scas/{sca_id}", sca_form(shop, status="signed", signed_on=days_ago(1)))
    with tenant_scope(shop.tenant_id):
        assert load(case_id).expected_payment == Decimal("800.00")


def test_percent_of_medicare_says_why_when_the_fee_schedule_is_not_loaded(shop, adv):
    sca_id = make_sca(
        shop,
        status="signed",
        signed_on=days_ago(5),
        rate_type="medicare_percent",
        rate_percent="140",
    )
    case_id = _case_paid(shop, [{"code": "27447", "billed": "1000.00", "paid": "10.00"}])
    assert link(adv, case_id, sca_id).status_code == 303
    with tenant_scope(shop.tenant_id):
        case = load(case_id)
        fee, reason = services.medicare_amount(case.lines[0], case)
        check = services.check_sca_rate(case, db.session.get(SingleCaseAgreement, sca_id))
    assert fee is None and "fee schedule" in reason
    assert check.expected is None and not check.is_underpaid and check.reason.startswith("line 1: ")
    assert "Not checked: line 1:" in text_of(adv.get(f"/cases/{case_id}"))
