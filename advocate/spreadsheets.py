"""Every CSV and XLSX file the product hands out is written through this
module, so no export can forget CSV injection (OWASP): a spreadsheet runs a
cell that starts with = + - @ (or a tab or carriage return before one) as a
formula, so a text cell that starts with one of them is written with a
leading single quote and shows as text. Numbers (int, Decimal, float) stay
numbers; a text cell that is exactly a plain decimal number ("-12.50", how a
CSV carries an amount) cannot be a formula and is left alone.

- `neutralise(value)`: one cell.
- `CsvWriter`: `csv.writer` with every row neutralised; `drain()` for
  streamed responses, `getvalue()` for a whole file. `csv_text(rows)`.
- `XlsxWriter`: an openpyxl workbook whose `append(sheet, row)` neutralises
  (openpyxl would otherwise store a text starting with = as a formula).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def neutralise(value: Any) -> Any:
    """A cell as written: text that a spreadsheet would run gets a quote."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_LEADS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [neutralise(v) for v in row]


class CsvWriter:
    """A CSV writer that neutralises every row it writes."""

    def __init__(self, *, lineterminator: str = "\r\n") -> None:
        self._buf = io.StringIO()
        self._w = csv.writer(self._buf, lineterminator=lineterminator)

    def writerow(self, row: Iterable[Any]) -> None:
        self._w.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)

    def getvalue(self) -> str:
        return self._buf.getvalue()

    def drain(self) -> str:
        """What was written since the last drain (for a streamed response)."""
        out = self._buf.getvalue()
        self._buf.seek(0)
        self._buf.truncate()
        return out


def csv_text(rows: Iterable[Iterable[Any]], *, lineterminator: str = "\r\n") -> str:
    w = CsvWriter(lineterminator=lineterminator)
    w.writerows(rows)
    return w.getvalue()


class XlsxWriter:
    """An XLSX workbook whose rows are neutralised as they are appended."""

    def __init__(self) -> None:
        from openpyxl import Workbook

        self.workbook = Workbook()
        self._first_unused = True

    def sheet(self, title: str):
        """A new sheet (the workbook's first, empty sheet is reused once)."""
        if self._first_unused:
            self._first_unused = False
            ws = self.workbook.active
            ws.title = title
            return ws
        return self.workbook.create_sheet(title)

    def append(self, ws, row: Iterable[Any]) -> tuple:
        """Append one row; returns its cells (for formats and fonts)."""
        values = safe_row(row)
        ws.append(values)
        cells = ws[ws.max_row]
        for c, v in zip(cells, values, strict=False):
            if isinstance(v, str):
                c.data_type = "s"  # text, never a formula
        return cells

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self.workbook.save(out)
        return out.getvalue()
