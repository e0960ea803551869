"""Synthetic, valid X12 835 files for tests and benchmarks (no real PHI).

``build_835(specs, delimiters=...)`` writes exactly what the specs say and
computes everything derivable (CLP05 default, BPR02, SE01, GE01, IEA01), so a
file built from balanced specs is valid.  ``generate_835(n_claims, seed=...)``
makes deterministic, realistic specs (OON CO-45 price cuts, PR-1/2/3,
CO-97 bundling, denials, reversals with negative amounts followed by their
corrections, PLB recoupments and interest, claim- and line-level CAS, remark
codes including N864/N830, AMT*B6, DTM*472) and builds them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TypeVar

from advocate.imports.x12 import Delimiters

__all__ = [
    "ClaimSpec",
    "LineSpec",
    "ProviderAdjustmentSpec",
    "RemittanceSpec",
    "build_835",
    "generate_835",
]

Money = Decimal | int | str
_T = TypeVar("_T")
DEFAULT_DELIMITERS = Delimiters("*", ":", "^", "~")
# (group, reason, amount) or (group, reason, amount, quantity), e.g. ("CO", "45", Decimal("120"))
AdjustmentSpec = tuple[str, str, Money] | tuple[str, str, Money, Money]


@dataclass
class LineSpec:
    procedure: str
    charge: Money
    paid: Money
    adjustments: Sequence[AdjustmentSpec] = ()
    modifiers: Sequence[str] = ()
    qualifier: str = "HC"
    units: Money | None = None  # SVC05 omitted when None (means 1)
    original_procedure: str | None = None  # SVC06 (same qualifier)
    service_date: date | None = None  # DTM*472
    allowed: Money | None = None  # AMT*B6
    remark_codes: Sequence[str] = ()  # LQ*HE
    control_number: str | None = None  # REF*6R


@dataclass
class ClaimSpec:
    patient_control_number: str
    charge: Money
    paid: Money
    status: str = "1"
    adjustments: Sequence[AdjustmentSpec] = ()  # claim-level CAS
    lines: Sequence[LineSpec] = ()
    patient_responsibility: Money | None = None  # default: sum of PR adjustments
    filing_indicator: str = "12"
    payer_claim_number: str = ""
    facility_type: str = "11"
    frequency_code: str = "1"
    patient_last: str = "DOE"
    patient_first: str = "JANE"
    member_id: str = "W000000000"
    statement_from: date | None = None
    statement_to: date | None = None
    received_date: date | None = None
    remark_codes: Sequence[str] = ()  # MOA03..MOA07 (codes pyx12 knows: MA01, M15, N381...)
    coverage_amount: Money | None = None  # AMT*AU


@dataclass
class ProviderAdjustmentSpec:
    provider_id: str
    fiscal_period_date: date
    items: Sequence[tuple[str, str, Money]]  # (reason, reference, amount); positive reduces payment


@dataclass
class RemittanceSpec:
    claims: Sequence[ClaimSpec]
    provider_adjustments: Sequence[ProviderAdjustmentSpec] = ()
    control_number: str = "0001"
    payer_name: str = "SUMMIT MUTUAL HEALTH PLAN"
    payer_id: str = "87726"
    payee_name: str = "LAKESIDE ORTHOPAEDIC ASSOCIATES"
    payee_npi: str = "1234567893"
    payee_tax_id: str = "361234567"
    payment_method: str = "ACH"
    payment_date: date = date(2024, 6, 14)
    trace_number: str = "EFT000000001"
    production_date: date | None = None
    payer_contact_phone: str = "8005550100"


def _fmt(value: Money) -> str:
    """X12 R format: no exponent, trailing fractional zeros suppressed."""
    if type(value) is int:
        return str(value)
    d = value if isinstance(value, Decimal) else Decimal(value)
    text = str(d)
    if "E" in text:
        text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "-0" or not text:
        text = "0"
    return text


@lru_cache(maxsize=4096)
def _d8(d: date) -> str:
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def _cas_segments(adjustments: Sequence[AdjustmentSpec], e: str) -> list[str]:
    """Group adjustments by group code, at most six triplets per CAS."""
    by_group: dict[str, list[tuple[str, str, str]]] = {}
    for adj in adjustments:
        quantity = _fmt(adj[3]) if len(adj) > 3 else ""  # type: ignore[misc]
        by_group.setdefault(adj[0], []).append((adj[1], _fmt(adj[2]), quantity))
    out: list[str] = []
    for group, items in by_group.items():
        for i in range(0, len(items), 6):
            parts = ["CAS", group]
            for reason, amount, quantity in items[i : i + 6]:
                parts += [reason, amount, quantity]
            while parts[-1] == "":
                parts.pop()
            out.append(e.join(parts))
    return out


def _transaction(spec: RemittanceSpec, d: Delimiters) -> list[str]:
    e, c = d.element, d.component
    total = sum((Decimal(cl.paid) for cl in spec.claims), Decimal(0))
    total -= sum((Decimal(a) for p in spec.provider_adjustments for _, _, a in p.items), Decimal(0))
    pay = _d8(spec.payment_date)
    if total == 0:
        bpr = e.join(["BPR", "H", "0", "C", "NON"] + [""] * 11 + [pay])
    elif spec.payment_method == "ACH":
        bpr = e.join(
            [
                "BPR",
                "C",
                _fmt(total),
                "C",
                "ACH",
                "CCP",
                "01",
                "071000013",
                "DA",
                "1234567890",
                "1" + spec.payer_id.rjust(9, "0")[-9:],
                "",
                "01",
                "071000039",
                "DA",
                "9876543210",
                pay,
            ]
        )
    else:
        bpr = e.join(["BPR", "C", _fmt(total), "C", spec.payment_method] + [""] * 11 + [pay])
    segs = [
        e.join(["ST", "835", spec.control_number]),
        bpr,
        e.join(["TRN", "1", spec.trace_number, "1" + spec.payer_id.rjust(9, "0")[-9:]]),
    ]
    if spec.production_date:
        segs.append(e.join(["DTM", "405", _d8(spec.production_date)]))
    segs += [
        e.join(["N1", "PR", spec.payer_name]),
        e.join(["N3", "PO BOX 31362"]),
        e.join(["N4", "SALT LAKE CITY", "UT", "841310362"]),
        e.join(["REF", "2U", spec.payer_id]),
        e.join(["PER", "BL", "PROVIDER SERVICES", "TE", spec.payer_contact_phone]),
        e.join(["N1", "PE", spec.payee_name, "XX", spec.payee_npi]),
        e.join(["N3", "1200 LAKE SHORE DR"]),
        e.join(["N4", "CHICAGO", "IL", "60610"]),
        e.join(["REF", "TJ", spec.payee_tax_id]),
    ]
    if spec.claims:
        segs.append(e.join(["LX", "1"]))
    for cl in spec.claims:
        pr = cl.patient_responsibility
        if pr is None:
            pr = sum(
                (
                    Decimal(adj[2])
                    for adj in [*cl.adjustments, *(x for ln in cl.lines for x in ln.adjustments)]
                    if adj[0] == "PR"
                ),
                Decimal(0),
            )
        segs.append(
            e.join(
                [
                    "CLP",
                    cl.patient_control_number,
                    cl.status,
                    _fmt(cl.charge),
                    _fmt(cl.paid),
                    _fmt(pr),
                    cl.filing_indicator,
                    cl.payer_claim_number or cl.patient_control_number + "01",
                    cl.facility_type,
                    cl.frequency_code,
                ]
            )
        )
        segs += _cas_segments(cl.adjustments, e)
        segs.append(
            e.join(
                [
                    "NM1",
                    "QC",
                    "1",
                    cl.patient_last,
                    cl.patient_first,
                    "",
                    "",
                    "",
                    "MI",
                    cl.member_id,
                ]
            )
        )
        if cl.remark_codes:
            segs.append(e.join(["MOA", "", "", *cl.remark_codes[:5]]))
        if cl.statement_from:
            segs.append(e.join(["DTM", "232", _d8(cl.statement_from)]))
        if cl.statement_to:
            segs.append(e.join(["DTM", "233", _d8(cl.statement_to)]))
        if cl.received_date:
            segs.append(e.join(["DTM", "050", _d8(cl.received_date)]))
        if cl.coverage_amount is not None:
            segs.append(e.join(["AMT", "AU", _fmt(cl.coverage_amount)]))
        for ln in cl.lines:
            proc = c.join([ln.qualifier, ln.procedure, *ln.modifiers])
            svc = ["SVC", proc, _fmt(ln.charge), _fmt(ln.paid)]
            if ln.units is not None or ln.original_procedure:
                svc += ["", _fmt(ln.units) if ln.units is not None else ""]
            if ln.original_procedure:
                svc.append(c.join([ln.qualifier, ln.original_procedure]))
            segs.append(e.join(svc))
            if ln.service_date:
                segs.append(e.join(["DTM", "472", _d8(ln.service_date)]))
            segs += _cas_segments(ln.adjustments, e)
            if ln.control_number:
                segs.append(e.join(["REF", "6R", ln.control_number]))
            if ln.allowed is not None:
                segs.append(e.join(["AMT", "B6", _fmt(ln.allowed)]))
            for code in ln.remark_codes:
                segs.append(e.join(["LQ", "HE", code]))
    for plb in spec.provider_adjustments:
        parts = ["PLB", plb.provider_id, _d8(plb.fiscal_period_date)]
        for reason, ref, amount in plb.items:
            parts += [c.join([reason, ref]) if ref else reason, _fmt(amount)]
        segs.append(e.join(parts))
    segs.append(e.join(["SE", str(len(segs) + 1), spec.control_number]))
    return segs


def build_835(
    specs: Sequence[RemittanceSpec] | Sequence[ClaimSpec],
    *,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
    interchange_control_number: int = 1,
    group_control_number: int = 1,
    interchange_date: date = date(2024, 6, 14),
    sender_id: str = "SUMMITMUTUAL",
    receiver_id: str = "ADVOCATE",
    usage: str = "P",
) -> str:
    """One interchange, one functional group, one transaction per RemittanceSpec.

    ``specs`` may also be a plain sequence of ClaimSpec (one remittance).
    """
    problems = delimiters.problems()
    if problems:
        raise ValueError("; ".join(problems))
    remittances: list[RemittanceSpec]
    if specs and all(isinstance(s, ClaimSpec) for s in specs):
        remittances = [RemittanceSpec(claims=[s for s in specs if isinstance(s, ClaimSpec)])]
    elif all(isinstance(s, RemittanceSpec) for s in specs):
        remittances = [s for s in specs if isinstance(s, RemittanceSpec)]
    else:
        raise TypeError("specs must all be RemittanceSpec or all ClaimSpec")
    d = delimiters
    e = d.element
    icn = f"{interchange_control_number:09d}"
    gcn = str(group_control_number)
    yymmdd = interchange_date.strftime("%y%m%d")
    isa = e.join(
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            "ZZ",
            sender_id.ljust(15)[:15],
            "ZZ",
            receiver_id.ljust(15)[:15],
            yymmdd,
            "1200",
            d.repetition or "U",
            "00501",
            icn,
            "0",
            usage,
            d.component,
        ]
    )
    segs = [
        isa,
        e.join(
            [
                "GS",
                "HP",
                sender_id,
                receiver_id,
                _d8(interchange_date),
                "1200",
                gcn,
                "X",
                "005010X221A1",
            ]
        ),
    ]
    for spec in remittances:
        segs += _transaction(spec, d)
    segs.append(e.join(["GE", str(len(remittances)), gcn]))
    segs.append(e.join(["IEA", "1", icn]))
    end = d.segment + ("\n" if newline and d.segment not in "\r\n" else "")
    return end.join(segs) + end


# --------------------------------------------------------------------------
# Deterministic realistic generator

# (code, typical billed charge in cents, qualifier)
_PROCEDURES: tuple[tuple[str, int, str], ...] = (
    ("99213", 18500, "HC"),
    ("99214", 26500, "HC"),
    ("99215", 36000, "HC"),
    ("99203", 24000, "HC"),
    ("99204", 39500, "HC"),
    ("99284", 98000, "HC"),
    ("99285", 165000, "HC"),
    ("20610", 42000, "HC"),
    ("27447", 6850000, "HC"),
    ("29881", 1275000, "HC"),
    ("64483", 310000, "HC"),
    ("62323", 285000, "HC"),
    ("22551", 8900000, "HC"),
    ("63047", 6100000, "HC"),
    ("43239", 245000, "HC"),
    ("45380", 310000, "HC"),
    ("93000", 9500, "HC"),
    ("71046", 21000, "HC"),
    ("72148", 265000, "HC"),
    ("36415", 3500, "HC"),
    ("97110", 16500, "HC"),
    ("97140", 15500, "HC"),
    ("96372", 9000, "HC"),
    ("J1100", 2500, "HC"),
    ("J3301", 4500, "HC"),
    ("00400", 180000, "HC"),
)


def _modifier_choices(code: str) -> tuple[str, ...]:
    if code.startswith("99"):
        return ("25",)
    if code.startswith(("2", "6")):
        return ("LT", "RT", "59", "51", "80", "AS", "XU")
    if code.startswith("7"):
        return ("26", "TC")
    if code.startswith("97"):
        return ("GP", "59")
    return ("59",)


_LAST = (
    "SMITH",
    "JOHNSON",
    "WILLIAMS",
    "BROWN",
    "JONES",
    "GARCIA",
    "MILLER",
    "DAVIS",
    "RODRIGUEZ",
    "MARTINEZ",
    "HERNANDEZ",
    "LOPEZ",
    "GONZALEZ",
    "WILSON",
    "ANDERSON",
    "THOMAS",
    "TAYLOR",
    "MOORE",
    "JACKSON",
    "MARTIN",
    "LEE",
    "PEREZ",
    "THOMPSON",
    "WHITE",
)
_FIRST = (
    "JAMES",
    "MARY",
    "ROBERT",
    "PATRICIA",
    "JOHN",
    "JENNIFER",
    "MICHAEL",
    "LINDA",
    "DAVID",
    "ELIZABETH",
    "WILLIAM",
    "BARBARA",
    "RICHARD",
    "SUSAN",
    "JOSEPH",
    "JESSICA",
    "CHARLES",
    "SARAH",
    "MARIA",
    "ANA",
    "WEI",
    "PRIYA",
    "AHMED",
    "OLIVIA",
)
_PAYERS = (
    ("SUMMIT MUTUAL HEALTH PLAN", "87726"),
    ("GREAT LAKES HEALTH INSURANCE CO", "62308"),
    ("PRAIRIE CARE BENEFIT ADMINISTRATORS", "39026"),
    ("NORTHERN STAR HEALTH", "60054"),
)
_FILING = ("12", "12", "12", "14", "15", "HM")
_DENIALS = (("CO", "50", "N115"), ("CO", "16", "M51"), ("CO", "29", "N211"), ("CO", "97", "M15"))


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


class _Rand:
    """The few draws the generator needs, cheaper than random.Random's generic ones."""

    __slots__ = ("random",)

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed).random

    def pick(self, seq: Sequence[_T]) -> _T:
        return seq[int(self.random() * len(seq))]

    def below(self, n: int) -> int:
        return int(self.random() * n)


def _line_amounts(rnd: _Rand, charge: int) -> tuple[int, list[tuple[str, str, int]], int]:
    """(paid, adjustments, allowed) in cents for an OON-priced line that balances."""
    allowed = charge * rnd.pick((35, 40, 45, 50, 55, 60, 65, 70, 80, 100)) // 100
    adjustments: list[tuple[str, str, int]] = []
    if allowed < charge:
        adjustments.append(("CO", "45", charge - allowed))
    pr_left = allowed
    roll = rnd.random()
    if roll < 0.25:
        ded = min(pr_left, rnd.pick((5000, 10000, 25000, 50000)))
        if ded:
            adjustments.append(("PR", "1", ded))
            pr_left -= ded
    if roll < 0.7 and pr_left:
        coins = pr_left * rnd.pick((10, 20, 30, 40)) // 100
        if coins:
            adjustments.append(("PR", "2", coins))
            pr_left -= coins
    elif pr_left > 3000 and rnd.random() < 0.5:
        adjustments.append(("PR", "3", 3000))
        pr_left -= 3000
    return pr_left, adjustments, allowed


def _cents(adjustments: list[tuple[str, str, int]]) -> list[AdjustmentSpec]:
    return [(g, r, _money(a)) for g, r, a in adjustments]


def _claim_specs(rnd: _Rand, n: int, prefix: str, start: date) -> list[ClaimSpec]:
    claims: list[ClaimSpec] = []
    days = [start + timedelta(days=i) for i in range(180)]
    k = 0
    while len(claims) < n:
        k += 1
        pcn = f"{prefix}{k:07d}"
        day = rnd.below(120)
        svc_date = days[day]
        last, first = rnd.pick(_LAST), rnd.pick(_FIRST)
        member = f"W{100000000 + rnd.below(900000000)}"
        kind = rnd.random()
        if kind < 0.08:
            # Institutional-style claim without service lines: claim-level CAS only.
            charge = 200000 + rnd.below(2800000)
            paid, adj, _ = _line_amounts(rnd, charge)
            claims.append(
                ClaimSpec(
                    pcn,
                    _money(charge),
                    _money(paid),
                    status="1",
                    adjustments=_cents(adj),
                    facility_type="13",
                    frequency_code="1",
                    filing_indicator="12",
                    patient_last=last,
                    patient_first=first,
                    member_id=member,
                    statement_from=svc_date,
                    statement_to=days[day + rnd.below(4)],
                    received_date=days[day + 21],
                    remark_codes=("MA01",),
                )
            )
            continue
        n_lines = rnd.pick((1, 1, 2, 2, 3, 4))
        lines: list[LineSpec] = []
        claim_adj: list[AdjustmentSpec] = []
        charge_total = paid_total = 0
        denied = kind < 0.14
        emergency = rnd.random() < 0.2
        for j in range(n_lines):
            code, base, qualifier = rnd.pick(_PROCEDURES)
            units = rnd.pick((1, 1, 1, 2)) if code.startswith(("J", "97", "36")) else 1
            charge = base * units + rnd.below(50) * 100
            n_mods = rnd.pick((0, 0, 0, 1, 2))
            mods: tuple[str, ...] = ()
            if n_mods:
                choices = _modifier_choices(code)
                first_mod = rnd.below(len(choices))
                mods = (choices[first_mod],)
                if n_mods > 1 and len(choices) > 1:
                    mods += (choices[(first_mod + 1 + rnd.below(len(choices) - 1)) % len(choices)],)
            remarks: list[str] = []
            if denied:
                group, reason, remark = _DENIALS[(k + j) % len(_DENIALS)]
                paid, adj, allowed = 0, [(group, reason, charge)], 0
                remarks.append(remark)
            elif j > 0 and rnd.random() < 0.1:
                paid, adj, allowed = 0, [("CO", "97", charge)], 0
                remarks.append("M15")
            else:
                paid, adj, allowed = _line_amounts(rnd, charge)
                if emergency:
                    remarks.append(rnd.pick(("N864", "N830")))
                elif adj and adj[0][1] == "45" and rnd.random() < 0.3:
                    remarks.append("N381")
            charge_total += charge
            paid_total += paid
            lines.append(
                LineSpec(
                    code,
                    _money(charge),
                    _money(paid),
                    adjustments=_cents(adj),
                    modifiers=mods,
                    qualifier=qualifier,
                    units=units if units != 1 or rnd.random() < 0.5 else None,
                    service_date=svc_date,
                    allowed=_money(allowed) if allowed else None,
                    remark_codes=remarks,
                    control_number=f"{pcn}L{j + 1}",
                )
            )
        # A small claim-level adjustment (e.g. sequestration CO-253) on some paid claims.
        if paid_total > 2000 and not denied and rnd.random() < 0.1:
            cut = paid_total * 2 // 100
            claim_adj.append(("CO", "253", _money(cut)))
            paid_total -= cut
        spec = ClaimSpec(
            pcn,
            _money(charge_total),
            _money(paid_total),
            status="4" if denied else "1",
            adjustments=claim_adj,
            lines=lines,
            filing_indicator=rnd.pick(_FILING),
            facility_type="23" if emergency else "11",
            patient_last=last,
            patient_first=first,
            member_id=member,
            statement_from=svc_date,
            statement_to=svc_date,
            received_date=days[day + 7 + rnd.below(38)],
            remark_codes=("MA01",) if denied else (),
        )
        if not denied and rnd.random() < 0.05 and len(claims) + 2 <= n:
            # Reversal of the original payment (all amounts negated) then the correction.
            claims.append(_reversal(spec))
        claims.append(spec)
    return claims


def _neg(value: Money | None) -> Decimal | None:
    return None if value is None else -Decimal(value)


def _reversal(spec: ClaimSpec) -> ClaimSpec:
    return ClaimSpec(
        spec.patient_control_number,
        -Decimal(spec.charge),
        -Decimal(spec.paid),
        status="22",
        adjustments=[(g, r, -Decimal(a)) for g, r, a in spec.adjustments],
        lines=[
            LineSpec(
                ln.procedure,
                -Decimal(ln.charge),
                -Decimal(ln.paid),
                adjustments=[(g, r, -Decimal(a)) for g, r, a in ln.adjustments],
                modifiers=ln.modifiers,
                qualifier=ln.qualifier,
                units=ln.units,
                service_date=ln.service_date,
                allowed=_neg(ln.allowed),
                control_number=ln.control_number,
            )
            for ln in spec.lines
        ],
        filing_indicator=spec.filing_indicator,
        facility_type=spec.facility_type,
        frequency_code="8",
        patient_last=spec.patient_last,
        patient_first=spec.patient_first,
        member_id=spec.member_id,
        statement_from=spec.statement_from,
        statement_to=spec.statement_to,
        received_date=spec.received_date,
    )


def generate_835(
    n_claims: int,
    seed: int = 0,
    element_sep: str = "*",
    component_sep: str = ":",
    repetition_sep: str = "^",
    terminator: str = "~",
    newline: bool = True,
    transactions: int = 1,
) -> str:
    """A valid, realistic 835 with ``n_claims`` claims over ``transactions`` transactions."""
    if transactions < 1:
        raise ValueError("transactions must be >= 1")
    rnd = _Rand(seed)
    start = date(2024, 1, 2)
    remittances: list[RemittanceSpec] = []
    per = [
        n_claims // transactions + (1 if i < n_claims % transactions else 0)
        for i in range(transactions)
    ]
    for t, count in enumerate(per):
        payer_name, payer_id = _PAYERS[(seed + t) % len(_PAYERS)]
        claims = _claim_specs(rnd, count, f"P{t + 1:02d}", start)
        paid = sum((Decimal(c.paid) for c in claims), Decimal(0))
        plbs: list[ProviderAdjustmentSpec] = []
        if claims and paid > 100:
            items: list[tuple[str, str, Money]] = []
            recoup = (paid * Decimal("0.03")).quantize(Decimal("0.01"))
            if recoup:
                items.append(("WO", f"{claims[0].patient_control_number}01", recoup))
            items.append(("L6", "", -_money(100 + rnd.below(4900))))
            plbs.append(ProviderAdjustmentSpec("1234567893", date(2024, 12, 31), items))
        pay_date = date(2024, 6, 14) + timedelta(days=7 * t)
        remittances.append(
            RemittanceSpec(
                claims=claims,
                provider_adjustments=plbs,
                control_number=f"{t + 1:04d}",
                payer_name=payer_name,
                payer_id=payer_id,
                payment_method="ACH" if t % 3 != 2 else "CHK",
                payment_date=pay_date,
                trace_number=f"{'EFT' if t % 3 != 2 else 'CHK'}{seed % 10**6:06d}{t + 1:04d}",
                production_date=pay_date - timedelta(days=1),
            )
        )
    return build_835(
        remittances,
        delimiters=Delimiters(element_sep, component_sep, repetition_sep, terminator),
        newline=newline,
        interchange_control_number=seed % 10**9 or 1,
    )


def realworld_835(
    n_claims: int = 707, transactions: int = 19, seed: int = 7, width: int | None = 80
) -> bytes:
    """A file shaped like a payer's production ERA (what the corpus and the benchmark
    use): ``generate_835``'s claims, PLB (WO, L6) and reversals over several
    transactions, plus what real payers add: a TS3 provider summary after each LX,
    claim contacts (PER*CX) in loop 2100, corrected names (NM1*74), UTF-8 names,
    denied lines with SVC05 = 0 paid units and SVC07 billed units; then wrapped at
    a fixed width with CR LF (``width`` None: one segment per line).  UTF-8 bytes."""
    text = generate_835(n_claims, seed=seed, transactions=transactions, newline=False)
    out: list[str] = []
    st_index = 0
    claims = 0
    for seg in text.split("~"):
        if not seg:
            continue
        el = seg.split("*")
        sid = el[0]
        if sid == "ST":
            st_index = len(out)
        if sid == "SVC" and len(el) >= 4 and el[3] == "0":
            units = el[5] if len(el) > 5 and el[5] else "1"
            el = el[:4] + [el[4] if len(el) > 4 else "", "0", "", units]
            seg = "*".join(el)
        if sid == "NM1" and el[1] == "QC" and claims % 9 == 4:
            el[3] = "MUÑOZ"
            seg = "*".join(el)
        if sid == "SE":
            count = len(out) - st_index + 1
            seg = f"SE*{count}*{el[2]}"
        out.append(seg)
        if sid == "LX":
            out.append(f"TS3*1234567893*11*{20241231}*{n_claims // transactions}*0")
        elif sid == "CLP":
            claims += 1
        elif sid == "NM1" and el[1] == "QC":
            if claims % 3 == 0:
                out.append("PER*CX*CLAIMS DEPARTMENT*TE*8005551212")
            if claims % 10 == 0:
                out.append(f"NM1*74*1*{el[3]}-SMITH*{el[4] if len(el) > 4 else ''}****C*{el[-1]}")
    stream = "~".join(out) + "~"
    if width is None:
        return stream.replace("~", "~\n").encode("utf-8")
    return (
        "\r\n".join(stream[i : i + width] for i in range(0, len(stream), width)) + "\r\n"
    ).encode("utf-8")
