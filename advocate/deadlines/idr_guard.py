"""Keep Medicare, usual-and-customary and billed-charge figures out of IDR submissions.

Why: in federal IDR the certified IDR entity may not consider usual and
customary charges, the amount the provider would have billed, or public
payers' rates (Medicare, Medicaid, CHIP, TRICARE) (42 U.S.C. 300gg-111(c)(5)(D);
domain.md, "No Surprises Act"). An offer or brief that leans on them is
weaker at best, so the product refuses to put them in anything submitted for
IDR. Pure functions: text and data in, a list of problems out.

Two kinds of problem are found:

* words: "Medicare", "usual and customary", "UCR", "U&C", "FAIR Health",
  "billed charges" and their variants;
* figures: any amount equal to one the caller names as forbidden (the
  claim's billed charges, a Medicare fee...), in text or in data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = ["FORBIDDEN_TERMS", "IdrGuardError", "Violation", "check_idr_submission", "violations"]

_WHY = "the IDR entity may not consider it; argue from the QPA and the statutory factors"

FORBIDDEN_TERMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), label)
    for pattern, label in (
        (r"\bmedicare\b", "Medicare"),
        (r"\bmedicaid\b", "Medicaid"),
        (r"\btricare\b", "TRICARE"),
        (r"(?-i:\bCHIP\b)", "CHIP"),
        (r"\bRBRVS\b", "RBRVS (the Medicare fee schedule)"),
        (r"\bM?PFS\b", "the (Medicare) physician fee schedule"),
        (r"\bphysician\s+fee\s+schedule\b", "the (Medicare) physician fee schedule"),
        (r"\busual[\s,]+(?:and\s+)?customary\b", "usual and customary"),
        (r"\bUCR\b", "UCR (usual, customary and reasonable)"),
        (r"\bU\s*(?:&|and)\s*C\b", "U&C (usual and customary)"),
        (r"\bfair\s*health\b", "FAIR Health"),
        (r"\bbilled\s+(?:charges?|amounts?)\b", "billed charges"),
        (r"\bcharges?\s+billed\b", "billed charges"),
        (r"\bfull\s+charges?\b", "billed charges"),
        (r"\bchargemaster\b", "chargemaster (billed) charges"),
        (r"\bpercent(?:age)?\s+of\s+(?:billed|charges?)\b", "a percent of billed charges"),
        (r"%\s*of\s+(?:billed|charges?)\b", "a percent of billed charges"),
    )
)
"""Words that name a figure the IDR entity may not consider, with what they are."""

# Keys in submitted data that name such a figure (compared lower-case, _/- ignored).
_FORBIDDEN_KEYS: tuple[tuple[str, str], ...] = (
    ("medicare", "Medicare"),
    ("medicaid", "Medicaid"),
    ("tricare", "TRICARE"),
    ("usualandcustomary", "usual and customary"),
    ("usualcustomary", "usual and customary"),
    ("ucr", "UCR (usual, customary and reasonable)"),
    ("fairhealth", "FAIR Health"),
    ("billed", "billed charges"),
    ("chargemaster", "chargemaster (billed) charges"),
    ("rbrvs", "RBRVS (the Medicare fee schedule)"),
)

_AMOUNT = re.compile(r"(?<![\w.])\$?\s?(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?(?![\w])")


@dataclass(frozen=True, slots=True)
class Violation:
    field: str
    message: str


class IdrGuardError(ValueError):
    """Something meant for IDR carries a figure the IDR entity may not consider."""

    def __init__(self, found: list[Violation]):
        super().__init__("; ".join(f"{v.field}: {v.message}" for v in found))
        self.violations = found


def _amounts_in(text: str) -> Iterable[Decimal]:
    for match in _AMOUNT.finditer(text):
        whole, cents = match.group(1), match.group(2) or ""
        try:
            yield Decimal(whole.replace(",", "") + cents)
        except InvalidOperation:  # pragma: no cover - the pattern only matches digits
            continue


def _as_amount(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return None


def _figure_names(figures: Mapping[str, Decimal | None]) -> dict[Decimal, str]:
    named: dict[Decimal, str] = {}
    for name, amount in figures.items():
        if amount is None or amount <= 0:
            continue
        named.setdefault(Decimal(amount).quantize(Decimal("0.01")), name)
    return named


def _text_violations(text: str, field: str, figures: dict[Decimal, str]) -> list[Violation]:
    found: list[Violation] = []
    seen: set[str] = set()
    for pattern, label in FORBIDDEN_TERMS:
        match = pattern.search(text)
        if match and label not in seen:
            seen.add(label)
            found.append(Violation(field, f"mentions {label} (“{match.group(0)}”): {_WHY}."))
    for amount in _amounts_in(text):
        name = figures.get(amount.quantize(Decimal("0.01")))
        if name is not None:
            found.append(
                Violation(field, f"contains {amount:,.2f}, which is the claim's {name}: {_WHY}.")
            )
    return found


def _data_violations(
    data: object, path: str, figures: dict[Decimal, str], depth: int = 0
) -> list[Violation]:
    if depth > 20:  # hand-built data is shallow; refuse to walk a cycle forever
        return [Violation(path or "data", "is nested too deeply to check")]
    found: list[Violation] = []
    if isinstance(data, Mapping):
        for key, value in data.items():
            sub = f"{path}.{key}" if path else str(key)
            squashed = re.sub(r"[\s_\-&]", "", str(key)).lower()
            hit = next((label for token, label in _FORBIDDEN_KEYS if token in squashed), None)
            if hit is not None and value not in (None, "", [], {}):
                found.append(Violation(sub, f"is a {hit} figure: {_WHY}."))
                continue
            found.extend(_data_violations(value, sub, figures, depth + 1))
    elif isinstance(data, (list, tuple, set, frozenset)):
        for i, value in enumerate(data):
            found.extend(_data_violations(value, f"{path}[{i}]", figures, depth + 1))
    elif isinstance(data, str):
        found.extend(_text_violations(data, path or "text", figures))
    else:
        amount = _as_amount(data)
        if amount is not None:
            name = figures.get(amount.quantize(Decimal("0.01")))
            if name is not None:
                found.append(
                    Violation(
                        path or "amount",
                        f"is {amount:,.2f}, which is the claim's {name}: {_WHY}.",
                    )
                )
    return found


def violations(
    text: str | None = None,
    data: object = None,
    *,
    figures: Mapping[str, Decimal | None] | None = None,
    field: str = "text",
) -> list[Violation]:
    """Everything in ``text`` and ``data`` that an IDR submission may not carry.

    ``figures`` names the amounts that must not appear, e.g.
    ``{"billed charges": Decimal("12000.00"), "Medicare fee": Decimal("812.40")}``;
    an equal amount anywhere (as a number in the text, as a value in the
    data) is refused. ``data`` may be a mapping, a sequence, a string or a
    number; mapping keys naming a forbidden figure (``medicare_rate``,
    ``billed_total``, ``ucr``...) are refused whatever their value.
    """
    named = _figure_names(figures or {})
    found: list[Violation] = []
    if text:
        found.extend(_text_violations(text, field, named))
    if data is not None:
        found.extend(_data_violations(data, "", named))
    return found


def check_idr_submission(
    text: str | None = None,
    data: object = None,
    *,
    figures: Mapping[str, Decimal | None] | None = None,
    field: str = "text",
) -> None:
    """Raise :class:`IdrGuardError` listing every problem :func:`violations` finds."""
    found = violations(text, data, figures=figures, field=field)
    if found:
        raise IdrGuardError(found)
