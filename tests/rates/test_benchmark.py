"""Case benchmarking (advocate.rates.benchmark): per-line Medicare amounts with
the surgical rules, percentiles, payer policy, SCA precedence, the expected
payment and underpayment, the set-based caseload job, the API and the panel.

The fee schedule is the real CY2025 files vendored in advocate/rates/data/pfs2025,
cut down to the codes and ZIPs used here (the header lines and the rows are
the files' own; the GPCI file is whole) so each test loads it in milliseconds.

Hand computations (ZIP 10001 -> carrier 13202 locality 01 MANHATTAN, GPCI file
line "13202,NY,01,MANHATTAN,1.065,1.166,1.656"; CF 32.3465; facility PE for
POS 22; rounded half-up to cents once):

  27447 "A 19.60 | 15.30 NA | 15.30 | 3.98", MULT PROC 2, BILAT 1:
     (19.60*1.065 + 15.30*1.166 + 3.98*1.656) * 32.3465
   = (20.874 + 17.8398 + 6.59088) * 32.3465 = 45.30468 * 32.3465 = 1465.4478... -> 1465.45
  20610 "A 0.79 | 1.04 | 0.44 | 0.13", MULT PROC 2, BILAT 1, facility:
     (0.84135 + 0.51304 + 0.21528) * 32.3465 = 1.56967 * 32.3465 = 50.7733... -> 50.77
     with modifier 50: x 1.5 (bilateral), then second procedure x 0.5:
     50.77 * 0.75 = 38.0775 -> 38.08
  99213 "A 1.30 | 1.35 | 0.57 | 0.10", MULT PROC 0, facility:
     (1.3845 + 0.66462 + 0.1656) * 32.3465 = 2.21472 * 32.3465 = 71.6384... -> 71.64
     non-facility (POS 11): (1.3845 + 1.5741 + 0.1656) * 32.3465 = 101.06 (the worked example)
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, event, select

from advocate.auth.models import ApiToken, new_token, token_hash
from advocate.cases import services as case_services
from advocate.cases.models import Case, ServiceLine, SingleCaseAgreement
from advocate.extensions import db
from advocate.payers.models import PayerPolicy
from advocate.rates import benchmark
from advocate.rates.importer import import_pfs
from advocate.rates.models import CommercialPercentile, LineBenchmark
from tenants import tenant_scope
from tests.factories import login, make_firm, make_payer, make_practice, make_user

DATA = Path(__file__).resolve().parents[2] / "advocate" / "rates" / "data" / "pfs2025"
CODES = (
    "99213",
    "20610",
    "27447",
    "29881",
    "64483",
    "00790",
    "88305",
    "99070",
    "0469T",
    "36415",
    "96372",
)
ZIPS = ("10001",)


@pytest.fixture()
def pfs(db_app, tmp_path):
    """The real CY2025 rows for CODES and ZIPS (whole GPCI file)."""
    rvu_lines = (DATA / "PPRRVU2025_Oct.csv").read_text(encoding="latin-1").splitlines()
    head = rvu_lines[:10]
    body = [ln for ln in rvu_lines[10:] if ln.split(",", 1)[0] in CODES]
    (tmp_path / "PPRRVU2025_Oct.csv").write_text("\n".join(head + body) + "\n", encoding="latin-1")
    zips = [
        ln
        for ln in (DATA / "ZIP5_OCT2025.txt").read_text(encoding="latin-1").splitlines()
        if ln[2:7] in ZIPS
    ]
    (tmp_path / "ZIP5_OCT2025.txt").write_text("\n".join(zips) + "\n", encoding="latin-1")
    import_pfs(
        db.session,
        2025,
        rvu=tmp_path / "PPRRVU2025_Oct.csv",
        gpci=DATA / "GPCI2025.csv",
        zip5=tmp_path / "ZIP5_OCT2025.txt",
    )
    db.session.commit()
    return db_app


def _setup(zip_code="10001"):
    firm = make_firm("Bench Firm")
    practice_id = make_practice(firm.tenant, zip=zip_code)
    payer_id = make_payer(firm.tenant)
    return firm, practice_id, payer_id


def _line(code, billed, *, mods=(), units=1, allowed="0.00", paid="0.00", resp="0.00", pos=None):
    ln = {"code": code, "modifiers": list(mods), "units": units, "billed": billed,
          "allowed": allowed, "paid": paid, "patient_resp": resp}  # fmt: skip
    if pos:
        ln["place_of_service"] = pos
    return ln


def _case(firm, practice_id, payer_id, lines, **kw) -> int:
    data = {
        "practice_id": practice_id,
        "payer_id": payer_id,
        "plan_type": kw.pop("plan_type", "erisa_self_funded"),
        "patient_first_name": "Jane",
        "patient_last_name": "Doe",
        "patient_dob": "1980-04-02",
        "service_from": kw.pop("service_from", "2025-06-02"),
        "service_to": kw.pop("service_to", "2025-06-02"),
        "place_of_service": kw.pop("pos", "22"),
        "lines": lines,
        **kw,
    }
    with tenant_scope(firm.tenant.id):
        case = case_services.create_case(
            tenant_id=firm.tenant.id, actor_id=None, data=data, today=date(2026, 6, 1)
        )
        db.session.commit()
        return case.id


def _rows(tenant_id, case_id) -> list[LineBenchmark]:
    with tenant_scope(tenant_id):
        return list(
            db.session.scalars(
                select(LineBenchmark)
                .where(LineBenchmark.case_id == case_id)
                .order_by(LineBenchmark.line_no)
            )
        )


def _policy(tenant_id, payer_id, method, percent, percentile=None, plan="erisa_self_funded"):
    with tenant_scope(tenant_id):
        db.session.add(
            PayerPolicy(
                payer_id=payer_id,
                plan_type=plan,
                effective_date=date(2025, 1, 1),
                pricing_method=method,
                pricing_percent=Decimal(percent) if percent is not None else None,
                commercial_percentile=percentile,
                timely_filing_days=180,
            )
        )
        db.session.commit()


def _percentiles(tenant_id, code, zip3, values, year=2025, modifier=""):
    with tenant_scope(tenant_id):
        db.session.add(
            CommercialPercentile(
                year=year, code=code, modifier=modifier, zip3=zip3,
                **{f"p{p}": Decimal(v) for p, v in zip((50, 60, 70, 75, 80, 85, 90, 95), values, strict=True)},
            )
        )  # fmt: skip
        db.session.commit()


def _rebenchmark(tenant_id, case_id=None):
    with tenant_scope(tenant_id):
        if case_id is None:
            benchmark.benchmark_firm(tenant_id)
        else:
            benchmark.benchmark_case(db.session.get(Case, case_id))
        db.session.commit()


def _case_row(tenant_id, case_id) -> Case:
    with tenant_scope(tenant_id):
        db.session.expire_all()
        return db.session.get(Case, case_id)


MULTI = [
    _line("27447", "42000.00", allowed="1000.00", paid="800.00", resp="200.00"),
    _line("20610", "800.00", mods=["50"], allowed="30.00", paid="24.00", resp="6.00"),
    _line("99213", "300.00", allowed="60.00", paid="48.00", resp="12.00"),
]


# ------------------------------------------------------------------ Medicare


def test_multiple_procedures_priced_per_line_with_surgical_rules(pfs):
    firm, practice_id, payer_id = _setup()
    case_id = _case(firm, practice_id, payer_id, MULTI)
    rows = _rows(firm.tenant.id, case_id)
    assert [r.medicare for r in rows] == [
        Decimal("1465.45"),
        Decimal("38.08"),
        Decimal("71.64"),
    ]
    assert {r.fee_year for r in rows} == {2025}
    assert {r.locality for r in rows} == {"13202-01"}
    # Each adjustment is kept: 27447 at 100% as the highest, 20610 bilateral then 50%.
    first = [(s["label"], s.get("factor")) for s in rows[0].medicare_steps if s.get("factor")]
    assert first == [("Multiple procedure", "1")]
    second = [(s["label"], s.get("factor")) for s in rows[1].medicare_steps if s.get("factor")]
    assert second == [("Bilateral (modifier 50)", "1.5"), ("Multiple procedure", "0.5")]
    assert rows[2].medicare_steps is None or not any(
        s.get("factor") for s in rows[2].medicare_steps
    )
    # No policy, no percentiles: 150% of Medicare (default), capped at billed.
    assert [r.expected_basis for r in rows] == ["medicare"] * 3
    assert [r.expected for r in rows] == [
        Decimal("2198.18"),  # 1465.45 * 1.5 = 2198.175
        Decimal("57.12"),  # 38.08 * 1.5
        Decimal("107.46"),  # 71.64 * 1.5
    ]
    assert "No OON policy" in rows[0].policy_reason
    assert "no 27447 in ZIP area 100" in rows[0].percentile_reason
    case = _case_row(firm.tenant.id, case_id)
    assert case.expected_payment == Decimal("2362.76")
    received = Decimal("1090.00")  # paid 872.00 + patient 218.00
    assert case.total_paid + case.patient_resp_total == received
    assert case.amount_at_stake == Decimal("1272.76")


def test_worked_example_office_visit_and_fractional_units(pfs):
    firm, practice_id, payer_id = _setup()
    case_id = _case(
        firm,
        practice_id,
        payer_id,
        [_line("99213", "250.00"), _line("99213", "250.00", units="1.5")],
        pos="11",
    )
    rows = _rows(firm.tenant.id, case_id)
    assert rows[0].medicare == Decimal("101.06")
    assert rows[1].medicare == Decimal("151.59")  # 101.06 * 1.5
    case = _case_row(firm.tenant.id, case_id)
    # 151.59 and 227.39 (= 151.59 * 1.5 = 227.385), nothing paid.
    assert case.expected_payment == Decimal("151.59") + Decimal("227.39")
    assert case.amount_at_stake == case.expected_payment


def test_no_fee_schedule_case_says_why(pfs):
    firm, practice_id, payer_id = _setup()
    early = _case(firm, practice_id, payer_id, [_line("99213", "250.00")],
                  service_from="2024-03-01", service_to="2024-03-01")  # fmt: skip
    (row,) = _rows(firm.tenant.id, early)
    assert row.medicare is None
    assert row.medicare_reason == (
        "No Medicare fee schedule for 2024 or earlier is loaded (flask rates import-pfs)."
    )
    assert row.expected is None and "No SCA rate" in row.expected_reason
    case = _case_row(firm.tenant.id, early)
    assert case.expected_payment is None
    assert case.amount_at_stake == Decimal(
        "250.00"
    )  # recompute_totals: billed when nothing expected

    other_zip = make_practice(firm.tenant, name="Elsewhere", npi="5550001114", zip="99999")
    c2 = _case(firm, other_zip, payer_id, [_line("99213", "250.00"), _line("00790", "900.00")])
    rows = _rows(firm.tenant.id, c2)
    assert rows[0].medicare_reason == "ZIP 99999 is not in the 2025 Medicare ZIP code file."

    c3 = _case(
        firm,
        practice_id,
        payer_id,
        [_line("00790", "900.00"), _line("88305", "390.00", mods=["26"])],
    )
    rows = _rows(firm.tenant.id, c3)
    assert rows[0].medicare is None and "Anesthesia code" in rows[0].medicare_reason
    assert rows[1].medicare is not None  # 88305-26 has its own row


# ------------------------------------------------------------------ policy, percentiles, SCA


def test_policy_based_expected_amount(pfs):
    firm, practice_id, payer_id = _setup()
    _policy(firm.tenant.id, payer_id, "medicare_percent", "140")
    case_id = _case(firm, practice_id, payer_id, MULTI)
    rows = _rows(firm.tenant.id, case_id)
    assert [r.policy for r in rows] == [Decimal("2051.63"), Decimal("53.31"), Decimal("100.30")]
    assert rows[0].policy_basis == "140% of Medicare"
    assert [r.expected_basis for r in rows] == ["policy"] * 3
    assert _case_row(firm.tenant.id, case_id).expected_payment == Decimal("2205.24")


def test_percentile_policy_and_firm_percentile(pfs):
    firm, practice_id, payer_id = _setup()
    _percentiles(
        firm.tenant.id, "99213", "100", ["150", "160", "170", "175", "180", "190", "200", "240"]
    )
    case_id = _case(firm, practice_id, payer_id, [_line("99213", "250.00", units=2)], pos="11")
    (row,) = _rows(firm.tenant.id, case_id)
    assert row.zip3 == "100" and row.percentile_year == 2025
    assert (row.p50, row.p80, row.p95) == (Decimal("300.00"), Decimal("360.00"), Decimal("480.00"))
    # No policy: the firm's 80th percentile, capped at the billed 250.00.
    assert row.expected_basis == "percentile" and row.expected == Decimal("250.00")
    assert "capped at the billed charge" in row.expected_reason

    _policy(firm.tenant.id, payer_id, "commercial_percentile", "50", percentile=80)
    _rebenchmark(firm.tenant.id, case_id)
    (row,) = _rows(firm.tenant.id, case_id)
    assert row.policy == Decimal("180.00") and row.expected_basis == "policy"
    assert row.policy_basis == "50% of the 80th percentile"


def test_sca_rate_takes_precedence_over_policy(pfs):
    firm, practice_id, payer_id = _setup()
    _policy(firm.tenant.id, payer_id, "medicare_percent", "140")
    case_id = _case(firm, practice_id, payer_id, MULTI)
    with tenant_scope(firm.tenant.id):
        sca = SingleCaseAgreement(
            practice_id=practice_id, payer_id=payer_id, patient_first_name="Jane",
            patient_last_name="Doe", rate_type="fixed", status="signed", codes=[],
            fixed_rates={"27447": "5000.00", "20610": "200.00", "99213": "150.00"},
        )  # fmt: skip
        db.session.add(sca)
        db.session.flush()
        case = db.session.get(Case, case_id)
        case_services.link_case_to_sca(case, sca, actor_id=None)
        db.session.commit()
        check = case_services.check_sca_rate(db.session.get(Case, case_id), sca)
    rows = _rows(firm.tenant.id, case_id)
    assert [r.sca for r in rows] == [Decimal("5000.00"), Decimal("200.00"), Decimal("150.00")]
    assert [r.expected_basis for r in rows] == ["sca"] * 3
    assert rows[0].policy == Decimal("2051.63")  # still shown beside it
    case = _case_row(firm.tenant.id, case_id)
    assert case.expected_payment == check.expected == Decimal("5350.00")
    assert case.amount_at_stake == Decimal("4260.00")

    # A percent-of-Medicare agreement agrees with the SCA check too.
    with tenant_scope(firm.tenant.id):
        sca = db.session.get(SingleCaseAgreement, sca.id)
        sca.rate_type, sca.rate_percent, sca.fixed_rates = "medicare_percent", Decimal("125"), {}
        db.session.flush()
        case = db.session.get(Case, case_id)
        benchmark.benchmark_case(case)
        db.session.commit()
        check = case_services.check_sca_rate(db.session.get(Case, case_id), sca)
    rows = _rows(firm.tenant.id, case_id)
    assert sum(r.sca for r in rows) == check.expected
    assert [ln.expected for ln in check.lines] == [r.sca for r in rows]


def test_underpayment_is_expected_minus_received_never_negative(pfs):
    firm, practice_id, payer_id = _setup()
    _policy(firm.tenant.id, payer_id, "billed_percent", "80")
    under = _case(firm, practice_id, payer_id,
                  [_line("99213", "300.00", allowed="100.00", paid="80.00", resp="20.00")], pos="11")  # fmt: skip
    case = _case_row(firm.tenant.id, under)
    assert case.expected_payment == Decimal("240.00")
    assert case.amount_at_stake == Decimal("140.00")
    with tenant_scope(firm.tenant.id):
        bm = benchmark.for_case(db.session.get(Case, under))
        assert bm.underpayment == Decimal("140.00") and bm.received == Decimal("100.00")
        case = db.session.get(Case, under)
        case_services.add_payment(case, amount=Decimal("200.00"), paid_on=date(2025, 9, 1),
                                  source="check", reference=None, actor_id=None)  # fmt: skip
        db.session.commit()
        bm = benchmark.for_case(db.session.get(Case, under))
        assert bm.underpayment == Decimal("0.00")
        assert db.session.get(Case, under).amount_at_stake == Decimal("0.00")


# ------------------------------------------------------------------ set-based == per case


def _snapshot(tenant_id):
    skip = {"id", "computed_at"}
    with tenant_scope(tenant_id):
        db.session.expire_all()
        rows = db.session.scalars(select(LineBenchmark).order_by(LineBenchmark.line_id)).all()
        lines = [{c.name: getattr(r, c.name) for c in LineBenchmark.__table__.columns if c.name not in skip}
                 for r in rows]  # fmt: skip
        cases = sorted(
            (c.id, c.expected_payment, c.amount_at_stake) for c in db.session.scalars(select(Case))
        )
    return lines, cases


def test_set_based_job_gives_the_per_case_numbers(pfs):
    firm, practice_id, payer_id = _setup()
    other_payer = make_payer(firm.tenant, name="Other Plan")
    _policy(firm.tenant.id, payer_id, "medicare_percent", "140")
    _policy(firm.tenant.id, other_payer, "qpa", None)
    _percentiles(
        firm.tenant.id, "99213", "100", ["150", "160", "170", "175", "180", "190", "200", "240"]
    )
    _case(firm, practice_id, payer_id, MULTI)
    _case(firm, practice_id, other_payer, MULTI, pos="11")
    _case(
        firm,
        practice_id,
        other_payer,
        [_line("99213", "90.00", paid="50.00"), _line("00790", "1.00")],
    )
    _case(firm, practice_id, payer_id, [_line("29881", "9800.00", mods=["80"]), _line("64483", "3600.00", units=2)],
          service_from="2026-02-02", service_to="2026-02-02")  # fmt: skip
    _case(firm, practice_id, payer_id, [_line("99213", "250.00")], plan_type="fully_insured")
    per_case = _snapshot(firm.tenant.id)
    assert len(per_case[0]) == 11
    with tenant_scope(firm.tenant.id):
        db.session.execute(LineBenchmark.__table__.delete())
        db.session.execute(Case.__table__.update().values(expected_payment=None, amount_at_stake=0))
        db.session.commit()
    with tenant_scope(firm.tenant.id):
        run = benchmark.benchmark_firm(firm.tenant.id)
        db.session.commit()
    assert (run.cases, run.lines) == (5, 11)
    assert _snapshot(firm.tenant.id) == per_case
    # The 2026 case uses the 2025 rates and says so.
    rows = [r for r in per_case[0] if r["medicare_steps"] and any("2026 fee schedule" in s["text"]
                                                                   for s in r["medicare_steps"])]  # fmt: skip
    assert len(rows) == 2


EDGE_CASES = [
    # NA fallback (27447 non-facility PE is NA, at POS 11), multiple procedures with
    # units (64483 x 3 ranked with 27447 and 20610), and an unpriced status-B line.
    dict(lines=[_line("27447", "30000.00", pos="11"), _line("64483", "2500.00", units=3),
                _line("20610", "700.00"), _line("99070", "40.00")], pos="11"),
    # 26/TC rows, a global 88305, TC at a facility (facility PE NA note), fractional units.
    dict(lines=[_line("88305", "300.00", mods=["26"]), _line("88305", "280.00", mods=["TC"], pos="22"),
                _line("88305", "500.00", units=2), _line("88305", "90.00", mods=["26"], units="0.5")]),
    # Non-payable statuses (N, X), anesthesia, an unknown code, and indicator 5 lines.
    dict(lines=[_line("0469T", "100.00"), _line("36415", "25.00", paid="10.00"),
                _line("99999", "55.00"), _line("96372", "60.00", units=2), _line("96372", "60.00", pos="11"),
                _line("99213", "20.00", paid="5.00")]),
    dict(lines=[_line("00790", "4000.00"), _line("99213", "400.00")]),
    # Six procedures and more (by report at 50%), an endoscopy (indicator 3), billed below the amounts.
    dict(lines=[_line("29881", "1.00"), _line("64483", "5000.00", units=4), _line("20610", "10.00", units=2),
                _line("27447", "50000.00")]),
    # A 2026 date of service (2025 rates, with the note); a single line of 2 units.
    dict(lines=[_line("64483", "3000.00", units=2)], service_from="2026-01-05"),
    # Payment modifiers (co-surgeon, assistant, bilateral) next to plain surgery.
    dict(lines=[_line("27447", "40000.00", mods=["62"]), _line("29881", "9000.00", mods=["80"]),
                _line("20610", "900.00", mods=["50"]), _line("29881", "8000.00", mods=["AS"])]),
    # Anesthesia (computed in SQL too): several units, a non-facility POS, a 2026 date
    # (fee-year note), next to a ranked procedure and a status-T injection.
    dict(lines=[_line("00790", "3000.00", units=2, pos="11"), _line("00790", "150.00", paid="20.00"),
                _line("64483", "800.00"), _line("96372", "60.00", pos="11")],
         service_from="2026-02-03"),
]  # fmt: skip


def _clear(tenant_id):
    with tenant_scope(tenant_id):
        db.session.execute(LineBenchmark.__table__.delete())
        db.session.execute(Case.__table__.update().values(expected_payment=None, amount_at_stake=0))
        db.session.commit()


def test_set_based_job_equals_per_case_on_edge_lines_and_writes_only_changes(pfs):
    firm, practice_id, payer_id = _setup()
    tid = firm.tenant.id
    other_payer = make_payer(firm.tenant, name="Other Plan")
    _policy(tid, payer_id, "commercial_percentile", "90", percentile=80)
    _policy(tid, other_payer, "medicare_percent", "150")
    # Percentiles for some codes only (the others have none), one per modifier.
    _percentiles(tid, "99213", "100", ["150", "160", "170", "175", "180", "190", "200", "240"])
    _percentiles(
        tid, "88305", "100", ["60", "62", "64", "66", "68", "70", "72", "80"], modifier="26"
    )
    _percentiles(tid, "64483", "100", ["900", "950", "1000", "1050", "1100", "1150", "1200", "1300"],
                 year=2024)  # fmt: skip
    ids = []
    for i, spec in enumerate(EDGE_CASES):
        for payer in (payer_id, other_payer):
            day = spec.get("service_from", f"2025-03-0{i + 1}")
            ids.append(_case(firm, practice_id, payer, spec["lines"], pos=spec.get("pos", "22"),
                             service_from=day, service_to=day))  # fmt: skip
    per_case = _snapshot(tid)
    assert len(per_case[0]) == 2 * sum(len(s["lines"]) for s in EDGE_CASES)
    medicare = {(r["case_id"], r["line_no"]): r["medicare"] for r in per_case[0]}
    assert medicare[(ids[0], 1)] is not None and medicare[(ids[0], 4)] is None  # NA row; status B
    assert medicare[(ids[4], 1)] is None and medicare[(ids[6], 1)] is None  # status N; anesthesia
    _clear(tid)
    with tenant_scope(tid):
        run = benchmark.benchmark_firm(tid)
        db.session.commit()
    assert (run.cases, run.lines) == (len(ids), len(per_case[0]))
    if db.engine.dialect.name == "postgresql":
        # Only the cases with modifiers or fractional units took the Python path
        # (anesthesia is computed in SQL), and those with an endoscopy (29881,
        # MULT PROC 3: the endoscopic family rule needs its base code's fee).
        assert run.seconds["python_cases"] == 6
    assert _snapshot(tid) == per_case
    anesthesia = [r for r in per_case[0] if r["case_id"] in ids[14:]]
    assert [r["medicare"] is None for r in anesthesia] == [True, True, False, False] * 2
    assert anesthesia[0]["medicare_reason"] == benchmark.medicare.ANESTHESIA_REASON

    # A re-run rewrites only what differs: damage one line row and one case.
    def stamps():
        with tenant_scope(tid):
            return dict(
                db.session.execute(select(LineBenchmark.line_id, LineBenchmark.computed_at)).all()
            )

    before = stamps()
    with tenant_scope(tid):
        victim = db.session.scalar(
            select(LineBenchmark).where(LineBenchmark.case_id == ids[1]).limit(1)
        )
        victim_line = victim.line_id
        victim.expected = Decimal("1.23")
        db.session.get(Case, ids[2]).expected_payment = Decimal("9.99")
        db.session.commit()
    with tenant_scope(tid):
        benchmark.benchmark_firm(tid)
        db.session.commit()
    assert _snapshot(tid) == per_case
    after = stamps()
    changed = {k for k in after if after[k] != before[k]}
    if db.engine.dialect.name == "postgresql":
        assert changed == {victim_line}
    # Only some cases: the others are left alone.
    _clear(tid)
    with tenant_scope(tid):
        run = benchmark.benchmark_firm(tid, case_ids=ids[:2])
        db.session.commit()
    assert run.cases == 2
    lines, _cases = _snapshot(tid)
    assert {r["case_id"] for r in lines} == set(ids[:2])
    # The background job's parallel run (parts by case id, each part but the
    # first on its own connection and thread): the same rows and cases.
    _clear(tid)
    with tenant_scope(tid):
        run = benchmark.benchmark_firm(tid, parallel=3)
        db.session.commit()
    assert (run.cases, run.lines) == (len(ids), len(per_case[0]))
    assert _snapshot(tid) == per_case
    if db.engine.dialect.name == "postgresql":
        assert run.seconds["parts"] == 3 and run.seconds["python_cases"] == 6
    # A line deleted: its row goes, the rest stay, a re-run adds nothing back.
    with tenant_scope(tid):
        gone = db.session.scalar(
            select(ServiceLine).where(ServiceLine.case_id == ids[3]).order_by(ServiceLine.line_no)
        )
        gone_id = gone.id
        db.session.execute(delete(ServiceLine).where(ServiceLine.id == gone_id))
        db.session.commit()
        benchmark.benchmark_firm(tid, parallel=2)
        db.session.commit()
        stored = set(db.session.scalars(select(LineBenchmark.line_id)))
        lines_now = set(db.session.scalars(select(ServiceLine.id)))
        db.session.rollback()
    assert gone_id not in stored and stored == lines_now


def test_job_runs_inline_without_redis_and_only_touches_its_firm(pfs):
    a, pa, ya = _setup()
    b, pb, yb = _setup()
    ca = _case(a, pa, ya, MULTI)
    cb = _case(b, pb, yb, MULTI)
    with tenant_scope(b.tenant.id):
        db.session.execute(LineBenchmark.__table__.delete())
        db.session.commit()
    assert benchmark.enqueue_firm(a.tenant.id) is None  # inline
    assert len(_rows(a.tenant.id, ca)) == 3
    assert _rows(b.tenant.id, cb) == []


# ------------------------------------------------------------------ API


def _token(tenant_id, membership_id) -> dict:
    raw = new_token("adv_")
    with tenant_scope(tenant_id):
        db.session.add(ApiToken(membership_id=membership_id, name="bench", token_prefix=raw[:8],
                                token_hash=token_hash(raw)))  # fmt: skip
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_api_benchmark_shape_isolation_and_practice_users(pfs):
    firm, practice_id, payer_id = _setup()
    _policy(firm.tenant.id, payer_id, "medicare_percent", "140")
    case_id = _case(firm, practice_id, payer_id, MULTI)
    other_practice = make_practice(firm.tenant, name="Second Practice", npi="2468135795")
    other_case = _case(firm, other_practice, payer_id, MULTI)
    client = pfs.test_client()
    staff = _token(firm.tenant.id, firm.owner.membership_id)
    r = client.get(f"/api/v1/cases/{case_id}/benchmark", headers=staff)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["case_id"] == case_id and body["benchmarked"] is True
    assert [ln["medicare"]["amount"] for ln in body["lines"]] == ["1465.45", "38.08", "71.64"]
    assert body["lines"][1]["medicare"]["adjustments"][0]["factor"] == "1.5"
    assert body["lines"][0]["policy"] == {
        "amount": "2051.63",
        "basis": "140% of Medicare",
        "reason": None,
    }
    assert body["lines"][0]["expected"]["basis"] == "policy"
    assert body["lines"][0]["percentiles"]["values"] is None
    summary = body["case"]
    assert summary["expected_payment"] == "2205.24"
    assert summary["received"] == "1090.00" and summary["underpayment"] == "1115.24"
    assert summary["medicare_total"] == "1575.17"
    assert summary["medicare_multiples"] == {
        "100": "1575.17",
        "150": "2362.76",
        "200": "3150.34",
        "250": "3937.93",
    }
    assert summary["ask"] == "3150.34" and "200% of Medicare" in summary["ask_reason"]
    assert summary["floor"] == "2205.24" and "payer's own terms" in summary["floor_reason"]
    assert re.fullmatch(r"\d+\.\d\d", summary["billed"])

    # Another firm's case is 404.
    other_firm, op, oy = _setup()
    foreign = _case(other_firm, op, oy, MULTI)
    assert client.get(f"/api/v1/cases/{foreign}/benchmark", headers=staff).status_code == 404

    # Practice users have no API access at all (advocate.api.auth refuses their
    # tokens); the view still restricts them to their own practice.
    pu = make_user(firm.tenant, "practice_user", practice_id=practice_id)
    auth = _token(firm.tenant.id, pu.membership_id)
    assert client.get(f"/api/v1/cases/{case_id}/benchmark", headers=auth).status_code == 401
    assert client.get(f"/api/v1/cases/{other_case}/benchmark", headers=auth).status_code == 401
    assert client.get("/api/v1/cases/999999/benchmark", headers=staff).status_code == 404


# ------------------------------------------------------------------ the case page panel


def _count_queries(fn):
    statements: list[str] = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return statements


def test_case_page_panel_shows_figures_and_chart_in_bounded_queries(pfs, browser):
    firm, practice_id, payer_id = _setup()
    _percentiles(
        firm.tenant.id, "99213", "100", ["150", "160", "170", "175", "180", "190", "200", "240"]
    )
    small = _case(firm, practice_id, payer_id, MULTI)
    big = _case(firm, practice_id, payer_id, MULTI * 3)
    login(browser, firm.owner)

    pages = {}
    counts = {}
    for cid in (small, big):
        stmts = _count_queries(lambda cid=cid: pages.__setitem__(cid, browser.get(f"/cases/{cid}")))
        counts[cid] = stmts
        assert pages[cid].status_code == 200
    html = pages[small].get_data(as_text=True)
    assert 'data-testid="benchmark-panel"' in html
    assert 'data-field="medicare">$1,465.45' in html
    assert '<title id="bm-chart-title">' in html and '<desc id="bm-chart-desc">' in html
    assert 'data-testid="benchmark-chart-table"' in html and "Medicare 250%" in html
    assert "80th percentile" in html
    assert "style=" not in html.split('data-testid="benchmark-panel"')[1].split("</section>")[0]
    assert 'data-amount="ask"' in html
    # One query for the panel, whatever the number of lines.
    assert sum("line_benchmarks" in s for s in counts[small]) == 1
    assert len(counts[big]) == len(counts[small])


def test_practice_user_sees_the_panel_without_ask_and_floor(pfs, browser):
    firm, practice_id, payer_id = _setup()
    case_id = _case(firm, practice_id, payer_id, MULTI)
    pu = make_user(firm.tenant, "practice_admin", practice_id=practice_id)
    login(browser, pu)
    html = browser.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-testid="benchmark-panel"' in html
    assert 'data-amount="ask"' not in html and "benchmark-reasoning" not in html
    other_practice = make_practice(firm.tenant, name="Second Practice", npi="2468135795")
    other_case = _case(firm, other_practice, payer_id, MULTI)
    assert browser.get(f"/cases/{other_case}").status_code == 404
