"""X12 tokenizer, envelope reader and serializer (pure Python, no I/O).

Delimiters are never assumed: every interchange declares its own in its ISA
segment (element separator = 4th character, repetition separator = ISA11,
component separator = ISA16, segment terminator = the character right after
ISA16).  A file may hold several interchanges (ISA..IEA), each with several
functional groups (GS..GE) of transactions (ST..SE), and the interchanges may
even use different delimiters.  Line breaks (``\\r\\n`` or ``\\n``) after a
segment terminator are tolerated.

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

from collections.abc import Iterable, Iterator, Sequence
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
    "parse_x12",
    "read_delimiters",
    "serialize",
    "tokenize",
]

ISA_LENGTH = 106
"""An ISA segment is fixed width: 105 characters plus its terminator."""

_LINE_BREAKS = "\r\n"
_UTF8_BOM_AS_LATIN1 = "\xef\xbb\xbf"


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
    """ST..SE: ``segments`` includes the ST header and, when present, the SE trailer."""

    set_id: str
    control_number: str
    index: int
    segments: tuple[Segment, ...]
    has_trailer: bool
    group_control_number: str | None
    interchange_control_number: str | None

    @property
    def header(self) -> Segment:
        return self.segments[0]

    @property
    def trailer(self) -> Segment | None:
        return self.segments[-1] if self.has_trailer else None

    @property
    def body(self) -> tuple[Segment, ...]:
        """The segments between ST and SE."""
        return self.segments[1:-1] if self.has_trailer else self.segments[1:]


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

    @property
    def transactions(self) -> Iterator[Transaction]:
        for interchange in self.interchanges:
            for group in interchange.groups:
                yield from group.transactions


# --------------------------------------------------------------------------
# Tokenizer


def decode(data: bytes | bytearray | memoryview | str) -> str:
    """Bytes -> str without ever failing (latin-1 maps every byte); drops a BOM."""
    if isinstance(data, str):
        text = data
        if text.startswith("\ufeff"):
            text = text[1:]
        return text
    text = bytes(data).decode("latin-1")
    if text.startswith(_UTF8_BOM_AS_LATIN1):
        text = text[3:]
    return text


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
    for _ in range(16):
        if pos < 0 or pos > limit:
            break
        cuts.append(pos)
        pos = text.find(element, pos + 1)
    if len(cuts) != 16 or cuts[-1] + 2 >= len(text):
        raise X12SyntaxError("ISA segment is truncated: cannot find ISA16", offset)
    component = text[cuts[15] + 1]
    terminator = text[cuts[15] + 2]
    isa11 = text[cuts[10] + 1 : cuts[11]]
    isa12 = text[cuts[11] + 1 : cuts[12]]
    repetition: str | None = None
    if len(isa11) == 1 and not isa11.isalnum() and isa11 != " " and isa12 != "00401":
        repetition = isa11
    if terminator.isalnum() or terminator == " ":
        raise X12SyntaxError(f"ISA declares an unusable segment terminator {terminator!r}", offset)
    return Delimiters(element, component, repetition, terminator)


def _strip_chars(d: Delimiters) -> str:
    used = {d.element, d.component, d.segment, d.repetition}
    return "".join(c for c in _LINE_BREAKS if c not in used)


def _skip_blank(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t\r\n\x00\x1a":
        pos += 1
    return pos


def _tokenize(text: str) -> tuple[list[Segment], str | None]:
    """Segments of ``text`` and a complaint about trailing unterminated data."""
    segments: list[Segment] = []
    append = segments.append
    pos = _skip_blank(text, 0)
    if not text.startswith("ISA", pos):
        found = text[pos : pos + 3]
        raise X12SyntaxError(f"data does not start with an ISA segment (found {found!r})", pos)
    trailing: str | None = None
    while True:
        delims = read_delimiters(text, pos)
        elem_sep = delims.element
        term = delims.segment
        strip = _strip_chars(delims)
        pieces = text[pos:].split(term)
        last = len(pieces) - 1
        restart: int | None = None
        number = len(segments)
        for k, raw in enumerate(pieces):
            piece = raw.lstrip(strip) if strip else raw
            if not piece:
                continue
            if k == last:
                # Text after the final terminator: only blank space is allowed.
                if piece.strip(" \t\r\n\x00\x1a"):
                    trailing = piece
                    number += 1
                    append(Segment(tuple(piece.split(elem_sep)), number, delims))
                break
            if k and piece[:3] == "ISA":
                start = pos + sum(len(p) for p in pieces[:k]) + k * len(term) + len(raw) - len(piece)
                try:
                    other = read_delimiters(text, start)
                except X12SyntaxError:
                    other = delims
                if other != delims:
                    restart = start
                    break
            number += 1
            append(Segment(tuple(piece.split(elem_sep)), number, delims))
        if restart is None:
            return segments, trailing
        pos = restart


def tokenize(data: bytes | bytearray | memoryview | str) -> list[Segment]:
    """All segments of ``data``, in order, numbered from 1.

    Raises X12SyntaxError when ``data`` does not start with a readable ISA
    segment.  Data after the last terminator becomes a last segment (use
    :func:`parse_x12` to have it reported).
    """
    return _tokenize(decode(data))[0]


# --------------------------------------------------------------------------
# Envelope


_ENVELOPE_IDS = frozenset(("ISA", "IEA", "GS", "GE", "ST", "SE"))


def _is_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


class _GroupBuilder:
    __slots__ = ("header", "transactions", "control_numbers")

    def __init__(self, header: Segment | None) -> None:
        self.header = header
        self.transactions: list[Transaction] = []
        self.control_numbers: set[str] = set()

    def build(self, trailer: Segment | None) -> FunctionalGroup:
        h = self.header
        return FunctionalGroup(
            functional_id=h.get(1) if h else "",
            control_number=h.get(6) if h else None,
            version=h.get(8) if h else "",
            header=h,
            trailer=trailer,
            transactions=tuple(self.transactions),
        )


class _InterchangeBuilder:
    __slots__ = ("header", "delimiters", "groups", "control_numbers")

    def __init__(self, header: Segment | None, delimiters: Delimiters) -> None:
        self.header = header
        self.delimiters = delimiters
        self.groups: list[FunctionalGroup] = []
        self.control_numbers: set[str] = set()

    def build(self, trailer: Segment | None) -> Interchange:
        h = self.header
        return Interchange(
            control_number=h.get(13) if h else None,
            sender_id=h.get(6).strip() if h else "",
            receiver_id=h.get(8).strip() if h else "",
            version=h.get(12) if h else "",
            usage=h.get(15) if h else "",
            delimiters=self.delimiters,
            header=h,
            trailer=trailer,
            groups=tuple(self.groups),
        )


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
    for problem in seg.delimiters.problems():
        err("ISA16", problem)
    if len(el) > 16 and len(el[16]) != 1:
        err("ISA16", f"component separator {el[16]!r} is not a single character")
    if len(el) > 13 and not (len(el[13]) == 9 and _is_digits(el[13])):
        err("ISA13", f"interchange control number {el[13]!r} is not 9 digits")
    if len(el) > 12 and not (len(el[12]) == 5 and _is_digits(el[12])):
        err("ISA12", f"version {el[12]!r} is not 5 digits")


def _count(value: str) -> int | None:
    return int(value) if value and _is_digits(value) else None


def parse_x12(data: bytes | bytearray | memoryview | str) -> X12Document:
    """Tokenize ``data`` and group it into interchanges, groups and transactions.

    Envelope problems are collected, never raised: ISA shape, IEA01/IEA02,
    GE01/GE02, SE01/SE02, missing or misplaced headers and trailers, duplicate
    control numbers, unterminated data.  Unreadable data (no ISA) gives a
    document with no interchanges and one error.
    """
    errors: list[X12Error] = []
    try:
        segments, trailing = _tokenize(decode(data))
    except X12SyntaxError as exc:
        errors.append(X12Error(None, 1, "ISA", None, str(exc)))
        return X12Document((), tuple(errors), 0)

    interchanges: list[Interchange] = []
    isa: _InterchangeBuilder | None = None
    gs: _GroupBuilder | None = None
    st_segments: list[Segment] | None = None
    st_header: Segment | None = None
    tx_index = 0
    isa_numbers: set[str] = set()

    def close_transaction(trailer: Segment | None) -> None:
        nonlocal st_segments, st_header, tx_index
        assert st_segments is not None and st_header is not None
        ctrl = st_header.get(2)
        if trailer is None:
            errors.append(
                X12Error(ctrl, st_header.position, "ST", None,
                         f"transaction {ctrl} is not closed by an SE segment", 1)
            )
        group = gs if gs is not None else open_group(None)
        group.transactions.append(
            Transaction(
                set_id=st_header.get(1),
                control_number=ctrl,
                index=tx_index,
                segments=tuple(st_segments),
                has_trailer=trailer is not None,
                group_control_number=group.header.get(6) if group.header else None,
                interchange_control_number=(
                    isa.header.get(13) if isa is not None and isa.header else None
                ),
            )
        )
        tx_index += 1
        st_segments = None
        st_header = None

    def open_group(header: Segment | None) -> _GroupBuilder:
        nonlocal gs
        if isa is None:
            open_interchange(None, (header or st_header or segments[-1]).delimiters)
        gs = _GroupBuilder(header)
        return gs

    def close_group(trailer: Segment | None) -> None:
        nonlocal gs
        assert gs is not None
        if trailer is None and gs.header is not None:
            errors.append(X12Error(None, gs.header.position, "GS", None,
                                   f"functional group {gs.header.get(6)} is not closed by a GE segment"))
        group = gs.build(trailer)
        gs = None
        assert isa is not None
        isa.groups.append(group)

    def open_interchange(header: Segment | None, delimiters: Delimiters) -> None:
        nonlocal isa
        isa = _InterchangeBuilder(header, delimiters)

    def close_interchange(trailer: Segment | None) -> None:
        nonlocal isa
        assert isa is not None
        if trailer is None and isa.header is not None:
            errors.append(X12Error(None, isa.header.position, "ISA", None,
                                   f"interchange {isa.header.get(13)} is not closed by an IEA segment"))
        interchanges.append(isa.build(trailer))
        isa = None

    for seg in segments:
        el = seg.elements
        sid = el[0]
        if st_segments is not None and sid not in _ENVELOPE_IDS:
            st_segments.append(seg)
            continue
        pos = seg.position
        if sid == "ST":
            if st_segments is not None:
                close_transaction(None)
            if gs is None:
                errors.append(X12Error(el[2] if len(el) > 2 else "", pos, "ST", None,
                                       "ST segment outside a functional group (no GS)", 1))
                open_group(None)
            assert gs is not None
            ctrl = el[2] if len(el) > 2 else ""
            if not ctrl:
                errors.append(X12Error(ctrl, pos, "ST", "ST02",
                                       "transaction set control number is missing", 1))
            elif ctrl in gs.control_numbers:
                errors.append(X12Error(ctrl, pos, "ST", "ST02",
                                       f"transaction set control number {ctrl} is not unique in its group", 1))
            gs.control_numbers.add(ctrl)
            st_segments = [seg]
            st_header = seg
        elif sid == "SE":
            if st_segments is None or st_header is None:
                errors.append(X12Error(None, pos, "SE", None, "SE segment without a matching ST"))
                continue
            st_segments.append(seg)
            ctrl = st_header.get(2)
            count = len(st_segments)
            se01 = el[1] if len(el) > 1 else ""
            se02 = el[2] if len(el) > 2 else ""
            declared = _count(se01)
            if declared is None:
                errors.append(X12Error(ctrl, pos, "SE", "SE01",
                                       f"segment count {se01!r} is not a number", count))
            elif declared != count:
                errors.append(X12Error(ctrl, pos, "SE", "SE01",
                                       f"SE01 says {declared} segments, transaction has {count}", count))
            if se02 != ctrl:
                errors.append(X12Error(ctrl, pos, "SE", "SE02",
                                       f"SE02 {se02!r} does not match ST02 {ctrl!r}", count))
            close_transaction(seg)
        elif sid == "GS":
            if st_segments is not None:
                close_transaction(None)
            if gs is not None:
                close_group(None)
            if isa is None:
                errors.append(X12Error(None, pos, "GS", None, "GS segment outside an interchange (no ISA)"))
            open_group(seg)
            assert gs is not None and isa is not None
            ctrl = el[6] if len(el) > 6 else ""
            if not ctrl:
                errors.append(X12Error(None, pos, "GS", "GS06", "group control number is missing"))
            elif ctrl in isa.control_numbers:
                errors.append(X12Error(None, pos, "GS", "GS06",
                                       f"group control number {ctrl} is not unique in its interchange"))
            isa.control_numbers.add(ctrl)
        elif sid == "GE":
            if st_segments is not None:
                close_transaction(None)
            if gs is None or gs.header is None:
                errors.append(X12Error(None, pos, "GE", None, "GE segment without a matching GS"))
                if gs is not None:
                    close_group(None)
                continue
            ge01 = el[1] if len(el) > 1 else ""
            ge02 = el[2] if len(el) > 2 else ""
            declared = _count(ge01)
            actual = len(gs.transactions)
            if declared is None:
                errors.append(X12Error(None, pos, "GE", "GE01", f"transaction count {ge01!r} is not a number"))
            elif declared != actual:
                errors.append(X12Error(None, pos, "GE", "GE01",
                                       f"GE01 says {declared} transactions, group has {actual}"))
            gs06 = gs.header.get(6)
            if ge02 != gs06:
                errors.append(X12Error(None, pos, "GE", "GE02", f"GE02 {ge02!r} does not match GS06 {gs06!r}"))
            close_group(seg)
        elif sid == "ISA":
            if st_segments is not None:
                close_transaction(None)
            if gs is not None:
                close_group(None)
            if isa is not None:
                close_interchange(None)
            _check_isa(seg, errors)
            ctrl = seg.get(13)
            if ctrl in isa_numbers:
                errors.append(X12Error(None, pos, "ISA", "ISA13",
                                       f"interchange control number {ctrl} is not unique in the file"))
            isa_numbers.add(ctrl)
            open_interchange(seg, seg.delimiters)
        elif sid == "IEA":
            if st_segments is not None:
                close_transaction(None)
            if gs is not None:
                close_group(None)
            if isa is None or isa.header is None:
                errors.append(X12Error(None, pos, "IEA", None, "IEA segment without a matching ISA"))
                if isa is not None:
                    close_interchange(None)
                continue
            iea01 = el[1] if len(el) > 1 else ""
            iea02 = el[2] if len(el) > 2 else ""
            declared = _count(iea01)
            actual = len(isa.groups)
            if declared is None:
                errors.append(X12Error(None, pos, "IEA", "IEA01", f"group count {iea01!r} is not a number"))
            elif declared != actual:
                errors.append(X12Error(None, pos, "IEA", "IEA01",
                                       f"IEA01 says {declared} functional groups, interchange has {actual}"))
            isa13 = isa.header.get(13)
            if iea02 != isa13:
                errors.append(X12Error(None, pos, "IEA", "IEA02", f"IEA02 {iea02!r} does not match ISA13 {isa13!r}"))
            close_interchange(seg)
        else:
            if trailing is not None and seg is segments[-1]:
                continue  # reported below as unterminated data
            where = "a transaction (no ST)" if isa is not None else "an interchange (no ISA)"
            errors.append(X12Error(None, pos, sid[:3], None, f"{sid[:3]} segment outside {where}"))

    if st_segments is not None:
        close_transaction(None)
    if gs is not None:
        close_group(None)
    if isa is not None:
        close_interchange(None)
    if trailing is not None:
        last = segments[-1]
        ctrl: str | None = None
        in_tx: int | None = None
        last_tx = [t for i in interchanges for g in i.groups for t in g.transactions][-1:]
        if last_tx and last_tx[0].segments[-1] is last:
            ctrl = last_tx[0].control_number
            in_tx = len(last_tx[0].segments)
        errors.append(X12Error(ctrl, last.position, last.elements[0][:3], None,
                               "segment is not terminated (data after the last segment terminator)",
                               in_tx))
    return X12Document(tuple(interchanges), tuple(errors), len(segments))


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
