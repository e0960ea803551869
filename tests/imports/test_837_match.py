"""837 <-> 835: the 835 finds the cases the 837 opened (CLP01 = CLM01) and pays
their billed lines line by line (REF*6R, else procedure, modifiers, date)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from advocate.cases.models import Case, ServiceLine
from advocate.extensions import db
from advocate.imports import claims837_import, claims837_match, posting
from advocate.imports.claims837_fixtures import BatchSpec, ClaimSpec, LineSpec, build_837
from advocate.imports.claims837_match import BilledLine, match_lines
from advocate.imports.era import parse_835
from advocate.imports.era_fixtures import ClaimSpec as EraClaim
from advocate.imports.era_fixtures import LineSpec as EraLine
from advocate.imports.era_fixtures import RemittanceSpec, build_835
from tenants import tenant_scope
from tests.imports.remit_support import PAYER_ID, Setup

D = Decimal
DOS = date(2024, 5, 2)


def era_claim(*lines: EraLine, status="1", pcn="PCN-1"):
    charge = sum((D(str(ln.charge)) for ln in lines), D(0))
    paid = sum((D(str(ln.paid)) for ln in lines), D(0))
    spec = EraClaim(pcn, charge, paid, status=status, lines=list(lines), payer_claim_number="ICN-9")
    (claim,) = parse_835(build_835([RemittanceSpec([spec])])).claims
    return claim


def svc(code, charge, paid, *, mods=(), control=None, day=DOS, allowed=None, pr="0"):
    c, p, r = D(charge), D(paid), D(pr)
    adjustments = [("CO", "45", c - p - r)] if c - p - r else []
    if r:
        adjustments.append(("PR", "2", r))
    return EraLine(code, c, p, adjustments=adjustments, modifiers=mods, service_date=day,
                   control_number=control, allowed=allowed)  # fmt: skip


BILLED = [
    BilledLine(1, "99213", (), DOS, D("150.00"), "A-1"),
    BilledLine(2, "29881", ("RT",), DOS, D("12750.00"), "A-2"),
    BilledLine(3, "29881", ("RT",), date(2024, 5, 9), D("12750.00"), None),
]


def test_match_by_control_number_first_then_procedure_and_date():
    claim = era_claim(
        svc("29881", "12750", "1000", mods=("RT",), day=date(2024, 5, 9)),  # no REF*6R: by date
        svc("99213", "150", "80", control="A-1"),
        svc("29881", "12750", "900", mods=("RT",), control="A-2"),
    )
    got = [(m.line_no, m.how) for m in match_lines(claim.lines, BILLED)]
    assert got == [(3, "procedure and date"), (1, "control number"), (2, "control number")]


def test_unmatched_svc_and_one_billed_line_each():
    claim = era_claim(
        svc("99213", "150", "80"),
        svc("99213", "150", "80"),  # the one 99213 is taken
        svc("20610", "425", "100"),  # never billed
    )
    got = [(m.line_no, m.how) for m in match_lines(claim.lines, BILLED)]
    assert got == [(1, "procedure and date"), (None, "none"), (None, "none")]


def test_procedure_alone_when_one_billed_line_is_left():
    claim = era_claim(svc("99213", "150", "80", day=date(2024, 6, 1)))
    assert [(m.line_no, m.how) for m in match_lines(claim.lines, BILLED)] == [(1, "procedure")]


def _import_837(setup: Setup) -> int:
    data = build_837(
        [
            BatchSpec(
                [
                    ClaimSpec(
                        "PCN-1",
                        [
                            LineSpec("99213", "150.00", control_number="A-1"),
                            LineSpec("29881", "12750.00", modifiers=("RT",), control_number="A-2"),
                        ],
                    )
                ],
                payer_id=PAYER_ID,
            )
        ]
    ).encode()
    with tenant_scope(setup.tenant_id):
        claims837_import.commit_837(
            data, tenant_id=setup.tenant_id, actor_id=setup.actor_id, filename="a.837",
            source="upload", today=date(2025, 1, 1),
        )  # fmt: skip
    (case,) = setup.rows(Case)
    return case.id


def test_835_posting_finds_the_837_case_and_lines_are_paid(setup: Setup):
    case_id = _import_837(setup)
    lines = [
        svc("99213", "150", "80", control="A-1", allowed="100", pr="20"),
        svc("29881", "12750", "1000", mods=("RT",), control="A-2", allowed="1200", pr="200"),
    ]
    spec = EraClaim("PCN-1", D("12900"), D("1080"), lines=lines, payer_claim_number="ICN-9")
    data = build_835([RemittanceSpec([spec])]).encode()
    with tenant_scope(setup.tenant_id):
        summary = posting.import_835(data, tenant_id=setup.tenant_id, actor_id=setup.actor_id)
        assert (summary.matched, summary.created) == (1, 0)  # CLP01 found the 837's case
        db.session.commit()
    # The posting itself paid each SVC on its billed line (REF*6R, then procedure).
    rows = setup.rows(ServiceLine, ServiceLine.case_id == case_id, order_by=ServiceLine.line_no)
    assert [(ln.billed, ln.paid, ln.allowed, ln.patient_resp) for ln in rows] == [
        (D("150.00"), D("80.00"), D("100.00"), D("20.00")),
        (D("12750.00"), D("1000.00"), D("1200.00"), D("200.00")),
    ]
    assert rows[1].adjustments[0] == {"group": "CO", "reason": "45", "amount": "11550"}
    (case,) = setup.rows(Case)
    assert (case.total_paid, case.allowed_total, case.patient_resp_total) == (
        D("1080.00"), D("1300.00"), D("220.00"),
    )  # fmt: skip
    assert case.amount_at_stake == D("12900.00") - D("1080.00") - D("220.00")
    with tenant_scope(setup.tenant_id):
        compared = claims837_match.line_comparison(case_id)
        assert [(c.line_no, c.control_number, c.billed, c.paid) for c in compared] == [
            (1, "A-1", D("150.00"), D("80.00")),
            (2, "A-2", D("12750.00"), D("1000.00")),
        ]
        assert claims837_match.cases_by_patient_control_number(["PCN-1", "NOPE"]) == {
            "PCN-1": case_id
        }


def test_a_reversal_takes_the_line_payment_back(setup: Setup):
    case_id = _import_837(setup)
    paid = era_claim(svc("99213", "150", "80", control="A-1"))
    reversal = era_claim(svc("99213", "-150", "-80", control="A-1"), status="22")
    with tenant_scope(setup.tenant_id):
        claims837_match.apply_remittance_lines(
            [(case_id, paid), (case_id, reversal)], tenant_id=setup.tenant_id
        )
        db.session.commit()
    (line,) = setup.rows(ServiceLine, ServiceLine.case_id == case_id, ServiceLine.line_no == 1)
    assert line.paid == D("0.00")
