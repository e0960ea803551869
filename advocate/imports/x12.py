"""X12 tokenizer, envelope reader and serializer (pure Python, no I/O).

Delimiters are never assumed: every interchange declares its own in its ISA
segment (element separator = 4th character, repetition separator = ISA11,
component separator = ISA16, segment terminator = the character right after
ISA16).  A file may hold several interchanges (ISA..IEA), each with several
functional groups (GS..GE) of transactions (ST..SE), and the interchanges may
even use different delimiters.  Line breaks (``\\r\\n`` or ``\\n``) after a
segment terminator are tolerated; a line break inside a segment is removed
and reported.

Positions are 1-based and count every segment of the file, envelopes included,
so ``Segment.position`` is the segment number a human would count.

Public API::

    tokenize(data) -> list[Segment]
    read_delimiters(text, offset=0) -> Delimiters
    parse_x12(data) -> X12Document          # envelope + envelope validation
    serialize(segments, element_sep, component_sep, repetition_sep,
              terminator, newline=False) -> str
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "ISA_LENGTH",
    "Delimiters",
    "FunctionalGroup",
    "Interchange",
    "Segment",
    "Transaction",
    "X12Document",
    "X12Error",
    "X12SyntaxError",
    "decode",
    "decode_with",
    "gc_paused",
    "printable",
    "parse_x12",
    "read_delimiters",
    "segment_label",
    "serialize",
    "sniff",
    "tokenize",
    "unwrap",
]

ISA_LENGTH = 106
"""An ISA segment is fixed width: 105 characters plus its terminator."""

_LINE_BREAKS = "\r\n"
_UTF8_BOM_AS_LATIN1 = "\xef\xbb\xbf"
_BLANK = " \t\r\n\x00\x1a"


class X12SyntaxError(ValueError):
    """The data cannot be read as X12 at all (no ISA segment to take delimiters from)."""

    def __init__(self, message: str, offset: int = 0) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class X12Error:
    """One problem, located exactly.

    ``transaction`` is the ST02 control number of the transaction holding the
    segment (None outside a transaction), ``segment_no`` the 1-based position of
    the segment in the file, ``transaction_segment_no`` its 1-based position in
    its transaction (ST is 1), ``element`` a reference such as ``"CLP04"`` or
    ``"SVC01-02"`` (None when the problem is the segment as a whole).
    """

    transaction: str | None
    segment_no: int
    segment_id: str
    element: str | None
    message: str
    transaction_segment_no: int | None = None


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four X12 delimiters.  ``repetition`` is None when the interchange has none (4010)."""

    element: str = "*"
    component: str = ":"
    repetition: str | None = "^"
    segment: str = "~"

    def problems(self) -> list[str]:
        """Why these delimiters cannot work (empty when they can)."""
        out: list[str] = []
        chars = [self.element, self.component, self.segment]
        if self.repetition is not None:
            chars.append(self.repetition)
        for ch in chars:
            if len(ch) != 1:
                out.append(f"delimiter {ch!r} is not a single character")
            elif ch.isalnum() or ch == " ":
                out.append(f"delimiter {ch!r} is a letter, digit or space")
        if len(set(chars)) != len(chars):
            out.append(f"delimiters are not distinct: {''.join(chars)!r}")
        return out


class Segment(NamedTuple):
    """One segment: ``elements[0]`` is the segment id, so ``elements[4]`` is XXX04.

    Elements are the raw strings between element separators; composites and
    repetitions are still joined by their separators (see :meth:`components`).
    """

    elements: tuple[str, ...]
    position: int
    delimiters: Delimiters

    @property
    def id(self) -> str:
        return self.elements[0]

    def get(self, index: int) -> str:
        """Element ``index`` (1-based, like XXX01), or ``""`` when absent."""
        el = self.elements
        return el[index] if index < len(el) else ""

    def components(self, index: int) -> tuple[str, ...]:
        """Element ``index`` split on the component separator (``()`` when absent)."""
        value = self.get(index)
        if not value:
            return ()
        return tuple(value.split(self.delimiters.component))

    def repetitions(self, index: int) -> tuple[str, ...]:
        """Element ``index`` split on the repetition separator (``()`` when absent)."""
        value = self.get(index)
        if not value:
            return ()
        rep = self.delimiters.repetition
        return tuple(value.split(rep)) if rep else (value,)

    def text(self) -> str:
        """The segment as it was written, without its terminator."""
        return self.delimiters.element.join(self.elements)


@dataclass(frozen=True, slots=True)
class Transaction:
    """ST..SE.

    ``rows`` are the element tuples of the transaction's segments, ST header
    first and SE trailer last when present; ``position`` is the file position
    of the ST segment, so ``rows[k]`` is segment ``position + k`` of the file
    and segment ``k + 1`` of the transaction.  ``segments`` gives them as
    :class:`Segment` objects.
    """

    set_id: str
    control_number: str
    index: int
    position: int
    rows: tuple[tuple[str, ...], ...]
    has_trailer: bool
    delimiters: Delimiters
    group_control_number: str | None
    interchange_control_number: str | None

    @property
    def segments(self) -> tuple[Segment, ...]:
        d = self.delimiters
        return tuple(Segment(row, self.position + k, d) for k, row in enumerate(self.rows))

    @property
    def header(self) -> Segment:
        return Segment(self.rows[0], self.position, self.delimiters)

    @property
    def trailer(self) -> Segment | None:
        if not self.has_trailer:
            return None
        return Segment(self.rows[-1], self.position + len(self.rows) - 1, self.delimiters)


@dataclass(frozen=True, slots=True)
class FunctionalGroup:
    """GS..GE.  ``header`` is None for transactions found outside any GS."""

    functional_id: str
    control_number: str | None
    version: str
    header: Segment | None
    trailer: Segment | None
    transactions: tuple[Transaction, ...]


@dataclass(frozen=True, slots=True)
class Interchange:
    """ISA..IEA.  ``header`` is None for groups found outside any ISA."""

    control_number: str | None
    sender_id: str
    receiver_id: str
    version: str
    usage: str
    delimiters: Delimiters
    header: Segment | None
    trailer: Segment | None
    groups: tuple[FunctionalGroup, ...]


@dataclass(frozen=True, slots=True)
class X12Document:
    interchanges: tuple[Interchange, ...]
    errors: tuple[X12Error, ...]
    segment_count: int
    encoding: str = "ascii"  # how the bytes were read: ascii, utf-8 or latin-1 ("text": a str)
    wrapped_width: int | None = None  # the line width of a fixed-width wrapped file

    @property
    def transactions(self) -> Iterator[Transaction]:
        for interchange in self.interchanges:
            for group in interchange.groups:
                yield from group.transactions


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around a bulk, acyclic allocation.

    Parsing or generating a large file allocates a few hundred thousand
    containers and no cycles; left on, the collector would rescan the growing
    heap many times (about a third of the parse time).  Reference counting
    still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --------------------------------------------------------------------------
# Tokenizer


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "this is a ZIP archive, not an X12 file: unzip it and upload the 835 inside"),
    (b"PK\x05\x06", "this is an empty ZIP archive, not an X12 file"),
    (b"\x1f\x8b", "this is a gzip archive, not an X12 file: decompress it first"),
    (b"%PDF", "this is a PDF document, not an X12 file: upload the 835 (ERA) file itself"),
    (b"\xd0\xcf\x11\xe0", "this is a Microsoft Office document, not an X12 file"),
    (b"{\\rtf", "this is an RTF document, not an X12 file: save it as plain text"),
    (b"\xff\xfe", "this file is UTF-16 text: save it as ASCII or UTF-8"),
    (b"\xfe\xff", "this file is UTF-16 text: save it as ASCII or UTF-8"),
)


def sniff(data: bytes | bytearray | memoryview | str) -> str | None:
    """A human sentence saying what ``data`` is when it is plainly not X12 text, else None."""
    if isinstance(data, str):
        return None if data.strip(_BLANK + "\ufeff") else "the file is empty"
    head = bytes(data[:64])
    if not head.strip(_BLANK.encode("latin-1")):
        return "the file is empty"
    for magic, message in _MAGIC:
        if head.startswith(magic):
            return message
    if head.startswith(b"\x00I\x00S") or head.startswith(b"I\x00S\x00"):
        return "this file is UTF-16 text: save it as ASCII or UTF-8"
    if head.lstrip().startswith(b"<"):
        return "this is an XML or HTML document, not an X12 file"
    return None


def decode_with(data: bytes | bytearray | memoryview | str) -> tuple[str, str]:
    """Bytes -> (str, encoding): UTF-8 when the bytes are valid UTF-8, else Latin-1
    (which maps every byte, so this never fails).  Drops a byte order mark."""
    if isinstance(data, str):
        text = data[1:] if data.startswith("\ufeff") else data
        return text, "ascii" if text.isascii() else "text"
    raw = bytes(data)
    try:
        text = raw.decode("utf-8")
        encoding = "utf-8" if not raw.isascii() else "ascii"
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        encoding = "latin-1"
        if text.startswith(_UTF8_BOM_AS_LATIN1):
            text = text[3:]
    return (text[1:] if text.startswith("\ufeff") else text), encoding


def decode(data: bytes | bytearray | memoryview | str) -> str:
    """Bytes -> str without ever failing (see :func:`decode_with`)."""
    return decode_with(data)[0]


def unwrap(text: str) -> tuple[str, int | None]:
    """Undo fixed-width wrapping: (text, width) when every line but the last has the
    same length and some break falls inside a segment, else (text, None).

    Mainframe and some clearinghouse files break the stream every 80 (or so)
    characters, inside segments and even inside the ISA.  A normal file has
    its breaks right after terminators and lines of many lengths.
    """
    first = text.find("\n")
    if first == -1:
        return text, None
    crlf = first > 0 and text[first - 1] == "\r"
    width = first - 1 if crlf else first
    if width < 2:
        return text, None
    # Cheap rejection first: the second line must have the same length.
    second = text.find("\n", first + 1)
    if second != -1:
        length = second - first - 1 - (1 if crlf and text[second - 1] == "\r" else 0)
        if length != width:
            return text, None
    lines = text.split("\r\n" if crlf else "\n")
    while lines and not lines[-1].strip(_BLANK):
        lines.pop()
    if len(lines) < 2 or any(len(line) != width for line in lines[:-1]):
        return text, None
    if len(lines[-1]) > width:
        return text, None
    head = lines[0]
    if not head.startswith("ISA") or len(head) < 4:
        return text, None
    joined = "".join(lines)
    try:
        term = read_delimiters(joined, 0).segment
    except X12SyntaxError:
        return text, None
    if term in "\r\n" or all(line.endswith(term) for line in lines[:-1]):
        return text, None  # one segment per line that happens to be fixed length
    return joined, width


def read_delimiters(text: str, offset: int = 0) -> Delimiters:
    """The delimiters declared by the ISA segment starting at ``text[offset]``.

    Works on a well-formed 106 character ISA and also on one whose fixed-width
    fields were not padded: the ISA16 position is found by counting 16 element
    separators.  Raises X12SyntaxError when there is no usable ISA.
    """
    if text[offset : offset + 3] != "ISA":
        raise X12SyntaxError("expected an ISA segment", offset)
    if len(text) < offset + 6:
        raise X12SyntaxError("ISA segment is truncated", offset)
    element = text[offset + 3]
    if element.isalnum() or element in " \r\n":
        raise X12SyntaxError(f"ISA declares an unusable element separator {element!r}", offset)
    cuts: list[int] = []
    pos = offset + 3
    limit = offset + 3 * ISA_LENGTH  # do not scan a whole file for a broken ISA
    while len(cuts) < 16 and 0 <= pos <= limit:
        cuts.append(pos)
        pos = text.find(element, pos + 1)
    if len(cuts) != 16 or cuts[-1] + 2 >= len(text):
        raise X12SyntaxError("ISA segment is truncated: cannot find ISA16", offset)
    component = text[cuts[15] + 1]
    terminator = text[cuts[15] + 2]
    if terminator.isalnum() or terminator == " ":
        raise X12SyntaxError(f"ISA declares an unusable segment terminator {terminator!r}", offset)
    isa11 = text[cuts[10] + 1 : cuts[11]]
    isa12 = text[cuts[11] + 1 : cuts[12]]
    repetition: str | None = None
    if len(isa11) == 1 and not isa11.isalnum() and isa11 != " " and isa12 != "00401":
        repetition = isa11
    return Delimiters(element, component, repetition, terminator)


def _strip_chars(d: Delimiters) -> str:
    used = {d.element, d.component, d.segment, d.repetition}
    return "".join(c for c in _LINE_BREAKS if c not in used)


def _skip_blank(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in _BLANK:
        pos += 1
    return pos


def _next_boundary(text: str, pos: int, delims: Delimiters) -> tuple[int, Delimiters]:
    """Offset of the next ISA (at a segment start) declaring other delimiters."""
    term = delims.segment
    i = text.find("ISA", pos + 3)
    while i != -1:
        j = i - 1
        while j > pos and text[j] in _LINE_BREAKS and text[j] != term:
            j -= 1
        if text[j] == term:
            try:
                other = read_delimiters(text, i)
            except X12SyntaxError:
                other = delims
            if other != delims:
                return i, other
        i = text.find("ISA", i + 3)
    return len(text), delims


class _Scan(NamedTuple):
    rows: list[tuple[str, ...]]  # element tuples, row i is segment i + 1
    runs: list[tuple[int, Delimiters]]  # (first row, delimiters), one per change
    unterminated: list[int]  # rows not followed by a terminator
    broken: list[int]  # rows with a line break inside them (removed, but reported)


def _breaks_only_after_terminators(chunk: str, term: str, strip: str) -> bool:
    """True when every line break in ``chunk`` directly follows a terminator (cheap counts)."""
    if strip == "\r\n":
        return chunk.count("\r") == chunk.count(term + "\r") and chunk.count("\n") == (
            chunk.count(term + "\n") + chunk.count(term + "\r\n")
        )
    return chunk.count(strip) == chunk.count(term + strip)


def _split_rows(
    chunk: str, d: Delimiters, strip: str, first_row: int, broken: list[int]
) -> tuple[list[tuple[str, ...]], str]:
    """Rows of ``chunk`` and the text after its last terminator."""
    e = d.element
    term = d.segment
    if (
        term + " " in chunk
        or term + "\t" in chunk
        or "\n " in chunk
        or "\n\t" in chunk
        or "\r " in chunk
    ):
        # Indented segments: blanks before a segment id are layout, not data.
        layout = " \t" + strip
        pieces = [p.lstrip(layout) for p in chunk.split(term)]
        tail = pieces.pop()
        rows: list[tuple[str, ...]] = []
        for p in pieces:
            if not p:
                continue
            if strip and any(c in p for c in strip):
                broken.append(first_row + len(rows))
                for c in strip:
                    p = p.replace(c, "")
            rows.append(tuple(p.split(e)))
        return rows, tail
    if strip and any(c in chunk for c in strip):
        if _breaks_only_after_terminators(chunk, d.segment, strip):
            for c in strip:  # the usual layout: drop them in one C pass each
                chunk = chunk.replace(c, "")
        else:
            pieces = [p.lstrip(strip) for p in chunk.split(d.segment)]
            tail = pieces.pop()
            rows = []
            for p in pieces:
                if not p:
                    continue
                if any(c in p for c in strip):
                    broken.append(first_row + len(rows))
                    for c in strip:
                        p = p.replace(c, "")
                rows.append(tuple(p.split(e)))
            return rows, tail
    pieces = chunk.split(d.segment)
    tail = pieces.pop()
    return [tuple(p.split(e)) for p in pieces if p], tail


def _scan(text: str) -> _Scan:
    pos = _skip_blank(text, 0)
    if not text.startswith("ISA", pos):
        found = text[pos : pos + 3]
        if found.isprintable() and found.strip():
            raise X12SyntaxError(
                f"this is not an X12 file: it does not start with an ISA segment "
                f"(it starts with {found!r})",
                pos,
            )
        raise X12SyntaxError(
            "this is not an X12 file: it starts with binary data, not an ISA segment", pos
        )
    delims = read_delimiters(text, pos)
    rows: list[tuple[str, ...]] = []
    runs: list[tuple[int, Delimiters]] = []
    unterminated: list[int] = []
    broken: list[int] = []
    while True:
        runs.append((len(rows), delims))
        end, following = _next_boundary(text, pos, delims)
        chunk_rows, tail = _split_rows(
            text[pos:end], delims, _strip_chars(delims), len(rows), broken
        )
        rows.extend(chunk_rows)
        tail = tail.strip(_BLANK)
        if tail:
            unterminated.append(len(rows))
            rows.append(tuple(tail.split(delims.element)))
        if end >= len(text):
            return _Scan(rows, runs, unterminated, broken)
        pos, delims = end, following


def tokenize(data: bytes | bytearray | memoryview | str) -> list[Segment]:
    """All segments of ``data``, in order, numbered from 1.

    Raises X12SyntaxError when ``data`` does not start with a readable ISA
    segment.  Unterminated data at the end becomes a last segment (use
    :func:`parse_x12` to have it reported).
    """
    scan = _scan(unwrap(decode(data))[0])
    out: list[Segment] = []
    bounds = [start for start, _ in scan.runs[1:]] + [len(scan.rows)]
    for (start, delims), stop in zip(scan.runs, bounds, strict=True):
        out.extend(Segment(scan.rows[i], i + 1, delims) for i in range(start, stop))
    return out


# --------------------------------------------------------------------------
# Envelope


_ENVELOPE_IDS = frozenset(("ISA", "IEA", "GS", "GE", "ST", "SE"))


def printable(value: str | None) -> str:
    """``value`` for a message: as is when printable, else escaped (never breaks a line)."""
    if value is None:
        return "None"
    return value if value.isprintable() else ascii(value)


def segment_label(sid: str) -> str:
    """A segment id for a message: never blank, never cut, never raw control bytes."""
    if not sid.strip():
        return "(blank segment id)"
    if sid.isprintable() and len(sid) <= 24:
        return sid
    return ascii(sid[:24]) + ("..." if len(sid) > 24 else "")


def _is_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _count(value: str) -> int | None:
    return int(value) if value and _is_digits(value) else None


def _check_isa(seg: Segment, errors: list[X12Error]) -> None:
    el = seg.elements
    pos = seg.position

    def err(element: str | None, message: str) -> None:
        errors.append(X12Error(None, pos, "ISA", element, message))

    if len(el) != 17:
        err(None, f"ISA must have 16 elements, found {len(el) - 1}")
    length = len(seg.text()) + 1
    if length != ISA_LENGTH:
        err(None, f"ISA segment is {length} characters long, must be {ISA_LENGTH}")
    if len(el) > 16 and len(el[16]) != 1:
        err("ISA16", f"component separator {el[16]!r} is not a single character")
    for problem in seg.delimiters.problems():
        err("ISA16", problem)
    if len(el) > 12 and not (len(el[12]) == 5 and _is_digits(el[12])):
        err("ISA12", f"version {el[12]!r} is not 5 digits")
    if len(el) > 13 and not (len(el[13]) == 9 and _is_digits(el[13])):
        err("ISA13", f"interchange control number {el[13]!r} is not 9 digits")


class _Envelope:
    """State machine grouping rows into interchanges, groups and transactions."""

    def __init__(self, scan: _Scan) -> None:
        self.rows = scan.rows
        self.runs = dict(scan.runs)
        self.errors: list[X12Error] = []
        self.interchanges: list[Interchange] = []
        self.delims = scan.runs[0][1]
        # open interchange: header, groups, group control numbers
        self.isa: Segment | None = None
        self.isa_open = False
        self.groups: list[FunctionalGroup] = []
        self.group_numbers: set[str] = set()
        self.isa_numbers: set[str] = set()
        # open group
        self.gs: Segment | None = None
        self.gs_open = False
        self.transactions: list[Transaction] = []
        self.tx_numbers: set[str] = set()
        # open transaction
        self.st_index: int | None = None
        self.tx_count = 0

    def segment(self, i: int) -> Segment:
        return Segment(self.rows[i], i + 1, self.delims)

    def error(
        self,
        i: int,
        element: str | None,
        message: str,
        tx: str | None = None,
        tx_pos: int | None = None,
    ) -> None:
        self.errors.append(
            X12Error(tx, i + 1, segment_label(self.rows[i][0]), element, message, tx_pos)
        )

    # -- transactions
    def close_transaction(self, end: int, has_trailer: bool) -> None:
        """Close the open transaction; rows[st_index:end] are its segments."""
        st = self.st_index
        assert st is not None
        header = self.rows[st]
        ctrl = header[2] if len(header) > 2 else ""
        if not has_trailer:
            self.error(
                st, None, f"transaction {printable(ctrl)} is not closed by an SE segment", ctrl, 1
            )
        if not self.gs_open:
            self.open_group(None)
        self.transactions.append(
            Transaction(
                set_id=header[1] if len(header) > 1 else "",
                control_number=ctrl,
                index=self.tx_count,
                position=st + 1,
                rows=tuple(self.rows[st:end]),
                has_trailer=has_trailer,
                delimiters=self.delims,
                group_control_number=self.gs.get(6) if self.gs else None,
                interchange_control_number=self.isa.get(13) if self.isa else None,
            )
        )
        self.tx_count += 1
        self.st_index = None

    # -- groups
    def open_group(self, header: Segment | None) -> None:
        if not self.isa_open:
            self.open_interchange(None)
        self.gs = header
        self.gs_open = True
        self.transactions = []
        self.tx_numbers = set()

    def close_group(self, trailer: Segment | None) -> None:
        h = self.gs
        if trailer is None and h is not None:
            self.errors.append(
                X12Error(
                    None,
                    h.position,
                    "GS",
                    None,
                    f"functional group {printable(h.get(6))} is not closed by a GE segment",
                )
            )
        self.groups.append(
            FunctionalGroup(
                functional_id=h.get(1) if h else "",
                control_number=h.get(6) if h else None,
                version=h.get(8) if h else "",
                header=h,
                trailer=trailer,
                transactions=tuple(self.transactions),
            )
        )
        self.gs = None
        self.gs_open = False
        self.transactions = []

    # -- interchanges
    def open_interchange(self, header: Segment | None) -> None:
        self.isa = header
        self.isa_open = True
        self.groups = []
        self.group_numbers = set()

    def close_interchange(self, trailer: Segment | None) -> None:
        h = self.isa
        if trailer is None and h is not None:
            self.errors.append(
                X12Error(
                    None,
                    h.position,
                    "ISA",
                    None,
                    f"interchange {printable(h.get(13))} is not closed by an IEA segment",
                )
            )
        self.interchanges.append(
            Interchange(
                control_number=h.get(13) if h else None,
                sender_id=h.get(6).strip() if h else "",
                receiver_id=h.get(8).strip() if h else "",
                version=h.get(12) if h else "",
                usage=h.get(15) if h else "",
                delimiters=self.delims,
                header=h,
                trailer=trailer,
                groups=tuple(self.groups),
            )
        )
        self.isa = None
        self.isa_open = False
        self.groups = []

    def close_open(self, i: int, levels: int) -> None:
        """Close the open transaction (and group, interchange for levels 2, 3) before row i."""
        if self.st_index is not None:
            self.close_transaction(i, False)
        if levels >= 2 and self.gs_open:
            self.close_group(None)
        if levels >= 3 and self.isa_open:
            self.close_interchange(None)

    def run(self, unterminated: list[int], broken: list[int]) -> None:
        rows = self.rows
        envelope_ids = _ENVELOPE_IDS
        skip_last = len(rows) - 1 if unterminated and unterminated[-1] == len(rows) - 1 else -1
        for i, row in enumerate(rows):
            sid = row[0]
            if sid not in envelope_ids:
                if self.st_index is None and i != skip_last:
                    where = "a transaction (no ST)" if self.isa_open else "an interchange (no ISA)"
                    self.error(i, None, f"{segment_label(sid)!r} segment outside {where}")
                continue
            n = len(row)
            if sid == "ST":
                self.close_open(i, 1)
                ctrl = row[2] if n > 2 else ""
                if not self.gs_open:
                    self.error(i, None, "ST segment outside a functional group (no GS)", ctrl, 1)
                    self.open_group(None)
                if not ctrl:
                    self.error(i, "ST02", "transaction set control number is missing", ctrl, 1)
                elif ctrl in self.tx_numbers:
                    self.error(
                        i,
                        "ST02",
                        f"transaction set control number {printable(ctrl)} is not unique in its group",
                        ctrl,
                        1,
                    )
                self.tx_numbers.add(ctrl)
                self.st_index = i
            elif sid == "SE":
                st = self.st_index
                if st is None:
                    self.error(i, None, "SE segment without a matching ST")
                    continue
                header = rows[st]
                ctrl = header[2] if len(header) > 2 else ""
                count = i - st + 1
                se01 = row[1] if n > 1 else ""
                se02 = row[2] if n > 2 else ""
                declared = _count(se01)
                if declared is None:
                    self.error(i, "SE01", f"segment count {se01!r} is not a number", ctrl, count)
                elif declared != count:
                    self.error(
                        i,
                        "SE01",
                        f"SE01 says {declared} segments, transaction has {count}",
                        ctrl,
                        count,
                    )
                if se02 != ctrl:
                    self.error(
                        i, "SE02", f"SE02 {se02!r} does not match ST02 {ctrl!r}", ctrl, count
                    )
                self.close_transaction(i + 1, True)
            elif sid == "GS":
                self.close_open(i, 2)
                if not self.isa_open:
                    self.error(i, None, "GS segment outside an interchange (no ISA)")
                self.open_group(self.segment(i))
                ctrl = row[6] if n > 6 else ""
                if not ctrl:
                    self.error(i, "GS06", "group control number is missing")
                elif ctrl in self.group_numbers:
                    self.error(
                        i,
                        "GS06",
                        f"group control number {printable(ctrl)} is not unique in its interchange",
                    )
                self.group_numbers.add(ctrl)
            elif sid == "GE":
                self.close_open(i, 1)
                if not self.gs_open or self.gs is None:
                    self.error(i, None, "GE segment without a matching GS")
                    if self.gs_open:
                        self.close_group(None)
                    continue
                ge01 = row[1] if n > 1 else ""
                ge02 = row[2] if n > 2 else ""
                declared = _count(ge01)
                actual = len(self.transactions)
                if declared is None:
                    self.error(i, "GE01", f"transaction count {ge01!r} is not a number")
                elif declared != actual:
                    self.error(i, "GE01", f"GE01 says {declared} transactions, group has {actual}")
                gs06 = self.gs.get(6)
                if ge02 != gs06:
                    self.error(i, "GE02", f"GE02 {ge02!r} does not match GS06 {gs06!r}")
                self.close_group(self.segment(i))
            elif sid == "ISA":
                self.close_open(i, 3)
                self.delims = self.runs.get(i, self.delims)
                seg = self.segment(i)
                _check_isa(seg, self.errors)
                ctrl = seg.get(13)
                if ctrl in self.isa_numbers:
                    self.error(
                        i,
                        "ISA13",
                        f"interchange control number {printable(ctrl)} is not unique in the file",
                    )
                self.isa_numbers.add(ctrl)
                self.open_interchange(seg)
            else:  # IEA
                self.close_open(i, 2)
                if not self.isa_open or self.isa is None:
                    self.error(i, None, "IEA segment without a matching ISA")
                    if self.isa_open:
                        self.close_interchange(None)
                    continue
                iea01 = row[1] if n > 1 else ""
                iea02 = row[2] if n > 2 else ""
                declared = _count(iea01)
                actual = len(self.groups)
                if declared is None:
                    self.error(i, "IEA01", f"group count {iea01!r} is not a number")
                elif declared != actual:
                    self.error(
                        i,
                        "IEA01",
                        f"IEA01 says {declared} functional groups, interchange has {actual}",
                    )
                isa13 = self.isa.get(13)
                if iea02 != isa13:
                    self.error(i, "IEA02", f"IEA02 {iea02!r} does not match ISA13 {isa13!r}")
                self.close_interchange(self.segment(i))
        self.close_open(len(rows), 3)
        problems = [
            (i, "segment is not terminated (no segment terminator after it)") for i in unterminated
        ]
        problems += [(i, "line break inside the segment") for i in broken]
        transactions = [t for ic in self.interchanges for g in ic.groups for t in g.transactions]
        for i, message in problems:
            tx: str | None = None
            tx_pos: int | None = None
            for t in transactions:
                if t.position <= i + 1 < t.position + len(t.rows):
                    tx, tx_pos = t.control_number, i + 2 - t.position
            self.error(i, None, message, tx, tx_pos)
        self.errors.sort(key=lambda e: e.segment_no)


def parse_x12(data: bytes | bytearray | memoryview | str) -> X12Document:
    """Tokenize ``data`` and group it into interchanges, groups and transactions.

    Envelope problems are collected, never raised: ISA shape, IEA01/IEA02,
    GE01/GE02, SE01/SE02, missing or misplaced headers and trailers, duplicate
    control numbers, unterminated data.  Unreadable data (no ISA) gives a
    document with no interchanges and one error.
    """
    what = sniff(data)
    if what is not None:
        return X12Document((), (X12Error(None, 1, "ISA", None, what),), 0)
    text, encoding = decode_with(data)
    text, width = unwrap(text)
    try:
        scan = _scan(text)
    except X12SyntaxError as exc:
        return X12Document((), (X12Error(None, 1, "ISA", None, str(exc)),), 0, encoding, width)
    env = _Envelope(scan)
    env.run(scan.unterminated, scan.broken)
    return X12Document(tuple(env.interchanges), tuple(env.errors), len(scan.rows), encoding, width)


# --------------------------------------------------------------------------
# Serializer

Element = str | Sequence[str] | list[str | Sequence[str]]


def _structured(seg: Segment) -> list[object]:
    """A tokenized segment as [id, element...] with composites and repetitions split."""
    d = seg.delimiters
    el = seg.elements
    if el[0] == "ISA":
        return list(el)
    out: list[object] = [el[0]]
    comp = d.component
    rep = d.repetition
    for value in el[1:]:
        if rep and rep in value:
            out.append([tuple(r.split(comp)) if comp in r else r for r in value.split(rep)])
        elif comp in value:
            out.append(tuple(value.split(comp)))
        else:
            out.append(value)
    return out


def serialize(
    segments: Iterable[Segment | Sequence[object]],
    element_sep: str,
    component_sep: str,
    repetition_sep: str | None,
    terminator: str,
    newline: bool = False,
) -> str:
    """Write segments as X12 text with the given delimiters.

    Each segment is a tokenized :class:`Segment` (its composites and repetitions
    are re-split with the delimiters it was read with) or a sequence
    ``[id, element, ...]`` where an element is a ``str`` (simple), a ``tuple``
    of str (composite, components) or a ``list`` of those (repetitions).  In
    ISA segments ISA11 (for 5010) and ISA16 are rewritten to the new
    repetition and component separators.  ``newline`` adds ``"\\n"`` after every
    terminator (unless the terminator is itself a line break).
    """
    problems = Delimiters(element_sep, component_sep, repetition_sep, terminator).problems()
    if problems:
        raise ValueError("; ".join(problems))
    end = terminator + ("\n" if newline and terminator not in _LINE_BREAKS else "")
    lines: list[str] = []
    for seg in segments:
        items: Sequence[object] = _structured(seg) if isinstance(seg, Segment) else seg
        sid = str(items[0])
        if sid == "ISA":
            values = [str(v) for v in items]
            if len(values) > 16:
                values[16] = component_sep
            if len(values) > 12 and values[12] != "00401" and repetition_sep is not None:
                values[11] = repetition_sep
            lines.append(element_sep.join(values))
            continue
        parts = [sid]
        for value in items[1:]:
            if isinstance(value, str):
                parts.append(value)
            elif isinstance(value, list):
                if repetition_sep is None:
                    raise ValueError("repeated element but no repetition separator")
                parts.append(
                    repetition_sep.join(
                        r if isinstance(r, str) else component_sep.join(r) for r in value
                    )
                )
            elif isinstance(value, tuple):
                parts.append(component_sep.join(value))
            else:
                raise TypeError(f"cannot serialize element {value!r}")
        lines.append(element_sep.join(parts))
    return end.join(lines) + end if lines else ""
