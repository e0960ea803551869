"""What a report is made of: tables of typed values. The page, the CSV and
the XLSX are all rendered from the same `Table`s, so an export always
carries exactly the figures on screen (a test compares them).

Kinds: text, int, money (Decimal, cents), percent (Decimal, one decimal, 0 to
100), days (Decimal, one decimal), month ('YYYY-MM'). None is "no figure"
(nothing to divide by, or not yet available): blank in exports, a dash on
screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

KINDS = ("text", "int", "money", "percent", "days", "month")
NUMERIC = frozenset({"int", "money", "percent", "days"})


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"

    @property
    def is_numeric(self) -> bool:
        return self.kind in NUMERIC


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None
    # Per row, {column key: url}: the list behind a figure (screen only).
    links: list[dict[str, str]] = field(default_factory=list)

    def add(self, row: dict[str, Any], links: dict[str, str] | None = None) -> None:
        self.rows.append(row)
        self.links.append(links or {})

    def link(self, i: int, key: str) -> str | None:
        return self.links[i].get(key) if i < len(self.links) else None

    def kind_of(self, row: dict[str, Any], col: Column) -> str:
        # A figures table carries each row's own kind (a count, an amount, a percent).
        if col.kind == "auto":
            return row.get("_kind", "text")
        return col.kind


def raw(value: Any, kind: str) -> str:
    """A value as exports write it (and as pages carry it in data-value)."""
    if value is None:
        return ""
    if kind == "money":
        return f"{Decimal(value):.2f}"
    if kind in ("percent", "days"):
        return f"{Decimal(value):.1f}"
    return str(value)


def display(value: Any, kind: str) -> str:
    """A value as the page shows it."""
    if value is None:
        return "—"
    if kind == "money":
        v = Decimal(value)
        s = f"${abs(v):,.2f}"
        return f"-{s}" if v < 0 else s
    if kind == "percent":
        return f"{Decimal(value):.1f}%"
    if kind == "days":
        return f"{Decimal(value):.1f}"
    if kind == "int":
        return f"{int(value):,}"
    return str(value)


def cell(value: Any, kind: str) -> Any:
    """A value as an XLSX cell: numbers stay numbers."""
    if value is None:
        return None
    if kind == "money":
        return Decimal(value).quantize(Decimal("0.01"))
    if kind in ("percent", "days"):
        return Decimal(value).quantize(Decimal("0.1"))
    if kind == "int":
        return int(value)
    return str(value)
