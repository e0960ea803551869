"""From a case to a letter: the merge fields a firm template sees, the claim
table its letter type allows, and the document the Typst layout prints.

`CaseData` preloads what a chunk of letters needs in a few queries (cases with
lines, NSA disputes, authorizations, fee agreements), so bulk rendering does
no query per letter. `build_letter` is then pure: case data in, a plain
document (dicts, lists, strings) out. The document travels to Typst as JSON
data, never as markup, so no user text needs escaping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from advocate.extensions import db
from advocate.letters import sandbox
from advocate.letters.fields import CLAIM_TABLE_MARK, allowed_fields
from advocate.letters.types import (
    TABLE_CLAIM,
    TABLE_CODES,
    TABLE_FEES,
    TABLE_NONE,
    TABLE_NSA,
    LetterType,
)


class LetterRefused(ValueError):
    """This letter cannot be generated for this case; the message says why."""


# --------------------------------------------------------------------------- formatting


def money(value: Decimal | None) -> str:
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def long_date(value: date | None) -> str:
    return f"{value:%B} {value.day}, {value.year}" if value else "—"


def short_date(value: date | None) -> str:
    return f"{value:%m/%d/%Y}" if value else "—"


def _one_line(text: str | None) -> str:
    return ", ".join(part.strip() for part in (text or "").splitlines() if part.strip())


def _lines_of(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").splitlines() if part.strip()]


def _join(*parts: str | None, sep: str = ", ") -> str:
    return sep.join(p for p in parts if p)


# --------------------------------------------------------------------------- preloading


@dataclass
class CaseData:
    """What letters for a set of cases need, loaded once."""

    cases: dict[int, Any]
    nsa: dict[int, Any] = field(default_factory=dict)
    authorized: dict[tuple[int, int], bool] = field(default_factory=dict)
    agreements: dict[int, list] = field(default_factory=dict)
    medicare_cache: dict = field(default_factory=dict)
    # case id -> advocate.rates.benchmark.CaseBenchmark: the stored line
    # benchmarks, the very figures the case page and the API show.
    benchmarks: dict[int, Any] = field(default_factory=dict)


def load_cases(
    case_ids: list[int], ltype: LetterType, on: date, *, medicare_cache: dict | None = None
) -> CaseData:
    """Cases (with lines, practice and payer) and what the letter type needs
    for them, in a fixed number of queries whatever the count. A job passes
    one `medicare_cache` for all its chunks (the fee schedule is shared)."""
    from advocate.cases.models import Case

    opts = [selectinload(Case.lines)]
    if ltype.table == TABLE_FEES:
        opts.append(selectinload(Case.payments))
    cases = {
        c.id: c
        for c in db.session.scalars(select(Case).where(Case.id.in_(case_ids)).options(*opts))
    }
    data = CaseData(
        cases=cases, medicare_cache=medicare_cache if medicare_cache is not None else {}
    )
    if ltype.table == TABLE_CLAIM and cases:
        from advocate.rates.benchmark import summarize
        from advocate.rates.models import LineBenchmark

        rows: dict[int, list] = {}
        for b in db.session.scalars(
            select(LineBenchmark).where(LineBenchmark.case_id.in_(list(cases)))
        ):
            rows.setdefault(b.case_id, []).append(b)
        from advocate.rates.services import loaded_releases

        releases = loaded_releases()
        for cid, c in cases.items():
            data.benchmarks[cid] = summarize(c, rows.get(cid, []), releases)
    if ltype.is_nsa and cases:
        from advocate.deadlines.case_models import NsaDispute

        for d in db.session.scalars(select(NsaDispute).where(NsaDispute.case_id.in_(list(cases)))):
            data.nsa[d.case_id] = d
    if ltype.needs_authorization and cases:
        data.authorized = _authorizations(cases.values(), on)
    if ltype.table == TABLE_FEES and cases:
        from advocate.practices.models import FeeAgreement

        practice_ids = {c.practice_id for c in cases.values()}
        for a in db.session.scalars(
            select(FeeAgreement).where(FeeAgreement.practice_id.in_(practice_ids))
        ):
            data.agreements.setdefault(a.practice_id, []).append(a)
    return data


def _authorizations(cases, on: date) -> dict[tuple[int, int], bool]:
    """(practice id, payer id) -> a valid authorization covers it on `on`;
    one look-up per distinct pair (a chunk has few)."""
    from advocate.practices.services import has_valid_authorization

    pairs = {(c.practice_id, c.payer_id) for c in cases}
    return {(p, y): has_valid_authorization(p, on, y) for p, y in pairs}


# --------------------------------------------------------------------------- merge fields


@dataclass
class Sender:
    name: str
    email: str = ""


def letterhead(tenant) -> dict:
    city = _join(tenant.city, _join(tenant.state, tenant.zip, sep=" "), sep=", ")
    phones = _join(
        f"Phone {tenant.phone}" if tenant.phone else None,
        f"Fax {tenant.fax}" if tenant.fax else None,
        sep=" · ",
    )
    return {
        "name": tenant.letterhead_name or tenant.name,
        "tagline": tenant.letterhead_tagline or "",
        "lines": [x for x in (tenant.address_line1, tenant.address_line2, city, phones) if x],
    }


def _firm_fields(tenant) -> dict:
    head = letterhead(tenant)
    address = _join(
        tenant.address_line1,
        tenant.address_line2,
        tenant.city,
        _join(tenant.state, tenant.zip, sep=" "),
    )
    return {
        "name": head["name"],
        "address": address,
        "phone": tenant.phone or "",
        "fax": tenant.fax or "",
    }


def _line_benchmark(line, case, data: CaseData) -> Decimal | None:
    """The line's Medicare benchmark as stored (all units, Medicare's surgical
    rules applied, the fee schedule year rule of advocate.rates.years): the
    figure the case page and the API show for the same line."""
    bm = data.benchmarks.get(case.id)
    if bm is None:
        return None
    for ln, b in bm.lines:
        if ln.id == line.id:
            return None if b is None else b.medicare
    return None


def _fee_summary(case, data: CaseData) -> tuple[dict, list]:
    """The fee merge fields and the fee statement's rows."""
    from advocate.billing import fees

    agreements = sorted(data.agreements.get(case.practice_id, []), key=lambda a: a.effective_date)
    if not agreements:
        raise LetterRefused("the practice has no fee agreement on file")
    schedule = [
        (
            a.effective_date,
            fees.FeeTerms(percent=a.percent, basis=a.basis, minimum=a.minimum, cap=a.cap),
        )
        for a in agreements
    ]
    payments = sorted(case.payments, key=lambda p: (not p.is_initial, p.paid_on, p.id))
    ledger = [
        fees.Payment(id=p.id, date=p.paid_on, amount=p.amount, is_initial=p.is_initial)
        for p in payments
    ]
    try:
        accruals = fees.accrue(ledger, fees.agreement_resolver(schedule)) if ledger else []
    except (LookupError, ValueError, TypeError) as err:
        raise LetterRefused(f"the fee statement cannot be computed: {err}") from None
    rows = []
    for p, a in zip(payments, accruals, strict=True):
        rows.append(
            [
                short_date(p.paid_on),
                p.source.replace("_", " "),
                p.reference or "",
                money(p.amount),
                money(a.amount),
            ]
        )
    total = accruals[-1].cumulative_fee if accruals else Decimal("0.00")
    latest = agreements[-1]
    basis = "recovery above the initial payment" if latest.basis == "incremental" else "total paid"
    summary = {
        "percent": f"{latest.percent.normalize():f}%",
        "basis": basis,
        "recovered": money(case.total_paid - case.initial_paid),
        "total": money(total),
    }
    return summary, rows


def merge_context(
    case, ltype: LetterType, *, tenant, sender: Sender, today: date, data: CaseData
) -> dict:
    """The merge fields for one case: plain dictionaries of strings."""
    from advocate.payers.defaults import plan_type_label

    practice, payer = case.practice, case.payer
    dos = long_date(case.service_from)
    if case.service_to and case.service_to != case.service_from:
        dos = f"{long_date(case.service_from)} to {long_date(case.service_to)}"
    lines = []
    for ln in case.lines:
        entry = {
            "line_no": str(ln.line_no),
            "code": ln.code,
            "modifiers": ln.modifier_text,
            "units": f"{ln.units.normalize():f}",
            "date": long_date(ln.service_date or case.service_from),
            "paid": money(ln.paid),
            "allowed": money(ln.allowed),
        }
        if not ltype.is_nsa:
            entry["billed"] = money(ln.billed)
            entry["benchmark"] = "—"
            if ltype.table == TABLE_CLAIM:
                entry["benchmark"] = money(_line_benchmark(ln, case, data))
        lines.append(entry)
    nsa = data.nsa.get(case.id)
    ctx = {
        "firm": _firm_fields(tenant),
        "practice": {
            "name": practice.name,
            "npi": practice.npi,
            "tin_masked": practice.tin_masked,
            "specialty": practice.specialty or "",
            "address": _join(
                practice.address_line1,
                practice.address_line2,
                practice.city,
                _join(practice.state, practice.zip, sep=" "),
            ),
            "phone": practice.phone or "",
            "fax": practice.fax or "",
        },
        "payer": {
            "name": payer.name,
            "claims_address": _one_line(payer.claims_address),
            "appeals_address": _one_line(payer.appeals_address or payer.claims_address),
            "appeals_fax": payer.appeals_fax or "",
        },
        "case": {
            "reference": case.reference,
            "claim_number": case.payer_claim_number or "—",
            "patient_account": case.patient_control_number or "—",
            "dates_of_service": dos,
            "place_of_service": case.place_of_service,
            "plan_type": plan_type_label(case.plan_type),
            "paid_total": money(case.total_paid),
            "initial_paid": money(case.initial_paid),
            "allowed_total": money(case.allowed_total),
        },
        "patient": {
            "first_name": case.patient_first_name,
            "last_name": case.patient_last_name,
            "full_name": f"{case.patient_first_name} {case.patient_last_name}",
            "dob": long_date(case.patient_dob),
            "member_id": case.member_id or "—",
        },
        "nsa": {
            "qpa": money(nsa.qpa) if nsa else "—",
            "offer": money(_nsa_offer(nsa)) if nsa else "—",
            "offer_pct_of_qpa": _pct(nsa),
            "notice_sent_on": long_date(nsa.notice_sent_on) if nsa else "—",
            "idr_reference": (nsa.idr_reference or "—") if nsa else "—",
        },
        "fee": {"percent": "—", "basis": "—", "recovered": "—", "total": "—"},
        "lines": lines,
        "today": long_date(today),
        "signature": {"name": sender.name, "email": sender.email},
        "claim_table": CLAIM_TABLE_MARK,
    }
    if not ltype.is_nsa:
        bm = data.benchmarks.get(case.id)
        benches = [_amount(ln["benchmark"]) for ln in lines]
        shown = [b for b in benches if b is not None]
        ctx["case"].update(
            billed_total=money(case.billed_total),
            amount_at_stake=money(case.amount_at_stake),
            expected_payment=money(case.expected_payment),
            benchmark_total=money(sum(shown)) if shown and len(shown) == len(lines) else "—",
            fee_schedule=(bm.fee_label if bm is not None and shown else ""),
        )
    return ctx


def _nsa_offer(nsa) -> Decimal | None:
    return nsa.our_offer if nsa.our_offer is not None else nsa.notice_offer


def _pct(nsa) -> str:
    if nsa is None:
        return "—"
    pct = nsa.percent_of_qpa(_nsa_offer(nsa))
    return f"{pct}%" if pct is not None else "—"


def sample_context(ltype: LetterType) -> dict:
    """Every field with its documented example: what a template is checked
    against before it is saved."""
    from advocate.letters.fields import FIELDS

    ctx: dict[str, Any] = {}
    line: dict[str, str] = {}
    for f in FIELDS:
        if ltype.is_nsa and f.charge:
            continue
        if f.name.startswith("lines[]."):
            line[f.name.split(".", 1)[1]] = f.example
        elif "." in f.name:
            group, key = f.name.split(".", 1)
            ctx.setdefault(group, {})[key] = f.example
        elif f.name != "lines":
            ctx[f.name] = f.example
    ctx["lines"] = [dict(line), dict(line)]
    ctx["claim_table"] = CLAIM_TABLE_MARK
    return ctx


# --------------------------------------------------------------------------- claim tables


def claim_table(
    case, ltype: LetterType, ctx: dict, data: CaseData, fee_rows: list | None
) -> dict | None:
    lines = ctx["lines"]
    if ltype.table == TABLE_NONE:
        return None
    if ltype.table == TABLE_CLAIM:
        rows = [
            [
                ln["line_no"],
                ln["code"],
                ln["modifiers"],
                ln["units"],
                _short(ln["date"]),
                ln["billed"],
                ln["paid"],
                ln["benchmark"],
            ]
            for ln in lines
        ]
        bench = [_amount(ln["benchmark"]) for ln in lines]
        line_paid = sum((ln.paid or Decimal("0.00") for ln in case.lines), Decimal("0.00"))
        later = (case.total_paid or Decimal("0.00")) - line_paid
        if later != 0:
            # Payments after the remittance (settlements, awards, recoupments) are
            # not by line: their own row, so the column adds up to its Total.
            rows.append(["", "Later payments", "", "", "", "", money(later), ""])
        totals = [
            "",
            "Total",
            "",
            "",
            "",
            money(sum((ln.billed for ln in case.lines), Decimal("0.00"))),
            money(line_paid + later),
        ]
        if not any(b is not None for b in bench):
            # No benchmark at all: the table does not pretend to show one.
            return {
                "columns": ["Line", "Code", "Mod", "Units", "Date", "Billed", "Paid"],
                "widths": ["auto"] * 5 + ["1fr"] * 2,
                "numeric": [False] * 3 + [True, False, True, True],
                "rows": [r[:7] for r in rows],
                "totals": totals,
                "note": "",
            }
        totals.append(
            money(sum(b for b in bench if b is not None))
            if all(b is not None for b in bench)
            else "—"
        )
        label = ctx["case"].get("fee_schedule") or ""
        return {
            "columns": ["Line", "Code", "Mod", "Units", "Date", "Billed", "Paid", "Benchmark"],
            "widths": ["auto"] * 5 + ["1fr"] * 3,
            "numeric": [False] * 3 + [True, False, True, True, True],
            "rows": rows,
            "totals": totals,
            "note": "Benchmark: the Medicare physician fee schedule amount for the practice's locality, "
            "for the line's units, after Medicare's multiple-procedure rules"
            + (f" ({label})" if label else "")
            + "."
            + (
                ""
                if all(b is not None for b in bench)
                else " A line shown — has no Medicare amount, so the benchmark column has no total."
            ),
        }
    if ltype.table == TABLE_NSA:
        nsa = data.nsa.get(case.id)
        rows = [
            [ln["line_no"], ln["code"], ln["modifiers"], ln["units"], _short(ln["date"]), "", ""]
            for ln in lines
        ]
        return {
            "columns": ["Line", "Code", "Mod", "Units", "Date of service", "QPA", "Offer"],
            "widths": ["auto"] * 5 + ["1fr"] * 2,
            "numeric": [False] * 3 + [True, False, True, True],
            "rows": rows,
            "totals": [
                "",
                "Claim",
                "",
                "",
                "",
                money(nsa.qpa) if nsa else "—",
                money(_nsa_offer(nsa)) if nsa else "—",
            ],
            "note": "",
        }
    if ltype.table == TABLE_CODES:
        rows = [
            [ln["line_no"], ln["code"], ln["modifiers"], ln["units"], _short(ln["date"])]
            for ln in lines
        ]
        return {
            "columns": ["Line", "Code", "Mod", "Units", "Date of service"],
            "widths": ["auto"] * 4 + ["1fr"],
            "numeric": [False, False, False, True, False],
            "rows": rows,
            "totals": None,
            "note": "",
        }
    if ltype.table == TABLE_FEES:
        return {
            "columns": ["Date", "Payment", "Reference", "Amount", "Fee"],
            "widths": ["auto", "auto", "1fr", "auto", "auto"],
            "numeric": [False, False, False, True, True],
            "rows": fee_rows or [],
            "totals": ["", "Total", "", money(case.total_paid), ctx["fee"]["total"]],
            "note": "",
        }
    raise ValueError(f"unknown table kind {ltype.table}")


def _short(long: str) -> str:
    try:
        from datetime import datetime

        return datetime.strptime(long, "%B %d, %Y").strftime("%m/%d/%Y")  # noqa: DTZ007 - a date
    except ValueError:
        return long


def _amount(text: str) -> Decimal | None:
    if not text.startswith(("$", "-$")):
        return None
    return Decimal(text.replace("$", "").replace(",", ""))


# --------------------------------------------------------------------------- the document


def _recipient(case, ltype: LetterType) -> list[str]:
    if ltype.recipient == "practice":
        p = case.practice
        return [
            p.name,
            *[x for x in (p.address_line1, p.address_line2) if x],
            _join(p.city, _join(p.state, p.zip, sep=" "), sep=", "),
        ]
    payer = case.payer
    if ltype.recipient == "payer_appeals":
        lines = [payer.name, *_lines_of(payer.appeals_address or payer.claims_address)]
        if payer.appeals_fax:
            lines.append(f"Fax {payer.appeals_fax}")
        return lines
    return [payer.name, *_lines_of(payer.claims_address)]


def _references(case, ltype: LetterType, ctx: dict) -> list[list[str]]:
    refs = [
        ["Patient", ctx["patient"]["full_name"]],
        ["Member ID", ctx["patient"]["member_id"]],
        ["Date of birth", ctx["patient"]["dob"]],
        ["Claim number", ctx["case"]["claim_number"]],
        ["Patient account", ctx["case"]["patient_account"]],
        ["Dates of service", ctx["case"]["dates_of_service"]],
        ["Provider", f"{case.practice.name} (NPI {case.practice.npi})"],
        ["Our reference", case.reference],
    ]
    if ltype.is_nsa and ctx["nsa"]["idr_reference"] != "—":
        refs.append(["IDR dispute", ctx["nsa"]["idr_reference"]])
    return refs


_PARAGRAPHS = re.compile(r"\n[ \t]*\n+")


def _blocks(body: str) -> list[dict]:
    blocks, has_table = [], False
    for para in _PARAGRAPHS.split(body.strip()):
        lines = [ln.rstrip() for ln in para.strip("\n").split("\n")]
        if not any(lines):
            continue
        if len(lines) == 1 and lines[0].strip() == CLAIM_TABLE_MARK:
            if not has_table:
                blocks.append({"kind": "table"})
                has_table = True
            continue
        blocks.append({"kind": "p", "lines": [ln.replace(CLAIM_TABLE_MARK, "") for ln in lines]})
    if not has_table:
        blocks.append({"kind": "table"})
    return blocks


@dataclass
class BuiltLetter:
    document: dict  # what the Typst layout prints
    text: str  # subject and body as rendered (checked by the NSA guard)
    title: str
    warnings: list[str] = field(default_factory=list)  # shown to whoever generates it


_BENCHMARK_WORDS = re.compile(r"\bbenchmark", re.IGNORECASE)


def letter_warnings(case, ltype: LetterType, ctx: dict, table: dict | None, text: str) -> list[str]:
    """What the person generating the letter must know about its figures."""
    if ltype.table != TABLE_CLAIM:
        return []
    out = []
    lines = ctx["lines"]
    missing = [ln["line_no"] for ln in lines if _amount(ln["benchmark"]) is None]
    has_column = table is not None and "Benchmark" in table["columns"]
    if lines and len(missing) == len(lines):
        out.append(
            "No Medicare benchmark for this case (see its Benchmarks panel): the letter shows "
            "no benchmark column."
        )
        if _BENCHMARK_WORDS.search(text):
            out.append(
                "The template's text mentions a benchmark the letter does not show: edit the "
                "text (the system templates change the paragraph by themselves)."
            )
    elif missing:
        out.append(
            "No Medicare benchmark for line"
            + ("s " if len(missing) > 1 else " ")
            + ", ".join(missing)
            + ": the benchmark column has no total."
        )
    label = ctx["case"].get("fee_schedule") or ""
    if has_column and "not loaded" in label:
        out.append(f"Benchmark figures use an earlier fee schedule: {label} (said in the letter).")
    return out


def build_letter(
    case,
    ltype: LetterType,
    *,
    subject_tpl: str,
    body_tpl: str,
    tenant,
    sender: Sender,
    today: date,
    data: CaseData,
) -> BuiltLetter:
    """Everything but the PDF bytes. Raises LetterRefused (why this case
    cannot have this letter) or sandbox.TemplateProblem."""
    if ltype.needs_authorization and not data.authorized.get(
        (case.practice_id, case.payer_id), False
    ):
        raise LetterRefused(
            f"{case.practice.name} has no valid authorization on file covering {case.payer.name} "
            f"on {long_date(today)}: a {ltype.label.lower()} is sent as the practice's authorized "
            "representative. Record a signed authorization on the practice first."
        )
    if ltype.is_nsa and case.id not in data.nsa:
        raise LetterRefused("the case has no No Surprises Act dispute record (QPA and offer) yet")
    ctx = merge_context(case, ltype, tenant=tenant, sender=sender, today=today, data=data)
    fee_rows = None
    if ltype.table == TABLE_FEES:
        ctx["fee"], fee_rows = _fee_summary(case, data)
    subject, body = sandbox.render_all((subject_tpl, body_tpl), ctx)
    subject = " ".join(subject.split())
    table = claim_table(case, ltype, ctx, data, fee_rows)
    if ltype.is_nsa:
        nsa_guard(case, subject + "\n" + body, table)
    document = {
        "title": f"{ltype.label}, {case.reference}",
        "footer": f"{case.reference} · {ltype.label} · Confidential: contains protected health information",
        "letterhead": letterhead(tenant),
        "date": long_date(today),
        "recipient": _recipient(case, ltype),
        "references": _references(case, ltype, ctx),
        "subject": subject,
        "blocks": _blocks(body),
        "table": table,
        "closing": ["Sincerely,"],
        "signature": [
            x for x in (sender.name, ctx["firm"]["name"], f"for {case.practice.name}") if x
        ],
    }
    return BuiltLetter(
        document=document,
        text=subject + "\n" + body,
        title=document["title"],
        warnings=letter_warnings(case, ltype, ctx, table, subject + "\n" + body),
    )


_PERCENTILE = re.compile(r"\bpercentile", re.IGNORECASE)


def nsa_guard(case, text: str, table: dict | None) -> None:
    """Refuse an NSA/IDR letter that carries a billed, Medicare, U&C or
    percentile figure, in its text or its table (the IDR entity may not
    consider them: domain.md)."""
    from advocate.deadlines.idr_guard import violations

    figures = {"billed charges": case.billed_total}
    for ln in case.lines:
        figures[f"billed charge of line {ln.line_no}"] = ln.billed
    found = [v.message for v in violations(text, table, figures=figures, field="letter")]
    if _PERCENTILE.search(text):
        found.append("mentions a percentile benchmark: the IDR entity may not consider it")
    if found:
        raise LetterRefused("No Surprises Act letter refused: " + "; ".join(found))


def check_source(subject: str, body: str, ltype: LetterType) -> list[tuple[str, str]]:
    """Every problem with a template before it is saved: syntax, unknown
    fields (named), forbidden constructs, and, for NSA letter types, text
    naming Medicare, U&C, billed charges or percentiles."""
    allowed = allowed_fields(ltype.is_nsa)
    problems = sandbox.check_template(
        subject, allowed=allowed, is_nsa=ltype.is_nsa, field="subject"
    )
    problems += sandbox.check_template(body, allowed=allowed, is_nsa=ltype.is_nsa, field="body")
    if problems:
        return problems
    ctx = sample_context(ltype)
    try:
        rendered = "\n".join(sandbox.render_all((subject, body), ctx))
    except sandbox.TemplateProblem as err:
        return [("body", f"body: {m}") for _f, m in err.problems]
    if ltype.is_nsa:
        from advocate.deadlines.idr_guard import violations

        found = [v.message for v in violations(rendered, field="text")]
        if _PERCENTILE.search(rendered):
            found.append("mentions a percentile benchmark: the IDR entity may not consider it")
        if found:
            return [("body", "body: " + "; ".join(found))]
    return []
