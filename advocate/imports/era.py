"""X12 835 (5010 X221A1) electronic remittance advice: model, parser, validation.

Pure: no Flask, no database.  ``parse_835(data)`` reads bytes or text, takes
delimiters from each ISA (see :mod:`advocate.imports.x12`), builds one
:class:`Remittance` per ST..SE transaction and collects every problem found as
an :class:`EraError` located to the segment (1-based position in the file and
in its transaction) and element (``"CLP04"``, ``"SVC01-02"``, ...).  Nothing is
raised for bad data; a file with any error is invalid (``ParseResult.valid``).

Money is ``Decimal`` exactly as written; dates are ``datetime.date``.
Balancing rules checked (X221A1 section 1.10.2):

* claim:  CLP03 - CLP04 == sum(claim CAS) + sum(line CAS)
* line:   SVC02 - SVC03 == sum(line CAS)
* payment: BPR02 == sum(CLP04) - sum(PLB amounts): a warning, not an error
  (``ParseResult.warnings``): payers do send files that do not reconcile,
  and their claims are still what was paid.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import MISSING, dataclass, fields
from datetime import date
from decimal import Decimal
from typing import TypeVar

from advocate.imports.era_grammar import check_loops, segment_label
from advocate.imports.x12 import Transaction, X12Error, gc_paused, parse_x12, printable

__all__ = [
    "ADJUSTMENT_GROUPS",
    "CLAIM_STATUS_CODES",
    "REVERSAL_STATUS",
    "Adjustment",
    "Claim",
    "EraError",
    "ParseResult",
    "Payee",
    "Payer",
    "Payment",
    "Person",
    "ProcedureCode",
    "ProviderAdjustment",
    "ProviderAdjustmentItem",
    "Reference",
    "Remittance",
    "ServiceLine",
    "SupplementalAmount",
    "error_report",
    "parse_835",
]

REVERSAL_STATUS = "22"
CLAIM_STATUS_CODES: dict[str, str] = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to additional payer(s)",
    "20": "processed as secondary, forwarded to additional payer(s)",
    "21": "processed as tertiary, forwarded to additional payer(s)",
    "22": "reversal of previous payment",
    "23": "not our claim, forwarded to additional payer(s)",
    "25": "predetermination pricing only, no payment",
}
ADJUSTMENT_GROUPS = frozenset(("CO", "OA", "PI", "PR"))

_T = TypeVar("_T")
_ZERO = Decimal(0)
_ONE = Decimal(1)
# X12 "R" data type: optional minus, digits, optional decimal point followed by digits.
_AMOUNT_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)")


def _fast_init(cls: type[_T]) -> type[_T]:
    """Give a frozen slots dataclass an ``__init__`` that stores through the slot descriptors.

    The ``__init__`` dataclasses writes for frozen classes calls
    ``object.__setattr__`` per field, about 2x slower; the parser creates a
    dozen model objects per claim.  Immutability, eq, hash and repr are unchanged.
    """
    namespace: dict[str, object] = {}
    params: list[str] = []
    body: list[str] = []
    for f in fields(cls):  # type: ignore[arg-type]
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default is not MISSING:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        else:
            params.append(f.name)
        body.append(f"    _set_{f.name}(self, {f.name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    exec(source, namespace)  # noqa: S102 - built from field names only, as dataclasses does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[misc]
    return cls


class EraError(X12Error):
    """A problem in an 835, located exactly (see :class:`~advocate.imports.x12.X12Error`).

    Fields: ``transaction`` (ST02 or None), ``segment_no`` (1-based position in
    the file), ``segment_id``, ``element`` (e.g. ``"CLP04"`` or None), ``message``,
    ``transaction_segment_no`` (1-based position in the transaction, ST = 1).
    """

    __slots__ = ()

    def __str__(self) -> str:
        return _format_error(self)


# --------------------------------------------------------------------------
# Model


@_fast_init
@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS reason/amount/quantity triplet with its group code."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None

    @property
    def code(self) -> str:
        """``"CO-45"`` style."""
        return f"{self.group}-{self.reason}"


@_fast_init
@dataclass(frozen=True, slots=True)
class ProcedureCode:
    """SVC01 / SVC06 composite: qualifier (HC, AD, NU, ...), code, up to 4 modifiers."""

    qualifier: str
    code: str
    modifiers: tuple[str, ...] = ()
    description: str | None = None


@_fast_init
@dataclass(frozen=True, slots=True)
class Reference:
    """A REF segment: qualifier (REF01) and value (REF02)."""

    qualifier: str
    value: str


@_fast_init
@dataclass(frozen=True, slots=True)
class SupplementalAmount:
    """An AMT segment: qualifier (AMT01: AU, B6, ...) and amount (AMT02)."""

    qualifier: str
    amount: Decimal


@_fast_init
@dataclass(frozen=True, slots=True)
class Person:
    """An NM1 in the claim loop (QC patient, IL insured, 74 corrected, 82 rendering, ...)."""

    entity: str
    entity_type: str
    last_name: str
    first_name: str
    middle_name: str
    suffix: str
    id_qualifier: str
    identifier: str


@_fast_init
@dataclass(frozen=True, slots=True)
class Payer:
    """N1*PR: name; id from REF*2U, else N104."""

    name: str
    identifier: str | None


@_fast_init
@dataclass(frozen=True, slots=True)
class Payee:
    """N1*PE: name; NPI when N103 is XX; tax id from N103 FI or REF*TJ."""

    name: str
    npi: str | None
    id_qualifier: str
    identifier: str
    tax_id: str | None


@_fast_init
@dataclass(frozen=True, slots=True)
class Payment:
    """BPR and TRN."""

    amount: Decimal  # BPR02
    handling_code: str  # BPR01: C payment+advice, I remittance only, H notification, ...
    credit_debit: str  # BPR03: C or D
    method: str  # BPR04: ACH, CHK, BOP, FWT, NON
    effective_date: date | None  # BPR16 (check issue or EFT effective date)
    trace_number: str  # TRN02 (check or EFT number)
    originator: str  # TRN03 (payer identifier)


@_fast_init
@dataclass(frozen=True, slots=True)
class ServiceLine:
    """Loop 2110: SVC and its DTM, CAS, REF, AMT, LQ."""

    procedure: ProcedureCode  # SVC01
    charge: Decimal  # SVC02
    paid: Decimal  # SVC03
    revenue_code: str  # SVC04
    units: Decimal  # SVC05, units paid (1 when absent; may be 0)
    original_procedure: ProcedureCode | None  # SVC06 (submitted code when it was changed)
    original_units: Decimal | None  # SVC07
    service_date: date | None  # DTM*472
    service_from: date | None  # DTM*150
    service_to: date | None  # DTM*151
    adjustments: tuple[Adjustment, ...]
    allowed: Decimal | None  # AMT*B6
    amounts: tuple[SupplementalAmount, ...]
    remark_codes: tuple[str, ...]  # LQ*HE
    control_number: str | None  # REF*6R
    references: tuple[Reference, ...]
    segment_no: int

    @property
    def adjustment_total(self) -> Decimal:
        return sum((a.amount for a in self.adjustments), _ZERO)

    @property
    def billed_units(self) -> Decimal:
        """The units billed: SVC07 when present (SVC05 is the units *paid*, which a
        denial or a partial payment sets to 0), else SVC05 when above 0, else 1."""
        if self.original_units is not None and self.original_units > 0:
            return self.original_units
        return self.units if self.units > 0 else _ONE

    @property
    def is_institutional(self) -> bool:
        """A revenue code line (SVC01 NU, or SVC04 present)."""
        return self.procedure.qualifier == "NU" or bool(self.revenue_code)

    @property
    def start_date(self) -> date | None:
        return self.service_date or self.service_from


@_fast_init
@dataclass(frozen=True, slots=True)
class Claim:
    """Loop 2100: CLP and everything up to the next CLP, LX, PLB or SE."""

    patient_control_number: str  # CLP01
    status_code: str  # CLP02
    charge: Decimal  # CLP03
    paid: Decimal  # CLP04
    patient_responsibility: Decimal | None  # CLP05
    filing_indicator: str  # CLP06
    payer_claim_number: str  # CLP07
    facility_type: str  # CLP08
    frequency_code: str  # CLP09
    adjustments: tuple[Adjustment, ...]  # claim-level CAS
    patient: Person | None  # NM1*QC
    insured: Person | None  # NM1*IL
    corrected_patient: Person | None  # NM1*74
    service_provider: Person | None  # NM1*82
    references: tuple[Reference, ...]
    statement_from: date | None  # DTM*232
    statement_to: date | None  # DTM*233
    received_date: date | None  # DTM*050
    amounts: tuple[SupplementalAmount, ...]  # AMT (AU coverage amount, ...)
    remark_codes: tuple[str, ...]  # MOA03-07, MIA05, MIA20-23
    lines: tuple[ServiceLine, ...]
    segment_no: int
    drg_code: str = ""  # CLP11
    drg_weight: Decimal | None = None  # CLP12
    has_mia: bool = False  # inpatient adjudication (MIA)
    provider_npi: str | None = None  # TS301 of the claim's 2000 loop (institutional)

    @property
    def is_institutional(self) -> bool:
        """An institutional claim: CLP08 is then the facility type code (first two
        digits of the type of bill, CLP09 its frequency), not a place of service.
        Told by a DRG (CLP11), inpatient adjudication (MIA) or revenue code lines."""
        return bool(self.drg_code) or self.has_mia or any(ln.is_institutional for ln in self.lines)

    @property
    def is_claim_level(self) -> bool:
        """Paid at claim level (DRG, per diem): no service lines."""
        return not self.lines

    @property
    def is_reversal(self) -> bool:
        return self.status_code == REVERSAL_STATUS

    @property
    def member_id(self) -> str | None:
        return self.patient.identifier if self.patient and self.patient.identifier else None

    @property
    def all_adjustments(self) -> tuple[Adjustment, ...]:
        """Claim-level then line-level adjustments."""
        return self.adjustments + tuple(a for ln in self.lines for a in ln.adjustments)

    def amount(self, qualifier: str) -> Decimal | None:
        for a in self.amounts:
            if a.qualifier == qualifier:
                return a.amount
        return None


@_fast_init
@dataclass(frozen=True, slots=True)
class ProviderAdjustmentItem:
    """One PLB reason composite (code:reference) with its amount."""

    reason: str
    reference: str
    amount: Decimal


@_fast_init
@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """A PLB segment."""

    provider_id: str  # PLB01
    fiscal_period_date: date | None  # PLB02
    items: tuple[ProviderAdjustmentItem, ...]
    segment_no: int

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.items), _ZERO)


@_fast_init
@dataclass(frozen=True, slots=True)
class Remittance:
    """One 835 transaction (ST..SE)."""

    control_number: str  # ST02
    index: int  # 0-based position of the transaction in the file
    interchange_control_number: str | None
    group_control_number: str | None
    payer: Payer | None
    payee: Payee | None
    payment: Payment | None
    production_date: date | None  # DTM*405
    claims: tuple[Claim, ...]
    provider_adjustments: tuple[ProviderAdjustment, ...]
    segment_no: int  # position of ST in the file

    @property
    def trace_number(self) -> str | None:
        return self.payment.trace_number if self.payment else None


@dataclass(frozen=True, slots=True)
class ParseResult:
    remittances: tuple[Remittance, ...]
    errors: tuple[EraError, ...]
    # Problems that do not stop the import: a transaction whose BPR02 is not
    # sum(CLP04) - sum(PLB) (payers send them; the remittance page shows it).
    warnings: tuple[EraError, ...] = ()
    encoding: str = "ascii"  # ascii, utf-8 or latin-1 (see x12.decode_with)
    wrapped_width: int | None = None  # the line width when the file was fixed-width wrapped

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def claims(self) -> Iterator[Claim]:
        for r in self.remittances:
            yield from r.claims

    def report(self) -> str:
        return error_report(self.errors)


# --------------------------------------------------------------------------
# Parser


Row = tuple[str, ...]


class _Ctx:
    """Per-transaction state shared by the segment handlers."""

    __slots__ = ("ctrl", "base", "errors", "amounts", "dates", "component", "warnings")

    def __init__(
        self,
        ctrl: str,
        base: int,
        errors: list[EraError],
        amounts: dict[str, Decimal],
        dates: dict[str, date],
        component: str,
    ) -> None:
        self.ctrl = ctrl
        self.base = base  # file position of ST minus 1
        self.errors = errors
        self.amounts = amounts  # cache: text -> Decimal, shared by the whole file
        self.dates = dates  # cache: text -> date
        self.component = component
        self.warnings: list[EraError] = []

    def warn(self, pos: int, el: Row, element: str | None, message: str) -> None:
        self.warnings.append(
            EraError(self.ctrl, pos, segment_label(el[0]), element, message, pos - self.base)
        )

    def err(self, pos: int, el: Row, element: str | None, message: str) -> None:
        self.errors.append(
            EraError(self.ctrl, pos, segment_label(el[0]), element, message, pos - self.base)
        )

    def amount(self, el: Row, i: int, pos: int, required: bool = True) -> Decimal | None:
        s = el[i] if i < len(el) else ""
        d = self.amounts.get(s)
        if d is not None:
            return d
        if not s:
            if required:
                self.err(pos, el, f"{el[0]}{i:02d}", "required amount is missing")
            return None
        if _AMOUNT_RE.fullmatch(s) is None:
            self.err(pos, el, f"{el[0]}{i:02d}", f"{s!r} is not an amount")
            return None
        d = self.amounts[s] = Decimal(s)
        return d

    def date(self, el: Row, i: int, pos: int) -> date | None:
        s = el[i] if i < len(el) else ""
        d = self.dates.get(s)
        if d is not None:
            return d
        if not s:
            self.err(pos, el, f"{el[0]}{i:02d}", "required date is missing")
            return None
        if len(s) == 8 and s.isascii() and s.isdigit():
            try:
                d = self.dates[s] = date(int(s[:4]), int(s[4:6]), int(s[6:]))
                return d
            except ValueError:
                pass
        self.err(pos, el, f"{el[0]}{i:02d}", f"{s!r} is not a valid date (CCYYMMDD)")
        return None


class _Line:
    __slots__ = (
        "pos",
        "procedure",
        "charge",
        "paid",
        "revenue_code",
        "units",
        "original_procedure",
        "original_units",
        "service_date",
        "service_from",
        "service_to",
        "adjustments",
        "allowed",
        "amounts",
        "remark_codes",
        "control_number",
        "references",
        "ok",
    )

    def build(self) -> ServiceLine:
        return ServiceLine(
            self.procedure,
            self.charge if self.charge is not None else _ZERO,
            self.paid if self.paid is not None else _ZERO,
            self.revenue_code,
            self.units,
            self.original_procedure,
            self.original_units,
            self.service_date,
            self.service_from,
            self.service_to,
            tuple(self.adjustments),
            self.allowed,
            tuple(self.amounts),
            tuple(self.remark_codes),
            self.control_number,
            tuple(self.references),
            self.pos,
        )


class _Claim:
    __slots__ = (
        "pos",
        "el",
        "charge",
        "paid",
        "responsibility",
        "adjustments",
        "people",
        "references",
        "statement_from",
        "statement_to",
        "received",
        "amounts",
        "remark_codes",
        "lines",
        "ok",
        "has_mia",
        "provider_npi",
    )

    def build(self) -> Claim:
        el = self.el
        n = len(el)
        people = self.people
        return Claim(
            el[1] if n > 1 else "",
            el[2] if n > 2 else "",
            self.charge if self.charge is not None else _ZERO,
            self.paid if self.paid is not None else _ZERO,
            self.responsibility,
            el[6] if n > 6 else "",
            el[7] if n > 7 else "",
            el[8] if n > 8 else "",
            el[9] if n > 9 else "",
            tuple(self.adjustments),
            people.get("QC"),
            people.get("IL"),
            people.get("74"),
            people.get("82"),
            tuple(self.references),
            self.statement_from,
            self.statement_to,
            self.received,
            tuple(self.amounts),
            tuple(self.remark_codes),
            tuple([ln.build() for ln in self.lines]),
            self.pos,
            el[11] if n > 11 else "",
            _weight(el[12]) if n > 12 and el[12] else None,
            self.has_mia,
            self.provider_npi,
        )


def _weight(value: str) -> Decimal | None:
    """CLP12 (DRG weight), checked as an amount by the CLP handler."""
    return Decimal(value) if _AMOUNT_RE.fullmatch(value) else None


_CLAIM_PEOPLE = frozenset(("QC", "IL", "74", "82", "TT", "PR", "GB"))
_HEADER_IDS = frozenset(("BPR", "TRN", "CUR", "N1", "N3", "N4", "PER", "RDM"))
_LINE_DATES = {"472": "service_date", "150": "service_from", "151": "service_to"}
_CLAIM_DATES = {"232": "statement_from", "233": "statement_to", "050": "received", "036": None}
_MOA_REMARKS = (3, 4, 5, 6, 7)
_MIA_REMARKS = (5, 20, 21, 22, 23)


def _procedure(ctx: _Ctx, el: Row, i: int, pos: int) -> ProcedureCode | None:
    value = el[i] if i < len(el) else ""
    if not value:
        return None
    parts = value.split(ctx.component)
    n = len(parts)
    qualifier = parts[0]
    code = parts[1] if n > 1 else ""
    if not qualifier:
        ctx.err(pos, el, f"{el[0]}{i:02d}-01", "product/service id qualifier is missing")
    if not code:
        ctx.err(pos, el, f"{el[0]}{i:02d}-02", "procedure code is missing")
    if n > 7:
        ctx.err(pos, el, f"{el[0]}{i:02d}", f"procedure composite has {n} components, at most 7")
    if n <= 2:
        return ProcedureCode(qualifier, code)
    return ProcedureCode(
        qualifier,
        code,
        tuple([m for m in parts[2:6] if m]),
        parts[6] if n > 6 and parts[6] else None,
    )


def _adjustments(ctx: _Ctx, el: Row, pos: int, out: list[Adjustment]) -> bool:
    """Parse a CAS segment into ``out``; False when an amount could not be read."""
    n = len(el)
    group = el[1] if n > 1 else ""
    if group not in ADJUSTMENT_GROUPS:
        ctx.err(pos, el, "CAS01", f"{group!r} is not an adjustment group code (CO, OA, PI, PR)")
    if n > 20:
        ctx.err(pos, el, None, f"CAS has {n - 1} elements, at most 19 (six triplets)")
    ok = True
    found = False
    for i in range(2, min(n, 20), 3):
        reason = el[i]
        has_amount = i + 1 < n and el[i + 1]
        has_qty = i + 2 < n and el[i + 2]
        if not reason and not has_amount and not has_qty:
            continue
        found = True
        if not reason:
            ctx.err(pos, el, f"CAS{i:02d}", "adjustment reason code is missing")
        amount = ctx.amount(el, i + 1, pos)
        quantity = ctx.amount(el, i + 2, pos) if has_qty else None
        if amount is None:
            ok = False
        else:
            out.append(Adjustment(group, reason, amount, quantity))
    if not found:
        ctx.err(pos, el, "CAS02", "CAS has no adjustment")
    return ok


def _person(el: Row) -> Person:
    n = len(el)
    return Person(
        el[1] if n > 1 else "",
        el[2] if n > 2 else "",
        el[3] if n > 3 else "",
        el[4] if n > 4 else "",
        el[5] if n > 5 else "",
        el[7] if n > 7 else "",
        el[8] if n > 8 else "",
        el[9] if n > 9 else "",
    )


def _sum(values: list[Adjustment]) -> Decimal:
    total = _ZERO
    for a in values:
        total += a.amount
    return total


def _check_claim(ctx: _Ctx, claim: _Claim) -> None:
    if "QC" not in claim.people:
        ctx.err(claim.pos, claim.el, None, "claim has no patient name (NM1*QC)")
    line_adjustments = _ZERO
    lines_ok = True
    for ln in claim.lines:
        if not ln.ok:
            lines_ok = False
            continue
        own = _sum(ln.adjustments)
        line_adjustments += own
        if ln.charge - ln.paid != own:
            ctx.err(
                ln.pos,
                ("SVC",),
                "SVC03",
                f"service line does not balance: charge {ln.charge} - paid {ln.paid} = "
                f"{ln.charge - ln.paid}, but its adjustments total {own}",
            )
    if not claim.ok or not lines_ok:
        return
    claim_adjustments = _sum(claim.adjustments)
    total = claim_adjustments + line_adjustments
    if claim.charge - claim.paid != total:
        ctx.err(
            claim.pos,
            claim.el,
            "CLP04",
            f"claim does not balance: charge {claim.charge} - paid {claim.paid} = "
            f"{claim.charge - claim.paid}, but adjustments total {total} "
            f"(claim level {claim_adjustments}, line level {line_adjustments})",
        )


def _parse_transaction(tx: Transaction, ctx: _Ctx) -> Remittance:
    """Walk one 835 transaction, building the model and collecting errors in ctx."""
    st_pos = tx.position
    st_row = tx.rows[0]
    body = tx.rows[1:-1] if tx.has_trailer else tx.rows[1:]
    err = ctx.err
    amount = ctx.amount
    cache = ctx.amounts
    dates = ctx.dates
    procedures: dict[str, ProcedureCode] = {}
    bpr: Row | None = None
    trn: Row | None = None
    payer_n1: Row | None = None
    payee_n1: Row | None = None
    payer_ref_2u: str | None = None
    payee_tax_id: str | None = None
    production_date: date | None = None
    payment_amount: Decimal | None = None
    payment_date: date | None = None
    n1: str | None = None  # entity of the current 1000 loop (PR, PE)
    in_detail = False
    claims: list[Claim] = []
    plbs: list[ProviderAdjustment] = []
    totals_ok = True  # every CLP04 and PLB amount could be read
    paid_total = _ZERO
    claim: _Claim | None = None
    line: _Line | None = None
    ts3_npi: str | None = None  # TS301: the facility of the current 2000 loop

    bad = check_loops(body, st_pos + 1, lambda pos, el, message: err(pos, el, None, message))
    for pos, el in enumerate(body, st_pos + 1):
        if bad and pos in bad:
            continue  # the guide does not allow it here: reported once, by check_loops
        sid = el[0]
        n = len(el)
        if sid == "DTM":
            qualifier = el[1] if n > 1 else ""
            if line is not None:
                if qualifier == "472" and n == 3:
                    line.service_date = dates.get(el[2]) or ctx.date(el, 2, pos)
                    continue
                attr = _LINE_DATES.get(qualifier)
                if attr is None:
                    err(
                        pos,
                        el,
                        "DTM01",
                        f"{qualifier!r} is not a service date qualifier (472, 150, 151)",
                    )
                else:
                    setattr(line, attr, ctx.date(el, 2, pos))
            elif claim is not None:
                if qualifier not in _CLAIM_DATES:
                    err(
                        pos,
                        el,
                        "DTM01",
                        f"{qualifier!r} is not a claim date qualifier (232, 233, 050, 036)",
                    )
                    continue
                value = ctx.date(el, 2, pos)
                attr = _CLAIM_DATES[qualifier]
                if attr is not None:
                    setattr(claim, attr, value)
            elif qualifier == "405" and not in_detail:
                production_date = ctx.date(el, 2, pos)
            else:
                err(pos, el, "DTM01", f"unexpected DTM qualifier {qualifier!r} here")
        elif sid == "CAS":
            target = line if line is not None else claim
            if target is None:
                err(pos, el, None, "CAS segment outside a claim")
            elif n == 4 and el[2] and el[1] in ADJUSTMENT_GROUPS and el[3] in cache:
                # The usual single triplet without quantity, amount already seen.
                target.adjustments.append(Adjustment(el[1], el[2], cache[el[3]]))
            elif not _adjustments(ctx, el, pos, target.adjustments):
                target.ok = False
        elif sid == "REF":
            qualifier = el[1] if n > 1 else ""
            value = el[2] if n > 2 else ""
            if not qualifier:
                err(pos, el, "REF01", "reference qualifier is missing")
            if not value:
                err(pos, el, "REF02", "reference value is missing")
            if line is not None:
                if qualifier == "6R":
                    line.control_number = value
                else:
                    line.references.append(Reference(qualifier, value))
            elif claim is not None:
                claim.references.append(Reference(qualifier, value))
            elif n1 == "PR":
                if qualifier == "2U" and payer_ref_2u is None:
                    payer_ref_2u = value
            elif n1 == "PE":
                if qualifier == "TJ" and payee_tax_id is None:
                    payee_tax_id = value
            elif in_detail:
                err(pos, el, None, "REF segment outside a claim")
        elif sid == "SVC":
            if claim is None:
                err(pos, el, None, "SVC segment outside a claim")
                line = None
                continue
            line = _Line()
            line.pos = pos
            raw = el[1] if n > 1 else ""
            procedure = procedures.get(raw)
            if procedure is None:
                procedure = _procedure(ctx, el, 1, pos)
                if procedure is None:
                    err(pos, el, "SVC01", "procedure composite is missing")
                    procedure = ProcedureCode("", "")
                elif procedure.qualifier and procedure.code and raw.count(ctx.component) < 7:
                    procedures[raw] = procedure  # immutable, so shared; only valid ones
            line.procedure = procedure
            line.charge = charge = cache.get(el[2]) if n > 2 else None
            if charge is None:
                line.charge = charge = amount(el, 2, pos)
            line.paid = paid = cache.get(el[3]) if n > 3 else None
            if paid is None:
                line.paid = paid = amount(el, 3, pos)
            line.ok = charge is not None and paid is not None
            line.revenue_code = el[4] if n > 4 else ""
            if n > 5 and el[5]:
                units = amount(el, 5, pos)
                line.units = units if units is not None else _ONE
            else:
                line.units = _ONE
            if n > 6:
                line.original_procedure = _procedure(ctx, el, 6, pos)
                line.original_units = amount(el, 7, pos, False)
            else:
                line.original_procedure = line.original_units = None
            line.service_date = line.service_from = line.service_to = None
            line.adjustments = []
            line.allowed = None
            line.amounts = []
            line.remark_codes = []
            line.control_number = None
            line.references = []
            claim.lines.append(line)
        elif sid == "AMT":
            qualifier = el[1] if n > 1 else ""
            value = amount(el, 2, pos)
            if line is not None:
                if value is not None:
                    line.amounts.append(SupplementalAmount(qualifier, value))
                    if qualifier == "B6":
                        line.allowed = value
            elif claim is not None:
                if value is not None:
                    claim.amounts.append(SupplementalAmount(qualifier, value))
            else:
                err(pos, el, None, "AMT segment outside a claim")
        elif sid == "CLP":
            if claim is not None:
                _check_claim(ctx, claim)
                claims.append(claim.build())
                if claim.paid is None:
                    totals_ok = False
                else:
                    paid_total += claim.paid
            line = None
            in_detail = True
            n1 = None
            claim = _Claim()
            claim.pos = pos
            claim.el = el
            if not (el[1] if n > 1 else ""):
                err(pos, el, "CLP01", "patient control number is missing")
            status = el[2] if n > 2 else ""
            if status not in CLAIM_STATUS_CODES:
                err(pos, el, "CLP02", f"{status!r} is not a claim status code")
            claim.charge = amount(el, 3, pos)
            claim.paid = amount(el, 4, pos)
            claim.responsibility = amount(el, 5, pos, False)
            claim.ok = claim.charge is not None and claim.paid is not None
            claim.adjustments = []
            claim.people = {}
            claim.references = []
            claim.statement_from = claim.statement_to = claim.received = None
            claim.amounts = []
            claim.remark_codes = []
            claim.lines = []
            claim.has_mia = False
            claim.provider_npi = ts3_npi
            if n > 12 and el[12]:
                amount(el, 12, pos, False)
        elif sid == "NM1":
            if claim is None or line is not None:
                err(pos, el, None, "NM1 segment outside the claim header")
                continue
            entity = el[1] if n > 1 else ""
            if entity not in _CLAIM_PEOPLE:
                err(pos, el, "NM101", f"{entity!r} is not a claim party entity code")
            elif entity in claim.people:
                err(pos, el, "NM101", f"second NM1*{entity} in the claim")
            else:
                claim.people[entity] = _person(el)
        elif sid == "LQ":
            if line is None:
                err(pos, el, None, "LQ segment outside a service line")
                continue
            qualifier = el[1] if n > 1 else ""
            code = el[2] if n > 2 else ""
            if not code:
                err(pos, el, "LQ02", "remark code is missing")
            if qualifier == "HE":
                line.remark_codes.append(code)
            elif qualifier != "RX":
                err(pos, el, "LQ01", f"{qualifier!r} is not a remark code list qualifier (HE, RX)")
        elif sid == "MOA" or sid == "MIA":
            if claim is None or line is not None:
                err(pos, el, None, f"{sid} segment outside the claim header")
                continue
            if sid == "MIA":
                claim.has_mia = True
            remarks = _MOA_REMARKS if sid == "MOA" else _MIA_REMARKS
            for i in range(1, n):
                if not el[i]:
                    continue
                if i in remarks:
                    claim.remark_codes.append(el[i])
                else:
                    amount(el, i, pos)
        elif sid == "QTY":
            if claim is None:
                err(pos, el, None, "QTY segment outside a claim")
            else:
                amount(el, 2, pos)
        elif sid == "LX" or sid == "PLB" or sid == "TS3" or sid == "TS2":
            if sid[0] == "T":
                if sid == "TS3":
                    ts3_npi = el[1] if n > 1 and el[1] else None
                continue
            if claim is not None:
                _check_claim(ctx, claim)
                claims.append(claim.build())
                if claim.paid is None:
                    totals_ok = False
                else:
                    paid_total += claim.paid
            claim = None
            line = None
            in_detail = True
            n1 = None
            if sid == "LX":
                ts3_npi = None
                continue
            provider = el[1] if n > 1 else ""
            if not provider:
                err(pos, el, "PLB01", "provider identifier is missing")
            fiscal = ctx.date(el, 2, pos)
            if n > 15:
                err(pos, el, None, f"PLB has {n - 1} elements, at most 14 (six adjustments)")
            if n < 5:
                err(pos, el, "PLB03", "PLB has no adjustment")
            items: list[ProviderAdjustmentItem] = []
            for i in range(3, min(n, 15), 2):
                composite = el[i]
                if not composite and not (i + 1 < n and el[i + 1]):
                    continue
                parts = composite.split(ctx.component)
                if not parts[0]:
                    err(pos, el, f"PLB{i:02d}-01", "adjustment reason code is missing")
                value = amount(el, i + 1, pos)
                if value is None:
                    totals_ok = False
                else:
                    items.append(
                        ProviderAdjustmentItem(parts[0], parts[1] if len(parts) > 1 else "", value)
                    )
            plbs.append(ProviderAdjustment(provider, fiscal, tuple(items), pos))
        elif sid in _HEADER_IDS:
            if in_detail:
                continue  # PER*CX in a claim: allowed by the guide, kept in the raw file
            elif sid == "N1":
                entity = el[1] if n > 1 else ""
                n1 = entity
                if entity == "PR":
                    if payer_n1 is not None:
                        err(pos, el, "N101", "second payer (N1*PR)")
                    else:
                        payer_n1 = el
                elif entity == "PE":
                    if payee_n1 is not None:
                        err(pos, el, "N101", "second payee (N1*PE)")
                    else:
                        payee_n1 = el
                else:
                    err(pos, el, "N101", f"{entity!r} is not a payer (PR) or payee (PE)")
                if not (el[2] if n > 2 else ""):
                    err(pos, el, "N102", "name is missing")
            elif sid == "BPR":
                if bpr is not None:
                    err(pos, el, None, "second BPR segment")
                    continue
                bpr = el
                bpr_pos = pos
                payment_amount = amount(el, 2, pos)
                payment_date = ctx.date(el, 16, pos)
            elif sid == "TRN":
                if trn is not None:
                    err(pos, el, None, "second TRN segment")
                    continue
                trn = el
                if not (el[2] if n > 2 else ""):
                    err(pos, el, "TRN02", "check or EFT trace number is missing")
            elif sid in ("N3", "N4", "PER", "RDM") and n1 is None:
                err(pos, el, None, f"{sid} segment outside a payer or payee loop")
        else:
            err(pos, el, None, f"{sid!r} is not an 835 segment")

    if claim is not None:
        _check_claim(ctx, claim)
        claims.append(claim.build())
        if claim.paid is None:
            totals_ok = False
        else:
            paid_total += claim.paid

    for missing, present in (("BPR", bpr), ("TRN", trn), ("N1*PR", payer_n1), ("N1*PE", payee_n1)):
        if present is None:
            err(st_pos, st_row, None, f"required {missing} segment is missing")

    payment: Payment | None = None
    if bpr is not None:
        nb = len(bpr)
        t = trn or ()
        nt = len(t)
        payment = Payment(
            payment_amount if payment_amount is not None else _ZERO,
            bpr[1] if nb > 1 else "",
            bpr[3] if nb > 3 else "",
            bpr[4] if nb > 4 else "",
            payment_date,
            t[2] if nt > 2 else "",
            t[3] if nt > 3 else "",
        )
        if totals_ok and payment_amount is not None:
            plb_total = sum((p.total for p in plbs), _ZERO)
            expected = paid_total - plb_total
            if payment_amount != expected:
                ctx.warn(
                    bpr_pos,
                    bpr,
                    "BPR02",
                    f"total payment {payment_amount} does not equal claim payments {paid_total} "
                    f"minus provider adjustments {plb_total} = {expected}",
                )
    payer = None
    if payer_n1 is not None:
        p = payer_n1
        payer = Payer(
            p[2] if len(p) > 2 else "", payer_ref_2u or (p[4] if len(p) > 4 and p[4] else None)
        )
    payee = None
    if payee_n1 is not None:
        p = payee_n1
        np_ = len(p)
        qualifier = p[3] if np_ > 3 else ""
        ident = p[4] if np_ > 4 else ""
        payee = Payee(
            p[2] if np_ > 2 else "",
            ident if qualifier == "XX" and ident else None,
            qualifier,
            ident,
            payee_tax_id or (ident if qualifier == "FI" and ident else None),
        )
    return Remittance(
        tx.control_number,
        tx.index,
        tx.interchange_control_number,
        tx.group_control_number,
        payer,
        payee,
        payment,
        production_date,
        tuple(claims),
        tuple(plbs),
        st_pos,
    )


def parse_835(data: bytes | bytearray | memoryview | str) -> ParseResult:
    """Parse and validate an 835 file (bytes or text).  Never raises for bad data."""
    with gc_paused():
        doc = parse_x12(data)
        errors: list[EraError] = [
            EraError(
                e.transaction,
                e.segment_no,
                e.segment_id,
                e.element,
                e.message,
                e.transaction_segment_no,
            )
            for e in doc.errors
        ]
        amounts: dict[str, Decimal] = {}
        dates: dict[str, date] = {}
        remittances: list[Remittance] = []
        warnings: list[EraError] = []
        for tx in doc.transactions:
            ctx = _Ctx(
                tx.control_number, tx.position - 1, errors, amounts, dates, tx.delimiters.component
            )
            if tx.set_id != "835":
                ctx.err(
                    tx.position, tx.rows[0], "ST01", f"transaction set {tx.set_id!r} is not an 835"
                )
                continue
            remittances.append(_parse_transaction(tx, ctx))
            warnings += ctx.warnings
        errors.sort(key=lambda e: e.segment_no)
        return ParseResult(
            tuple(remittances), tuple(errors), tuple(warnings), doc.encoding, doc.wrapped_width
        )


def _format_error(e: X12Error) -> str:
    where = "Segment"
    if e.transaction is not None:
        where = f"Transaction {printable(e.transaction)}, segment"
    element = f", element {e.element}" if e.element else ""
    return f"{where} {e.segment_no} ({printable(e.segment_id)}){element}: {e.message}"


def error_report(errors: tuple[X12Error, ...] | list[X12Error]) -> str:
    """One human line per error, e.g.
    ``Transaction 0001, segment 14 (CLP), element CLP04: 'abc' is not an amount``."""
    return "\n".join(_format_error(e) for e in errors)
