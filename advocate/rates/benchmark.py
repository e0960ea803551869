"""Case benchmarking: what each service line is worth, and so the case.

Per service line (money for the whole line, all its units):

- **billed, allowed, paid** as on the line;
- **Medicare**: the fee schedule amount at the practice's locality for the
  line's place of service, in the fee schedule year of the date of service
  (the latest loaded year before it when that year is not loaded, with a
  note), with Medicare's surgical payment rules applied across the case's
  lines (:func:`advocate.rates.medicare.apply_surgical_rules`: multiple
  procedures, bilateral, co-surgeons, assistants, team surgery), each step
  kept; or no amount and the reason in words;
- **commercial percentiles**: the firm's licensed charge benchmark
  (50th-95th) for the code (and its 26/TC/... modifier when the firm has one)
  in the 3-digit ZIP area of the place of service (the practice's ZIP), of
  the service year (else the nearest earlier year the firm has, else the
  nearest later one), times the units;
- **payer policy**: what the payer's own OON policy in effect on the date of
  service says it should have allowed (:func:`advocate.payers.services.policy_for`):
  percent of Medicare (of the Medicare amount above), percent of a
  commercial percentile (of the firm's figure for that percentile), percent
  of billed; QPA and unknown methods give no amount, with the reason;
- **SCA**: when the case is billed under a signed single case agreement, its
  rate for the line, computed exactly as :func:`advocate.cases.services.check_sca_rate`
  does (percent of billed; fixed rate x units; percent of the per-unit Medicare
  fee of the service year x units), so the SCA panel and this agree.

**Expected payment** (the rule; per line, first that gives an amount):

1. the SCA rate, when the case is under a signed agreement (a contract: not
   capped);
2. the payer's own OON policy amount (what its plan documents promise);
3. the firm's chosen percentile of its commercial benchmark
   (``BENCHMARK_PERCENTILE``, default the 80th: the customary U&C standard);
4. a multiple of Medicare (``BENCHMARK_MEDICARE_PERCENT``, default 150%),
   when there is neither a policy amount nor percentile data;
5. none (the reason says what is missing).

Amounts from rules 2-4 are capped at the line's billed charge (a plan allows
the lesser of billed charges and its allowance).  The case's expected payment
is the sum over its lines, counting a line without any benchmark at what was
received for it (its paid plus patient responsibility: nothing to dispute
there); when no line has one, the case has no expected payment.

**Underpayment** = expected payment - what was actually allowed or paid, never
negative; "allowed or paid" is the money the plan has paid (the case's
payment ledger, recoveries and recoupments included) plus the patient
responsibility it assigned: the same quantity ``Case.amount_at_stake``
measures (``cases.services.recompute_totals``), which is kept equal to it.

**Ask and floor** (firm staff only, like target and floor): the ask is the
highest of the expected payment, the 80th percentile total and 200% of
Medicare (the last two when every line has them), capped at the billed
charges; the floor is the payer's own terms when the whole expected payment
comes from them (SCA or policy: never settle below what the plan itself
promises), else the 50th percentile total, else 150% of Medicare, else the
expected payment; never above the ask nor below what was already received.

Two paths compute the same numbers with the same pure code
(:func:`compute_case`): :func:`benchmark_case` for one case as it is edited
(the case's ORM objects, ``policy_for``, a few reference queries), and
:func:`benchmark_firm` for a firm's whole caseload (or many cases), set-based:
one query for the lines joined to their cases and practices, one each for the
RVU rows, ZIP->locality->GPCI, percentiles, policies and agreements they need,
then bulk DELETE/INSERT of the line rows and one bulk UPDATE of the cases.

On PostgreSQL :func:`benchmark_firm` computes the *plain* cases (every line
without modifiers, whole units, no SCA, ...; anesthesia included; see
``_SQL_LINES``) in one SQL statement -- the Medicare formula with the NA
fallback, fee year, statuses, anesthesia, OPPS cap, the multiple procedure ranking (a
window over the case's lines), percentiles, policy and expected payment, with
the same steps and reasons -- into a temporary table; only the other cases go
through :func:`compute_case`.  Everything staged is then written set-based,
changed rows only (``_pg_write_changed``).  SQLite runs the Python path for
every case.  tests/rates/test_benchmark.py checks both give the per-case rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import delete, select

from advocate.db import utcnow
from advocate.extensions import db
from advocate.rates import medicare
from advocate.rates.models import (
    PERCENTILES,
    CommercialPercentile,
    LineBenchmark,
    PfsGpci,
    PfsRvu,
    PfsYear,
    PfsZipLocality,
)
from advocate.rates.services import PAYMENT_MODIFIERS, ROW_MODIFIERS
from advocate.rates.years import FeeYear, combined_label, fee_year_for, stored_fee_year

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
MEDICARE_MULTIPLES = (100, 150, 200, 250)
ASK_PERCENTILE = 80
FLOOR_PERCENTILE = 50
ASK_MEDICARE_PERCENT = 200
FLOOR_MEDICARE_PERCENT = 150

BASIS_LABELS = {
    "sca": "Single case agreement",
    "policy": "Payer's OON policy",
    "percentile": "Firm's percentile",
    "medicare": "Multiple of Medicare",
}


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _setting(name: str, default: int) -> int:
    if has_app_context():
        return int(current_app.config.get(name, default))
    return default


def default_percentile() -> int:
    value = _setting("BENCHMARK_PERCENTILE", 80)
    return value if value in PERCENTILES else 80


def default_medicare_percent() -> int:
    return _setting("BENCHMARK_MEDICARE_PERCENT", 150)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}%"


# ---------------------------------------------------------------------------
# Inputs: plain records both paths build (from ORM objects or from SQL rows)
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class LineIn:
    id: int
    line_no: int
    code: str
    modifiers: tuple[str, ...]
    units: Decimal
    service_date: date
    pos: str | None
    billed: Decimal
    allowed: Decimal | None
    paid: Decimal
    patient_resp: Decimal


@dataclass(slots=True)
class CaseIn:
    id: int
    payer_id: int
    plan_type: str
    service_from: date
    zip: str
    sca_id: int | None
    is_nsa_eligible: bool | None
    billed_total: Decimal
    total_paid: Decimal
    patient_resp_total: Decimal
    lines: list[LineIn] = field(default_factory=list)
    agreed_amount: Decimal | None = None

    @property
    def received(self) -> Decimal:
        return self.total_paid + self.patient_resp_total


@dataclass(frozen=True, slots=True)
class Rvu:
    """The columns of a PfsRvu row that pricing and the surgical rules read."""

    hcpcs: str
    modifier: str
    status: str
    work_rvu: Decimal
    nonfac_pe_rvu: Decimal
    fac_pe_rvu: Decimal
    mp_rvu: Decimal
    nonfac_na: bool
    fac_na: bool
    not_used_for_medicare: bool
    conv_factor: Decimal
    opps_nonfac_pe_rvu: Decimal
    opps_fac_pe_rvu: Decimal
    opps_mp_rvu: Decimal
    mult_proc: str
    bilat_surg: str
    asst_surg: str
    co_surg: str
    team_surg: str
    endo_base: str


_RVU_COLUMNS = (
    PfsRvu.year,
    PfsRvu.hcpcs,
    PfsRvu.modifier,
    PfsRvu.status,
    PfsRvu.work_rvu,
    PfsRvu.nonfac_pe_rvu,
    PfsRvu.fac_pe_rvu,
    PfsRvu.mp_rvu,
    PfsRvu.is_nonfac_na,
    PfsRvu.is_fac_na,
    PfsRvu.is_not_used_for_medicare,
    PfsRvu.conv_factor,
    PfsRvu.opps_nonfac_pe_rvu,
    PfsRvu.opps_fac_pe_rvu,
    PfsRvu.opps_mp_rvu,
    PfsRvu.mult_proc,
    PfsRvu.bilat_surg,
    PfsRvu.asst_surg,
    PfsRvu.co_surg,
    PfsRvu.team_surg,
    PfsRvu.endo_base,
)


@dataclass(frozen=True, slots=True)
class Gpci:
    carrier: str
    locality: str
    name: str
    pw: Decimal
    pe: Decimal
    mp: Decimal


@dataclass(frozen=True, slots=True)
class PolicyIn:
    pricing_method: str
    pricing_percent: Decimal | None
    commercial_percentile: int | None
    summary: str


@dataclass(frozen=True, slots=True)
class ScaIn:
    status: str
    rate_type: str
    rate_percent: Decimal | None
    fixed_rates: dict


@dataclass
class Refs:
    """The reference data the lines in hand need."""

    years: list[int]
    rvus: dict[tuple[int, str], dict[str, Rvu]]
    zips: dict[tuple[int, str], Gpci]
    percentiles: dict[tuple[str, str, str], dict[int, tuple[Decimal, ...]]]
    policies: dict[int, PolicyIn | None]  # case id -> policy in effect
    scas: dict[int, ScaIn]
    _prices: dict = field(default_factory=dict)

    def price(self, year: int, rvu: Rvu, gpci: Gpci, facility: bool) -> medicare.MedicarePrice:
        key = (year, rvu.hcpcs, rvu.modifier, gpci.carrier, gpci.locality, facility)
        hit = self._prices.get(key)
        if hit is None:
            hit = self._prices[key] = medicare.price(rvu, gpci, "21" if facility else "11")
        return hit


def _zip5(value: str | None) -> str | None:
    text = (value or "").strip()[:5]
    return text if len(text) == 5 and text.isascii() and text.isdigit() else None


def _in(column, values: Iterable):
    from advocate.imports.bulk import in_values

    return in_values(column, sorted(set(values)))


def load_refs(
    tenant_id: int,
    cases: Sequence[CaseIn],
    *,
    policies: dict[int, PolicyIn | None] | None = None,
) -> Refs:
    """The RVU rows, localities, percentiles, policies and agreements the
    cases' lines need: one query each, whatever the number of lines."""
    codes = {ln.code for c in cases for ln in c.lines}
    zips = {z for c in cases if (z := _zip5(c.zip))}
    years = sorted(db.session.scalars(select(PfsYear.year)))
    refs = Refs(years=years, rvus={}, zips={}, percentiles={}, policies={}, scas={})

    def add_rvus(wanted) -> None:
        for r in db.session.execute(select(*_RVU_COLUMNS).where(_in(PfsRvu.hcpcs, wanted))):
            refs.rvus.setdefault((r.year, r.hcpcs), {})[r.modifier] = Rvu(
                r.hcpcs, r.modifier, r.status, r.work_rvu, r.nonfac_pe_rvu, r.fac_pe_rvu,
                r.mp_rvu, r.is_nonfac_na, r.is_fac_na, r.is_not_used_for_medicare,
                r.conv_factor, r.opps_nonfac_pe_rvu, r.opps_fac_pe_rvu, r.opps_mp_rvu,
                r.mult_proc, r.bilat_surg, r.asst_surg, r.co_surg, r.team_surg,
                r.endo_base or "",
            )  # fmt: skip

    if codes and years:
        add_rvus(codes)
        # The endoscopy family rule prices each endoscopy against its base code.
        bases = {
            r.endo_base for rows in refs.rvus.values() for r in rows.values() if r.endo_base
        } - codes
        if bases:
            add_rvus(bases)
    if zips and years:
        z, g = PfsZipLocality, PfsGpci
        rows = db.session.execute(
            select(z.year, z.zip, g.carrier, g.locality, g.name, g.pw, g.pe, g.mp)
            .join(g, (g.year == z.year) & (g.carrier == z.carrier) & (g.locality == z.locality))
            .where(_in(z.zip, zips))
        )
        for r in rows:
            refs.zips[(r.year, r.zip)] = Gpci(r.carrier, r.locality, r.name, r.pw, r.pe, r.mp)
    if codes and zips:
        cp = CommercialPercentile
        rows = db.session.execute(
            select(
                cp.year, cp.code, cp.modifier, cp.zip3, *(getattr(cp, f"p{p}") for p in PERCENTILES)
            ).where(
                cp.tenant_id == tenant_id, _in(cp.code, codes), _in(cp.zip3, {z[:3] for z in zips})
            )
        )
        for r in rows:
            refs.percentiles.setdefault((r.code, r.modifier, r.zip3), {})[r.year] = tuple(r[4:])
    if policies is None:
        refs.policies = _bulk_policies(tenant_id, cases)
    else:
        refs.policies = policies
    sca_ids = {c.sca_id for c in cases if c.sca_id is not None}
    if sca_ids:
        from advocate.cases.models import SingleCaseAgreement as S

        rows = db.session.execute(
            select(S.id, S.status, S.rate_type, S.rate_percent, S.fixed_rates).where(
                S.tenant_id == tenant_id, _in(S.id, sca_ids)
            )
        )
        refs.scas = {
            r.id: ScaIn(r.status, r.rate_type, r.rate_percent, r.fixed_rates or {}) for r in rows
        }
    return refs


def _policy_in(policy) -> PolicyIn | None:
    if policy is None:
        return None
    return PolicyIn(
        policy.pricing_method,
        policy.pricing_percent,
        policy.commercial_percentile,
        policy.pricing_summary,
    )


def _bulk_policies(tenant_id: int, cases: Sequence[CaseIn]) -> dict[int, PolicyIn | None]:
    """Each case's payer policy in effect on its first date of service, by
    ``policy_for``'s rule (the latest version effective on or before the day;
    none if that version ended on or before it), from one query."""
    from advocate.payers.models import PayerPolicy as P

    payer_ids = {c.payer_id for c in cases}
    if not payer_ids:
        return {}
    versions: dict[tuple[int, str], list] = defaultdict(list)
    rows = db.session.scalars(
        select(P)
        .where(P.tenant_id == tenant_id, _in(P.payer_id, payer_ids))
        .order_by(P.payer_id, P.plan_type, P.effective_date.desc())
    )
    for p in rows:
        versions[(p.payer_id, p.plan_type)].append(p)
    cache: dict[int, PolicyIn] = {}
    out: dict[int, PolicyIn | None] = {}
    for c in cases:
        chosen = None
        for v in versions.get((c.payer_id, c.plan_type), ()):  # newest first
            if v.effective_date <= c.service_from:
                if v.end_date is None or v.end_date > c.service_from:
                    chosen = v
                break
        if chosen is None:
            out[c.id] = None
        else:
            if chosen.id not in cache:
                cache[chosen.id] = _policy_in(chosen)
            out[c.id] = cache[chosen.id]
    return out


# ---------------------------------------------------------------------------
# The computation (pure: no queries)
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class LineResult:
    line: LineIn
    fee_year: int | None = None
    locality: str | None = None
    locality_name: str | None = None
    medicare: Decimal | None = None
    medicare_reason: str | None = None
    medicare_steps: list = field(default_factory=list)
    zip3: str | None = None
    percentile_year: int | None = None
    percentiles: dict[int, Decimal] = field(default_factory=dict)
    percentile_reason: str | None = None
    policy: Decimal | None = None
    policy_basis: str | None = None
    policy_reason: str | None = None
    sca: Decimal | None = None
    sca_reason: str | None = None
    expected: Decimal | None = None
    expected_basis: str | None = None
    expected_reason: str = ""

    def row(self, tenant_id: int, case_id: int, now) -> dict:
        p = self.percentiles
        return {
            "tenant_id": tenant_id,
            "case_id": case_id,
            "line_id": self.line.id,
            "line_no": self.line.line_no,
            "fee_year": self.fee_year,
            "locality": self.locality,
            "medicare": self.medicare,
            "medicare_reason": _cut(self.medicare_reason, 500),
            "medicare_steps": self.medicare_steps or None,
            "zip3": self.zip3,
            "percentile_year": self.percentile_year,
            **{f"p{n}": p.get(n) for n in PERCENTILES},
            "percentile_reason": _cut(self.percentile_reason, 300),
            "policy": self.policy,
            "policy_basis": _cut(self.policy_basis, 200),
            "policy_reason": _cut(self.policy_reason, 300),
            "sca": self.sca,
            "sca_reason": _cut(self.sca_reason, 300),
            "expected": self.expected,
            "expected_basis": self.expected_basis,
            "expected_reason": _cut(self.expected_reason, 300) or "",
            "computed_at": now,
        }


def _cut(text: str | None, n: int) -> str | None:
    if text is None or len(text) <= n:
        return text
    return text[: n - 1] + "…"


@dataclass(slots=True)
class _Surgical:
    """What apply_surgical_rules reads from a line."""

    code: str
    modifiers: tuple[str, ...]
    units: int
    price: medicare.MedicarePrice
    rvu: Rvu
    endo_base_price: Decimal | None = None  # the endoscopy family's base code, one unit


def _fee_year(refs: Refs, year: int) -> int | None:
    """advocate.rates.years.fee_year_for: the one fee schedule year rule."""
    return fee_year_for(year, refs.years).year_used


def _row_for(
    rows: dict[str, Rvu], code: str, year: int, mods: tuple[str, ...]
) -> tuple[Rvu | None, str | None]:
    """The RVU row for a line: its 26/TC/53 row when it has that modifier
    (and the row exists), else the unmodified row; the reason when none fits."""
    for m in mods:
        if m in ROW_MODIFIERS:
            if m in rows:
                return rows[m], None
            if m in ("26", "TC"):
                return None, (
                    f"{code} has no modifier {m} row in the {year} fee schedule: the "
                    "professional/technical split does not apply to it."
                )
    if "" in rows:
        return rows[""], None
    shown = ", ".join(sorted(rows))
    return None, f"{code} is only in the {year} fee schedule with modifier {shown}."


def _medicare_lines(case: CaseIn, refs: Refs, results: list[LineResult]) -> None:
    zip5 = _zip5(case.zip)
    todo: list[tuple[LineResult, _Surgical, Decimal | None, list]] = []
    for res in results:
        ln = res.line
        year = ln.service_date.year
        fy = _fee_year(refs, year)
        if fy is None:
            res.medicare_reason = f"No Medicare fee schedule for {year} or earlier is loaded (flask rates import-pfs)."
            continue
        notes: list = []
        if fy != year:
            notes.append(
                {
                    "label": "Note",
                    "text": f"The {year} fee schedule is not loaded: {fy} rates are used.",
                }
            )
        if zip5 is None:
            res.medicare_reason = (
                "The practice has no 5-digit ZIP code, so its Medicare locality is unknown."
            )
            continue
        gpci = refs.zips.get((fy, zip5))
        if gpci is None:
            res.medicare_reason = f"ZIP {zip5} is not in the {fy} Medicare ZIP code file."
            continue
        res.fee_year = fy
        res.locality = f"{gpci.carrier}-{gpci.locality}"
        res.locality_name = gpci.name
        rows = refs.rvus.get((fy, ln.code))
        if not rows:
            res.medicare_reason = f"{ln.code} is not in the {fy} Medicare fee schedule."
            continue
        rvu, why = _row_for(rows, ln.code, fy, ln.modifiers)
        if rvu is None:
            res.medicare_reason = why
            continue
        try:
            facility = medicare.is_facility(ln.pos or "")
        except ValueError:
            res.medicare_reason = f"The place of service '{ln.pos or ''}' is not a 2-digit code."
            continue
        price = refs.price(fy, rvu, gpci, facility)
        notes.extend({"label": "Note", "text": n} for n in price.notes)
        base_price = None
        if rvu.endo_base:
            base_row = (refs.rvus.get((fy, rvu.endo_base)) or {}).get("")
            if base_row is not None:
                base_price = refs.price(fy, base_row, gpci, facility).amount
        units = ln.units
        whole = units == units.to_integral_value() and units >= 1
        fraction = None if whole else units
        todo.append(
            (
                res,
                _Surgical(
                    ln.code, ln.modifiers, int(units) if whole else 1, price, rvu, base_price
                ),
                fraction,
                notes,
            )
        )
    if not todo:
        return
    adjusted = medicare.apply_surgical_rules([t[1] for t in todo])
    for (res, _s, fraction, notes), adj in zip(todo, adjusted, strict=True):
        steps = [
            {"label": a.label, "factor": f"{a.factor.normalize():f}", "text": a.explanation}
            for a in adj.adjustments
        ]
        steps.extend(notes)
        steps.extend({"label": "Note", "text": n} for n in adj.notes)
        amount = adj.amount
        if amount is not None and fraction is not None:
            amount = _q(adj.base_amount * adj.factor * fraction)
            steps.append(
                {
                    "label": "Units",
                    "factor": f"{fraction.normalize():f}",
                    "text": f"{fraction.normalize():f} units.",
                }
            )
        res.medicare = amount
        res.medicare_reason = adj.reason
        res.medicare_steps = steps


def _percentiles(case: CaseIn, refs: Refs, res: LineResult) -> None:
    zip5 = _zip5(case.zip)
    if zip5 is None:
        res.percentile_reason = "The practice has no 5-digit ZIP code."
        return
    res.zip3 = zip3 = zip5[:3]
    ln = res.line
    by_year = None
    for m in (*ln.modifiers, ""):
        by_year = refs.percentiles.get((ln.code, m, zip3))
        if by_year:
            break
    if not by_year:
        res.percentile_reason = f"The firm's percentile data has no {ln.code} in ZIP area {zip3}."
        return
    year = ln.service_date.year
    earlier = [y for y in by_year if y <= year]
    chosen = max(earlier) if earlier else min(by_year)
    res.percentile_year = chosen
    res.percentiles = {
        p: _q(v * ln.units) for p, v in zip(PERCENTILES, by_year[chosen], strict=True)
    }


def _policy(case: CaseIn, refs: Refs, res: LineResult) -> None:
    policy = refs.policies.get(case.id)
    if policy is None:
        res.policy_reason = (
            f"No OON policy of this payer for this plan type on {case.service_from.isoformat()}."
        )
        return
    res.policy_basis = policy.summary
    method, pct = policy.pricing_method, policy.pricing_percent
    if method == "qpa":
        res.policy_reason = "The policy pays the QPA, which is not in the firm's data."
        return
    if method not in ("medicare_percent", "commercial_percentile", "billed_percent"):
        res.policy_reason = "The policy's pricing method is unknown."
        return
    if pct is None:
        res.policy_reason = "The policy records no percent."
        return
    if method == "billed_percent":
        base = res.line.billed
    elif method == "medicare_percent":
        base = res.medicare
        if base is None:
            res.policy_reason = f"No Medicare amount: {res.medicare_reason}"
            return
    else:
        n = policy.commercial_percentile
        if n is None or n not in PERCENTILES:
            res.policy_reason = (
                f"The firm's data has no {_ordinal(n)} percentile."
                if n
                else "The policy names no percentile."
            )
            return
        base = res.percentiles.get(n)
        if base is None:
            res.policy_reason = f"No percentile data: {res.percentile_reason}"
            return
    res.policy = _q(base * pct / HUNDRED)


def _sca_medicare_fee(case: CaseIn, refs: Refs, ln: LineIn) -> tuple[Decimal | None, str]:
    """cases.services.medicare_amount: one unit, the first modifier, the fee
    schedule year of the service (advocate.rates.years), no case-level rules."""
    year = _fee_year(refs, ln.service_date.year)
    if year is None:
        return None, FeeYear(ln.service_date.year, None).label
    rows = refs.rvus.get((year, ln.code))
    if not rows:
        return None, f"{ln.code} is not in the {year} Medicare fee schedule"
    modifier = ln.modifiers[0] if ln.modifiers else ""
    if modifier in rows:
        rvu = rows[modifier]
    elif modifier in ("26", "TC"):
        return None, f"{ln.code} has no modifier {modifier} row in the {year} fee schedule"
    elif "" in rows:
        rvu = rows[""]
    else:
        return None, f"{ln.code} is only in the {year} fee schedule with a modifier"
    zip5 = _zip5(case.zip)
    gpci = refs.zips.get((year, zip5)) if zip5 else None
    if gpci is None:
        return None, f"ZIP {case.zip} is not in the {year} Medicare ZIP code file"
    try:
        facility = medicare.is_facility(ln.pos or "")
    except ValueError:
        return None, f"place of service '{ln.pos}' is not a 2-digit code"
    price = refs.price(year, rvu, gpci, facility)
    if price.amount is None:
        return None, price.reason or f"{ln.code} has no Medicare fee"
    if modifier in PAYMENT_MODIFIERS:
        (adj,) = medicare.apply_surgical_rules([_Surgical(ln.code, (modifier,), 1, price, rvu)])
        if adj.amount is None:
            return None, adj.reason or f"{ln.code} has no Medicare fee"
        return adj.amount, ""
    return price.amount, ""


def _sca(case: CaseIn, refs: Refs, res: LineResult) -> None:
    if case.sca_id is None:
        return
    sca = refs.scas.get(case.sca_id)
    if sca is None:
        return
    if sca.status != "signed":
        res.sca_reason = f"The agreement is {sca.status}, not signed."
        return
    ln = res.line
    pct = (sca.rate_percent or ZERO) / HUNDRED
    if sca.rate_type == "billed_percent":
        res.sca = _q(ln.billed * pct)
    elif sca.rate_type == "fixed":
        rate = (sca.fixed_rates or {}).get(ln.code)
        if rate is None:
            res.sca_reason = f"The agreement has no fixed rate for {ln.code}."
        else:
            res.sca = _q(Decimal(str(rate)) * ln.units)
    elif sca.rate_type == "medicare_percent":
        fee, why = _sca_medicare_fee(case, refs, ln)
        if fee is None:
            res.sca_reason = f"No Medicare fee for the agreement's rate: {why}."
        else:
            res.sca = _q(fee * ln.units * pct)
    else:
        res.sca_reason = f"Unknown rate type {sca.rate_type}."


def _expected(res: LineResult, percentile: int, medicare_percent: int) -> None:
    ln = res.line
    if res.sca is not None:
        res.expected, res.expected_basis = res.sca, "sca"
        res.expected_reason = "The single case agreement's rate."
        return
    candidates = []
    if res.policy is not None:
        candidates.append((res.policy, "policy", f"The payer's OON policy: {res.policy_basis}."))
    elif (p := res.percentiles.get(percentile)) is not None:
        candidates.append(
            (p, "percentile", f"The {_ordinal(percentile)} percentile of charges in ZIP area {res.zip3} "
             f"({res.percentile_year}).")
        )  # fmt: skip
    elif res.medicare is not None:
        candidates.append(
            (_q(res.medicare * medicare_percent / HUNDRED), "medicare",
             f"{medicare_percent}% of Medicare (no policy amount or percentile data).")
        )  # fmt: skip
    if not candidates:
        res.expected_reason = (
            "No SCA rate, payer policy amount, percentile or Medicare amount for this line."
        )
        return
    amount, basis, reason = candidates[0]
    if amount > ln.billed:
        amount = ln.billed
        reason = reason[:-1] + ", capped at the billed charge."
    res.expected, res.expected_basis, res.expected_reason = amount, basis, reason


def compute_case(case: CaseIn, refs: Refs) -> list[LineResult]:
    """Every line's benchmark (same order as ``case.lines``)."""
    percentile, multiple = default_percentile(), default_medicare_percent()
    results = [LineResult(line=ln) for ln in case.lines]
    _medicare_lines(case, refs, results)
    for res in results:
        _percentiles(case, refs, res)
        _policy(case, refs, res)
        _sca(case, refs, res)
        _expected(res, percentile, multiple)
    return results


def case_expected(lines: Iterable[Any]) -> Decimal | None:
    """The case's expected payment from ``(line expected, line received)``
    pairs: the sum of the expected amounts, a line without one counted at what
    was received for it; None when no line has an expected amount."""
    total = ZERO
    any_expected = False
    for expected, received in lines:
        if expected is not None:
            total += expected
            any_expected = True
        else:
            total += received
    return total if any_expected else None


def at_stake(
    billed: Decimal,
    expected: Decimal | None,
    paid: Decimal,
    resp: Decimal,
    agreed: Decimal | None = None,
) -> Decimal:
    """advocate.cases.figures.amount_at_stake (= the underpayment)."""
    from advocate.cases.figures import amount_at_stake

    return amount_at_stake(billed=billed, expected=expected, agreed=agreed, paid=paid, resp=resp)


# ---------------------------------------------------------------------------
# One case (as it is edited): the ORM objects in hand
# ---------------------------------------------------------------------------


def _line_in(ln, case) -> LineIn:
    return LineIn(
        id=ln.id,
        line_no=ln.line_no,
        code=(ln.code or "").strip().upper(),
        modifiers=tuple(str(m).strip().upper() for m in (ln.modifiers or []) if str(m).strip()),
        units=Decimal(ln.units),
        service_date=ln.service_date or case.service_from,
        pos=ln.place_of_service or case.place_of_service,
        billed=ln.billed,
        allowed=ln.allowed,
        paid=ln.paid or ZERO,
        patient_resp=ln.patient_resp or ZERO,
    )


def case_in(case) -> CaseIn:
    c = CaseIn(
        id=case.id,
        payer_id=case.payer_id,
        plan_type=case.plan_type,
        service_from=case.service_from,
        zip=case.practice.zip,
        sca_id=case.sca_id,
        is_nsa_eligible=case.is_nsa_eligible,
        billed_total=case.billed_total or ZERO,
        total_paid=case.total_paid or ZERO,
        patient_resp_total=case.patient_resp_total or ZERO,
    )
    c.lines = [_line_in(ln, case) for ln in sorted(case.lines, key=lambda x: x.line_no)]
    return c


def benchmark_case(case) -> list[LineResult]:
    """Recompute one case's line benchmarks, store them, and set the case's
    expected payment and amount at stake.  Flushes; never commits."""
    from advocate.cases.services import recompute_totals
    from advocate.payers.defaults import PLAN_TYPES
    from advocate.payers.services import policy_for

    db.session.flush()
    cin = case_in(case)
    policy = None
    if case.plan_type in PLAN_TYPES:
        policy = _policy_in(policy_for(case.payer_id, case.plan_type, case.service_from))
    refs = load_refs(case.tenant_id, [cin], policies={case.id: policy})
    results = compute_case(cin, refs)
    db.session.execute(
        delete(LineBenchmark).where(
            LineBenchmark.tenant_id == case.tenant_id, LineBenchmark.case_id == case.id
        )
    )
    now = utcnow()
    rows = [r.row(case.tenant_id, case.id, now) for r in results]
    if rows:
        db.session.execute(LineBenchmark.__table__.insert(), rows)
    case.expected_payment = case_expected(
        (r.expected, r.line.paid + r.line.patient_resp) for r in results
    )
    recompute_totals(case)
    db.session.flush()
    return results


def benchmark_case_id(tenant_id: int, case_id: int) -> None:
    """benchmark_case for a case id (jobs)."""
    from advocate.cases.models import Case
    from tenants import tenant_scope

    with tenant_scope(tenant_id):
        case = db.session.get(Case, case_id)
        if case is not None:
            benchmark_case(case)
            db.session.commit()


# ---------------------------------------------------------------------------
# Many cases (the caseload): set-based
# ---------------------------------------------------------------------------


def _load_cases(tenant_id: int, case_ids: Sequence[int] | None) -> list[CaseIn]:
    from advocate.cases.models import Case, ServiceLine
    from advocate.practices.models import Practice

    L, C = ServiceLine, Case  # noqa: N806
    q = (
        select(
            L.id, L.case_id, L.line_no, L.code, L.modifiers, L.units, L.service_date, L.place_of_service,
            L.billed, L.allowed, L.paid, L.patient_resp,
            C.payer_id, C.plan_type, C.service_from, C.place_of_service.label("case_pos"), C.sca_id,
            C.is_nsa_eligible, C.billed_total, C.total_paid, C.patient_resp_total, Practice.zip,
            C.agreed_amount,
        )
        .join(C, (C.id == L.case_id) & (C.tenant_id == L.tenant_id))
        .join(Practice, (Practice.id == C.practice_id) & (Practice.tenant_id == C.tenant_id))
        .where(L.tenant_id == tenant_id)
        .order_by(L.case_id, L.line_no)
    )  # fmt: skip
    if case_ids is not None:
        q = q.where(_in(L.case_id, case_ids))
    cases: list[CaseIn] = []
    current: CaseIn | None = None
    for r in db.session.execute(q):
        if current is None or current.id != r.case_id:
            current = CaseIn(
                r.case_id, r.payer_id, r.plan_type, r.service_from, r.zip, r.sca_id, r.is_nsa_eligible,
                r.billed_total, r.total_paid, r.patient_resp_total, agreed_amount=r.agreed_amount,
            )  # fmt: skip
            cases.append(current)
        mods = r.modifiers or ()
        current.lines.append(
            LineIn(
                r.id, r.line_no, r.code.strip().upper(),
                tuple(str(m).strip().upper() for m in mods if str(m).strip()),
                Decimal(r.units), r.service_date or r.service_from, r.place_of_service or r.case_pos,
                r.billed, r.allowed, r.paid or ZERO, r.patient_resp or ZERO,
            )
        )  # fmt: skip
    return cases


@dataclass
class FirmRun:
    cases: int
    lines: int
    seconds: dict[str, float]


def benchmark_firm(
    tenant_id: int, case_ids: Sequence[int] | None = None, *, parallel: int = 1
) -> FirmRun:
    """Re-benchmark a firm's caseload (or the given cases), set-based: a few
    queries in, bulk writes out.  Flushes; never commits.

    ``parallel`` > 1 (PostgreSQL, whole caseload only; what the background job
    asks for, ``BENCHMARK_PARALLEL``): the cases are split into that many
    disjoint parts by case id, and each part but the first is computed and
    written on its own connection in its own thread and *committed* there, so
    everything the run reads must be committed before it starts.  The parts
    touch disjoint rows.  The first part stays in the caller's transaction."""
    import time

    from advocate.cases.models import Case
    from advocate.imports.bulk import insert_rows, update_by_id
    from tenants import current_tenant_id

    if current_tenant_id() != tenant_id:
        raise RuntimeError("benchmark_firm runs inside tenant_scope(tenant_id)")
    t0 = time.perf_counter()
    now = utcnow()
    if db.session.get_bind().dialect.name == "postgresql":
        if parallel > 1 and case_ids is None:
            return _pg_benchmark_parallel(tenant_id, now, parallel)
        return _pg_benchmark(tenant_id, case_ids, now)
    # SQLite (and any other database): the Python path for every case.
    cases = _load_cases(tenant_id, case_ids)
    t1 = time.perf_counter()
    refs = load_refs(tenant_id, cases)
    t2 = time.perf_counter()
    rows: list[dict] = []
    updates: list[dict] = []
    for c in cases:
        results = compute_case(c, refs)
        rows.extend(r.row(tenant_id, c.id, now) for r in results)
        expected = case_expected((r.expected, r.line.paid + r.line.patient_resp) for r in results)
        updates.append(
            {
                "id": c.id,
                "expected_payment": expected,
                "amount_at_stake": at_stake(
                    c.billed_total, expected, c.total_paid, c.patient_resp_total, c.agreed_amount
                ),
            }
        )
    t3 = time.perf_counter()
    stmt = delete(LineBenchmark).where(LineBenchmark.tenant_id == tenant_id)
    if case_ids is not None:
        stmt = stmt.where(_in(LineBenchmark.case_id, case_ids))
    db.session.execute(stmt)
    insert_rows(LineBenchmark, rows)
    update_by_id(Case, tenant_id, updates)
    db.session.flush()
    db.session.expire_all()  # cases updated under the ORM's feet
    t4 = time.perf_counter()
    return FirmRun(
        len(cases),
        len(rows),
        {"read": t1 - t0, "refs": t2 - t1, "compute": t3 - t2, "write": t4 - t3, "total": t4 - t0},
    )


def _pg_benchmark(
    tenant_id: int, case_ids: Sequence[int] | None, now, part: tuple[int, int] | None = None
) -> FirmRun:
    """PostgreSQL: the plain cases in SQL, only the others (modifiers, SCAs,
    ...) in Python; then the changed rows written.  ``part`` = (k, n): only
    the cases whose id mod n is k."""
    import time

    t0 = time.perf_counter()
    db.session.flush()
    _pg_stage_begin()
    py_ids = _pg_sql_lines(tenant_id, case_ids, now, part)
    t1 = time.perf_counter()
    cases = _load_cases(tenant_id, py_ids) if py_ids else []
    refs = load_refs(tenant_id, cases) if cases else None
    t2 = time.perf_counter()
    rows = [r.row(tenant_id, c.id, now) for c in cases for r in compute_case(c, refs)]
    t3 = time.perf_counter()
    _pg_stage_rows(rows)
    n_cases, n_lines = _pg_write_changed(tenant_id)
    db.session.flush()
    db.session.expire_all()  # cases updated under the ORM's feet
    t4 = time.perf_counter()
    return FirmRun(
        n_cases,
        n_lines,
        {"read": t1 - t0, "refs": t2 - t1, "compute": t3 - t2, "write": t4 - t3,
         "total": t4 - t0, "python_cases": len(cases), "python_lines": len(rows)},
    )  # fmt: skip


def _pg_benchmark_part(app, tenant_id: int, now, part: tuple[int, int]) -> FirmRun:
    """One part of a parallel run, in this thread's own app context, session
    and connection (row-level security set by tenant_scope); committed here."""
    from tenants import tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        try:
            run = _pg_benchmark(tenant_id, None, now, part)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    return run


def _pg_benchmark_parallel(tenant_id: int, now, n: int) -> FirmRun:
    """The caseload in ``n`` parts computed at once: parts 1..n-1 in threads
    (each committed on its own connection), part 0 in the caller's session.
    Waits for every part; the first failure is raised after all have ended."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.perf_counter()
    app = current_app._get_current_object()
    with ThreadPoolExecutor(max_workers=n - 1, thread_name_prefix="benchmark") as pool:
        futures = [
            pool.submit(_pg_benchmark_part, app, tenant_id, now, (k, n)) for k in range(1, n)
        ]
        try:
            first = _pg_benchmark(tenant_id, None, now, (0, n))
        finally:
            errors = [f.exception() for f in futures]
    failed = next((e for e in errors if e is not None), None)
    if failed is not None:
        raise failed
    runs = [first, *(f.result() for f in futures)]
    seconds: dict[str, float] = {}
    for r in runs:  # the parts ran side by side: the longest of each step
        for key, value in r.seconds.items():
            add = key in ("python_cases", "python_lines")
            seconds[key] = seconds.get(key, 0) + value if add else max(seconds.get(key, 0), value)
    seconds["total"] = time.perf_counter() - t0
    seconds["parts"] = n
    return FirmRun(sum(r.cases for r in runs), sum(r.lines for r in runs), seconds)


def parallel_parts() -> int:
    """How many parts the background re-benchmark runs in (``BENCHMARK_PARALLEL``,
    default 2; 1 = one connection)."""
    return max(1, _setting("BENCHMARK_PARALLEL", 2))


# ---------------------------------------------------------------------------
# PostgreSQL: the common lines computed in SQL
# ---------------------------------------------------------------------------

# The lines of a case go through SQL when every one of them is "plain": no
# modifiers, whole units >= 1, a 2-digit place of service, a clean 5-character
# code (anesthesia codes included: unpriced with medicare.ANESTHESIA_REASON, as
# medicare.price does), a service year 1900-2200, a practice ZIP starting with
# 5 digits, no SCA, a known RVU status and (for a percentile policy) a
# percentile the firm has.  Every other case (payment modifiers
# 50/62/66/80/81/82/AS, 26/TC/53 rows, fractional units, SCAs, ...) takes the
# Python path, which is the definition: tests/rates/test_benchmark.py checks
# both give the same rows.  Which cases those are is decided first (pyc), on
# the joined but not yet computed rows, so the rest of the statement only
# carries the SQL cases; the reference lookups are joined once per line (the
# payer policy once per case, in cpol).
_SQL_LINES = """
WITH k AS MATERIALIZED (
  SELECT %(status_reasons)s::jsonb AS sr, %(status_notes)s::jsonb AS sn, %(other_mppr)s::jsonb AS om,
         %(summaries)s::jsonb AS su, %(facility)s::text[] AS fac, %(other_inds)s::text[] AS oi,
         %(percentiles)s::int[] AS pcts,
         -- The fee schedule year for each service year 1900-2200: fya[year - 1899]
         -- (an array subscript, no join).
         ARRAY(SELECT (SELECT max(yy.year) FROM pfs_years yy WHERE yy.year <= g.y)
               FROM generate_series(1900, 2200) AS g(y) ORDER BY g.y) AS fya
),
cs AS MATERIALIZED (
  SELECT c.id, c.payer_id, c.plan_type, c.service_from, c.place_of_service, c.sca_id, p.zip
  FROM cases c JOIN practices p ON p.id = c.practice_id AND p.tenant_id = c.tenant_id
  WHERE c.tenant_id = %(t)s {cscope}
),
polkeys AS MATERIALIZED (
  -- policy_for's rule: the latest version effective on or before the day
  -- (unique per payer, plan type and day), none if it ended on or before it.
  SELECT x.payer_id, x.plan_type, x.service_from, x.id AS policy_id, x.pricing_method,
         x.pricing_percent, x.commercial_percentile,
         COALESCE(x.pricing_method = 'commercial_percentile' AND x.pricing_percent IS NOT NULL
          AND (x.commercial_percentile IS NULL OR x.commercial_percentile <> ALL(%(percentiles)s::int[])),
          false) AS bad_policy
  FROM (
    SELECT DISTINCT ON (q.payer_id, q.plan_type, q.service_from) q.payer_id, q.plan_type, q.service_from,
           CASE WHEN v.end_date IS NULL OR v.end_date > q.service_from THEN v.id END AS id,
           CASE WHEN v.end_date IS NULL OR v.end_date > q.service_from THEN v.pricing_method END AS pricing_method,
           CASE WHEN v.end_date IS NULL OR v.end_date > q.service_from THEN v.pricing_percent END AS pricing_percent,
           CASE WHEN v.end_date IS NULL OR v.end_date > q.service_from THEN v.commercial_percentile END
             AS commercial_percentile
    FROM (SELECT DISTINCT payer_id, plan_type, service_from FROM cs) q
    LEFT JOIN payer_policies v ON v.tenant_id = %(t)s AND v.payer_id = q.payer_id
     AND v.plan_type = q.plan_type AND v.effective_date <= q.service_from
    ORDER BY q.payer_id, q.plan_type, q.service_from, v.effective_date DESC NULLS LAST) x
),
-- Each case with its policy: joined per case (not per line).
cpol AS MATERIALIZED (
  SELECT cs.id, cs.payer_id, cs.plan_type, cs.service_from, cs.place_of_service, cs.sca_id, cs.zip,
         pk.policy_id, pk.pricing_method, pk.pricing_percent, pk.commercial_percentile, pk.bad_policy
  -- LEFT JOIN (every case has its polkeys row): the planner then estimates
  -- one row per case rather than ~1 for the three-column join of two CTEs,
  -- and the estimates of everything below stay near the real row counts.
  FROM cs LEFT JOIN polkeys pk ON pk.payer_id = cs.payer_id AND pk.plan_type = cs.plan_type
   AND pk.service_from = cs.service_from
),
base0 AS (
  SELECT l.id AS line_id, l.case_id, l.line_no, l.code, l.units, l.billed,
         extract(year FROM COALESCE(l.service_date, c.service_from))::int AS syear,
         COALESCE(l.place_of_service, c.place_of_service) AS pos,
         c.payer_id, c.plan_type, c.service_from, left(c.zip, 5) AS zip5,
         c.policy_id, c.pricing_method, c.pricing_percent, c.commercial_percentile,
         (c.sca_id IS NOT NULL OR c.zip IS NULL OR c.zip !~ '^[0-9]{5}' OR c.bad_policy
          OR NOT (l.modifiers IS NULL OR l.modifiers::jsonb IN ('[]'::jsonb, 'null'::jsonb))
          OR l.units <> trunc(l.units) OR l.units < 1
          OR COALESCE(l.place_of_service, c.place_of_service) IS NULL
          OR COALESCE(l.place_of_service, c.place_of_service) !~ '^[0-9]{1,2}$'
          OR l.code !~ '^[0-9A-Z]{5}$'
          OR extract(year FROM COALESCE(l.service_date, c.service_from)) NOT BETWEEN 1900 AND 2200) AS py,
         (l.code ~ '^[0-9]{5}$' AND l.code::int BETWEEN 100 AND 1999) AS anes
  FROM service_lines l
  JOIN cpol c ON c.id = l.case_id
  WHERE l.tenant_id = %(t)s {scope}
  OFFSET 0  -- a fence: computed once per row, not materialized
),
r0 AS MATERIALIZED (
  SELECT b.line_id, b.case_id, b.line_no, b.code, b.units, b.billed, b.payer_id, b.plan_type,
         b.service_from, b.zip5, b.anes, b.syear, k.fya[b.syear - 1899] AS fy,
         g.carrier, g.locality AS loc, g.pw, g.pe AS gpe, g.mp AS gmp,
         v.status AS rstatus, v.work_rvu, v.nonfac_pe_rvu, v.fac_pe_rvu, v.mp_rvu, v.is_nonfac_na,
         v.is_fac_na, v.is_not_used_for_medicare, v.conv_factor, v.opps_nonfac_pe_rvu,
         v.opps_fac_pe_rvu, v.opps_mp_rvu, COALESCE(btrim(v.mult_proc), '9') AS ind,
         COALESCE(v.endo_base, '') AS endo_base,
         -- Some RVU row for the code (a modified one only, when v is missing):
         -- looked up for those lines only, not joined for every line.
         (v.hcpcs IS NOT NULL OR EXISTS (SELECT 1 FROM pfs_rvus v2
            WHERE v2.year = k.fya[b.syear - 1899] AND v2.hcpcs = b.code)) AS any_row,
         upper(btrim(v.status)) AS status,
         lpad(b.pos, 2, '0') = ANY(k.fac) AS facility,
         b.policy_id, b.pricing_method, b.pricing_percent, b.commercial_percentile,
         -- The line needs the Python path: not plain, an unmodified RVU row
         -- missing where the code and the locality exist (only modified
         -- rows), an RVU status the reasons do not know, a percentile policy
         -- naming a percentile the firm lacks.
         (b.py
          OR COALESCE(upper(btrim(v.status)) NOT IN ('A', 'R', 'T') AND NOT (k.sr ? upper(btrim(v.status))), false)
          OR (k.fya[b.syear - 1899] IS NOT NULL AND g.carrier IS NOT NULL AND v.status IS NULL
              AND EXISTS (SELECT 1 FROM pfs_rvus v3 WHERE v3.year = k.fya[b.syear - 1899] AND v3.hcpcs = b.code))
          -- An endoscopy (MULT PROC 3): the family rule needs the base code's fee.
          OR COALESCE(btrim(v.mult_proc), '') = '3')
           AS line_py
  FROM base0 b CROSS JOIN k
  LEFT JOIN pfs_zip_localities z ON z.year = k.fya[b.syear - 1899] AND z.zip = b.zip5
  LEFT JOIN pfs_gpcis g ON g.year = z.year AND g.carrier = z.carrier AND g.locality = z.locality
  LEFT JOIN pfs_rvus v ON v.year = k.fya[b.syear - 1899] AND v.hcpcs = b.code AND v.modifier = ''
),
-- The cases the Python path computes (any line needing it).
pyc AS MATERIALIZED (SELECT DISTINCT case_id FROM r0 WHERE line_py),
r AS (
  SELECT r0.* FROM r0 WHERE NOT EXISTS (SELECT 1 FROM pyc WHERE pyc.case_id = r0.case_id)
),
s AS (
  SELECT r.*,
    CASE WHEN r.fy IS NULL THEN 'nofy' WHEN r.carrier IS NULL THEN 'nozip'
         WHEN NOT r.any_row THEN 'nocode' WHEN r.rstatus IS NULL THEN 'py' ELSE 'todo' END AS stage,
    CASE WHEN r.facility THEN r.fac_pe_rvu WHEN r.is_nonfac_na THEN r.fac_pe_rvu
         ELSE r.nonfac_pe_rvu END AS pe_rvu,
    CASE WHEN r.facility OR r.is_nonfac_na THEN COALESCE(r.opps_fac_pe_rvu, 0)
         ELSE COALESCE(r.opps_nonfac_pe_rvu, 0) END AS opps_pe,
    CASE WHEN r.facility AND r.is_fac_na THEN %(note_fac_na)s
         WHEN NOT r.facility AND r.is_nonfac_na THEN %(note_nonfac_na)s END AS na_note
  FROM r
),
pr AS (
  SELECT s.*,
    CASE WHEN s.anes THEN %(anes_reason)s
         WHEN s.status NOT IN ('A', 'R', 'T') THEN (k.sr ->> s.status)
         WHEN s.is_not_used_for_medicare THEN 'The RVU file flags these RVUs as not used for Medicare payment.'
         WHEN s.work_rvu = 0 AND s.pe_rvu = 0 AND s.mp_rvu = 0 THEN
           CASE WHEN s.status = 'R' THEN %(r_no_rvus)s
                ELSE 'Status ' || s.status || ' but no RVUs are published for this setting.' END
    END AS price_reason,
    (s.work_rvu * s.pw + s.pe_rvu * s.gpe + s.mp_rvu * s.gmp) * s.conv_factor AS total,
    (s.work_rvu * s.pw + s.opps_pe * s.gpe + COALESCE(s.opps_mp_rvu, 0) * s.gmp) * s.conv_factor AS o_total
  FROM s CROSS JOIN k
),
pa AS (
  -- Only what the rest needs: the rows below are sorted for the windows.
  SELECT pr.line_id, pr.case_id, pr.line_no, pr.code, pr.units, pr.billed, pr.payer_id, pr.plan_type,
    pr.service_from, pr.zip5, pr.syear, pr.fy, pr.carrier, pr.loc, pr.ind, pr.endo_base, pr.stage,
    pr.price_reason, pr.policy_id, pr.pricing_method, pr.pricing_percent, pr.commercial_percentile,
    pr.stage = 'todo' AND pr.price_reason IS NULL AS priced,
    CASE WHEN pr.stage = 'todo' AND pr.price_reason IS NULL THEN
      CASE WHEN pr.opps_pe > 0 AND pr.o_total < pr.total THEN round(pr.o_total, 2) ELSE round(pr.total, 2) END
    END AS base_amount,
    CASE WHEN pr.fy <> pr.syear THEN jsonb_build_array(jsonb_build_object('label', 'Note', 'text',
           'The ' || pr.syear || ' fee schedule is not loaded: ' || pr.fy || ' rates are used.'))
         ELSE '[]'::jsonb END
    || CASE WHEN pr.na_note IS NOT NULL THEN jsonb_build_array(jsonb_build_object('label', 'Note', 'text',
           pr.na_note)) ELSE '[]'::jsonb END
    || CASE WHEN pr.status IN ('R', 'T') AND NOT pr.is_not_used_for_medicare AND NOT pr.anes THEN
           jsonb_build_array(jsonb_build_object('label', 'Note', 'text', k.sn ->> pr.status))
         ELSE '[]'::jsonb END
    || CASE WHEN pr.stage = 'todo' AND pr.price_reason IS NULL AND pr.opps_pe > 0 AND pr.o_total < pr.total
           THEN jsonb_build_array(jsonb_build_object('label', 'Note', 'text',
             'OPPS imaging cap (DRA 2005 s.5102(b)): the OPPS-based amount ' || round(pr.o_total, 2)
             || ' is lower than the fee schedule amount ' || round(pr.total, 2) || ' and is used instead.'))
         ELSE '[]'::jsonb END AS notes
  FROM pr CROSS JOIN k
  OFFSET 0  -- a fence: computed once per row, not materialized
),
m AS (
  SELECT pa.*, pa.units::int AS n,
    (pa.priced AND pa.ind IN ('2', '3') AND pa.base_amount > 0) AS grp
  FROM pa
),
w AS (
  SELECT m.*,
    CASE WHEN m.grp THEN sum(m.n) OVER (PARTITION BY m.case_id, m.grp ORDER BY m.base_amount DESC,
         m.line_no ROWS UNBOUNDED PRECEDING) - m.n END AS position,
    CASE WHEN m.grp THEN sum(m.n) OVER (PARTITION BY m.case_id, m.grp) END AS procedures,
    CASE WHEN m.priced THEN sum(m.n) OVER (PARTITION BY m.case_id, m.priced, m.ind) END AS by_ind
  FROM m
),
f AS (
  SELECT w.*,
    CASE WHEN w.grp AND w.procedures >= 2 THEN
      (CASE WHEN w.position = 0 THEN 1 ELSE 0 END) + (w.n - (CASE WHEN w.position = 0 THEN 1 ELSE 0 END)) * 0.5
    END AS mppr_factor,
    CASE WHEN w.grp AND w.procedures >= 2 THEN
      CASE WHEN w.n = 1 THEN
        CASE WHEN w.position = 0 THEN 'Highest-priced of ' || w.procedures || ' procedures: paid at 100%%.'
             ELSE 'Procedure ranked ' || (w.position + 1) || ' of ' || w.procedures || ': paid at 50%%.' END
      ELSE w.n || ' units count as ' || w.n || ' procedures'
        || CASE WHEN w.position = 0 THEN ': the first is the highest-priced of the case (100%%), ' ELSE ': ' END
        || (w.n - CASE WHEN w.position = 0 THEN 1 ELSE 0 END) || ' at 50%%.' END
      || CASE WHEN w.position + w.n > 5 THEN ' CMS prices the 6th and later procedures by report; 50%% is used.' ELSE '' END
      || CASE WHEN w.ind = '3' THEN ' Endoscopy'
           || CASE WHEN w.endo_base <> '' THEN ' (family base ' || w.endo_base || ')' ELSE '' END
           || ' ranked like any other procedure: CMS''s endoscopic family rule (base-code difference) is not applied.'
         ELSE '' END
    END AS mppr_text,
    CASE WHEN w.priced AND w.ind = ANY(k.oi) AND w.by_ind > 1 THEN
      'Not applied: CMS ' || (k.om ->> w.ind) || ' may reduce this line further.' END AS ind_note
  FROM w CROSS JOIN k
),
med AS MATERIALIZED (
  SELECT f.*,
    CASE WHEN f.stage IN ('todo') THEN
      (CASE WHEN f.mppr_factor IS NOT NULL THEN jsonb_build_array(jsonb_build_object(
            'label', 'Multiple procedure', 'factor', trim_scale(f.mppr_factor)::text, 'text', f.mppr_text))
          WHEN f.priced AND f.n > 1 THEN jsonb_build_array(jsonb_build_object(
            'label', 'Units', 'factor', f.n::text, 'text', f.n || ' units at 100%% each.'))
          ELSE '[]'::jsonb END)
      || f.notes
      || CASE WHEN f.ind_note IS NOT NULL THEN jsonb_build_array(jsonb_build_object('label', 'Note', 'text', f.ind_note))
              ELSE '[]'::jsonb END
    END AS steps,
    CASE WHEN f.priced THEN round(f.base_amount * COALESCE(f.mppr_factor,
         CASE WHEN f.n > 1 THEN f.n ELSE 1 END), 2) END AS medicare,
    CASE f.stage
      WHEN 'nofy' THEN 'No Medicare fee schedule for ' || f.syear || ' or earlier is loaded (flask rates import-pfs).'
      WHEN 'nozip' THEN 'ZIP ' || f.zip5 || ' is not in the ' || f.fy || ' Medicare ZIP code file.'
      WHEN 'nocode' THEN f.code || ' is not in the ' || f.fy || ' Medicare fee schedule.'
      ELSE f.price_reason END AS medicare_reason
  FROM f
),
pkeys AS MATERIALIZED (
  SELECT DISTINCT ON (x.code, x.zip3, x.sy) x.code, x.zip3, x.sy, x.year, x.p50, x.p60, x.p70, x.p75,
         x.p80, x.p85, x.p90, x.p95
  FROM (SELECT cp.*, q.sy FROM (SELECT DISTINCT code, left(zip5, 3) AS zip3, syear AS sy FROM med) q
        JOIN commercial_percentiles cp ON cp.tenant_id = %(t)s AND cp.code = q.code
         AND cp.modifier = '' AND cp.zip3 = q.zip3) x
  ORDER BY x.code, x.zip3, x.sy, (x.year <= x.sy) DESC, CASE WHEN x.year <= x.sy THEN -x.year ELSE x.year END
),
pct AS (
  SELECT med.*, pk.year AS percentile_year,
         round(pk.p50 * med.units, 2) AS p50, round(pk.p60 * med.units, 2) AS p60,
         round(pk.p70 * med.units, 2) AS p70, round(pk.p75 * med.units, 2) AS p75,
         round(pk.p80 * med.units, 2) AS p80, round(pk.p85 * med.units, 2) AS p85,
         round(pk.p90 * med.units, 2) AS p90, round(pk.p95 * med.units, 2) AS p95
  FROM med LEFT JOIN pkeys pk ON pk.code = med.code AND pk.zip3 = left(med.zip5, 3) AND pk.sy = med.syear
),
pb AS (
  SELECT pol.*,
    CASE pol.commercial_percentile WHEN 50 THEN pol.p50 WHEN 60 THEN pol.p60 WHEN 70 THEN pol.p70
      WHEN 75 THEN pol.p75 WHEN 80 THEN pol.p80 WHEN 85 THEN pol.p85 WHEN 90 THEN pol.p90
      WHEN 95 THEN pol.p95 END AS pol_pct,
    'The firm''s percentile data has no ' || pol.code || ' in ZIP area ' || left(pol.zip5, 3) || '.' AS no_pct_reason
  FROM pct AS pol
),
pv AS (
  SELECT pb.*,
    CASE WHEN pb.policy_id IS NULL OR pb.pricing_method NOT IN ('medicare_percent', 'commercial_percentile', 'billed_percent')
           OR pb.pricing_percent IS NULL THEN NULL
         WHEN pb.pricing_method = 'billed_percent' THEN round(pb.billed * pb.pricing_percent * 0.01, 2)
         WHEN pb.pricing_method = 'medicare_percent' THEN round(pb.medicare * pb.pricing_percent * 0.01, 2)
         ELSE round(pb.pol_pct * pb.pricing_percent * 0.01, 2) END AS policy,
    CASE WHEN pb.policy_id IS NULL THEN
           'No OON policy of this payer for this plan type on ' || to_char(pb.service_from, 'YYYY-MM-DD') || '.'
         WHEN pb.pricing_method = 'qpa' THEN 'The policy pays the QPA, which is not in the firm''s data.'
         WHEN pb.pricing_method NOT IN ('medicare_percent', 'commercial_percentile', 'billed_percent')
           THEN 'The policy''s pricing method is unknown.'
         WHEN pb.pricing_percent IS NULL THEN 'The policy records no percent.'
         WHEN pb.pricing_method = 'medicare_percent' AND pb.medicare IS NULL
           THEN 'No Medicare amount: ' || COALESCE(pb.medicare_reason, '')
         WHEN pb.pricing_method = 'commercial_percentile' AND pb.pol_pct IS NULL
           THEN 'No percentile data: ' || CASE WHEN pb.percentile_year IS NULL THEN pb.no_pct_reason ELSE '' END
    END AS policy_reason,
    k.su ->> pb.policy_id::text AS policy_basis
  FROM pb CROSS JOIN k
  OFFSET 0  -- a fence: computed once per row, not materialized
),
ex AS (
  SELECT pv.*,
    CASE WHEN pv.policy IS NOT NULL THEN pv.policy WHEN pv.{pcol} IS NOT NULL THEN pv.{pcol}
         WHEN pv.medicare IS NOT NULL THEN round(pv.medicare * %(mpct)s * 0.01, 2) END AS cand,
    CASE WHEN pv.policy IS NOT NULL THEN 'policy' WHEN pv.{pcol} IS NOT NULL THEN 'percentile'
         WHEN pv.medicare IS NOT NULL THEN 'medicare' END AS basis,
    CASE WHEN pv.policy IS NOT NULL THEN 'The payer''s OON policy: ' || COALESCE(pv.policy_basis, '') || '.'
         WHEN pv.{pcol} IS NOT NULL THEN 'The ' || %(pord)s || ' percentile of charges in ZIP area '
           || left(pv.zip5, 3) || ' (' || pv.percentile_year || ').'
         WHEN pv.medicare IS NOT NULL THEN %(mpct_text)s || '%% of Medicare (no policy amount or percentile data).'
         ELSE 'No SCA rate, payer policy amount, percentile or Medicare amount for this line.' END AS reason
  FROM pv
  OFFSET 0  -- a fence: computed once per row, not materialized
)
,
ins AS (
  INSERT INTO lb_new ({cols}) SELECT {out} FROM ex
)
SELECT case_id FROM pyc ORDER BY 1
"""


def _cut_sql(expr: str, n: int) -> str:
    return f"CASE WHEN length({expr}) > {n} THEN left({expr}, {n - 1}) || '…' ELSE {expr} END"


_SQL_OUT = {
    "tenant_id": "%(t)s::bigint",
    "line_id": "line_id",
    "case_id": "case_id",
    "line_no": "line_no",
    "fee_year": "CASE WHEN stage IN ('nocode', 'todo') THEN fy END",
    "locality": "CASE WHEN stage IN ('nocode', 'todo') THEN carrier || '-' || loc END",
    "medicare": "medicare",
    "medicare_reason": _cut_sql("medicare_reason", 500),
    "medicare_steps": "CASE WHEN steps IS NOT NULL AND steps <> '[]'::jsonb THEN steps::json END",
    "zip3": "left(zip5, 3)",
    "percentile_year": "percentile_year",
    **{f"p{p}": f"p{p}" for p in PERCENTILES},
    "percentile_reason": "CASE WHEN percentile_year IS NULL THEN "
    + _cut_sql("no_pct_reason", 300)
    + " END",
    "policy": "policy",
    "policy_basis": _cut_sql("policy_basis", 200),
    "policy_reason": _cut_sql("policy_reason", 300),
    "sca": "NULL::numeric",
    "sca_reason": "NULL::text",
    "expected": "CASE WHEN cand > billed THEN billed ELSE cand END",
    "expected_basis": "basis",
    "expected_reason": _cut_sql(
        "(CASE WHEN cand > billed THEN left(reason, -1) || ', capped at the billed charge.' "
        "ELSE reason END)",
        300,
    ),
    "computed_at": "%(now)s::timestamptz",
}


def _sql_params(tenant_id: int, now) -> dict:
    """The constants the SQL path needs, from the Python definitions."""
    import json

    from advocate.payers.models import PayerPolicy

    percentile = default_percentile()
    summaries = {
        str(p.id): p.pricing_summary
        for p in db.session.scalars(select(PayerPolicy).where(PayerPolicy.tenant_id == tenant_id))
    }
    return {
        "t": tenant_id,
        "now": now,
        "facility": sorted(medicare.FACILITY_POS),
        "note_fac_na": (
            "CMS marks the facility PE as NA (rarely or never performed in a facility "
            "setting); the facility PE RVU is used as published."
        ),
        "note_nonfac_na": (
            "Non-facility PE is NA (rarely or never performed outside a facility), so "
            "the facility PE RVU is used."
        ),
        "status_reasons": json.dumps(medicare.STATUS_REASONS),
        "status_notes": json.dumps(medicare._STATUS_NOTES),
        "r_no_rvus": (
            "Status R (restricted coverage) with no RVUs published: if covered, the "
            "Medicare Administrative Contractor prices it."
        ),
        "anes_reason": medicare.ANESTHESIA_REASON,
        "other_inds": sorted(medicare._OTHER_MPPR),
        "other_mppr": json.dumps(medicare._OTHER_MPPR),
        "percentiles": list(PERCENTILES),
        "summaries": json.dumps(summaries),
        "mpct": default_medicare_percent(),
        "mpct_text": str(default_medicare_percent()),
        "pord": _ordinal(percentile),
    }


def _set_local(conn, settings: dict[str, str]) -> dict[str, str]:
    """SET LOCAL each setting; return the values they had."""
    saved = {}
    for name, value in settings.items():
        saved[name] = conn.exec_driver_sql(
            "SELECT current_setting(%s), set_config(%s, %s, true)", (name, name, value)
        ).one()[0]
    return saved


def _pg_sql_lines(
    tenant_id: int, case_ids: Sequence[int] | None, now, part: tuple[int, int] | None = None
) -> list[int]:
    """Compute the plain cases' rows in SQL into the temp table lb_new; return
    the ids of the cases the Python path must compute."""
    conn = db.session.connection()
    params = _sql_params(tenant_id, now)
    scope = cscope = ""
    if case_ids is not None:
        scope = "AND l.case_id = ANY(%(ids)s)"
        cscope = "AND c.id = ANY(%(ids)s)"
        params["ids"] = sorted(set(case_ids))
    if part is not None:
        scope += " AND mod(l.case_id, %(part_n)s) = %(part_k)s"
        cscope += " AND mod(c.id, %(part_n)s) = %(part_k)s"
        params["part_k"], params["part_n"] = part
    sql = (
        _SQL_LINES.replace("{scope}", scope)
        .replace("{cscope}", cscope)
        .replace("{pcol}", f"p{default_percentile()}")
        .replace("{out}", ", ".join(f'{e} AS "{c}"' for c, e in _SQL_OUT.items()))
        .replace("{cols}", ", ".join(f'"{c}"' for c in _SQL_OUT))
    )
    # Set for this statement only: JIT compiling it costs more (~0.6 s) than
    # it saves; its sorts and materialized CTEs of 100,000 rows spill past the
    # default work_mem; and the CTEs' row estimates are poor enough that the
    # planner sorts 100,000 wide rows for a merge join with a few thousand
    # reference rows, where hashing those is far cheaper.
    settings = {
        "jit": "off",
        "work_mem": "256MB",
    }
    saved = _set_local(conn, settings)
    ids = [r[0] for r in conn.exec_driver_sql(sql, params)]
    _set_local(conn, saved)
    return ids


# Every stored column but the keys and computed_at: a row is rewritten only
# when one of these differs (medicare_steps compared as jsonb: json has no =).
_LB_VALUE_COLUMNS = (
    "case_id", "line_no", "fee_year", "locality", "medicare", "medicare_reason", "medicare_steps",
    "zip3", "percentile_year", *(f"p{p}" for p in PERCENTILES), "percentile_reason", "policy",
    "policy_basis", "policy_reason", "sca", "sca_reason", "expected", "expected_basis",
    "expected_reason",
)  # fmt: skip


def _pg_stage_begin() -> None:
    conn = db.session.connection()
    conn.exec_driver_sql("DROP TABLE IF EXISTS pg_temp.lb_new")
    conn.exec_driver_sql("CREATE TEMP TABLE lb_new AS SELECT * FROM line_benchmarks WITH NO DATA")


_STAGE_COLUMNS = ("tenant_id", "line_id", *_LB_VALUE_COLUMNS, "computed_at")


def _pg_stage_rows(rows: list[dict]) -> None:
    """The Python path's rows into lb_new: one JSON parameter per batch."""
    from advocate.imports.bulk import PG_BATCH, _recordset, chunks

    names = ", ".join(f'"{c}"' for c in _STAGE_COLUMNS)
    stage = (
        f"INSERT INTO lb_new ({names}) SELECT {names} "  # noqa: S608 - fixed names
        "FROM json_populate_recordset(NULL::line_benchmarks, %s::json)"
    )
    for chunk in chunks(rows, PG_BATCH):
        db.session.connection().exec_driver_sql(stage, (_recordset(chunk),))


def _pg_write_changed(tenant_id: int) -> tuple[int, int]:
    """PostgreSQL: write what is staged in lb_new, only where it changed.
    One set-based UPDATE ... FROM rewrites the stored rows where some value IS
    DISTINCT FROM the new one (an unchanged row is neither rewritten nor
    re-indexed, and keeps its computed_at: when its figures were last computed
    differently), one INSERT ... SELECT adds the missing ones (rows of deleted
    lines went with them: ON DELETE CASCADE), and one UPDATE cases ... FROM an
    aggregate of lb_new touches only the cases whose expected payment or amount
    at stake differ.  (ON CONFLICT DO UPDATE was measured slower: it locks, so
    dirties, every conflicting row even when its WHERE is false.)  Returns
    (cases, lines) staged."""
    conn = db.session.connection()
    names = ", ".join(f'"{c}"' for c in _STAGE_COLUMNS)

    def val(prefix: str, c: str) -> str:
        # json has no "=": compare the text (a row written by the other path,
        # same values in another key order, is merely rewritten once).
        return f"{prefix}.{c}::text" if c == "medicare_steps" else f"{prefix}.{c}"

    # Statistics for the join keys only: the whole wide row took ~0.5 s.
    conn.exec_driver_sql("ANALYZE lb_new (tenant_id, line_id, case_id)")
    sets = ", ".join(f'"{c}" = n."{c}"' for c in (*_LB_VALUE_COLUMNS, "computed_at"))
    olds = ", ".join(val("t", c) for c in _LB_VALUE_COLUMNS)
    news = ", ".join(val("n", c) for c in _LB_VALUE_COLUMNS)
    conn.exec_driver_sql(
        f"UPDATE line_benchmarks AS t SET {sets} FROM lb_new AS n "  # noqa: S608 - fixed names
        "WHERE t.tenant_id = %s AND t.tenant_id = n.tenant_id AND t.line_id = n.line_id "
        f"AND ({olds}) IS DISTINCT FROM ({news})",
        (tenant_id,),
    )
    # When line_benchmarks was last analyzed (or vacuumed) empty, e.g. before a
    # firm's first run, the planner picks a nested loop anti join that re-scans
    # the rows this INSERT is adding: quadratic, minutes for 100,000 rows.
    # Nested loops are off for this statement only (a hash anti join instead).
    nestloop = conn.exec_driver_sql(
        "SELECT current_setting('enable_nestloop'), set_config('enable_nestloop', 'off', true)"
    ).one()[0]
    conn.exec_driver_sql(
        f"INSERT INTO line_benchmarks ({names}) SELECT {names} FROM lb_new AS n "  # noqa: S608
        "WHERE NOT EXISTS (SELECT 1 FROM line_benchmarks AS t "
        "WHERE t.tenant_id = n.tenant_id AND t.line_id = n.line_id)"
    )
    conn.exec_driver_sql("SELECT set_config('enable_nestloop', %s, true)", (nestloop,))
    # No stale rows to delete: a deleted line takes its row with it (the
    # foreign key's ON DELETE CASCADE), and a row whose line changed case was
    # rewritten by the UPDATE above (case_id is one of the compared values).
    # The case's expected payment (case_expected) and amount at stake (at_stake).
    conn.exec_driver_sql(
        "UPDATE cases AS c SET expected_payment = a.expected, amount_at_stake = a.at_stake "
        "FROM (SELECT e.case_id, e.expected, GREATEST(0, COALESCE(k.agreed_amount, e.expected, k.billed_total, 0) "
        "       - COALESCE(k.total_paid, 0) - COALESCE(k.patient_resp_total, 0)) AS at_stake "
        "      FROM (SELECT n.case_id, CASE WHEN count(n.expected) > 0 THEN sum(COALESCE(n.expected, "
        "              COALESCE(l.paid, 0) + COALESCE(l.patient_resp, 0))) END AS expected "
        "            FROM lb_new n JOIN service_lines l ON l.id = n.line_id AND l.tenant_id = n.tenant_id "
        "            GROUP BY n.case_id) e "
        "      JOIN cases k ON k.id = e.case_id AND k.tenant_id = %s) a "
        "WHERE c.id = a.case_id AND c.tenant_id = %s "
        "AND (c.expected_payment, c.amount_at_stake) IS DISTINCT FROM (a.expected, a.at_stake)",
        (tenant_id, tenant_id),
    )
    cases, lines = conn.exec_driver_sql(
        "SELECT count(DISTINCT case_id), count(*) FROM lb_new"
    ).one()
    conn.exec_driver_sql("DROP TABLE pg_temp.lb_new")
    return cases, lines


def rebenchmark_firm_job(tenant_id: int) -> None:
    """Background job: re-benchmark the firm's whole caseload and commit."""
    from tenants import tenant_scope

    with tenant_scope(tenant_id):
        benchmark_firm(tenant_id, parallel=parallel_parts())
        db.session.commit()


def rebenchmark_all_firms_job() -> None:
    """Background job after a fee schedule import: every firm with cases."""
    from advocate.cases.models import Case
    from tenants.scoping import tenant_directory

    # The directory: RLS shows the app role no firm row outside its scope.
    tenant_ids = [tid for tid, _slug, _active in tenant_directory()]
    from tenants import tenant_scope

    for tid in tenant_ids:
        with tenant_scope(tid):
            if db.session.scalar(select(Case.id).where(Case.tenant_id == tid).limit(1)) is None:
                continue
            benchmark_firm(tid, parallel=parallel_parts())
            db.session.commit()


def enqueue_firm(tenant_id: int):
    """Re-benchmark a firm's caseload in the background (now, without Redis)."""
    from advocate import jobs

    return jobs.enqueue(rebenchmark_firm_job, tenant_id, queue_name="default")


def enqueue_all_firms():
    from advocate import jobs

    return jobs.enqueue(rebenchmark_all_firms_job, queue_name="default")


# ---------------------------------------------------------------------------
# Reading the stored benchmarks: the case panel and the API
# ---------------------------------------------------------------------------


@dataclass
class Bar:
    label: str
    amount: Decimal
    kind: str  # css series class
    group: str


@dataclass
class CaseBenchmark:
    """A case's stored benchmarks with the case-level figures."""

    case: Any
    lines: list[tuple[Any, LineBenchmark | None]]
    billed: Decimal
    allowed: Decimal
    paid: Decimal
    patient_resp: Decimal
    received: Decimal
    expected: Decimal | None
    underpayment: Decimal | None
    medicare_total: Decimal | None
    medicare_priced: int
    percentile_totals: dict[int, Decimal]
    percentile_lines: int
    ask: Decimal | None
    ask_reason: str
    floor: Decimal | None
    floor_reason: str
    notes: list[str]
    computed_at: Any
    bars: list[Bar]
    fee_years: list[FeeYear] = field(default_factory=list)

    @property
    def fee_fallback(self) -> bool:
        """Some line is priced with an earlier year's fee schedule."""
        return any(f.fallback for f in self.fee_years)

    @property
    def fee_label(self) -> str:
        """The label, e.g. "CY2025 rates; CY2026 not loaded" (advocate.rates.years), or ""."""
        return combined_label(self.fee_years)

    @property
    def fee_schedule(self) -> dict | None:
        """The fee schedule year(s) used, for the API and letters."""
        used = [f for f in self.fee_years if f.year_used is not None]
        if not self.fee_years:
            return None
        return {
            "year_used": max((f.year_used for f in used), default=None),
            "service_years": sorted({f.service_year for f in self.fee_years}),
            "fallback": self.fee_fallback,
            "label": self.fee_label,
        }

    @property
    def is_benchmarked(self) -> bool:
        return any(b is not None for _ln, b in self.lines)

    @property
    def multiples(self) -> dict[int, Decimal]:
        if self.medicare_total is None:
            return {}
        return {m: _q(self.medicare_total * m / HUNDRED) for m in MEDICARE_MULTIPLES}

    @property
    def medicare_complete(self) -> bool:
        return self.medicare_total is not None and self.medicare_priced == len(self.lines)

    @property
    def percentiles_complete(self) -> bool:
        return bool(self.percentile_totals) and self.percentile_lines == len(self.lines)

    @property
    def expected_bases(self) -> list[str]:
        seen = []
        for _ln, b in self.lines:
            if b is not None and b.expected_basis and b.expected_basis not in seen:
                seen.append(b.expected_basis)
        return [BASIS_LABELS.get(x, x) for x in seen]

    def chart(self, width: int = 640) -> dict:
        """Horizontal bars, coordinates computed here (no JS, no style=)."""
        label_w, value_w, row_h, top = 150, 90, 24, 8
        plot_w = width - label_w - value_w
        top_amount = max((b.amount for b in self.bars), default=ZERO)
        rows = []
        for i, b in enumerate(self.bars):
            w = 0.0 if top_amount <= 0 else float(b.amount / top_amount) * plot_w
            y = top + i * row_h
            rows.append({"bar": b, "x": label_w, "y": y, "w": round(max(w, 1.0), 1), "h": row_h - 8,
                         "ty": y + (row_h - 8) / 2 + 4, "vx": label_w + round(w, 1) + 6})  # fmt: skip
        received_x = None
        if top_amount > 0:
            received_x = label_w + round(float(self.received / top_amount) * plot_w, 1)
        return {"width": width, "height": top * 2 + row_h * len(rows), "rows": rows, "label_w": label_w,
                "received_x": received_x}  # fmt: skip

    def description(self) -> str:
        parts = [
            f"Billed {self.billed:,.2f}",
            f"received {self.received:,.2f} (paid plus patient responsibility)",
        ]
        if self.expected is not None:
            parts.append(f"expected {self.expected:,.2f}")
        if self.medicare_total is not None:
            parts.append(f"Medicare {self.medicare_total:,.2f}")
        for p in (50, 80, 95):
            if p in self.percentile_totals:
                parts.append(f"{_ordinal(p)} percentile {self.percentile_totals[p]:,.2f}")
        return "; ".join(parts) + "."


def _sum_or_none(values: list[Decimal | None]) -> tuple[Decimal | None, int]:
    present = [v for v in values if v is not None]
    return (sum(present, ZERO) if present else None), len(present)


def summarize(
    case, rows: Sequence[LineBenchmark], releases: Sequence[tuple[int, str, date]] = ()
) -> CaseBenchmark:
    """The case-level figures from the stored line rows (no queries);
    ``releases`` (services.loaded_releases) names the CMS release in the label."""
    by_line = {r.line_id: r for r in rows}
    lines = [(ln, by_line.get(ln.id)) for ln in sorted(case.lines, key=lambda x: x.line_no)]
    benches = [b for _ln, b in lines if b is not None]
    medicare_total, priced = _sum_or_none([b.medicare for b in benches])
    pct_totals: dict[int, Decimal] = {}
    pct_lines = sum(1 for b in benches if b.p50 is not None)
    if pct_lines:
        for p in PERCENTILES:
            pct_totals[p] = sum(
                (getattr(b, f"p{p}") for b in benches if getattr(b, f"p{p}") is not None), ZERO
            )
    received = (case.total_paid or ZERO) + (case.patient_resp_total or ZERO)
    expected = case.expected_payment if benches else None
    under = None if expected is None else max(ZERO, expected - received)
    billed = case.billed_total or ZERO
    n = len(lines)
    notes: list[str] = []
    ask = floor = None
    ask_reason = floor_reason = ""
    if expected is not None:
        cands = [(expected, f"the expected payment {expected:,.2f}")]
        if pct_lines == n and ASK_PERCENTILE in pct_totals:
            cands.append(
                (
                    pct_totals[ASK_PERCENTILE],
                    f"the {_ordinal(ASK_PERCENTILE)} percentile of charges {pct_totals[ASK_PERCENTILE]:,.2f}",
                )
            )
        if medicare_total is not None and priced == n:
            m = _q(medicare_total * ASK_MEDICARE_PERCENT / HUNDRED)
            cands.append((m, f"{ASK_MEDICARE_PERCENT}% of Medicare {m:,.2f}"))
        ask, why = max(cands, key=lambda c: c[0])
        ask_reason = "The highest of " + ", ".join(c[1] for c in cands) + f": {why}"
        if ask > billed:
            ask = billed
            ask_reason += f", capped at the billed charges {billed:,.2f}"
        ask_reason += "."
        bases = {b.expected_basis for b in benches}
        if None not in bases and bases <= {"sca", "policy"} and len(benches) == n:
            floor = expected
            floor_reason = (
                "The payer's own terms ("
                + " and ".join(BASIS_LABELS[x].lower() for x in sorted(bases))
                + f") come to {expected:,.2f}: never settle below what the plan itself promises"
            )
        elif pct_lines == n and FLOOR_PERCENTILE in pct_totals:
            floor = pct_totals[FLOOR_PERCENTILE]
            floor_reason = f"The {_ordinal(FLOOR_PERCENTILE)} percentile of charges, {floor:,.2f}"
        elif medicare_total is not None and priced == n:
            floor = _q(medicare_total * FLOOR_MEDICARE_PERCENT / HUNDRED)
            floor_reason = f"{FLOOR_MEDICARE_PERCENT}% of Medicare, {floor:,.2f} (no percentile data for every line)"
        else:
            floor = expected
            floor_reason = f"The expected payment, {expected:,.2f}"
        if floor > ask:
            floor = ask
            floor_reason += f", lowered to the ask {ask:,.2f}"
        if floor < received:
            floor = received
            floor_reason += f", raised to what was already received {received:,.2f}"
        if ask < floor:
            ask = floor
            ask_reason += f" Raised to what was already received, {received:,.2f}."
        floor_reason += "."
    if n and len(benches) < n:
        notes.append("Some lines have not been benchmarked yet.")
    missing = [ln.line_no for ln, b in lines if b is not None and b.expected is None]
    if missing:
        notes.append(
            "Lines "
            + ", ".join(map(str, missing))
            + " have no benchmark and count at what was received."
        )
    if case.is_nsa_eligible:
        notes.append(
            "No Surprises Act claim: in federal IDR the arbitrator may not consider Medicare or "
            "usual-and-customary figures; argue from the QPA and the statutory factors."
        )
    bars = [
        Bar("Billed", billed, "series-4", "claim"),
        Bar("Paid + patient resp.", received, "series-2", "claim"),
    ]
    if expected is not None:
        bars.append(Bar("Expected payment", expected, "series-1", "claim"))
    if medicare_total is not None:
        label = "Medicare" if priced == n else f"Medicare ({priced} of {n} lines)"
        for m in MEDICARE_MULTIPLES:
            bars.append(
                Bar(f"{label} {m}%", _q(medicare_total * m / HUNDRED), "series-3", "medicare")
            )
    for p, total in pct_totals.items():
        label = f"{_ordinal(p)} percentile" + ("" if pct_lines == n else f" ({pct_lines} of {n})")
        bars.append(Bar(label, total, "series-5", "percentile"))
    computed = max((b.computed_at for b in benches), default=None)
    fee_years = sorted(
        {
            stored_fee_year(ln.service_date or case.service_from, b.fee_year, releases)
            for ln, b in lines
            if b is not None
            and (
                b.fee_year is not None
                or (b.medicare_reason or "").startswith("No Medicare fee schedule for")
            )
        },
        key=lambda f: (f.service_year, f.year_used or 0),
    )
    if medicare_total is not None:
        # Lines without a year (no Medicare row) say why on their own; the label is about years used.
        fee_years = [f for f in fee_years if f.year_used is not None] or fee_years
    return CaseBenchmark(
        case=case, lines=lines, billed=billed, allowed=case.allowed_total or ZERO, paid=case.total_paid or ZERO,
        patient_resp=case.patient_resp_total or ZERO, received=received, expected=expected, underpayment=under,
        medicare_total=medicare_total, medicare_priced=priced, percentile_totals=pct_totals,
        percentile_lines=pct_lines, ask=ask, ask_reason=ask_reason, floor=floor, floor_reason=floor_reason,
        notes=notes, computed_at=computed, bars=bars, fee_years=fee_years,
    )  # fmt: skip


def for_case(case) -> CaseBenchmark:
    """The case's stored benchmarks and the loaded releases (two queries; the case's lines loaded)."""
    rows = db.session.scalars(
        select(LineBenchmark)
        .where(LineBenchmark.tenant_id == case.tenant_id, LineBenchmark.case_id == case.id)
        .order_by(LineBenchmark.line_no)
    ).all()
    from advocate.rates.services import loaded_releases

    return summarize(case, rows, loaded_releases())
