"""A report as CSV or XLSX: the same tables the page shows, values as
`tables.raw` writes them (CSV) or as numbers (XLSX).

CSV layout: a header block (report, range, filters), then each table as a
line "Table,<title>", its column labels, its rows, and a blank line.
XLSX: an "About" sheet with the header block, then one sheet per table.
"""

from __future__ import annotations

import re

from advocate.reports.builders import Report
from advocate.reports.tables import Table, cell, raw
from advocate.spreadsheets import CsvWriter, XlsxWriter


def _about(rep: Report, filters: list[tuple[str, str]]) -> list[list[str]]:
    rows = [
        ["Report", rep.title],
        ["From", rep.f.date_from.isoformat()],
        ["To", rep.f.date_to.isoformat()],
    ]
    rows += [[label, value] for label, value in filters]
    rows += [["Not yet available", g] for g in rep.gaps]
    return rows


def _values(t: Table, row: dict) -> list:
    return [(row.get(c.key), t.kind_of(row, c)) for c in t.columns]


def to_csv(rep: Report, filters: list[tuple[str, str]]) -> str:
    w = CsvWriter()
    w.writerows(_about(rep, filters))
    for t in rep.all_tables:
        w.writerow([])
        w.writerow(["Table", t.title])
        w.writerow([c.label for c in t.columns])
        for row in t.rows:
            w.writerow([raw(v, k) for v, k in _values(t, row)])
    return w.getvalue()


def _sheet_title(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", title)[:28].strip() or "Table"
    name, n = base, 2
    while name.lower() in used:
        name = f"{base[:25]} {n}"
        n += 1
    used.add(name.lower())
    return name


def to_xlsx(rep: Report, filters: list[tuple[str, str]]) -> bytes:
    from openpyxl.styles import Font

    book = XlsxWriter()
    about = book.sheet("About")
    for r in _about(rep, filters):
        book.append(about, r)
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 60
    used = {"about"}
    bold = Font(bold=True)
    formats = {"money": "#,##0.00", "percent": "0.0", "days": "0.0", "int": "#,##0"}
    for t in rep.all_tables:
        ws = book.sheet(_sheet_title(t.title, used))
        for c in book.append(ws, [c.label for c in t.columns]):
            c.font = bold
        for row in t.rows:
            values = _values(t, row)
            cells = book.append(ws, [cell(v, k) for v, k in values])
            for c, (_v, k) in zip(cells, values, strict=True):
                if k in formats:
                    c.number_format = formats[k]
        for i, c in enumerate(t.columns):
            ws.column_dimensions[ws.cell(row=1, column=i + 1).column_letter].width = max(
                12, len(c.label) + 4
            )
    return book.to_bytes()
