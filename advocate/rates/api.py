"""Rates API: Medicare fee schedule prices and the firm's commercial percentiles.

``GET /api/v1/rates/medicare?year=&code=&modifier=&zip=&pos=`` (or
``locality=13202-01`` instead of ``zip``; ``year`` defaults to the latest
loaded) answers::

    {"year": 2025, "code": "99213", "modifier": "", "pos": "11", "facility": false,
     "amount": "101.06", "reason": null, "status": "A",
     "locality": {"carrier": "13202", "locality": "01", "name": "MANHATTAN", "state": "NY"},
     "zip": {"zip": "10001", "rural": null, "plus_four": false},
     "gpci": {"work": "1.065", "pe": "1.166", "mp": "1.656"},
     "rvu": {"work": "1.30", "pe": "1.35", "mp": "0.10", "pe_source": "non-facility", ...},
     "conversion_factor": "32.3465", "components": [...], "notes": [...]}

Amounts are strings with two decimals (``null`` with a ``reason`` when Medicare
does not price the code this way).  An unknown year, code, ZIP or locality is
404; a malformed parameter is 422 with ``details[0].field`` naming it.
"""

from __future__ import annotations

from decimal import Decimal

from flask import g, jsonify, request

from advocate.api import bp
from advocate.api.auth import api_error
from advocate.api.openapi import Param, describe
from advocate.api.schema import MoneyOut, OpenOut, Out
from advocate.auth.access import READERS, STAFF, roles
from advocate.extensions import db
from advocate.rates import services
from advocate.rates.services import MedicareQuote
from advocate.rates.years import stored_fee_year

_ALLOWED = {
    "medicare": {"year", "code", "modifier", "zip", "locality", "pos"},
    "percentiles": {"year", "code", "modifier", "zip3", "zip"},
}


_fmt = services.format_decimal


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def quote_json(q: MedicareQuote) -> dict:
    p = q.price
    rvu = q.rvu
    return {
        "year": q.year,
        "code": q.code,
        "modifier": q.modifier,
        "rvu_modifier": q.row_modifier,
        "pos": q.pos,
        "facility": p.facility,
        "amount": _money(q.amount),
        "reason": q.reason,
        "fee_schedule_amount": _money(p.amount),
        "status": rvu.status,
        "locality": {
            "carrier": q.locality.carrier,
            "locality": q.locality.locality,
            "name": q.locality.name,
            "state": q.locality.state,
        },
        "zip": (
            None
            if q.zip is None
            else {"zip": q.zip.zip, "rural": q.zip.rural or None, "plus_four": q.zip.is_plus_four}
        ),
        "gpci": {
            "work": _fmt(q.locality.pw, 3),
            "pe": _fmt(q.locality.pe, 3),
            "mp": _fmt(q.locality.mp, 3),
        },
        "rvu": {
            "work": _fmt(p.work_rvu, 2),
            "pe": _fmt(p.pe_rvu_used, 2),
            "mp": _fmt(p.mp_rvu, 2),
            "pe_source": p.pe_source,
            "non_facility_pe": _fmt(rvu.nonfac_pe_rvu, 2),
            "non_facility_pe_na": rvu.is_nonfac_na,
            "facility_pe": _fmt(rvu.fac_pe_rvu, 2),
            "facility_pe_na": rvu.is_fac_na,
            "pctc": rvu.pctc,
            "global_days": rvu.global_days,
        },
        "conversion_factor": _fmt(p.conversion_factor, 4),
        "components": [
            {
                "name": c.name,
                "rvu": _fmt(c.rvu, 2),
                "gpci": _fmt(c.gpci, 3),
                "amount": _fmt(c.amount, 2),
            }
            for c in p.components
        ],
        "unrounded": _fmt(p.unrounded, 2),
        "opps_cap_applied": p.opps_cap_applied,
        "adjustments": [
            {"label": a.label, "factor": _fmt(a.factor, 0), "explanation": a.explanation}
            for a in q.adjustments
        ],
        "anesthesia_conversion_factor": _fmt(q.anes_cf, 2),
        "notes": list(q.notes),
    }


def _unknown_params(kind: str) -> None:
    extra = sorted(set(request.args) - _ALLOWED[kind])
    if extra:
        api_error(
            422,
            f"unknown parameter: {extra[0]}",
            [{"field": name, "message": "unknown parameter"} for name in extra],
        )


def _lookup_error(err: services.RateLookupError):
    details = [{"field": err.field, "message": err.message}] if err.field else []
    api_error(err.status, err.message, details)


class MedicareQuoteOut(OpenOut):
    """A Medicare fee schedule price (amount null with a reason when not priced this way)."""

    year: int
    code: str
    amount: MoneyOut | None
    reason: str | None


class PercentilesOut(Out):
    """The firm's commercial percentiles for a code in a ZIP area."""

    year: int
    code: str
    modifier: str | None
    zip3: str
    percentiles: dict[str, MoneyOut | None]


class BenchmarkOut(OpenOut):
    """What a case's lines are worth."""

    case_id: int
    reference: str
    benchmarked: bool
    case: dict
    lines: list[dict]


@bp.route("/rates/medicare")
@roles(STAFF)
@describe(
    query=[
        Param("year", "Fee schedule year (default: latest).", "integer"),
        Param("code", "CPT/HCPCS code.", required=True),
        Param("modifier", "Modifier."),
        Param("zip", "ZIP code."),
        Param("locality", "Carrier-locality, e.g. 13202-01."),
        Param("pos", "Place of service."),
    ],
    responses={200: MedicareQuoteOut},
    errors=(404,),
)
def rates_medicare():
    """Price a code under the Medicare Physician Fee Schedule."""
    _unknown_params("medicare")
    args = request.args
    try:
        quote = services.medicare_price(
            services.parse_year(args.get("year")),
            args.get("code", ""),
            args.get("modifier"),
            pos=args.get("pos", ""),
            zip_code=args.get("zip") or None,
            locality=args.get("locality") or None,
        )
    except services.RateLookupError as err:
        db.session.rollback()
        _lookup_error(err)
    body = quote_json(quote)
    db.session.commit()
    return jsonify(body)


@bp.route("/rates/percentiles")
@roles(STAFF)
@describe(
    query=[
        Param("year", "Year.", "integer", required=True),
        Param("code", "Code.", required=True),
        Param("modifier", "Modifier."),
        Param("zip3", "Three-digit ZIP area."),
        Param("zip", "ZIP code."),
    ],
    responses={200: PercentilesOut},
    errors=(404,),
)
def rates_percentiles():
    """The firm's licensed commercial percentiles for a code in a ZIP area."""
    _unknown_params("percentiles")
    args = request.args
    try:
        year = services.parse_year(args.get("year"))
        if year is None:
            raise services.RateInputError("year", "year is required")
        area_field = "zip3" if args.get("zip3") else "zip"
        area = args.get("zip3") or args.get("zip") or ""
        if not area:
            raise services.RateInputError("zip3", "zip3 (or zip) is required")
        zip3 = services.normalise_zip3(area, field=area_field)
        found = services.percentiles_for(
            g.membership.tenant_id, year, args.get("code", ""), args.get("modifier"), zip3
        )
    except services.RateLookupError as err:
        db.session.rollback()
        _lookup_error(err)
    db.session.commit()
    if found is None:
        api_error(404, "no percentiles loaded for this year, code, modifier and ZIP area")
    return jsonify(
        year=found.year,
        code=found.code,
        modifier=found.modifier,
        zip3=found.zip3,
        percentiles={f"p{p}": _money(v) for p, v in found.values.items()},
    )


# ---------------------------------------------------------------------------
# GET /api/v1/cases/<id>/benchmark
# ---------------------------------------------------------------------------


def _fee_year_json(ln, b, releases) -> dict:
    """year_used and fallback (advocate.rates.years) for a line's Medicare amount."""
    if b.fee_year is None:
        return {"year_used": None, "fallback": False}
    fy = stored_fee_year(ln.service_date or ln.case.service_from, b.fee_year, releases)
    return {
        "year_used": fy.year_used,
        "fallback": fy.fallback,
        "release": fy.release,
        "fee_schedule": fy.label,
    }


def _line_benchmark_json(ln, b, releases) -> dict:
    out = {
        "line_no": ln.line_no,
        "code": ln.code,
        "modifiers": list(ln.modifiers or []),
        "units": _fmt(ln.units, 0),
        "billed": _money(ln.billed),
        "allowed": _money(ln.allowed),
        "paid": _money(ln.paid),
        "patient_resp": _money(ln.patient_resp),
        "benchmarked": b is not None,
    }
    if b is None:
        return out
    out.update(
        medicare={
            "amount": _money(b.medicare),
            "reason": b.medicare_reason,
            "fee_year": b.fee_year,
            **_fee_year_json(ln, b, releases),
            "locality": b.locality,
            "adjustments": [
                {"label": s["label"], "factor": s["factor"], "explanation": s["text"]}
                for s in (b.medicare_steps or [])
                if s.get("factor")
            ],
            "notes": [s["text"] for s in (b.medicare_steps or []) if not s.get("factor")],
        },
        percentiles={
            "zip3": b.zip3,
            "year": b.percentile_year,
            "values": {str(p): _money(v) for p, v in b.percentiles().items()} or None,
            "reason": b.percentile_reason,
        },
        policy={"amount": _money(b.policy), "basis": b.policy_basis, "reason": b.policy_reason},
        sca={"amount": _money(b.sca), "reason": b.sca_reason},
        expected={
            "amount": _money(b.expected),
            "basis": b.expected_basis,
            "reason": b.expected_reason,
        },
    )
    return out


@bp.route("/cases/<int:case_id>/benchmark")
@roles(READERS)
@describe(responses={200: BenchmarkOut})
def cases_benchmark(case_id: int):
    """What the case's service lines are worth: per line (Medicare, percentiles,
    payer policy, SCA, expected) and for the case (expected payment,
    underpayment, Medicare multiples, percentile totals; for firm staff also
    the suggested ask and floor with the reasoning).  Money is a string with
    two decimals, or null with a reason.  Practice users see only their own
    practice's cases; another firm's case is 404."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from advocate.audit.services import audit
    from advocate.cases.models import Case
    from advocate.rates import benchmark

    case = db.session.scalar(
        select(Case).where(Case.id == case_id).options(selectinload(Case.lines))
    )
    m = g.membership
    if case is None or (
        m.is_practice and (m.practice_id is None or case.practice_id != m.practice_id)
    ):
        api_error(404, "no such case")
    bm = benchmark.for_case(case)
    summary = {
        "billed": _money(bm.billed),
        "allowed": _money(bm.allowed),
        "paid": _money(bm.paid),
        "patient_resp": _money(bm.patient_resp),
        "received": _money(bm.received),
        "expected_payment": _money(bm.expected),
        "expected_bases": bm.expected_bases,
        "underpayment": _money(bm.underpayment),
        "medicare_total": _money(bm.medicare_total),
        "medicare_lines_priced": bm.medicare_priced,
        "medicare_multiples": {str(k): _money(v) for k, v in bm.multiples.items()} or None,
        "percentile_totals": {str(k): _money(v) for k, v in bm.percentile_totals.items()} or None,
        "percentile_lines": bm.percentile_lines,
        "fee_schedule": bm.fee_schedule,
        "year_used": (bm.fee_schedule or {}).get("year_used"),
        "fallback": bm.fee_fallback,
        "notes": bm.notes,
    }
    if m.is_staff:
        summary.update(
            ask=_money(bm.ask),
            ask_reason=bm.ask_reason or None,
            floor=_money(bm.floor),
            floor_reason=bm.floor_reason or None,
        )
    releases = services.loaded_releases()
    body = {
        "case_id": case.id,
        "reference": case.reference,
        "benchmarked": bm.is_benchmarked,
        "computed_at": bm.computed_at.isoformat() if bm.computed_at else None,
        "case": summary,
        "lines": [_line_benchmark_json(ln, b, releases) for ln, b in bm.lines],
    }
    audit("case.benchmark_view", case, is_phi=True, details={"via": "api"})
    db.session.commit()
    return jsonify(body)
