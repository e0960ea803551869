"""Cleaning and checking payer data. Pure functions, no Flask: the forms, the
API and the CSV import share them, so a value accepted in one place is
accepted everywhere.

Each `parse_*` function takes text (or None) and returns the clean value, or
raises ValueError with a message a person can act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from advocate.payers.defaults import PLAN_TYPE_ALIASES, PLAN_TYPES

_PHONE_EXT_RE = re.compile(r"\s*(?:x|ext\.?|extension|#)\s*(\d{1,6})\s*$", re.IGNORECASE)
_HOST_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.IGNORECASE
)


class FieldErrors(ValueError):
    """Several field-level problems at once: [(field, message), ...]. Field
    names are form/API names (e.g. `appeal_levels[0].window_days`)."""

    def __init__(self, errors: Iterable[tuple[str, str]]):
        self.errors = list(errors)
        super().__init__("; ".join(f"{f}: {m}" for f, m in self.errors))

    def as_details(self) -> list[dict]:
        return [{"field": f, "message": m} for f, m in self.errors]


def text_or_none(value) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def parse_text(value, *, max_length: int, label: str = "This value") -> str | None:
    value = text_or_none(value)
    if value is not None and len(value) > max_length:
        raise ValueError(f"{label} is {len(value)} characters long; the limit is {max_length}.")
    return value


def parse_phone(value) -> str | None:
    """A US phone or fax number: 10 digits (an optional leading 1), an
    optional extension. Written back as '(800) 555-0100 ext. 12'."""
    value = text_or_none(value)
    if value is None:
        return None
    ext = None
    m = _PHONE_EXT_RE.search(value)
    if m:
        ext = m.group(1)
        value = value[: m.start()]
    if re.search(r"[^\d\s().+\-/]", value):
        raise ValueError(
            f"'{value}' is not a phone number: use 10 digits, e.g. (800) 555-0100, with 'ext. 123' for an extension."
        )
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise ValueError(
            f"'{value.strip()}' has {len(digits)} digits; a US number has 10, e.g. (800) 555-0100."
        )
    out = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return f"{out} ext. {ext}" if ext else out


def parse_url(value) -> str | None:
    """An http(s) web address. A bare host ('www.availity.com') gets https://."""
    value = text_or_none(value)
    if value is None:
        return None
    hint = "Enter a web address such as https://provider.example.com/appeals."
    if any(c.isspace() for c in value):
        raise ValueError(f"'{value}' contains spaces. {hint}")
    candidate = value
    if "://" not in candidate:
        if re.match(r"^[a-z][a-z0-9+.\-]*:(?!\d)", candidate, re.IGNORECASE):
            raise ValueError(f"'{value}' must start with https:// or http://. {hint}")
        candidate = "https://" + candidate
    try:
        parts = urlsplit(candidate)
        _ = parts.port
    except ValueError:
        raise ValueError(f"'{value}' is not a web address. {hint}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"'{value}' must start with https:// or http://. {hint}")
    host = parts.hostname or ""
    if parts.username or parts.password:
        raise ValueError(
            f"'{value}' contains a user name or password; leave credentials out of the address."
        )
    if not _HOST_RE.match(host):
        raise ValueError(f"'{value}' has no valid host name. {hint}")
    if len(candidate) > 500:
        raise ValueError("The web address is longer than 500 characters.")
    return candidate


def parse_plan_type(value) -> str:
    raw = text_or_none(value)
    if raw is None:
        raise ValueError("Choose a plan type.")
    key = raw.casefold().replace("_", " ").strip()
    for code, label in PLAN_TYPES.items():
        if key in (code.replace("_", " "), label.casefold()):
            return code
    if key in PLAN_TYPE_ALIASES:
        return PLAN_TYPE_ALIASES[key]
    allowed = ", ".join(PLAN_TYPES)
    raise ValueError(f"'{raw}' is not a plan type; use one of: {allowed}.")


def parse_plan_types(value) -> list[str]:
    """Several plan types: a list, or text separated by ';', ',' or '|'."""
    if value is None:
        return []
    if isinstance(value, str):
        items = [v for v in re.split(r"[;,|]", value) if v.strip()]
    elif isinstance(value, (list, tuple)):
        items = [v for v in value if text_or_none(v)]
    else:
        raise ValueError(
            'Give the plan types as a list, e.g. ["erisa_self_funded", "fully_insured"].'
        )
    out: list[str] = []
    for item in items:
        code = parse_plan_type(item)
        if code not in out:
            out.append(code)
    # Stored in the order of PLAN_TYPES, whatever order they came in.
    order = list(PLAN_TYPES)
    return sorted(out, key=order.index)


def parse_int(value, *, low: int, high: int, label: str = "This value") -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{label} must be a whole number.")
    try:
        if isinstance(value, str):
            n = int(value.strip())
        elif isinstance(value, int):
            n = value
        elif isinstance(value, (float, Decimal)) and value == int(value):
            n = int(value)
        else:
            raise ValueError
    except (ValueError, TypeError):
        raise ValueError(f"{label} must be a whole number.") from None
    if not low <= n <= high:
        raise ValueError(f"{label} must be between {low} and {high}; got {n}.")
    return n


def parse_percent(value, *, low: int, high: int, label: str = "The percent") -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{label} must be a number.")
    try:
        raw = str(value).strip().rstrip("%").strip()
        d = Decimal(raw)
    except (InvalidOperation, ValueError):
        raise ValueError(f"{label} must be a number, e.g. 140 or 82.5.") from None
    if not d.is_finite():
        raise ValueError(f"{label} must be a number, e.g. 140 or 82.5.")
    if not low <= d <= high:
        raise ValueError(f"{label} must be between {low} and {high}; got {d.normalize():f}.")
    if d.as_tuple().exponent < -2:
        raise ValueError(f"{label} takes at most two decimals.")
    return d.quantize(Decimal("0.01"))


def parse_date(value, *, label: str = "The date") -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{label} must be a date written YYYY-MM-DD; got '{value}'.") from None


def parse_bool_or_none(value) -> bool | None:
    """'yes'/'no'/'unknown' (and true/false/null): None means unknown."""
    if value is None or isinstance(value, bool):
        return value
    key = str(value).strip().casefold()
    if key in ("yes", "y", "true", "1"):
        return True
    if key in ("no", "n", "false", "0"):
        return False
    if key in ("", "unknown", "null", "none"):
        return None
    raise ValueError(f"'{value}' is not yes, no or unknown.")


def name_key(name: str) -> str:
    """Payer names compare case-insensitively with whitespace collapsed."""
    return " ".join(name.split()).casefold()


def parse_email(value) -> str | None:
    value = text_or_none(value)
    if value is None:
        return None
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"'{value}' is not an email address: {exc}") from None
