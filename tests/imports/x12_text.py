"""Hand-written 835 text for the tests: body segments in, a whole interchange out.

The envelope counts (SE01, GE01, IEA01) are computed here; everything else is
exactly what the test writes, so a test can state what it expects from the
segments it wrote."""

from __future__ import annotations

from collections.abc import Sequence

ISA = (
    "ISA*00*          *00*          *ZZ*87726          *ZZ*ADVOCATE       "
    "*240614*0930*^*00501*{icn:09d}*0*P*:~"
)


def transaction(control: str, body: Sequence[str]) -> list[str]:
    return [f"ST*835*{control}", *body, f"SE*{len(body) + 2}*{control}"]


def interchange(*transactions: Sequence[str], icn: int = 1, newline: str = "\n") -> str:
    segments = [ISA.format(icn=icn)[:-1], "GS*HP*87726*ADVOCATE*20240614*0930*1*X*005010X221A1"]
    for tx in transactions:
        segments += list(tx)
    segments += [f"GE*{len(transactions)}*1", f"IEA*1*{icn:09d}"]
    return "".join(s + "~" + newline for s in segments)


def header(
    paid: str,
    *,
    trace: str = "EFT0001",
    payer: str = "SUMMIT MUTUAL HEALTH PLAN",
    payer_id: str = "87726",
    payee: str = "N1*PE*LAKESIDE ORTHOPEDICS*XX*1234567893",
    extra_payee: Sequence[str] = (),
) -> list[str]:
    return [
        f"BPR*I*{paid}*C*ACH*CCP*01*071000013*DA*1234567890*1870000001**01*071000039*DA*9876543210*20240614",
        f"TRN*1*{trace}*1870000001",
        "DTM*405*20240613",
        f"N1*PR*{payer}",
        "N3*PO BOX 31362",
        "N4*SALT LAKE CITY*UT*841310362",
        f"REF*2U*{payer_id}",
        "PER*BL*PROVIDER SERVICES*TE*8005550100",
        payee,
        *extra_payee,
    ]
