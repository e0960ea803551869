"""Pure Medicare Physician Fee Schedule pricing (no Flask, no database).

``price()`` turns one RVU row + one GPCI locality + a place of service into a
:class:`MedicarePrice`::

    amount = [(work RVU x work GPCI) + (PE RVU x PE GPCI) + (MP RVU x MP GPCI)] x CF

computed exactly in ``Decimal`` and rounded once, at the end, to cents
(ROUND_HALF_UP).  The facility PE RVU is used for facility places of service
and whenever the non-facility PE is marked NA.  Only status A, R and T rows are
priced; every other status (and anesthesia) yields ``amount=None`` with the
reason in words, never an invented number.

For the diagnostic imaging rows that carry OPPS-cap RVUs (Deficit Reduction Act
of 2005, section 5102(b)) the lower of the PFS amount and the OPPS amount is
used, as CMS does; pass ``apply_opps_cap=False`` for the plain formula.

``apply_surgical_rules()`` applies the case-level surgical payment rules
(multiple procedures, bilateral, assistant at surgery, co-surgeons, team
surgery) and records every adjustment as ``(label, factor, explanation)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple, Protocol

__all__ = [
    "ANESTHESIA_REASON",
    "FACILITY_POS",
    "PAYABLE_STATUSES",
    "STATUS_REASONS",
    "Adjustment",
    "AdjustedLine",
    "MedicarePrice",
    "PriceComponent",
    "SurgicalLine",
    "apply_surgical_rules",
    "case_total",
    "is_anesthesia_code",
    "is_facility",
    "price",
]

CENT = Decimal("0.01")
ZERO = Decimal("0")
ONE = Decimal("1")

#: Places of service priced with the facility PE RVU.
FACILITY_POS = frozenset(
    {"19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61"}
)

#: Only these status codes have RVUs used for Medicare payment.
PAYABLE_STATUSES = frozenset({"A", "R", "T"})

#: Why a row with this status has no PFS amount (CMS RVU file, Attachment A).
STATUS_REASONS: dict[str, str] = {
    "B": (
        "Status B (bundled code): payment is always bundled into the payment for other "
        "services; it is never paid separately under the fee schedule."
    ),
    "C": (
        "Status C (contractor priced): the Medicare Administrative Contractor sets the "
        "payment case by case, usually after reviewing documentation such as the "
        "operative report; there is no national fee schedule amount."
    ),
    "D": "Status D (deleted code): the code was deleted at the start of the year.",
    "E": (
        "Status E (excluded from the fee schedule by regulation): no payment may be made "
        "under the physician fee schedule; when covered it is paid under reasonable "
        "charge procedures."
    ),
    "F": "Status F (deleted/discontinued code): the code is no longer valid.",
    "G": (
        "Status G (not valid for Medicare purposes): Medicare uses another code to report "
        "and pay for this service."
    ),
    "H": (
        "Status H (deleted modifier): the -26/-TC component shown for this code was "
        "deleted this year."
    ),
    "I": (
        "Status I (not valid for Medicare purposes): Medicare uses another code to report "
        "and pay for this service."
    ),
    "J": (
        "Status J (anesthesia service): there are no RVUs and no fee schedule amount; "
        "anesthesia is paid by base units plus time units times the anesthesia "
        "conversion factor."
    ),
    "M": "Status M (measurement code): used for quality reporting only, not paid.",
    "N": "Status N (non-covered service): Medicare does not cover this service.",
    "P": (
        "Status P (bundled/excluded code): no separate payment under the fee schedule; "
        "incident to a physician service it is bundled into that service, otherwise it "
        "is paid under another Medicare payment provision (e.g. supplies)."
    ),
    "X": (
        "Status X (statutory exclusion): not a 'physician service' by law (examples: "
        "ambulance, clinical laboratory tests), so no payment under the physician fee "
        "schedule; it may be paid under another Medicare fee schedule."
    ),
}

ANESTHESIA_REASON = (
    "Anesthesia code: Medicare pays anesthesia by (base units + time units) x the "
    "locality's anesthesia conversion factor, not by RVUs, so no fee schedule amount "
    "is computed here."
)

_STATUS_NOTES: dict[str, str] = {
    "R": (
        "Status R (restricted coverage): special coverage instructions apply; paid only "
        "when those coverage conditions are met."
    ),
    "T": (
        "Status T (injection): paid only if no other fee-schedule service is billed by "
        "the same provider on the same date; otherwise bundled into that service."
    ),
}


def is_facility(pos: str | int) -> bool:
    """True when the place of service is priced with the facility PE RVU.

    Accepts ``"22"``, ``" 22 "``, ``"2"`` (read as ``"02"``) or an int.  Raises
    ``ValueError`` for anything that is not a 1-2 digit POS code.
    """
    text = str(pos).strip()
    if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 2):
        raise ValueError(f"place of service {pos!r} is not a 2-digit code")
    return text.zfill(2) in FACILITY_POS


def is_anesthesia_code(hcpcs: str) -> bool:
    """CPT anesthesia section: 00100-01999."""
    code = hcpcs.strip()
    return len(code) == 5 and code.isascii() and code.isdigit() and 100 <= int(code) <= 1999


class RvuLike(Protocol):
    hcpcs: str
    modifier: str
    status: str
    work_rvu: Decimal
    nonfac_pe_rvu: Decimal
    nonfac_na: bool
    fac_pe_rvu: Decimal
    fac_na: bool
    mp_rvu: Decimal
    conv_factor: Decimal


class GpciLike(Protocol):
    pw: Decimal
    pe: Decimal
    mp: Decimal


@dataclass(frozen=True, slots=True)
class PriceComponent:
    """One term of the formula: ``rvu x gpci`` (geographically adjusted) and x CF."""

    name: str  # "work", "pe" or "mp"
    rvu: Decimal
    gpci: Decimal
    adjusted_rvu: Decimal  # rvu * gpci, exact
    amount: Decimal  # rvu * gpci * CF, exact (not rounded)


@dataclass(frozen=True, slots=True)
class MedicarePrice:
    """The Medicare fee schedule amount for one code in one locality and setting.

    ``amount`` is None when the code is not priced by RVUs (``reason`` says
    why).  ``pe_rvu_used`` is the PE RVU actually used and ``pe_source`` says
    which one it is.  ``components`` hold the exact work/PE/MP terms whose sum
    is ``unrounded``; ``amount`` is ``unrounded`` rounded half-up to cents.
    """

    amount: Decimal | None
    reason: str | None
    hcpcs: str
    modifier: str
    status: str
    facility: bool
    pe_source: str  # "facility", "non-facility", "facility (non-facility PE is NA)", ...
    work_rvu: Decimal
    pe_rvu_used: Decimal
    mp_rvu: Decimal
    work_gpci: Decimal
    pe_gpci: Decimal
    mp_gpci: Decimal
    conversion_factor: Decimal
    components: tuple[PriceComponent, ...] = ()
    unrounded: Decimal | None = None
    pfs_amount: Decimal | None = None  # before the OPPS imaging cap (rounded)
    opps_cap_amount: Decimal | None = None  # OPPS imaging cap amount, when applicable
    opps_cap_applied: bool = False
    notes: tuple[str, ...] = ()

    @property
    def pe_rvu(self) -> Decimal:
        return self.pe_rvu_used

    @property
    def priced(self) -> bool:
        return self.amount is not None


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _components(
    work: Decimal, pe: Decimal, mp: Decimal, gpci: GpciLike, cf: Decimal
) -> tuple[tuple[PriceComponent, ...], Decimal]:
    comps = tuple(
        PriceComponent(name, rvu, g, rvu * g, rvu * g * cf)
        for name, rvu, g in (("work", work, gpci.pw), ("pe", pe, gpci.pe), ("mp", mp, gpci.mp))
    )
    total = (work * gpci.pw + pe * gpci.pe + mp * gpci.mp) * cf
    return comps, total


def price(
    rvu: RvuLike, gpci: GpciLike, pos: str | int, *, apply_opps_cap: bool = True
) -> MedicarePrice:
    """Price one RVU row in one GPCI locality for a place of service."""
    facility = is_facility(pos)
    status = rvu.status.strip().upper()
    cf = rvu.conv_factor
    notes: list[str] = []

    if facility:
        pe, pe_source = rvu.fac_pe_rvu, "facility"
        if rvu.fac_na:
            notes.append(
                "CMS marks the facility PE as NA (rarely or never performed in a facility "
                "setting); the facility PE RVU is used as published."
            )
    elif rvu.nonfac_na:
        pe, pe_source = rvu.fac_pe_rvu, "facility (non-facility PE is NA)"
        notes.append(
            "Non-facility PE is NA (rarely or never performed outside a facility), so "
            "the facility PE RVU is used."
        )
    else:
        pe, pe_source = rvu.nonfac_pe_rvu, "non-facility"

    base: dict[str, Any] = dict(
        hcpcs=rvu.hcpcs,
        modifier=rvu.modifier,
        status=status,
        facility=facility,
        pe_source=pe_source,
        work_rvu=rvu.work_rvu,
        pe_rvu_used=pe,
        mp_rvu=rvu.mp_rvu,
        work_gpci=gpci.pw,
        pe_gpci=gpci.pe,
        mp_gpci=gpci.mp,
        conversion_factor=cf,
    )

    def unpriced(reason: str) -> MedicarePrice:
        return MedicarePrice(amount=None, reason=reason, notes=tuple(notes), **base)

    if is_anesthesia_code(rvu.hcpcs):
        return unpriced(ANESTHESIA_REASON)
    if status not in PAYABLE_STATUSES:
        return unpriced(
            STATUS_REASONS.get(status, f"Status {status!r} is not priced under the fee schedule.")
        )
    if getattr(rvu, "not_used_for_medicare", False):
        return unpriced("The RVU file flags these RVUs as not used for Medicare payment.")
    if status in _STATUS_NOTES:
        notes.append(_STATUS_NOTES[status])
    if rvu.work_rvu == 0 and pe == 0 and rvu.mp_rvu == 0:
        if status == "R":
            return unpriced(
                "Status R (restricted coverage) with no RVUs published: if covered, the "
                "Medicare Administrative Contractor prices it."
            )
        return unpriced(f"Status {status} but no RVUs are published for this setting.")

    comps, total = _components(rvu.work_rvu, pe, rvu.mp_rvu, gpci, cf)
    pfs_amount = _round(total)
    result: dict[str, Any] = dict(
        amount=pfs_amount, reason=None, components=comps, unrounded=total, pfs_amount=pfs_amount
    )

    opps_pe = _opps_pe(rvu, facility)
    opps_mp = getattr(rvu, "opps_mp_rvu", ZERO) or ZERO
    if apply_opps_cap and opps_pe > 0:
        o_comps, o_total = _components(rvu.work_rvu, opps_pe, opps_mp, gpci, cf)
        result["opps_cap_amount"] = _round(o_total)
        if o_total < total:
            notes.append(
                "OPPS imaging cap (DRA 2005 s.5102(b)): the OPPS-based amount "
                f"{_round(o_total)} is lower than the fee schedule amount {pfs_amount} "
                "and is used instead."
            )
            result.update(
                amount=_round(o_total),
                components=o_comps,
                unrounded=o_total,
                opps_cap_applied=True,
            )
            base.update(pe_rvu_used=opps_pe, mp_rvu=opps_mp, pe_source=pe_source + ", OPPS cap")
    return MedicarePrice(notes=tuple(notes), **base, **result)


def _opps_pe(rvu: Any, facility: bool) -> Decimal:
    nonfac = getattr(rvu, "opps_nonfac_pe_rvu", ZERO) or ZERO
    fac = getattr(rvu, "opps_fac_pe_rvu", ZERO) or ZERO
    if facility or rvu.nonfac_na:
        return fac
    return nonfac


# --------------------------------------------------------------------------
# Surgical rules
# --------------------------------------------------------------------------


class Adjustment(NamedTuple):
    """One step applied to a line: amount is multiplied by ``factor``."""

    label: str
    factor: Decimal
    explanation: str


@dataclass(frozen=True, slots=True)
class SurgicalLine:
    """One service line of a case, ready for :func:`apply_surgical_rules`.

    ``rvu`` needs the indicator attributes ``mult_proc``, ``bilat_surg``,
    ``asst_surg``, ``co_surg``, ``team_surg`` (and optionally ``endo_base``),
    as on :class:`advocate.rates.pfs_files.RvuRow`.  ``price`` is the
    single-unit :class:`MedicarePrice` for the line's code/modifier row.
    """

    code: str
    modifiers: tuple[str, ...]
    units: int
    price: MedicarePrice
    rvu: Any

    def __post_init__(self) -> None:
        mods = tuple(str(m).strip().upper() for m in self.modifiers if str(m).strip())
        object.__setattr__(self, "modifiers", mods)
        if not isinstance(self.units, int) or isinstance(self.units, bool) or self.units < 1:
            raise ValueError(f"units must be a positive integer, not {self.units!r}")


@dataclass(frozen=True, slots=True)
class AdjustedLine:
    """A line after the surgical rules.

    ``amount = base_amount x product(adjustment factors)`` rounded half-up to
    cents, or None with ``reason`` when Medicare would not pay it.  Units are
    folded into the factors (a "Units" step, or the multiple procedure step
    for lines subject to it).  ``mppr_rank`` is the 1-based rank of the line's
    first unit among the procedures subject to the multiple procedure rule.
    """

    line: Any
    code: str
    modifiers: tuple[str, ...]
    units: int
    base_amount: Decimal | None
    amount: Decimal | None
    reason: str | None
    adjustments: tuple[Adjustment, ...] = ()
    notes: tuple[str, ...] = ()
    mppr_rank: int | None = None

    @property
    def factor(self) -> Decimal:
        total = ONE
        for adj in self.adjustments:
            total *= adj.factor
        return total


ASSISTANT_MODIFIERS = frozenset({"80", "81", "82", "AS"})
ASSISTANT_FACTOR = Decimal("0.16")
NPP_ASSISTANT_FACTOR = Decimal("0.85")
CO_SURGEON_FACTOR = Decimal("0.625")
BILATERAL_FACTOR = Decimal("1.5")
MPPR_SECONDARY = Decimal("0.5")
MPPR_INDICATORS = frozenset({"2", "3"})
_OTHER_MPPR = {
    "4": "diagnostic imaging family reduction (indicator 4)",
    "5": "therapy practice expense reduction (indicator 5)",
    "6": "diagnostic cardiovascular TC reduction (indicator 6)",
    "7": "diagnostic ophthalmology TC reduction (indicator 7)",
}


@dataclass
class _Work:
    line: Any
    code: str
    mods: frozenset[str]
    modifiers: tuple[str, ...]
    units: int
    base: Decimal | None
    ind: dict[str, str]
    reason: str | None = None
    proc_units: int = 1  # procedures this line counts for in the MPPR ranking
    adjustments: list[Adjustment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rank_value: Decimal = ZERO  # per-procedure amount used to rank
    mppr_rank: int | None = None
    assistant: bool = False
    endo_base: str = ""
    endo_base_price: Decimal | None = None  # the family's base endoscopy, one unit
    mppr_family: str = ""
    family_amount: Decimal | None = None  # the family rule's exact amount for the line


def _indicator(rvu: Any, name: str) -> str:
    value = getattr(rvu, name, "9")
    return str(value).strip() if value is not None else "9"


def apply_surgical_rules(lines: Iterable[Any]) -> list[AdjustedLine]:
    """Apply Medicare's surgical payment rules to one case's lines (same order out).

    Each line needs ``code``, ``modifiers`` (iterable of str), ``units`` (int),
    ``price`` (:class:`MedicarePrice`) and ``rvu`` (indicators); see
    :class:`SurgicalLine`.  Rules, in CMS's order:

    1. Team surgery (modifier 66): never a fee schedule amount -- not permitted
       (indicator 0/9) or priced by report by the contractor (1/2).
    2. Bilateral (modifier 50, reported as one line): indicator 1 -> 150%;
       3 -> 200% (each side at 100%); 0 and 2 -> 100% of the single code; 9 ->
       100%, concept does not apply.  Applied before the multiple procedure rule.
    3. Multiple procedures (MULT PROC 2, and 3 simplified): every unit of every
       such line is one procedure; they are ranked by amount (after the
       bilateral step); the highest is paid 100% and every other one 50%.
       Surgeon lines and assistant-at-surgery lines are ranked separately (they
       are different providers' claims).  Indicator 3 (endoscopies): two or
       more endoscopies of one family (the same ENDO BASE code; the base code's
       own line belongs to it) are first priced by CMS's family rule -- the
       highest-valued in full, each other one at its value minus the base
       endoscopy's, the base itself adding nothing -- and the family then
       counts as ONE procedure, valued at that sum, in the 100%/50% ranking
       with the other procedures (and other families).  The base code's fee
       comes from its own line or from ``line.endo_base_price`` (optional; the
       family rule is skipped, and the line says so, when neither gives it).
       The 6th and later procedures, which CMS prices by report, are kept at 50%.
       Indicators 4-7 (imaging, therapy, cardiovascular, ophthalmology
       reductions) are not applied; a note says so when they could matter.
    4. Co-surgeons (modifier 62): CO-SURG 1 or 2 -> 62.5% (1 requires
       documentation of medical necessity); 0 -> not permitted; 9 -> concept
       does not apply; both give amount None.
    5. Assistant at surgery (80, 81, 82, AS): ASST SURG 2 -> 16%; 0 -> 16% only
       with documentation of medical necessity; 1 (statutory restriction) and
       9 -> not payable (amount None).  AS (physician assistant, nurse
       practitioner or clinical nurse specialist assisting) is paid at 85% of
       that 16% (= 13.6%).

    Lines whose price has no amount stay unpriced with the price's reason.
    """
    work = [_prepare(line) for line in lines]
    for w in work:
        if w.reason is None:
            _team(w)
        if w.reason is None:
            _bilateral(w)
    _multiple_procedures(work)
    for w in work:
        if w.reason is None:
            _co_surgery(w)
        if w.reason is None:
            _assistant(w)
    return [_finish(w) for w in work]


def _prepare(line: Any) -> _Work:
    modifiers = tuple(str(m).strip().upper() for m in line.modifiers if str(m).strip())
    units = line.units
    if not isinstance(units, int) or isinstance(units, bool) or units < 1:
        raise ValueError(f"units must be a positive integer, not {units!r}")
    rvu = line.rvu
    w = _Work(
        line=line,
        code=line.code,
        mods=frozenset(modifiers),
        modifiers=modifiers,
        units=units,
        base=line.price.amount,
        ind={
            name: _indicator(rvu, name)
            for name in ("mult_proc", "bilat_surg", "asst_surg", "co_surg", "team_surg")
        },
        proc_units=units,
    )
    w.endo_base = str(getattr(rvu, "endo_base", "") or "")
    w.endo_base_price = getattr(line, "endo_base_price", None)
    w.assistant = bool(w.mods & ASSISTANT_MODIFIERS)
    if w.base is None:
        w.reason = line.price.reason or "No Medicare fee schedule amount for this code."
    else:
        w.rank_value = w.base
    return w


def _team(w: _Work) -> None:
    if "66" not in w.mods:
        return
    ind = w.ind["team_surg"]
    if ind in ("1", "2"):
        w.reason = (
            f"Team surgery (modifier 66, TEAM SURG indicator {ind}): the contractor prices "
            "team surgery by report"
            + (" after documentation establishes medical necessity" if ind == "1" else "")
            + "; there is no fee schedule percentage."
        )
    elif ind == "0":
        w.reason = "Team surgery (modifier 66) is not permitted for this procedure (TEAM SURG 0)."
    else:
        w.reason = "Team surgery does not apply to this code (TEAM SURG 9)."


_BILATERAL: dict[str, tuple[Decimal, str]] = {
    "1": (
        BILATERAL_FACTOR,
        "BILAT SURG 1: bilateral procedure paid at 150% of the single-side amount.",
    ),
    "3": (
        Decimal("2"),
        "BILAT SURG 3: no bilateral reduction; each side is paid at 100% (200% in total).",
    ),
    "2": (
        ONE,
        "BILAT SURG 2: the RVUs already describe a bilateral procedure; 100% of the single code.",
    ),
    "0": (
        ONE,
        "BILAT SURG 0: the 150% bilateral adjustment does not apply; both sides together "
        "are paid at 100% of the single code.",
    ),
    "9": (ONE, "BILAT SURG 9: the bilateral concept does not apply; 100%."),
}


def _bilateral(w: _Work) -> None:
    if "50" not in w.mods:
        return
    if w.units != 1:
        w.notes.append(
            f"Modifier 50 is reported on one line with 1 unit; the {w.units} units "
            "reported are treated as one bilateral procedure."
        )
        w.units = 1
        w.proc_units = 1
    ind = w.ind["bilat_surg"]
    factor, text = _BILATERAL.get(ind, _BILATERAL["9"])
    w.adjustments.append(Adjustment("Bilateral (modifier 50)", factor, text))
    w.rank_value = w.rank_value * factor


def _families(group: list[_Work]) -> dict[str, list[_Work]]:
    """Endoscopy families (MULT PROC 3) of a group, by base code, with the base
    code's own line when it was billed too; only families of two or more
    endoscopies (units counted) whose base fee is known."""
    fams: dict[str, list[_Work]] = {}
    for w in group:
        if w.ind["mult_proc"] == "3" and w.endo_base:
            fams.setdefault(w.endo_base, []).append(w)
    for w in group:
        if w.code in fams and w.ind["mult_proc"] != "3" and w not in fams[w.code]:
            fams[w.code].append(w)
    out = {}
    for base, members in fams.items():
        if sum(m.proc_units for m in members) < 2:
            continue
        base_fee = next((m.base for m in members if m.code == base), None)
        if base_fee is None:
            base_fee = next(
                (m.endo_base_price for m in members if m.endo_base_price is not None), None
            )
        if base_fee is None:
            continue
        for m in members:
            m.endo_base_price = base_fee
        out[base] = members
    return out


def _endoscopy_family(base: str, members: list[_Work]) -> Decimal:
    """CMS's endoscopic family rule: the highest-valued endoscopy in full, each
    other one at its value minus the base endoscopy's (never below zero; the
    base itself adds nothing). Sets each member's factor; returns the family's
    value (one procedure for the multiple procedure rule)."""
    base_fee = members[0].endo_base_price or ZERO
    units = [(m, m.rank_value) for m in members for _ in range(m.proc_units)]
    units.sort(key=lambda u: -u[1])  # stable: ties keep input order
    paid: dict[int, Decimal] = {}
    total = ZERO
    for i, (m, value) in enumerate(units):
        amount = value if i == 0 else max(ZERO, value - base_fee)
        paid[id(m)] = paid.get(id(m), ZERO) + amount
        total += amount
    top = units[0][0]
    for m in members:
        amount = paid.get(id(m), ZERO)
        factor = ONE if m.rank_value == 0 else amount / m.rank_value
        if m is top and m.proc_units == 1:
            text = f"Highest-valued endoscopy of the {base} family: paid in full."
        elif m.code == base:
            text = (
                f"Base endoscopy {base}, billed with other endoscopies of its family: "
                "included in them, not paid separately."
            )
        else:
            text = (
                f"Endoscopy family {base}: paid its value less the base endoscopy's "
                f"({m.rank_value:,.2f} - {base_fee:,.2f})"
                + (" per unit after the first" if m is top else "")
                + "."
            )
        m.adjustments.append(Adjustment("Endoscopy family", factor, text))
        m.family_amount = amount
        m.proc_units = 0  # the units are folded into this factor
        m.mppr_family = base
    return total


def _multiple_procedures(work: list[_Work]) -> None:
    for assistant in (False, True):
        group = [
            w
            for w in work
            if w.reason is None
            and w.assistant is assistant
            and w.ind["mult_proc"] in MPPR_INDICATORS
            and w.rank_value > 0
        ]
        families = _families(group)
        in_family = {id(m) for members in families.values() for m in members}
        # Items ranked by the multiple procedure rule: a family counts as one procedure.
        items: list[tuple[list[_Work], int, Decimal]] = [
            ([w], w.proc_units, w.rank_value) for w in group if id(w) not in in_family
        ]
        for base, members in families.items():
            items.append((members, 1, _endoscopy_family(base, members)))
        procedures = sum(n for _ws, n, _v in items)
        # Higher amount first; ties keep input order (sorted() is stable).
        ranked = sorted(items, key=lambda it: -it[2])
        position = 0  # procedures already ranked
        for ws, n, _value in ranked:
            w = ws[0]
            if len(ws) > 1 or id(w) in in_family:
                for m in ws:
                    m.mppr_rank = position + 1
                if procedures >= 2:
                    first = position == 0
                    text = f"The {w.mppr_family} endoscopy family counts as one procedure: " + (
                        f"the highest-valued of {procedures}, paid at 100%."
                        if first
                        else f"ranked {position + 1} of {procedures}: paid at 50%."
                    )
                    for m in ws:
                        m.adjustments.append(
                            Adjustment("Multiple procedure", ONE if first else MPPR_SECONDARY, text)
                        )
                position += 1
                continue
            w.mppr_rank = position + 1
            if procedures >= 2:
                first = 1 if position == 0 else 0
                rest = n - first
                factor = first * ONE + rest * MPPR_SECONDARY
                if n == 1:
                    text = (
                        f"Highest-priced of {procedures} procedures: paid at 100%."
                        if first
                        else f"Procedure ranked {position + 1} of {procedures}: paid at 50%."
                    )
                else:
                    text = (
                        f"{n} units count as {n} procedures"
                        + (
                            ": the first is the highest-priced of the case (100%), "
                            if first
                            else ": "
                        )
                        + f"{rest} at 50%."
                    )
                if position + n > 5:
                    text += " CMS prices the 6th and later procedures by report; 50% is used."
                if w.ind["mult_proc"] == "3":
                    text += (
                        " The endoscopic family rule does not apply: no other endoscopy of its "
                        "family on the claim"
                        + (
                            ""
                            if w.endo_base_price is not None or not w.endo_base
                            else " (or the base code's fee is not known)"
                        )
                        + "."
                    )
                w.adjustments.append(Adjustment("Multiple procedure", factor, text))
                w.proc_units = 0  # the units are folded into this factor
            position += n
    for w in work:
        if w.reason is None and w.proc_units > 1:
            w.adjustments.append(
                Adjustment("Units", Decimal(w.proc_units), f"{w.proc_units} units at 100% each.")
            )
    # Indicators 4-7 are not applied: say so when another line shares the indicator.
    by_ind: dict[str, int] = {}
    for w in work:
        if w.reason is None:
            by_ind[w.ind["mult_proc"]] = by_ind.get(w.ind["mult_proc"], 0) + w.units
    for w in work:
        ind = w.ind["mult_proc"]
        if w.reason is None and ind in _OTHER_MPPR and by_ind.get(ind, 0) > 1:
            w.notes.append(f"Not applied: CMS {_OTHER_MPPR[ind]} may reduce this line further.")


def _co_surgery(w: _Work) -> None:
    if "62" not in w.mods:
        return
    ind = w.ind["co_surg"]
    if ind == "2":
        text = "CO-SURG 2: co-surgeons permitted; each surgeon is paid 62.5%."
    elif ind == "1":
        text = (
            "CO-SURG 1: co-surgeons paid 62.5% each only with documentation of the medical "
            "necessity of two surgeons."
        )
    elif ind == "0":
        w.reason = "Co-surgeons (modifier 62) are not permitted for this procedure (CO-SURG 0)."
        return
    else:
        w.reason = "The co-surgeon concept does not apply to this code (CO-SURG 9)."
        return
    w.adjustments.append(Adjustment("Co-surgeon (modifier 62)", CO_SURGEON_FACTOR, text))


def _assistant(w: _Work) -> None:
    if not w.assistant:
        return
    ind = w.ind["asst_surg"]
    mods = "/".join(sorted(w.mods & ASSISTANT_MODIFIERS))
    if ind == "1":
        w.reason = (
            f"Assistant at surgery (modifier {mods}) may not be paid: statutory payment "
            "restriction for this procedure (ASST SURG 1)."
        )
        return
    if ind == "9":
        w.reason = (
            f"Assistant at surgery (modifier {mods}) does not apply to this code (ASST SURG 9)."
        )
        return
    if ind == "2":
        text = "ASST SURG 2: assistant at surgery may be paid: 16% of the surgeon's amount."
    else:
        text = (
            "ASST SURG 0: paid at 16% only if documentation establishes the medical "
            "necessity of an assistant."
        )
    w.adjustments.append(Adjustment("Assistant at surgery", ASSISTANT_FACTOR, text))
    if "AS" in w.mods:
        w.adjustments.append(
            Adjustment(
                "Non-physician assistant (modifier AS)",
                NPP_ASSISTANT_FACTOR,
                "A PA, NP or CNS assisting at surgery is paid 85% of the physician "
                "assistant-at-surgery amount (85% x 16% = 13.6%).",
            )
        )


def _finish(w: _Work) -> AdjustedLine:
    if w.reason is not None:
        amount = None
    else:
        assert w.base is not None
        total = w.base
        for adj in w.adjustments:
            if w.family_amount is not None and adj.label == "Endoscopy family":
                # Exact: the family rule's amount (earlier steps, e.g. bilateral,
                # are in it), not the base times an inexact ratio.
                total = w.family_amount
                continue
            total *= adj.factor
        amount = _round(total)
    return AdjustedLine(
        line=w.line,
        code=w.code,
        modifiers=w.modifiers,
        units=w.units,
        base_amount=w.base,
        amount=amount,
        reason=w.reason,
        adjustments=tuple(w.adjustments),
        notes=tuple(w.notes),
        mppr_rank=w.mppr_rank,
    )


def case_total(lines: Sequence[AdjustedLine]) -> Decimal:
    """Sum of the priced lines' amounts (unpriced lines contribute nothing)."""
    return sum((line.amount for line in lines if line.amount is not None), ZERO)
