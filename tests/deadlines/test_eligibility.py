"""NSA federal IDR eligibility: one test per branch of the rules (pure, no app)."""

from __future__ import annotations

import pytest

from advocate.deadlines.eligibility import (
    ELIGIBLE,
    NOT_ELIGIBLE,
    UNKNOWN,
    PlanType,
    ServiceType,
    check_nsa_eligibility,
)

ER = ServiceType.EMERGENCY
FACILITY = ServiceType.NONEMERGENCY_AT_IN_NETWORK_FACILITY
AIR = ServiceType.AIR_AMBULANCE
OTHER_SERVICE = ServiceType.OTHER
ERISA = PlanType.ERISA_SELF_FUNDED
INSURED = PlanType.FULLY_INSURED

# The firm's list: New York's law covers emergency and facility services;
# Texas's (in this list) emergency only.
LAWS = {"NY": {ER, FACILITY}, "TX": {ER}}


def _fields(result):
    return [m.field for m in result.missing]


@pytest.mark.parametrize("service", [ER, FACILITY, AIR])
def test_each_nsa_service_under_a_self_funded_plan_is_eligible(service):
    result = check_nsa_eligibility(service, ERISA)
    assert result.status == ELIGIBLE
    assert result.is_eligible and result.process == "federal_idr"
    assert result.missing == ()


def test_other_services_are_not_eligible():
    result = check_nsa_eligibility(OTHER_SERVICE, ERISA, remark_codes=[])
    assert result.status == NOT_ELIGIBLE
    assert "emergency services" in result.reason and "air ambulance" in result.reason


@pytest.mark.parametrize(
    ("plan", "words"),
    [
        (PlanType.MEDICARE_ADVANTAGE, "Medicare Advantage"),
        (PlanType.MEDICAID_MANAGED_CARE, "Medicaid"),
    ],
)
def test_medicare_advantage_and_medicaid_are_not_eligible(plan, words):
    result = check_nsa_eligibility(ER, plan, state="NY", state_laws=LAWS, remark_codes=["N864"])
    assert result.status == NOT_ELIGIBLE
    assert words in result.reasons[0]
    assert result.process is None


def test_not_eligible_wins_over_missing_inputs():
    # The service type is unknown, but a Medicare Advantage claim is out anyway.
    result = check_nsa_eligibility(None, PlanType.MEDICARE_ADVANTAGE)
    assert result.status == NOT_ELIGIBLE
    assert result.missing == ()


def test_self_funded_plan_stays_federal_in_a_state_with_a_law():
    result = check_nsa_eligibility(ER, ERISA, state="NY", state_laws=LAWS)
    assert result.status == ELIGIBLE
    assert any("ERISA self-funded plans are under federal IDR" in r for r in result.reasons)


def test_fully_insured_plan_in_a_state_with_a_law_follows_the_state_process():
    result = check_nsa_eligibility(FACILITY, INSURED, state="ny", state_laws=LAWS)
    assert result.status == NOT_ELIGIBLE
    assert result.process == "state_process"
    assert "NY has a specified state law" in result.reasons[0]


def test_fully_insured_plan_in_a_state_without_a_law_is_eligible():
    result = check_nsa_eligibility(ER, INSURED, state="PA", state_laws=LAWS)
    assert result.status == ELIGIBLE
    assert any("PA is not on the firm's list" in r for r in result.reasons)


def test_a_state_law_covers_only_the_services_it_names():
    # Texas's law (as listed) covers emergency services, not the facility case.
    assert check_nsa_eligibility(ER, INSURED, state="TX", state_laws=LAWS).status == NOT_ELIGIBLE
    result = check_nsa_eligibility(FACILITY, INSURED, state="TX", state_laws=LAWS)
    assert result.status == ELIGIBLE
    assert any("does not cover" in r for r in result.reasons)
    # A bare list of states means emergency and facility services, not air ambulance.
    assert check_nsa_eligibility(AIR, INSURED, state="NY", state_laws={"NY"}).status == ELIGIBLE
    assert check_nsa_eligibility(ER, INSURED, state="NY", state_laws={"NY"}).status == NOT_ELIGIBLE


def test_fully_insured_plan_needs_the_state_and_the_list():
    no_state = check_nsa_eligibility(ER, INSURED, state_laws=LAWS)
    assert no_state.status == UNKNOWN and _fields(no_state) == ["state"]
    no_list = check_nsa_eligibility(ER, INSURED, state="NY")
    assert no_list.status == UNKNOWN and _fields(no_list) == ["state_laws"]


def test_missing_service_and_plan_are_listed():
    result = check_nsa_eligibility(None, None)
    assert result.status == UNKNOWN
    assert _fields(result) == ["service_type", "plan_type"]
    assert all(m.message for m in result.missing)


def test_plan_type_other_is_unknown_not_guessed():
    result = check_nsa_eligibility(ER, PlanType.OTHER)
    assert result.status == UNKNOWN
    assert _fields(result) == ["plan_type"]
    assert "group health plans" in result.missing[0].message


@pytest.mark.parametrize(("code", "service"), [("N864", ER), ("N865", FACILITY), ("N866", AIR)])
def test_a_service_remark_code_supplies_a_missing_service_type(code, service):
    result = check_nsa_eligibility(None, ERISA, remark_codes=[code.lower()])
    assert result.status == ELIGIBLE
    assert f"remark code {code}" in result.reasons[0]
    assert result.remark_codes == (code,)


def test_remark_codes_naming_different_services_leave_the_service_unknown():
    result = check_nsa_eligibility(None, ERISA, remark_codes="N864, N866")
    assert result.status == UNKNOWN
    assert _fields(result) == ["service_type"]
    assert "N864, N866" in result.missing[0].message


def test_n830_alone_does_not_name_a_service():
    result = check_nsa_eligibility(None, ERISA, remark_codes=["N830"])
    assert result.status == UNKNOWN and _fields(result) == ["service_type"]


def test_a_remark_code_contradicting_the_service_type_asks_to_confirm():
    result = check_nsa_eligibility(FACILITY, ERISA, remark_codes=["N864"])
    assert result.status == UNKNOWN
    assert "confirm the service type" in result.missing[0].message


def test_an_nsa_remark_code_on_an_other_service_asks_to_confirm():
    result = check_nsa_eligibility(OTHER_SERVICE, ERISA, remark_codes=["N830"])
    assert result.status == UNKNOWN
    assert "N830" in result.missing[0].message


def test_eligible_result_mentions_the_remark_codes_or_their_absence():
    seen = check_nsa_eligibility(ER, ERISA, remark_codes=["CO45", "N864", "N830"])
    assert seen.status == ELIGIBLE
    assert seen.remark_codes == ("N830", "N864")
    assert "The remittance carries N830, N864." in seen.reasons
    absent = check_nsa_eligibility(ER, ERISA, remark_codes=["M15"])
    assert absent.status == ELIGIBLE
    assert any("No NSA remark code" in r for r in absent.reasons)
    not_looked = check_nsa_eligibility(ER, ERISA)
    assert not any("remark code" in r for r in not_looked.reasons)


def test_state_law_remark_code_on_a_self_funded_plan_asks_about_opt_in():
    result = check_nsa_eligibility(ER, ERISA, state="NJ", state_laws=LAWS, remark_codes=["N867"])
    assert result.status == UNKNOWN
    assert "opted in" in result.missing[0].message


def test_state_law_remark_code_in_a_state_off_the_list_asks_to_confirm():
    result = check_nsa_eligibility(ER, INSURED, state="PA", state_laws=LAWS, remark_codes=["N867"])
    assert result.status == UNKNOWN and _fields(result) == ["state_laws"]
    consistent = check_nsa_eligibility(
        ER, INSURED, state="NY", state_laws=LAWS, remark_codes=["N867"]
    )
    assert consistent.status == NOT_ELIGIBLE


def test_all_payer_model_remark_code_asks_to_confirm():
    result = check_nsa_eligibility(ER, ERISA, remark_codes=["N864", "N868"])
    assert result.status == UNKNOWN
    assert "all-payer model" in result.missing[0].message


def test_string_values_are_accepted_and_unknown_values_refused():
    assert check_nsa_eligibility("emergency", "erisa_self_funded").status == ELIGIBLE
    with pytest.raises(ValueError, match="service_type"):
        check_nsa_eligibility("ambulance", ERISA)
    with pytest.raises(ValueError, match="plan_type"):
        check_nsa_eligibility(ER, "tricare")
