"""Contingency fees: what the firm earns on a case's recoveries (domain.md, step 8).

The firm is paid a percent of what it recovers for a practice, on one of two
bases, with an optional minimum and cap per case.  A fee is earned when money
actually arrives and reversed when a payer recoups, so the ledger is built from
the case's payments in date order.

Pure module: no Flask, no database, ``Decimal`` only (floats are refused so a
binary rounding error can never reach an invoice).

Semantics, decided once here and relied on by invoicing:

* **Fee base.**  ``incremental``: what was recovered above the payer's initial
  payment, ``max(0, total paid - initial payment)``.  ``gross``: the total paid
  including the initial payment.  No fee is owed on either basis until something
  has been recovered above the initial payment (it is a contingency fee: no
  recovery, no fee); once it has, a ``gross`` fee is on the whole amount paid.
  Without an ``is_initial`` payment (the claim was first denied) the baseline is
  zero and both bases agree.
* **Percent, per increment.**  Each payment that raises the fee base is charged
  at the percent of the agreement in force on that payment's date.  A payment
  that lowers the fee base (a recoupment) takes back the most recent increments
  first (last in, first out), each at the percent it was charged at, so
  recovering and then losing the same money nets to nothing even across an
  agreement change.
* **Basis, minimum and cap, per case.**  They come from the agreement in force
  on the date of the latest payment and apply to the case as a whole.
* **Minimum.**  When the fee base is positive and the percent fee is below the
  minimum, the fee is raised to the minimum, but never above the fee base
  itself: a firm can't bill more than was recovered.  When the base drops back
  to zero, the minimum is reversed with everything else.
* **Cap.**  Applied last: the cumulative fee never exceeds the cap.  A lower cap
  in a later agreement produces a negative (correcting) accrual.
* **Rounding.**  The cumulative fee is rounded to cents, half-up, after each
  payment; accruals are differences of consecutive cumulative fees, so they sum
  to the final cumulative fee exactly and history is never rewritten (a
  correction is a new, possibly negative, entry).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Final, Literal

__all__ = [
    "BASES",
    "IDR_FEE_BEARERS",
    "Accrual",
    "AgreementResolver",
    "Basis",
    "FeeTerms",
    "IdrFeeBearer",
    "IdrFeeSplit",
    "Payment",
    "PaymentId",
    "accrue",
    "agreement_resolver",
    "cumulative_fee",
    "fee_for_recovery",
    "split_idr_fees",
    "validate_terms",
]

Basis = Literal["incremental", "gross"]
IdrFeeBearer = Literal["firm", "practice", "split"]
PaymentId = int | str

BASES: Final[tuple[str, ...]] = ("incremental", "gross")
IDR_FEE_BEARERS: Final[tuple[str, ...]] = ("firm", "practice", "split")

_CENT: Final = Decimal("0.01")
_ZERO: Final = Decimal("0.00")
_HUNDRED: Final = Decimal(100)


# --------------------------------------------------------------------------- helpers


def _cents(value: Decimal) -> Decimal:
    """Round to cents half-up: the rule in fee agreements, not banker's rounding.

    Adding zero turns a negative zero (``-0.00``) into ``0.00`` so it never
    shows on a statement.
    """
    return value.quantize(_CENT, rounding=ROUND_HALF_UP) + _ZERO


def _decimal_places(value: Decimal) -> int:
    """Significant decimal places (``Decimal('25.500')`` has 1), for "at most 2" checks."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # finite values only reach here
    return max(0, -exponent)


def _money(name: str, value: object, *, allow_negative: bool = True) -> Decimal:
    """Check an amount of money: a finite ``Decimal`` in whole cents.

    Raises ``TypeError`` for floats and other types (never silently convert a
    float) and ``ValueError`` for NaN, infinities and fractions of a cent.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite amount, not {value}")
    if _decimal_places(value) > 2:
        raise ValueError(f"{name} must be in whole cents, got {value}")
    if not allow_negative and value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def _fmt_money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _fmt_percent(value: Decimal) -> str:
    return f"{value:.2f}%"


# --------------------------------------------------------------------------- terms


def _terms_number(
    field: str, value: object, errors: list[tuple[str, str]], *, label: str
) -> Decimal | None:
    """Return ``value`` if it is a usable finite Decimal, else record why and return None."""
    if not isinstance(value, Decimal):
        errors.append((field, f"{label} must be a decimal number."))
        return None
    if not value.is_finite():
        errors.append((field, f"{label} must be a finite number."))
        return None
    return value


def validate_terms(
    percent: object,
    basis: object,
    minimum: object = None,
    cap: object = None,
) -> list[tuple[str, str]]:
    """Return ``(field, message)`` pairs for everything wrong with these fee terms.

    An empty list means the terms are valid.  Returning all problems at once
    (rather than raising on the first) lets a settings form show every error
    next to its field.  ``minimum`` and ``cap`` are optional (``None``).
    """
    errors: list[tuple[str, str]] = []

    pct = _terms_number("percent", percent, errors, label="Percent")
    if pct is not None:
        if pct < 0 or pct > _HUNDRED:
            errors.append(("percent", "Percent must be between 0 and 100."))
        elif _decimal_places(pct) > 2:
            errors.append(("percent", "Percent may have at most 2 decimal places (e.g. 33.33)."))

    if basis not in BASES:
        errors.append(("basis", "Basis must be 'incremental' or 'gross'."))

    amounts: dict[str, Decimal] = {}
    for field, value in (("minimum", minimum), ("cap", cap)):
        if value is None:
            continue
        label = field.capitalize()
        amount = _terms_number(field, value, errors, label=label)
        if amount is None:
            continue
        if amount < 0:
            errors.append((field, f"{label} must not be negative."))
        elif _decimal_places(amount) > 2:
            errors.append((field, f"{label} must be in whole cents."))
        else:
            amounts[field] = amount

    if "minimum" in amounts and "cap" in amounts and amounts["cap"] < amounts["minimum"]:
        errors.append(("cap", "Cap must not be below the minimum."))
    return errors


@dataclass(frozen=True)
class FeeTerms:
    """A practice's fee agreement as it bears on a case.

    ``percent`` is 0..100 with at most two decimals (``Decimal('33.33')`` means
    33.33 %).  ``minimum`` and ``cap`` are per case, in dollars, ``None`` when
    the agreement has none.  Construction validates (via ``validate_terms``)
    so invalid terms can never reach a calculation.
    """

    percent: Decimal
    basis: Basis
    minimum: Decimal | None = None
    cap: Decimal | None = None

    def __post_init__(self) -> None:
        errors = validate_terms(self.percent, self.basis, self.minimum, self.cap)
        if errors:
            raise ValueError("; ".join(f"{field}: {message}" for field, message in errors))


def _minimum_and_cap(fee: Decimal, base: Decimal, terms: FeeTerms) -> tuple[Decimal, str]:
    """Apply the case minimum (bounded by the base) and then the cap.

    Returns the fee and the explanation suffix ("" when neither applied).
    Called only with a positive base.
    """
    note = ""
    if terms.minimum is not None and fee < terms.minimum:
        if terms.minimum <= base:
            fee = _cents(terms.minimum)
            note = f"; raised to the {_fmt_money(fee)} case minimum"
        else:
            fee = base
            note = (
                f"; raised to the {_fmt_money(terms.minimum)} case minimum,"
                f" limited to the {_fmt_money(base)} fee base"
            )
    if terms.cap is not None and fee > terms.cap:
        fee = _cents(terms.cap)
        note = f"; capped at the {_fmt_money(fee)} case cap"
    return fee, note


def fee_for_recovery(terms: FeeTerms, recovery: Decimal) -> Decimal:
    """The fee on one recovery taken as a whole (a quote, or a single-payment case).

    Zero or negative recovery gives 0.00 (the minimum applies only when
    something was recovered).  Otherwise: ``percent`` of ``recovery`` rounded
    to cents half-up; raised to ``minimum`` but never above ``recovery`` (a firm
    can't bill more than was recovered); then limited to ``cap``.  ``basis`` is
    not consulted: the caller passes the amount the basis designates.
    """
    amount = _money("recovery", recovery)
    if amount <= 0:
        return _ZERO
    fee = _cents((terms.percent * amount).scaleb(-2))
    fee, _ = _minimum_and_cap(fee, amount, terms)
    return _cents(fee)


# --------------------------------------------------------------------------- ledger


@dataclass(frozen=True)
class Payment:
    """One payment on a case, as received (an 835 CLP/PLB line or a check).

    ``amount`` is negative for a reversal or recoupment.  ``is_initial`` marks
    the payer's first payment, the baseline for an ``incremental`` fee; it must
    be the first payment of the sequence and may be zero (a denial).
    """

    id: PaymentId
    date: dt.date
    amount: Decimal
    is_initial: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.date, dt.datetime) or not isinstance(self.date, dt.date):
            raise TypeError(f"payment {self.id!r}: date must be a datetime.date")
        if not isinstance(self.is_initial, bool):
            raise TypeError(f"payment {self.id!r}: is_initial must be a bool")
        _money(f"payment {self.id!r} amount", self.amount, allow_negative=not self.is_initial)


@dataclass(frozen=True)
class Accrual:
    """The fee movement caused by one payment.

    ``amount`` is the change in the cumulative fee (negative when a recoupment
    or a lower cap reverses fee already accrued); ``cumulative_fee`` is the
    case's fee after this payment; ``fee_base`` the amount the fee is computed
    on; ``explanation`` a one-line account for the practice's fee statement.
    """

    payment_id: PaymentId
    amount: Decimal
    cumulative_fee: Decimal
    fee_base: Decimal
    explanation: str


AgreementResolver = Callable[[dt.date], FeeTerms]
"""Returns the fee terms in force on a date; raises ``LookupError`` if none are."""


def agreement_resolver(schedule: Iterable[tuple[dt.date, FeeTerms]]) -> AgreementResolver:
    """Build a resolver from ``(effective date, terms)`` pairs.

    Terms apply from their effective date until the next one's.  A date before
    the first agreement raises ``LookupError``: charging a fee with no signed
    agreement is an error to surface, not a default to guess.
    """
    entries = sorted(schedule, key=lambda entry: entry[0])
    dates = [effective for effective, _ in entries]
    if len(set(dates)) != len(dates):
        raise ValueError("two fee agreements take effect on the same date")

    def resolve(on: dt.date) -> FeeTerms:
        index = bisect.bisect_right(dates, on) - 1
        if index < 0:
            raise LookupError(f"no fee agreement in force on {on.isoformat()}")
        return entries[index][1]

    return resolve


def _check_payments(payments: Sequence[Payment]) -> None:
    """Refuse sequences the ledger can't interpret unambiguously."""
    seen: set[PaymentId] = set()
    previous: dt.date | None = None
    for index, payment in enumerate(payments):
        if not isinstance(payment, Payment):
            raise TypeError(f"payments[{index}] is {type(payment).__name__}, not Payment")
        if payment.is_initial and index != 0:
            raise ValueError(
                f"payment {payment.id!r}: only the first payment can be the initial one"
            )
        if payment.id in seen:
            raise ValueError(f"payment {payment.id!r} appears twice")
        seen.add(payment.id)
        if previous is not None and payment.date < previous:
            raise ValueError(f"payment {payment.id!r} is out of date order")
        previous = payment.date


def _memoized(agreements: AgreementResolver) -> AgreementResolver:
    """Ask the resolver once per date, however often the ledger replays."""
    cache: dict[dt.date, FeeTerms] = {}

    def resolve(on: dt.date) -> FeeTerms:
        if on not in cache:
            terms = agreements(on)
            if not isinstance(terms, FeeTerms):
                raise TypeError(f"agreement resolver returned {type(terms).__name__} for {on}")
            cache[on] = terms
        return cache[on]

    return resolve


@dataclass(frozen=True)
class _Assessment:
    fee: Decimal
    base: Decimal
    explanation: str


def _fee_base(basis: str, paid: Decimal, initial: Decimal) -> Decimal:
    """What the percent applies to after ``paid`` in total: zero until something is recovered."""
    recovered = paid - initial
    if recovered <= 0:
        return _ZERO
    return recovered if basis == "incremental" else paid


def _assess(payments: Sequence[Payment], resolve: AgreementResolver) -> _Assessment:
    """The cumulative fee after the last of ``payments``: a pure replay of the case.

    The resolver is asked for the terms on the date of each payment that
    raises the fee base, and of the latest payment when the base is positive.
    """
    if not payments:
        return _Assessment(_ZERO, _ZERO, "no payments yet")
    has_initial = payments[0].is_initial
    initial = payments[0].amount if has_initial else _ZERO
    total = sum((payment.amount for payment in payments), _ZERO)
    latest = payments[-1]

    if total - initial <= 0:
        if latest.is_initial:
            text = f"initial payment {_fmt_money(initial)} is the baseline; no fee"
        elif has_initial:
            text = f"nothing recovered above initial payment {_fmt_money(initial)}; no fee"
        else:
            text = "nothing recovered; no fee"
        return _Assessment(_ZERO, _ZERO, text)

    terms = resolve(latest.date)
    # Layers of the fee base, oldest first: [amount, percent it was charged at].
    layers: list[list[Decimal]] = []
    paid = _ZERO
    base = _ZERO
    for payment in payments:
        paid += payment.amount
        new_base = _fee_base(terms.basis, paid, initial)
        change = new_base - base
        if change > 0:
            percent = resolve(payment.date).percent
            if layers and layers[-1][1] == percent:
                layers[-1][0] += change
            else:
                layers.append([change, percent])
        while change < 0:  # recoupment: take back the newest layers first
            top = layers[-1]
            taken = min(top[0], -change)
            top[0] -= taken
            change += taken
            if top[0] == 0:
                layers.pop()
        base = new_base

    percent_fee = _cents(sum((amount * percent for amount, percent in layers), _ZERO).scaleb(-2))
    fee, note = _minimum_and_cap(percent_fee, base, terms)

    by_percent: dict[Decimal, Decimal] = {}
    for amount, percent in layers:
        by_percent[percent] = by_percent.get(percent, _ZERO) + amount
    parts = " + ".join(
        f"{_fmt_percent(percent)} of {_fmt_money(amount)}" for percent, amount in by_percent.items()
    )
    if terms.basis == "incremental":
        what = (
            f"recovered above initial payment {_fmt_money(initial)}" if has_initial else "recovered"
        )
    else:
        what = (
            f"paid in total, including initial payment {_fmt_money(initial)}"
            if has_initial
            else "paid in total"
        )
    return _Assessment(_cents(fee), base, f"{parts} {what}{note}")


def cumulative_fee(payments: Sequence[Payment], agreements: AgreementResolver) -> Decimal:
    """What the case's total fee should be after the last of ``payments``.

    ``payments`` are the case's payments so far, in date order.  This is the
    single source of truth; ``accrue`` only takes differences of it.  See the
    module docstring for the exact basis, minimum, cap and rounding rules.
    """
    _check_payments(payments)
    return _assess(payments, _memoized(agreements)).fee


def accrue(payments: Sequence[Payment], agreements: AgreementResolver) -> list[Accrual]:
    """One accrual per payment: the change in ``cumulative_fee`` that payment caused.

    Because each accrual is ``cumulative_fee(payments[:k + 1]) -
    cumulative_fee(payments[:k])``, the accruals always sum to the final
    cumulative fee exactly, earlier entries never change when later payments
    arrive, and reversals appear as new negative entries.
    """
    _check_payments(payments)
    resolve = _memoized(agreements)
    accruals: list[Accrual] = []
    previous = _ZERO
    for k, payment in enumerate(payments):
        assessment = _assess(payments[: k + 1], resolve)
        accruals.append(
            Accrual(
                payment_id=payment.id,
                amount=assessment.fee - previous,
                cumulative_fee=assessment.fee,
                fee_base=assessment.base,
                explanation=assessment.explanation,
            )
        )
        previous = assessment.fee
    return accruals


# --------------------------------------------------------------------------- IDR fees


@dataclass(frozen=True)
class IdrFeeSplit:
    """Who bears how much of an IDR fee; ``firm + practice`` equals the fee exactly."""

    firm: Decimal
    practice: Decimal


def split_idr_fees(bearer: IdrFeeBearer, amount: Decimal) -> IdrFeeSplit:
    """Divide an IDR fee (administrative or IDR entity fee) per the fee agreement.

    ``"firm"`` or ``"practice"`` bears all of it; ``"split"`` halves it, and an
    odd cent goes to the practice: the firm's half is rounded toward zero, so
    the firm never bears more than half and the two parts always add up.  A
    negative amount (an IDR entity fee refunded to the prevailing party) is
    divided by the same rule, mirroring the charge it refunds.
    """
    fee = _money("IDR fee", amount)
    if bearer == "firm":
        return IdrFeeSplit(firm=_cents(fee), practice=_ZERO)
    if bearer == "practice":
        return IdrFeeSplit(firm=_ZERO, practice=_cents(fee))
    if bearer == "split":
        firm = _cents((fee / 2).quantize(_CENT, rounding=ROUND_DOWN))
        return IdrFeeSplit(firm=firm, practice=_cents(fee - firm))
    raise ValueError(f"IDR fee bearer must be one of {', '.join(IDR_FEE_BEARERS)}, not {bearer!r}")
