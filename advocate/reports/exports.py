"""A report as CSV or XLSX: the same tables the page shows, values as
`tables.raw` writes them (CSV) or as numbers (XLSX).

CSV layout: a header block (report, range, filters), then each table as a
line "Table,<title>", its column labels, its rows, and a blank line.
XLSX: an "About" sheet with the header block, then one sheet per table.
"""

from __future__ import annotations

import csv
import io
import re

from advocate.reports.builders import Report
from advocate.reports.tables import Table, cell, raw


def _about(rep: Report, filters: list[tuple[str, str]]) -> list[list[str]]:
    rows = [
        ["Report", rep.title],
        ["From", rep.f.date_from.isoformat()],
        ["To", rep.f.date_to.isoformat()],
    ]
    rows += [[label, value] for label, value in filters]
    rows += [["Not yet available", g] for g in rep.gaps]
    return rows


def _safe(v: str) -> str:
    # A spreadsheet runs a cell that starts with = + - @ as a formula: names are text.
    if v and v[0] in "=+-@\t\r" and not re.fullmatch(r"-?\d+(\.\d+)?", v):
        return "'" + v
    return v


def _values(t: Table, row: dict) -> list:
    return [(row.get(c.key), t.kind_of(row, c)) for c in t.columns]


def to_csv(rep: Report, filters: list[tuple[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for r in _about(rep, filters):
        w.writerow([_safe(x) for x in r])
    for t in rep.all_tables:
        w.writerow([])
        w.writerow(["Table", t.title])
        w.writerow([c.label for c in t.columns])
        for row in t.rows:
            w.writerow(
                [
                    _safe(raw(v, k)) if k in ("text", "month") else raw(v, k)
                    for v, k in _values(t, row)
                ]
            )
    return buf.getvalue()


def _sheet_title(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", title)[:28].strip() or "Table"
    name, n = base, 2
    while name.lower() in used:
        name = f"{base[:25]} {n}"
        n += 1
    used.add(name.lower())
    return name


def to_xlsx(rep: Report, filters: list[tuple[str, str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    about = wb.active
    about.title = "About"
    for r in _about(rep, filters):
        about.append([_safe(x) for x in r])
    about.column_dimensions["A"].width = 20
    about.column_dimensions["B"].width = 60
    used = {"about"}
    bold = Font(bold=True)
    formats = {"money": "#,##0.00", "percent": "0.0", "days": "0.0", "int": "#,##0"}
    for t in rep.all_tables:
        ws = wb.create_sheet(_sheet_title(t.title, used))
        ws.append([c.label for c in t.columns])
        for c in ws[1]:
            c.font = bold
        for row in t.rows:
            values = []
            for v, k in _values(t, row):
                x = cell(v, k)
                values.append(_safe(x) if isinstance(x, str) else x)
            ws.append(values)
            for c, (_v, k) in zip(ws[ws.max_row], _values(t, row), strict=True):
                if k in formats:
                    c.number_format = formats[k]
        for i, c in enumerate(t.columns):
            ws.column_dimensions[ws.cell(row=1, column=i + 1).column_letter].width = max(
                12, len(c.label) + 4
            )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
