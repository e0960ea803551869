"""CSV imports, the same way everywhere: parse, preview, then all or nothing.

Every import (payers today, claims later) follows one flow:

1. `CsvSchema.parse(data)` turns the uploaded bytes into a `Preview`: the rows
   it could read, every error as (line number, column, message), and counts.
   It never touches the database, so it runs in tests without an app.
2. The view shows the preview and keeps the bytes in an `ImportStash` row
   (tenant-scoped, keyed by a random token, checked against its SHA-256),
   so the confirm step re-parses exactly the file the person saw.
3. On confirm the feature's service re-parses the stash and writes every row
   in one transaction, or nothing if any row has an error (`Preview.ok`).

Rules of the format (a spreadsheet's "CSV UTF-8" export):
- UTF-8, with or without a byte-order mark; anything else is refused with a
  message saying how to fix it (not guessed: a wrong guess corrupts names).
- The first non-blank line is the header. Headers match case-insensitively,
  ignoring spaces, hyphens and underscores, and may use a column's aliases.
- Line numbers are the file's own physical line numbers (the header is line 1
  when the file starts with it), so a person can find the line in an editor.
  A quoted value spanning lines is reported at the line where its row starts.
- Blank lines and rows whose cells are all empty are skipped.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from advocate.db import IdType, TimestampMixin, utcnow
from advocate.extensions import db
from advocate.spreadsheets import csv_text
from tenants import TenantScoped

__all__ = [
    "Column",
    "CsvSchema",
    "ImportStash",
    "ParsedRow",
    "Preview",
    "RowError",
    "load_stash",
    "normalise_header",
    "stash_upload",
    "discard_stash",
]

DEFAULT_MAX_ROWS = 5000
STASH_LIFETIME = timedelta(hours=1)


def normalise_header(value: str) -> str:
    """'Payer ID', 'payer_id', ' PAYER-id ' -> 'payerid'."""
    return re.sub(r"[\s_\-.]+", "", (value or "").strip().casefold())


@dataclass(frozen=True)
class Column:
    """One column of an import.

    `parse` turns the cell's text (already stripped; '' when empty) into a
    value, or raises ValueError with a message a person can act on. Empty
    optional cells are `None` without calling `parse`; an empty required cell
    is an error without calling it either.
    """

    key: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    parse: Callable[[str], Any] | None = None
    help: str = ""
    example: str = ""

    def names(self) -> tuple[str, ...]:
        return (self.key, *self.aliases)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"Line {self.line}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class ParsedRow:
    line: int
    values: dict[str, Any]
    raw: dict[str, str]
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Preview:
    """What an upload would do. `ok` only when the file could be read and no
    row has an error: the all-or-nothing rule."""

    rows: list[ParsedRow] = field(default_factory=list)
    file_errors: list[RowError] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # key -> header as written
    ignored_headers: list[str] = field(default_factory=list)
    sha256: str = ""

    @property
    def errors(self) -> list[RowError]:
        """Every error, file-level first, then by line."""
        row_errors = [e for r in self.rows for e in r.errors]
        return list(self.file_errors) + sorted(row_errors, key=lambda e: e.line)

    @property
    def ok(self) -> bool:
        return not self.file_errors and bool(self.rows) and all(r.ok for r in self.rows)

    @property
    def total_rows(self) -> int:
        return len(self.rows)

    @property
    def valid_rows(self) -> int:
        return sum(1 for r in self.rows if r.ok)

    @property
    def error_rows(self) -> int:
        return sum(1 for r in self.rows if not r.ok)

    def first(self, n: int = 20) -> list[ParsedRow]:
        return self.rows[:n]

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.total_rows,
            "valid_rows": self.valid_rows,
            "error_rows": self.error_rows,
            "errors": len(self.errors),
        }


RowValidator = Callable[[dict[str, Any]], Iterable[tuple[str | None, str]]]
FileValidator = Callable[[list[ParsedRow]], Iterable[RowError]]


class CsvSchema:
    """The columns of one kind of import, and its cross-field checks.

    `row_validator(values)` yields (column key or None, message) for problems
    that span cells; it runs only when every cell parsed. `file_validator(rows)`
    yields `RowError`s across rows (e.g. a name given twice in the file).
    """

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        row_validator: RowValidator | None = None,
        file_validator: FileValidator | None = None,
        max_rows: int = DEFAULT_MAX_ROWS,
    ):
        self.columns = list(columns)
        self.row_validator = row_validator
        self.file_validator = file_validator
        self.max_rows = max_rows
        self._by_name: dict[str, Column] = {}
        for col in self.columns:
            for name in col.names():
                key = normalise_header(name)
                if key in self._by_name and self._by_name[key] is not col:
                    raise ValueError(f"header name {name!r} is used by two columns")
                self._by_name[key] = col

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    @property
    def optional(self) -> list[Column]:
        return [c for c in self.columns if not c.required]

    def template_header(self) -> str:
        """A header line with every column, for a downloadable template."""
        return csv_text([[c.key for c in self.columns]], lineterminator="\n")

    # -- parsing ---------------------------------------------------------

    def parse(self, data: bytes) -> Preview:
        preview = Preview(sha256=hashlib.sha256(data).hexdigest())
        text, err = decode(data)
        if err is not None:
            preview.file_errors.append(err)
            return preview
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        header: list[str] | None = None
        header_line = 0
        mapping: dict[int, Column] = {}
        last_line = 0
        try:
            for record in reader:
                start_line, last_line = last_line + 1, reader.line_num
                if not any(cell.strip() for cell in record):
                    continue
                if header is None:
                    header, header_line = record, start_line
                    mapping = self._map_header(header, header_line, preview)
                    if preview.file_errors:
                        return preview
                    continue
                if len(preview.rows) >= self.max_rows:
                    preview.file_errors.append(
                        RowError(
                            start_line,
                            None,
                            f"The file has more than {self.max_rows:,} rows; split it into smaller files.",
                        )
                    )
                    return preview
                preview.rows.append(self._parse_row(record, start_line, len(header), mapping))
        except csv.Error as exc:
            preview.file_errors.append(
                RowError(
                    reader.line_num or last_line + 1,
                    None,
                    f"The file is not valid CSV here ({exc}); check for an unclosed quote.",
                )
            )
            return preview
        if header is None:
            preview.file_errors.append(
                RowError(1, None, "The file is empty: it needs a header line and at least one row.")
            )
            return preview
        if not preview.rows:
            preview.file_errors.append(
                RowError(header_line, None, "The file has a header but no rows.")
            )
            return preview
        if self.file_validator is not None:
            by_line = {r.line: r for r in preview.rows}
            for e in self.file_validator([r for r in preview.rows if r.ok]):
                target = by_line.get(e.line)
                if target is not None:
                    target.errors.append(e)
                else:
                    preview.file_errors.append(e)
        return preview

    def _map_header(self, header: list[str], line: int, preview: Preview) -> dict[int, Column]:
        mapping: dict[int, Column] = {}
        seen: dict[str, str] = {}
        for i, raw in enumerate(header):
            name = raw.strip()
            if not name:
                continue
            col = self._by_name.get(normalise_header(name))
            if col is None:
                preview.ignored_headers.append(name)
                continue
            if col.key in seen:
                preview.file_errors.append(
                    RowError(
                        line,
                        name,
                        f"Columns '{seen[col.key]}' and '{name}' are both {col.key}; keep one.",
                    )
                )
                continue
            seen[col.key] = name
            mapping[i] = col
        preview.columns = dict(seen)
        for col in self.required:
            if col.key not in seen:
                aka = f" (or {', '.join(repr(a) for a in col.aliases)})" if col.aliases else ""
                preview.file_errors.append(
                    RowError(
                        line,
                        col.key,
                        f"Required column '{col.key}'{aka} is missing from the header.",
                    )
                )
        return mapping

    def _parse_row(
        self, record: list[str], line: int, width: int, mapping: dict[int, Column]
    ) -> ParsedRow:
        raw: dict[str, str] = {}
        values: dict[str, Any] = {c.key: None for c in self.columns}
        row = ParsedRow(line=line, values=values, raw=raw)
        if len(record) > width and any(cell.strip() for cell in record[width:]):
            row.errors.append(
                RowError(
                    line,
                    None,
                    f"This row has {len(record)} cells but the header has {width}; check for an unquoted comma.",
                )
            )
        for i, col in mapping.items():
            cell = record[i].strip() if i < len(record) else ""
            raw[col.key] = cell
            if cell == "":
                if col.required:
                    row.errors.append(RowError(line, col.key, "is required."))
                continue
            if col.parse is None:
                values[col.key] = cell
                continue
            try:
                values[col.key] = col.parse(cell)
            except ValueError as exc:
                row.errors.append(RowError(line, col.key, str(exc)))
        if row.ok and self.row_validator is not None:
            for column, message in self.row_validator(values):
                row.errors.append(RowError(line, column, message))
        return row


def decode(data: bytes) -> tuple[str, RowError | None]:
    """UTF-8 text of an upload (BOM removed), or why it cannot be read."""
    if not data or not data.strip():
        return "", RowError(
            1, None, "The file is empty: it needs a header line and at least one row."
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "", RowError(
            1,
            None,
            "The file is UTF-16 text. Save it as 'CSV UTF-8 (comma delimited)' and upload it again.",
        )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return "", RowError(
            line,
            None,
            f"The file is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}). "
            "Save it as 'CSV UTF-8 (comma delimited)' and upload it again.",
        )


def errors_by_line(errors: Iterable[RowError]) -> Mapping[int, list[RowError]]:
    out: dict[int, list[RowError]] = {}
    for e in errors:
        out.setdefault(e.line, []).append(e)
    return out


# -- the stash between preview and confirm ----------------------------------


class ImportStash(TenantScoped, TimestampMixin, db.Model):
    """An uploaded file waiting for its confirm step. Tenant-scoped (ORM
    filter and RLS), found by a random token, bound to the person who
    uploaded it, checked against its hash, and short-lived."""

    __tablename__ = "import_stashes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime]


def stash_upload(
    *, kind: str, data: bytes, filename: str | None, actor_id: int | None
) -> ImportStash:
    """Keep an upload until it is confirmed; flushes. Expired stashes of the
    tenant in scope are removed on the way."""
    now = utcnow()
    db.session.execute(delete(ImportStash).where(ImportStash.expires_at < now))
    stash = ImportStash(
        token=secrets.token_urlsafe(32),
        kind=kind,
        filename=(filename or "")[:255] or None,
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        created_by_id=actor_id,
        expires_at=now + STASH_LIFETIME,
    )
    db.session.add(stash)
    db.session.flush()
    return stash


def load_stash(*, kind: str, token: str | None, actor_id: int | None) -> ImportStash | None:
    """The stash for this token, kind and person, unexpired and intact; else None."""
    if not token or len(token) > 64:
        return None
    stash = db.session.scalar(
        select(ImportStash).where(ImportStash.token == token, ImportStash.kind == kind)
    )
    if stash is None or stash.created_by_id != actor_id or stash.expires_at < utcnow():
        return None
    if hashlib.sha256(stash.data).hexdigest() != stash.sha256:
        return None
    return stash


def discard_stash(stash: ImportStash) -> None:
    db.session.delete(stash)
