"""Form helpers shared by every feature."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Select choices in WTForms 3.3's form (tuples are deprecated)."""
    return [SelectChoice(value, label) for value, label in pairs]
