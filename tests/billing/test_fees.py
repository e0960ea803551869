"""Contingency fee rules: single-shot fees, the payment ledger and IDR fee splits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advocate.billing.fees import (
    BASES,
    Accrual,
    AgreementResolver,
    FeeTerms,
    IdrFeeSplit,
    Payment,
    accrue,
    agreement_resolver,
    cumulative_fee,
    fee_for_recovery,
    split_idr_fees,
    validate_terms,
)

D = Decimal
START = dt.date(2024, 1, 1)
# No example database: the suite must not write files into the shared tree.
PROPERTY = settings(database=None, deadline=None, max_examples=300)


def on(day: int) -> dt.date:
    return START + dt.timedelta(days=day)


def only(terms: FeeTerms) -> AgreementResolver:
    return agreement_resolver([(START, terms)])


def amounts(accruals: list[Accrual]) -> list[Decimal]:
    return [a.amount for a in accruals]


def cumulatives(accruals: list[Accrual]) -> list[Decimal]:
    return [a.cumulative_fee for a in accruals]


# --------------------------------------------------------------------------- validate_terms


class TestValidateTerms:
    @pytest.mark.parametrize(
        ("percent", "basis", "minimum", "cap"),
        [
            (D("25"), "incremental", None, None),
            (D("33.33"), "gross", D("500"), D("5000.00")),
            (D("0"), "incremental", None, None),
            (D("100"), "gross", None, None),
            (D("25.500"), "incremental", None, None),  # trailing zeros are not extra places
            (D("20"), "incremental", D("500"), D("500")),  # cap equal to minimum
            (D("20"), "incremental", D("0"), D("0")),
        ],
    )
    def test_valid_terms_have_no_errors(self, percent, basis, minimum, cap):
        assert validate_terms(percent, basis, minimum, cap) == []
        FeeTerms(percent, basis, minimum, cap)  # constructs without raising

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"percent": D("100.01")}, "percent"),
            ({"percent": D("-0.01")}, "percent"),
            ({"percent": D("25.125")}, "percent"),
            ({"percent": 25.0}, "percent"),  # float refused
            ({"percent": "25"}, "percent"),
            ({"percent": D("NaN")}, "percent"),
            ({"percent": D("Infinity")}, "percent"),
            ({"basis": "net"}, "basis"),
            ({"basis": None}, "basis"),
            ({"basis": "Gross"}, "basis"),
            ({"minimum": D("-1")}, "minimum"),
            ({"minimum": D("10.001")}, "minimum"),
            ({"minimum": 500.0}, "minimum"),
            ({"cap": D("-0.01")}, "cap"),
            ({"cap": D("1000.005")}, "cap"),
            ({"minimum": D("500"), "cap": D("499.99")}, "cap"),
        ],
    )
    def test_each_problem_is_reported_on_its_field(self, kwargs, field):
        values = {"percent": D("25"), "basis": "incremental", "minimum": None, "cap": None}
        values.update(kwargs)
        errors = validate_terms(**values)
        assert [f for f, _ in errors] == [field]
        assert all(message for _, message in errors)

    def test_all_problems_are_reported_together(self):
        errors = validate_terms(D("150"), "net", D("-5"), D("-1"))
        assert [field for field, _ in errors] == ["percent", "basis", "minimum", "cap"]

    def test_cap_below_minimum_message(self):
        assert validate_terms(D("25"), "gross", D("500"), D("100")) == [
            ("cap", "Cap must not be below the minimum.")
        ]

    def test_fee_terms_refuse_invalid_values(self):
        with pytest.raises(ValueError, match="percent"):
            FeeTerms(D("101"), "incremental")
        with pytest.raises(ValueError, match="cap"):
            FeeTerms(D("25"), "incremental", minimum=D("500"), cap=D("100"))

    def test_fee_terms_are_frozen(self):
        terms = FeeTerms(D("25"), "incremental")
        with pytest.raises(AttributeError):
            terms.percent = D("30")  # type: ignore[misc]


# --------------------------------------------------------------------------- fee_for_recovery


class TestFeeForRecovery:
    @pytest.mark.parametrize("recovery", [D("0"), D("0.00"), D("-0.01"), D("-1200")])
    def test_nothing_recovered_means_no_fee_even_with_a_minimum(self, recovery):
        terms = FeeTerms(D("25"), "incremental", minimum=D("500"))
        assert fee_for_recovery(terms, recovery) == D("0.00")

    def test_percent_of_recovery(self):
        assert fee_for_recovery(FeeTerms(D("25"), "incremental"), D("1200")) == D("300.00")
        assert fee_for_recovery(FeeTerms(D("33.33"), "gross"), D("1000")) == D("333.30")

    @pytest.mark.parametrize(
        ("percent", "recovery", "expected"),
        [
            (D("25"), D("10.02"), D("2.51")),  # 2.505: half-up, banker's would give 2.50
            (D("25"), D("0.02"), D("0.01")),  # 0.005: half-up, banker's would give 0.00
            (D("10"), D("0.05"), D("0.01")),  # 0.005 again
            (D("25"), D("10.06"), D("2.52")),  # 2.515
            (D("33.33"), D("0.01"), D("0.00")),  # 0.003333 rounds down
            (D("15"), D("0.03"), D("0.00")),  # 0.0045 is below the half cent
        ],
    )
    def test_rounds_half_up_to_cents(self, percent, recovery, expected):
        fee = fee_for_recovery(FeeTerms(percent, "incremental"), recovery)
        assert fee == expected
        assert fee.as_tuple().exponent == -2

    def test_minimum_raises_a_small_fee(self):
        terms = FeeTerms(D("20"), "incremental", minimum=D("500"))
        assert fee_for_recovery(terms, D("1000")) == D("500.00")
        assert fee_for_recovery(terms, D("5000")) == D("1000.00")  # above the minimum anyway

    def test_minimum_never_exceeds_the_recovery(self):
        terms = FeeTerms(D("20"), "incremental", minimum=D("500"))
        assert fee_for_recovery(terms, D("300")) == D("300.00")
        assert fee_for_recovery(terms, D("0.01")) == D("0.01")

    def test_cap_limits_the_fee(self):
        terms = FeeTerms(D("30"), "gross", cap=D("2500"))
        assert fee_for_recovery(terms, D("10000")) == D("2500.00")
        assert fee_for_recovery(terms, D("8000")) == D("2400.00")

    def test_cap_and_minimum_together(self):
        terms = FeeTerms(D("10"), "incremental", minimum=D("200"), cap=D("1000"))
        assert fee_for_recovery(terms, D("1000")) == D("200.00")
        assert fee_for_recovery(terms, D("5000")) == D("500.00")
        assert fee_for_recovery(terms, D("50000")) == D("1000.00")

    def test_refuses_floats_and_fractions_of_a_cent(self):
        terms = FeeTerms(D("25"), "incremental")
        with pytest.raises(TypeError):
            fee_for_recovery(terms, 1200.0)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="cents"):
            fee_for_recovery(terms, D("10.005"))
        with pytest.raises(ValueError):
            fee_for_recovery(terms, D("NaN"))


# --------------------------------------------------------------------------- ledger: examples


class TestLedger:
    def test_spec_example_incremental(self):
        terms = FeeTerms(D("25"), "incremental")
        payments = [Payment(1, on(10), D("300"), is_initial=True), Payment(2, on(40), D("1200"))]
        accruals = accrue(payments, only(terms))
        assert accruals[0] == Accrual(
            1, D("0.00"), D("0.00"), D("0.00"), "initial payment 300.00 is the baseline; no fee"
        )
        assert accruals[1] == Accrual(
            2,
            D("300.00"),
            D("300.00"),
            D("1200.00"),
            "25.00% of 1,200.00 recovered above initial payment 300.00",
        )
        assert cumulative_fee(payments, only(terms)) == D("300.00")

    def test_no_payments(self):
        resolver = only(FeeTerms(D("25"), "incremental"))
        assert accrue([], resolver) == []
        assert cumulative_fee([], resolver) == D("0.00")

    def test_without_an_initial_payment_everything_is_recovery(self):
        terms = FeeTerms(D("25"), "incremental")
        accruals = accrue([Payment("a", on(1), D("800"))], only(terms))
        assert accruals[0].cumulative_fee == D("200.00")
        assert accruals[0].explanation == "25.00% of 800.00 recovered"

    def test_cap_reached_halfway_through_partial_payments(self):
        terms = FeeTerms(D("20"), "incremental", cap=D("1000"))
        payments = [
            Payment(1, on(0), D("500"), is_initial=True),
            Payment(2, on(30), D("2000")),
            Payment(3, on(60), D("2000")),
            Payment(4, on(90), D("2000")),  # 20% of 6,000 = 1,200: capped
            Payment(5, on(120), D("2000")),
        ]
        accruals = accrue(payments, only(terms))
        assert cumulatives(accruals) == [D("0"), D("400"), D("800"), D("1000"), D("1000")]
        assert amounts(accruals) == [D("0"), D("400"), D("400"), D("200"), D("0")]
        assert accruals[3].explanation == (
            "20.00% of 6,000.00 recovered above initial payment 500.00"
            "; capped at the 1,000.00 case cap"
        )

    def test_recoupment_reverses_fee_as_a_new_negative_entry(self):
        terms = FeeTerms(D("25"), "incremental")
        payments = [
            Payment(1, on(0), D("100"), is_initial=True),
            Payment(2, on(30), D("1000")),
            Payment(3, on(60), D("-400")),
        ]
        accruals = accrue(payments, only(terms))
        assert amounts(accruals) == [D("0"), D("250.00"), D("-100.00")]
        assert accruals[2].cumulative_fee == D("150.00")
        # History is never rewritten: the earlier entries are unchanged.
        assert accrue(payments[:2], only(terms)) == accruals[:2]

    def test_recoupment_below_the_initial_payment_stops_at_zero(self):
        terms = FeeTerms(D("25"), "incremental")
        payments = [
            Payment(1, on(0), D("100"), is_initial=True),
            Payment(2, on(30), D("1000")),
            Payment(3, on(60), D("-1050")),  # takes back some of the initial payment too
            Payment(4, on(90), D("200")),  # first refills the 50 lost below the baseline
        ]
        accruals = accrue(payments, only(terms))
        assert cumulatives(accruals) == [D("0"), D("250"), D("0"), D("37.50")]
        assert amounts(accruals) == [D("0"), D("250"), D("-250"), D("37.50")]
        assert accruals[2].explanation == "nothing recovered above initial payment 100.00; no fee"
        assert accruals[3].fee_base == D("150.00")

    def test_agreement_change_between_two_payments(self):
        resolver = agreement_resolver(
            [
                (START, FeeTerms(D("20"), "incremental")),
                (on(60), FeeTerms(D("30"), "incremental")),
            ]
        )
        payments = [
            Payment(1, on(0), D("500"), is_initial=True),
            Payment(2, on(30), D("1000")),  # under the 20% agreement
            Payment(3, on(90), D("1000")),  # under the 30% agreement
        ]
        accruals = accrue(payments, resolver)
        assert amounts(accruals) == [D("0"), D("200.00"), D("300.00")]
        assert accruals[2].explanation == (
            "20.00% of 1,000.00 + 30.00% of 1,000.00 recovered above initial payment 500.00"
        )

    def test_agreement_takes_effect_on_its_effective_date(self):
        resolver = agreement_resolver(
            [(START, FeeTerms(D("20"), "incremental")), (on(60), FeeTerms(D("30"), "incremental"))]
        )
        assert cumulative_fee([Payment(1, on(59), D("100"))], resolver) == D("20.00")
        assert cumulative_fee([Payment(1, on(60), D("100"))], resolver) == D("30.00")

    def test_recoupment_takes_back_the_newest_increment_first(self):
        resolver = agreement_resolver(
            [(START, FeeTerms(D("20"), "incremental")), (on(60), FeeTerms(D("30"), "incremental"))]
        )
        payments = [
            Payment(1, on(30), D("1000")),  # 200 at 20%
            Payment(2, on(90), D("1000")),  # 300 at 30%
            Payment(3, on(120), D("-1000")),  # reverses the 30% layer, not the 20% one
        ]
        accruals = accrue(payments, resolver)
        assert amounts(accruals) == [D("200.00"), D("300.00"), D("-300.00")]
        assert accruals[2].explanation == "20.00% of 1,000.00 recovered"

    def test_gross_versus_incremental(self):
        payments = [Payment(1, on(0), D("1000"), is_initial=True), Payment(2, on(30), D("1000"))]
        incremental = accrue(payments, only(FeeTerms(D("25"), "incremental")))
        gross = accrue(payments, only(FeeTerms(D("25"), "gross")))
        assert incremental[-1].cumulative_fee == D("250.00")
        assert gross[-1].cumulative_fee == D("500.00")
        assert gross[-1].fee_base == D("2000.00")
        assert gross[-1].explanation == (
            "25.00% of 2,000.00 paid in total, including initial payment 1,000.00"
        )

    def test_gross_fee_is_contingent_on_recovering_something(self):
        payments = [Payment(1, on(0), D("1000"), is_initial=True)]
        assert cumulative_fee(payments, only(FeeTerms(D("25"), "gross"))) == D("0.00")
        payments.append(Payment(2, on(30), D("0.00")))
        assert cumulative_fee(payments, only(FeeTerms(D("25"), "gross"))) == D("0.00")

    def test_minimum_is_topped_up_and_limited_to_the_recovery(self):
        terms = FeeTerms(D("20"), "incremental", minimum=D("500"))
        payments = [
            Payment(1, on(0), D("1000"), is_initial=True),
            Payment(2, on(30), D("100")),  # 20 by percent, minimum limited to the 100 recovered
            Payment(3, on(60), D("900")),  # 200 by percent, raised to the 500 minimum
            Payment(4, on(90), D("2500")),  # 700 by percent
            Payment(5, on(120), D("-3500")),  # all recovery taken back: minimum reversed too
        ]
        accruals = accrue(payments, only(terms))
        assert cumulatives(accruals) == [D("0"), D("100"), D("500"), D("700"), D("0")]
        assert amounts(accruals) == [D("0"), D("100"), D("400"), D("200"), D("-700")]
        assert accruals[1].explanation == (
            "20.00% of 100.00 recovered above initial payment 1,000.00"
            "; raised to the 500.00 case minimum, limited to the 100.00 fee base"
        )
        assert accruals[2].explanation.endswith("; raised to the 500.00 case minimum")

    def test_lower_cap_in_a_later_agreement_is_a_negative_correction(self):
        resolver = agreement_resolver(
            [
                (START, FeeTerms(D("25"), "incremental", cap=D("1000"))),
                (on(60), FeeTerms(D("25"), "incremental", cap=D("600"))),
            ]
        )
        payments = [Payment(1, on(30), D("4000")), Payment(2, on(90), D("0.00"))]
        accruals = accrue(payments, resolver)
        assert amounts(accruals) == [D("1000.00"), D("-400.00")]
        assert accruals[1].cumulative_fee == D("600.00")

    def test_basis_comes_from_the_latest_agreement(self):
        resolver = agreement_resolver(
            [
                (START, FeeTerms(D("25"), "incremental")),
                (on(60), FeeTerms(D("25"), "gross")),
            ]
        )
        payments = [
            Payment(1, on(0), D("1000"), is_initial=True),
            Payment(2, on(30), D("1000")),
            Payment(3, on(90), D("500")),
        ]
        accruals = accrue(payments, resolver)
        # 25% of 1,000 incremental, then 25% of the whole 2,500 once gross applies.
        assert cumulatives(accruals) == [D("0"), D("250.00"), D("625.00")]
        assert amounts(accruals) == [D("0"), D("250.00"), D("375.00")]

    def test_rounding_happens_on_the_cumulative_fee(self):
        terms = FeeTerms(D("25"), "incremental")
        payments = [Payment(i, on(i), D("0.02")) for i in range(3)]
        accruals = accrue(payments, only(terms))
        # 0.005 -> 0.01, 0.010 -> 0.01, 0.015 -> 0.02; rounding each payment would give 0.03.
        assert cumulatives(accruals) == [D("0.01"), D("0.01"), D("0.02")]
        assert amounts(accruals) == [D("0.01"), D("0.00"), D("0.01")]
        assert sum(amounts(accruals)) == accruals[-1].cumulative_fee

    def test_initial_payment_before_the_agreement_is_fine(self):
        payments = [
            Payment(1, START - dt.timedelta(days=90), D("300"), is_initial=True),
            Payment(2, on(30), D("1200")),
        ]
        assert cumulative_fee(payments, only(FeeTerms(D("25"), "incremental"))) == D("300.00")

    def test_recovery_with_no_agreement_in_force_is_an_error(self):
        payments = [Payment(1, START - dt.timedelta(days=1), D("1200"))]
        with pytest.raises(LookupError, match="no fee agreement"):
            cumulative_fee(payments, only(FeeTerms(D("25"), "incremental")))

    def test_resolver_must_return_fee_terms(self):
        with pytest.raises(TypeError):
            cumulative_fee([Payment(1, on(1), D("10"))], lambda _: None)  # type: ignore[arg-type,return-value]

    def test_duplicate_agreement_dates_are_refused(self):
        terms = FeeTerms(D("25"), "incremental")
        with pytest.raises(ValueError, match="same date"):
            agreement_resolver([(START, terms), (START, terms)])


class TestPaymentValidation:
    resolver = staticmethod(only(FeeTerms(D("25"), "incremental")))

    def test_initial_payment_must_come_first(self):
        payments = [Payment(1, on(0), D("100")), Payment(2, on(1), D("100"), is_initial=True)]
        with pytest.raises(ValueError, match="first payment"):
            accrue(payments, self.resolver)

    def test_payments_must_be_in_date_order(self):
        payments = [Payment(1, on(5), D("100")), Payment(2, on(4), D("100"))]
        with pytest.raises(ValueError, match="date order"):
            cumulative_fee(payments, self.resolver)

    def test_payment_ids_are_unique(self):
        payments = [Payment(1, on(5), D("100")), Payment(1, on(6), D("100"))]
        with pytest.raises(ValueError, match="twice"):
            accrue(payments, self.resolver)

    def test_payments_must_be_payment_objects(self):
        with pytest.raises(TypeError):
            accrue([(1, on(0), D("100"), False)], self.resolver)  # type: ignore[list-item]

    @pytest.mark.parametrize(
        ("kwargs", "error"),
        [
            ({"amount": 100.0}, TypeError),
            ({"amount": D("100.001")}, ValueError),
            ({"amount": D("-1"), "is_initial": True}, ValueError),
            ({"date": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}, TypeError),
            ({"date": "2024-01-01"}, TypeError),
            ({"is_initial": 1}, TypeError),
        ],
    )
    def test_payment_refuses_bad_values(self, kwargs, error):
        values = {"id": 1, "date": on(0), "amount": D("100"), "is_initial": False}
        values.update(kwargs)
        with pytest.raises(error):
            Payment(**values)


# --------------------------------------------------------------------------- ledger: properties


def money(low: int, high: int) -> st.SearchStrategy[Decimal]:
    """Amounts in whole cents between ``low`` and ``high`` cents."""
    return st.integers(low, high).map(lambda c: Decimal(c).scaleb(-2))


@st.composite
def fee_terms(draw: st.DrawFn, basis: str | None = None) -> FeeTerms:
    percent = Decimal(draw(st.integers(0, 10_000))).scaleb(-2)
    minimum = draw(st.none() | money(0, 200_000))
    cap = draw(st.none() | money(int((minimum or 0) * 100), 2_000_000))
    return FeeTerms(percent, basis or draw(st.sampled_from(BASES)), minimum, cap)


@st.composite
def cases(draw: st.DrawFn, max_agreements: int = 3):
    """A resolver over 1..n dated agreements and a payment sequence within them."""
    count = draw(st.integers(1, max_agreements))
    offsets = sorted(draw(st.sets(st.integers(1, 400), min_size=count - 1, max_size=count - 1)))
    schedule = [(on(offset), draw(fee_terms())) for offset in [0, *offsets]]
    payments: list[Payment] = []
    if draw(st.booleans()):
        # The initial payment often predates the agreement; it needs no terms.
        initial_day = draw(st.integers(-200, 200))
        payments.append(Payment("p0", on(initial_day), draw(money(0, 500_000)), is_initial=True))
    days = sorted(draw(st.lists(st.integers(0, 500), max_size=12)))
    if payments:
        days = [max(day, (payments[0].date - START).days) for day in days]
    for index, day in enumerate(days, start=1):
        payments.append(Payment(f"p{index}", on(max(day, 0)), draw(money(-300_000, 500_000))))
    return agreement_resolver(schedule), schedule, payments


def expected_base(terms: FeeTerms, payments: list[Payment]) -> Decimal:
    """Independent statement of the fee base after all ``payments``."""
    initial = payments[0].amount if payments and payments[0].is_initial else D(0)
    total = sum((p.amount for p in payments), D(0))
    if total - initial <= 0:
        return D(0)
    return total - initial if terms.basis == "incremental" else total


@PROPERTY
@given(cases())
def test_accruals_sum_to_the_final_cumulative_fee(case):
    resolver, _, payments = case
    accruals = accrue(payments, resolver)
    assert len(accruals) == len(payments)
    assert [a.payment_id for a in accruals] == [p.id for p in payments]
    final = accruals[-1].cumulative_fee if accruals else D("0.00")
    assert sum(amounts(accruals), D(0)) == final == cumulative_fee(payments, resolver)


@PROPERTY
@given(cases())
def test_each_accrual_is_the_change_in_the_pure_cumulative_fee(case):
    resolver, _, payments = case
    accruals = accrue(payments, resolver)
    previous = D(0)
    for k, accrual in enumerate(accruals):
        assert accrual.cumulative_fee == cumulative_fee(payments[: k + 1], resolver)
        assert accrual.amount == accrual.cumulative_fee - previous
        assert accrual.cumulative_fee.as_tuple().exponent == -2
        previous = accrual.cumulative_fee


@PROPERTY
@given(cases())
def test_cumulative_fee_is_never_negative_nor_above_cap_or_base(case):
    resolver, _, payments = case
    for accrual, payment in zip(accrue(payments, resolver), payments, strict=True):
        assert accrual.cumulative_fee >= 0
        assert accrual.cumulative_fee <= accrual.fee_base
        if accrual.fee_base > 0:
            terms = resolver(payment.date)
            if terms.cap is not None:
                assert accrual.cumulative_fee <= terms.cap
            if terms.minimum is not None:
                assert accrual.cumulative_fee >= min(terms.minimum, accrual.fee_base)


@PROPERTY
@given(cases(max_agreements=1))
def test_single_agreement_ledger_matches_single_shot_fee(case):
    resolver, schedule, payments = case
    terms = schedule[0][1]
    for k in range(1, len(payments) + 1):
        prefix = payments[:k]
        base = expected_base(terms, prefix)
        assert cumulative_fee(prefix, resolver) == fee_for_recovery(terms, base)


@PROPERTY
@given(cases(), money(1, 500_000))
def test_recovering_then_losing_the_same_money_changes_nothing(case, amount):
    resolver, _, payments = case
    # A zero payment pins the latest date, so case-level terms are the same before and after.
    day = max(payments[-1].date, START) if payments else START
    settled = [*payments, Payment("zero", day, D("0.00"))]
    before = cumulative_fee(settled, resolver)
    extended = [*settled, Payment("in", day, amount), Payment("out", day, -amount)]
    accruals = accrue(extended, resolver)
    assert accruals[-1].cumulative_fee == before
    assert accruals[-1].amount == -accruals[-2].amount


@PROPERTY
@given(fee_terms(), money(-100_000, 10_000_000))
def test_single_shot_fee_bounds(terms, recovery):
    fee = fee_for_recovery(terms, recovery)
    if recovery <= 0:
        assert fee == 0
        return
    assert D(0) <= fee <= recovery
    if terms.cap is not None:
        assert fee <= terms.cap
    if terms.minimum is not None:
        assert fee >= min(terms.minimum, recovery)
    if terms.minimum is None and terms.cap is None:
        exact = terms.percent * recovery / 100
        assert abs(fee - exact) <= D("0.005")
        assert fee - exact != D("-0.005")  # a half cent always rounds up


# --------------------------------------------------------------------------- IDR fees


class TestSplitIdrFees:
    def test_firm_bears_all(self):
        assert split_idr_fees("firm", D("115")) == IdrFeeSplit(firm=D("115.00"), practice=D("0"))

    def test_practice_bears_all(self):
        assert split_idr_fees("practice", D("115")) == IdrFeeSplit(firm=D("0"), practice=D("115"))

    def test_even_split(self):
        assert split_idr_fees("split", D("115.00")) == IdrFeeSplit(D("57.50"), D("57.50"))

    def test_odd_cent_goes_to_the_practice(self):
        assert split_idr_fees("split", D("115.01")) == IdrFeeSplit(D("57.50"), D("57.51"))
        assert split_idr_fees("split", D("0.01")) == IdrFeeSplit(D("0.00"), D("0.01"))

    def test_refund_mirrors_the_charge(self):
        split = split_idr_fees("split", D("-115.01"))
        assert split == IdrFeeSplit(D("-57.50"), D("-57.51"))
        assert str(split_idr_fees("split", D("-0.01")).firm) == "0.00"  # no "-0.00"

    def test_unknown_bearer_and_bad_amounts(self):
        with pytest.raises(ValueError, match="bearer"):
            split_idr_fees("payer", D("115"))  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            split_idr_fees("split", 115.0)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            split_idr_fees("split", D("115.005"))

    @PROPERTY
    @given(st.sampled_from(["firm", "practice", "split"]), money(-1_000_000, 1_000_000))
    def test_parts_add_up_and_firm_never_bears_more_than_half(self, bearer, amount):
        split = split_idr_fees(bearer, amount)
        assert split.firm + split.practice == amount
        if bearer == "split":
            assert abs(split.firm) <= abs(amount) / 2 <= abs(split.practice)
            assert abs(split.practice - split.firm) <= D("0.01")
