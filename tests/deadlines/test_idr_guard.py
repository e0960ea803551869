"""Nothing submitted for IDR may carry Medicare, usual-and-customary or
billed-charge figures: the guard, and its use on the IDR offer form."""

from __future__ import annotations

from decimal import Decimal

import pytest

from advocate.deadlines.idr_guard import IdrGuardError, check_idr_submission, violations


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Our offer is 250% of Medicare for this code.", "Medicare"),
        ("MEDICARE's fee schedule allows $812.", "Medicare"),
        ("The usual and customary rate in this ZIP is higher.", "usual and customary"),
        ("Usual, customary and reasonable charges support it.", "usual and customary"),
        ("The UCR for 99285 is well above the QPA.", "UCR"),
        ("Priced at the 80th percentile of U&C.", "U&C"),
        ("FAIR Health's 80th percentile benchmark.", "FAIR Health"),
        ("Fairhealth data shows it.", "FAIR Health"),
        ("We ask for our billed charges in full.", "billed charges"),
        ("Paid at 60 percent of billed.", "a percent of billed charges"),
        ("The Medicaid rate is irrelevant.", "Medicaid"),
    ],
)
def test_the_guard_refuses_forbidden_words(text, named):
    found = violations(text)
    assert found, text
    assert any(named in v.message for v in found), [v.message for v in found]
    with pytest.raises(IdrGuardError):
        check_idr_submission(text)


def test_the_guard_accepts_an_offer_argued_from_the_qpa_and_the_statutory_factors():
    text = (
        "Our offer of $1,300.00 is 186% of the QPA of $700.00, justified by the physician's "
        "training and experience, the acuity of the patient's condition, the complexity of the "
        "service, the market share of the plan, and our good-faith efforts to contract."
    )
    assert (
        violations(
            text,
            {"offer": Decimal("1300.00"), "qpa": Decimal("700.00")},
            figures={"billed charges": Decimal("2400.00")},
        )
        == []
    )
    # Words that merely contain a forbidden one are fine.
    assert violations("Medical decision-making and the chipped bone.") == []


def test_the_guard_refuses_the_claims_own_figures_in_text_and_data():
    figures = {"billed charges": Decimal("12000.00"), "Medicare fee": Decimal("1532.10")}
    found = violations(
        "We propose 12,000.00 for the knee replacement.", figures=figures, field="offer_basis"
    )
    assert [v.field for v in found] == ["offer_basis"]
    assert "12,000.00, which is the claim's billed charges" in found[0].message
    assert violations("$1532.10 is what we ask.", figures=figures)
    found = violations(None, {"offer": Decimal("1532.10")}, figures=figures)
    assert found and found[0].field == "offer" and "Medicare fee" in found[0].message
    # Keys that name a forbidden figure are refused whatever their value.
    found = violations(
        None, {"amounts": {"medicare_rate": "812.40", "ucr_80th": 1000, "billed_total": 5}}
    )
    assert sorted(v.field for v in found) == [
        "amounts.billed_total",
        "amounts.medicare_rate",
        "amounts.ucr_80th",
    ]
    # Nested text in data is scanned too.
    found = violations(None, {"brief": ["QPA-based", "and 150% of Medicare"]})
    assert found and found[0].field == "brief[1]"
