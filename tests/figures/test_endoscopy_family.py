"""Issue 17, item 6: the endoscopy base-code family rule (MULT PROC 3).

Real CY2025 rows, facility (POS 22), Manhattan (GPCI 1.065 / 1.166 / 1.656,
CF 32.3465), one unit each:
  43235 (EGD, base)          (2.09*1.065 + 1.29*1.166 + 0.27*1.656) * CF = 135.11
  43239 (EGD biopsy, base 43235)  (2.39, 1.42, 0.29) -> 151.42
  43248 (EGD dilation, base 43235)(2.91, 1.65, 0.36) -> 181.76
  45378 (colonoscopy, base)   (3.26, 1.79, 0.43) -> 202.85
  45380 (biopsy, base 45378)  (3.56, 1.93, 0.47) -> 220.61
  45385 (snare, base 45378)   (4.57, 2.38, 0.56) -> 277.19
Family 43235: 181.76 + (151.42 - 135.11) = 198.07. Family 45378: 277.19 +
(220.61 - 202.85) = 294.95. Two families: the higher (45378) at 100%, the
other at 50%: 43248 -> 90.88, 43239 -> 16.31 * 0.5 = 8.155 -> 8.16.
Before the fix every endoscopy was ranked like any procedure (100/50/50/50).
"""

from __future__ import annotations

from decimal import Decimal

from advocate.extensions import db
from advocate.rates.models import LineBenchmark
from tenants import tenant_scope
from tests.factories import make_case, make_firm, make_payer, make_practice

D = Decimal


def _line(code):
    return {"code": code, "modifiers": [], "units": 1, "billed": "900.00", "allowed": "0.00",
            "paid": "0.00", "patient_resp": "0.00"}  # fmt: skip


def _medicare(tenant_id, case_id) -> dict[int, Decimal]:
    from sqlalchemy import select

    with tenant_scope(tenant_id):
        rows = db.session.scalars(select(LineBenchmark).where(LineBenchmark.case_id == case_id))
        return {r.line_no: r.medicare for r in rows}


def test_two_endoscopy_families_priced_by_the_base_code_rule(pfs):
    firm = make_firm("Endo Firm")
    practice = make_practice(firm.tenant)
    payer = make_payer(firm.tenant)
    codes = ["43239", "43248", "45380", "45385"]
    cid = make_case(firm.tenant, practice, payer, service_from="2025-06-02",
                    service_to="2025-06-02", place_of_service="22",
                    lines=[_line(c) for c in codes])  # fmt: skip
    assert _medicare(firm.tenant.id, cid) == {
        1: D("8.16"), 2: D("90.88"), 3: D("17.76"), 4: D("277.19"),
    }  # fmt: skip
    # The caseload job (SQL on PostgreSQL, which hands endoscopies to Python) agrees.
    from advocate.rates import benchmark

    with tenant_scope(firm.tenant.id):
        db.session.execute(LineBenchmark.__table__.delete())
        benchmark.benchmark_firm(firm.tenant.id)
        db.session.commit()
    assert _medicare(firm.tenant.id, cid) == {
        1: D("8.16"), 2: D("90.88"), 3: D("17.76"), 4: D("277.19"),
    }  # fmt: skip


def test_base_code_billed_with_its_family_adds_nothing_and_a_lone_endoscopy_is_whole(pfs):
    firm = make_firm("Endo Firm")
    practice = make_practice(firm.tenant)
    payer = make_payer(firm.tenant)
    both = make_case(firm.tenant, practice, payer, service_from="2025-06-02",
                     service_to="2025-06-02", place_of_service="22",
                     lines=[_line("45378"), _line("45380")])  # fmt: skip
    # 45380 in full (220.61); the base 45378 is included in it (202.85 - 202.85 = 0).
    assert _medicare(firm.tenant.id, both) == {1: D("0.00"), 2: D("220.61")}
    lone = make_case(firm.tenant, practice, payer, service_from="2025-06-02",
                     service_to="2025-06-02", place_of_service="22",
                     lines=[_line("45380"), _line("43248")])  # fmt: skip
    # Different families, one endoscopy each: the plain 100% / 50% rule.
    assert _medicare(firm.tenant.id, lone) == {1: D("220.61"), 2: D("90.88")}
