"""Synthetic 837P / 837I files for tests and benchmarks (no real PHI).

``build_837(batches, kind="P")`` writes exactly what the specs say and
computes the envelope counts (SE01, GE01, IEA01) and HL numbering, so a file
built from consistent specs is valid.  ``generate_837p(n, seed=...)`` makes a
deterministic batch of n professional claims.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from advocate.imports.x12 import Delimiters

__all__ = ["BatchSpec", "ClaimSpec", "LineSpec", "build_837", "generate_837p"]

Money = Decimal | int | str
DEFAULT_DELIMITERS = Delimiters("*", ":", "^", "~")


@dataclass
class LineSpec:
    code: str
    charge: Money
    modifiers: Sequence[str] = ()
    units: Money = 1
    service_date: date | None = date(2024, 5, 2)
    service_to: date | None = None
    place_of_service: str | None = None  # SV105
    revenue_code: str = "0450"  # SV201 (837I)
    control_number: str | None = None  # REF*6R
    rendering_npi: str | None = None  # 2420A (P) / 2420C (I)


@dataclass
class ClaimSpec:
    patient_control_number: str
    lines: Sequence[LineSpec]
    charge: Money | None = None  # CLM02, default: sum of the lines
    facility_code: str = "11"  # POS (P) / facility type (I)
    frequency_code: str = "1"
    diagnoses: Sequence[str] = ("M25562", "M1712")
    patient_last: str | None = None  # None: the subscriber is the patient (SBR02 18)
    patient_first: str = ""
    rendering_npi: str | None = "1477553311"
    statement_from: date | None = None  # DTP*434 (837I)
    statement_to: date | None = None
    onset: date | None = None  # DTP*431 (837P)
    payer_claim_number: str | None = None  # REF*F8


@dataclass
class BatchSpec:
    """One subscriber with a payer, under one billing provider, and their claims."""

    claims: Sequence[ClaimSpec]
    subscriber_last: str = "DOE"
    subscriber_first: str = "JANE"
    member_id: str = "W123456789"
    payer_name: str = "SUMMIT MUTUAL HEALTH PLAN"
    payer_id: str = "SMH01"
    billing_npi: str = "1234567893"
    billing_name: str = "NORTHSIDE ORTHOPEDICS"
    tax_id: str = "123456789"
    filing_indicator: str = "CI"
    patient_birth: date = date(1980, 4, 2)


@dataclass
class EnvelopeSpec:
    control_number: str = "000000001"
    group_number: str = "1"
    transaction: str = "0001"
    sender: str = "SUBMITTER01"
    receiver: str = "RECEIVER01"
    batches: Sequence[BatchSpec] = field(default_factory=list)


def _d(d: date) -> str:
    return d.strftime("%Y%m%d")


def _money(v: Money) -> str:
    d = Decimal(str(v))
    return format(d.normalize(), "f") if d == d.to_integral() else str(d)


def transaction_segments(batches: Sequence[BatchSpec], kind: str, comp: str) -> list[str]:
    """ST..SE of one 837 transaction, as segment strings joined by '*' (SE last)."""
    version = "005010X222A1" if kind == "P" else "005010X223A2"
    seg = [
        f"ST*837*{{tx}}*{version}",
        "BHT*0019*00*BATCH1*20240601*1200*CH",
        "NM1*41*2*NORTHSIDE BILLING*****46*SUB01",
        "PER*IC*BILLING OFFICE*TE*5555550100",
        "NM1*40*2*CLEARINGHOUSE*****46*RCV01",
    ]
    hl = 0
    billing_hl: dict[tuple[str, str], int] = {}
    for b in batches:
        key = (b.billing_npi, b.billing_name)
        if key not in billing_hl:
            hl += 1
            billing_hl[key] = hl
            seg += [
                f"HL*{hl}**20*1",
                f"NM1*85*2*{b.billing_name}*****XX*{b.billing_npi}",
                "N3*100 MAIN ST",
                "N4*SPRINGFIELD*IL*627010000",
                f"REF*EI*{b.tax_id}",
            ]
        parent = billing_hl[key]
        hl += 1
        sub_hl = hl
        self_patient = all(c.patient_last is None for c in b.claims)
        seg += [
            f"HL*{sub_hl}*{parent}*22*{0 if self_patient else 1}",
            f"SBR*P*{'18' if self_patient else ''}*GRP001******{b.filing_indicator}",
            f"NM1*IL*1*{b.subscriber_last}*{b.subscriber_first}****MI*{b.member_id}",
        ]
        if self_patient:
            seg += ["N3*1 ELM ST", "N4*SPRINGFIELD*IL*62701", f"DMG*D8*{_d(b.patient_birth)}*F"]
        seg += [f"NM1*PR*2*{b.payer_name}*****PI*{b.payer_id}"]
        for c in b.claims:
            if c.patient_last is not None:
                hl += 1
                seg += [
                    f"HL*{hl}*{sub_hl}*23*0",
                    "PAT*19",
                    f"NM1*QC*1*{c.patient_last}*{c.patient_first}",
                    "N3*1 ELM ST",
                    "N4*SPRINGFIELD*IL*62701",
                    "DMG*D8*20100101*M",
                ]
            seg += _claim(c, kind, comp)
    seg.append("SE*{count}*{tx}")
    return seg


def _claim(c: ClaimSpec, kind: str, comp: str) -> list[str]:
    total = c.charge if c.charge is not None else sum(Decimal(str(ln.charge)) for ln in c.lines)
    q = "B" if kind == "P" else "A"
    out = [
        f"CLM*{c.patient_control_number}*{_money(total)}***{c.facility_code}{comp}{q}{comp}{c.frequency_code}*Y*A*Y*Y"
    ]
    if kind == "P" and c.onset:
        out.append(f"DTP*431*D8*{_d(c.onset)}")
    if kind == "I":
        start = c.statement_from or min(ln.service_date for ln in c.lines if ln.service_date)
        end = c.statement_to or max(
            (ln.service_to or ln.service_date) for ln in c.lines if ln.service_date
        )
        out.append(f"DTP*434*RD8*{_d(start)}-{_d(end)}")
        out.append("CL1*1*7*01")
    if c.payer_claim_number:
        out.append(f"REF*F8*{c.payer_claim_number}")
    if c.diagnoses:
        first, *rest = c.diagnoses
        hi = [f"ABK{comp}{first}"] + [f"ABF{comp}{d}" for d in rest]
        out.append("HI*" + "*".join(hi))
    if c.rendering_npi:
        if kind == "P":
            out.append(f"NM1*82*1*BONE*ALAN****XX*{c.rendering_npi}")
        else:
            out.append(f"NM1*71*1*BONE*ALAN****XX*{c.rendering_npi}")
    for i, ln in enumerate(c.lines, start=1):
        out.append(f"LX*{i}")
        proc = comp.join(["HC", ln.code, *ln.modifiers])
        if kind == "P":
            pos = ln.place_of_service or ""
            out.append(f"SV1*{proc}*{_money(ln.charge)}*UN*{_money(ln.units)}*{pos}**1")
        else:
            out.append(f"SV2*{ln.revenue_code}*{proc}*{_money(ln.charge)}*UN*{_money(ln.units)}")
        if ln.service_date:
            if ln.service_to and ln.service_to != ln.service_date:
                out.append(f"DTP*472*RD8*{_d(ln.service_date)}-{_d(ln.service_to)}")
            else:
                out.append(f"DTP*472*D8*{_d(ln.service_date)}")
        if ln.control_number:
            out.append(f"REF*6R*{ln.control_number}")
        if ln.rendering_npi:
            entity = "82"
            out.append(f"NM1*{entity}*1*CUTTER*SAM****XX*{ln.rendering_npi}")
    return out


def build_837(
    batches: Sequence[BatchSpec],
    kind: str = "P",
    *,
    control_number: str = "000000001",
    group_number: str = "1",
    transaction: str = "0001",
    sender: str = "SUBMITTER01",
    receiver: str = "RECEIVER01",
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> str:
    """A whole file: ISA, GS, one ST..SE transaction of the batches, GE, IEA."""
    e, c, r, t = (
        delimiters.element,
        delimiters.component,
        delimiters.repetition or "^",
        delimiters.segment,
    )
    body = transaction_segments(batches, kind, c)
    body[-1] = body[-1].replace("{count}", str(len(body)))
    body = [s.replace("{tx}", transaction) for s in body]
    version = "005010X222A1" if kind == "P" else "005010X223A2"
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender:<15}*ZZ*{receiver:<15}*240601*1200*{r}*00501*"
        f"{control_number}*0*P*{c}"
    )
    segments = [
        isa,
        f"GS*HC*{sender}*{receiver}*20240601*1200*{group_number}*X*{version}",
        *body,
        f"GE*1*{group_number}",
        f"IEA*1*{control_number}",
    ]
    end = t + ("\n" if newline else "")
    if e != "*":
        segments = [s.replace("*", e) for s in segments]
    return end.join(segments) + end


def generate_837p(
    n_claims: int,
    *,
    seed: int = 837,
    control_number: str = "000000001",
    per_subscriber: int = 1,
    payer_id: str = "SMH01",
) -> str:
    """n professional claims, deterministic, each subscriber its own patient."""
    rng = random.Random(seed)
    codes = [("99213", "150.00"), ("29881", "12750.00"), ("20610", "425.00"), ("73562", "210.00"),
             ("97110", "95.00"), ("J1100", "35.00"), ("99284", "980.00")]  # fmt: skip
    base = date(2024, 1, 2)
    batches = []
    for i in range(0, n_claims, per_subscriber):
        claims = []
        for k in range(min(per_subscriber, n_claims - i)):
            day = base + timedelta(days=rng.randrange(300))
            lines = []
            for j in range(rng.randint(1, 4)):
                code, charge = rng.choice(codes)
                lines.append(
                    LineSpec(
                        code,
                        charge,
                        modifiers=("RT",) if j == 0 and code == "29881" else (),
                        service_date=day,
                        control_number=f"L{i + k}-{j + 1}",
                    )  # fmt: skip
                )
            claims.append(ClaimSpec(f"PCN{i + k:07d}", lines))
        batches.append(
            BatchSpec(
                claims,
                subscriber_last=f"LAST{i:06d}",
                subscriber_first="PAT",
                member_id=f"M{i:09d}",
                payer_id=payer_id,
            )
        )
    return build_837(batches, "P", control_number=control_number)
