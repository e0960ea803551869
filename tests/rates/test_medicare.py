"""Medicare PFS pricing and surgical rules, checked by hand against the real
CY2025 files (RVU row values and GPCIs are quoted in each comment).

CF 2025 = 32.3465.  Localities used:
  ZIP 10001 -> 13202/01 MANHATTAN         PW 1.065  PE 1.166  MP 1.656
  ZIP 35010 -> 10112/00 ALABAMA (rural R) PW 1      PE 0.869  MP 0.575  (PW 1.0 floor)
  ZIP 59001 -> 03202/01 MONTANA (super rural B)  PW 1  PE 1   MP 0.978  (PW floor, frontier PE floor)
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from advocate.rates.medicare import (
    ANESTHESIA_REASON,
    FACILITY_POS,
    Adjustment,
    MedicarePrice,
    SurgicalLine,
    apply_surgical_rules,
    case_total,
    is_anesthesia_code,
    is_facility,
    price,
)
from advocate.rates.pfs_files import GpciRow, RvuRow, parse_gpci, parse_rvu, parse_zip5

DATA = Path(__file__).resolve().parents[2] / "advocate" / "rates" / "data" / "pfs2025"
D = Decimal


@pytest.fixture(scope="module")
def files():
    rvu = {r.key: r for r in parse_rvu(DATA / "PPRRVU2025_Oct.csv")}
    gpci = {g.key: g for g in parse_gpci(DATA / "GPCI2025.csv")}
    zips = {z.zip: z for z in parse_zip5(DATA / "ZIP5_OCT2025.txt")}
    return rvu, gpci, zips


@pytest.fixture(scope="module")
def quote(files):
    """quote(code, mod, zip, pos) -> MedicarePrice, going ZIP -> locality -> GPCI."""
    rvu, gpci, zips = files

    def _quote(code: str, mod: str, zip_code: str, pos: str, **kw) -> MedicarePrice:
        z = zips[zip_code]
        return price(rvu[(code, mod)], gpci[(z.carrier, z.locality)], pos, **kw)

    return _quote


# ------------------------------------------------------------------ price()


def test_worked_example_99213_office_manhattan(files, quote):
    rvu, gpci, zips = files
    z = zips["10001"]
    assert (z.carrier, z.locality) == ("13202", "01")
    p = quote("99213", "", "10001", "11")
    # (1.30*1.065 + 1.35*1.166 + 0.10*1.656) * 32.3465
    # = (1.3845 + 1.5741 + 0.1656) * 32.3465 = 3.1242 * 32.3465 = 101.0569... -> 101.06
    assert p.amount == D("101.06")
    assert p.unrounded == D("3.1242") * D("32.3465")
    assert (p.status, p.facility, p.pe_source, p.pe_rvu_used) == (
        "A",
        False,
        "non-facility",
        D("1.35"),
    )
    assert (p.work_gpci, p.pe_gpci, p.mp_gpci, p.conversion_factor) == (
        D("1.065"), D("1.166"), D("1.656"), D("32.3465"),
    )  # fmt: skip
    assert [(c.name, c.adjusted_rvu) for c in p.components] == [
        ("work", D("1.3845")), ("pe", D("1.5741")), ("mp", D("0.1656")),
    ]  # fmt: skip
    assert sum(c.amount for c in p.components) == p.unrounded
    assert p.reason is None and p.opps_cap_amount is None and not p.opps_cap_applied


def test_99213_facility_uses_facility_pe(quote):
    # POS 22 (outpatient hospital): facility PE 0.57
    # 1.30*1.065 + 0.57*1.166 + 0.10*1.656 = 1.3845 + 0.66462 + 0.1656 = 2.21472
    # 2.21472 * 32.3465 = 71.6384... -> 71.64
    p = quote("99213", "", "10001", "22")
    assert (p.amount, p.facility, p.pe_source, p.pe_rvu) == (
        D("71.64"),
        True,
        "facility",
        D("0.57"),
    )


def test_non_facility_na_falls_back_to_facility_pe(quote):
    # 99285: work 4.00, non-fac PE 0.79 marked NA, facility PE 0.79, MP 0.43
    # 4.00*1.065 + 0.79*1.166 + 0.43*1.656 = 4.26 + 0.92114 + 0.71208 = 5.89322
    # 5.89322 * 32.3465 = 190.6250... -> 190.63
    office = quote("99285", "", "10001", "11")
    assert office.amount == D("190.63")
    assert office.pe_source == "facility (non-facility PE is NA)"
    assert any("NA" in n for n in office.notes)
    assert quote("99285", "", "10001", "23").amount == D("190.63")


def test_na_fallback_when_the_values_differ():
    # In the real file an NA row repeats the facility PE in the non-facility
    # cell, so a synthetic row proves which column is read.
    row = dataclasses.replace(_rvu_row(work="1", nonfac_pe="9", fac_pe="2", mp="0"), nonfac_na=True)
    # (1*1 + 2*1 + 0) * 10 = 30.00 ; with the non-fac PE it would be 100.00
    assert price(row, _gpci(), "11").amount == D("30.00")


def test_professional_component_26_in_facility_rural_alabama(files, quote):
    _, _, zips = files
    assert (zips["35010"].rural, zips["35010"].carrier, zips["35010"].locality) == (
        "R",
        "10112",
        "00",
    )
    # 71046-26: work 0.22, facility PE 0.08, MP 0.01 ; Alabama 1 / 0.869 / 0.575
    # 0.22*1 + 0.08*0.869 + 0.01*0.575 = 0.22 + 0.06952 + 0.00575 = 0.29527
    # 0.29527 * 32.3465 = 9.5510... -> 9.55
    assert quote("71046", "26", "35010", "22").amount == D("9.55")


def test_technical_component_tc_office_alabama(quote):
    # 71046-TC: work 0.00, non-fac PE 0.69, MP 0.01
    # 0 + 0.69*0.869 + 0.01*0.575 = 0.59961 + 0.00575 = 0.60536 -> *32.3465 = 19.5810... -> 19.58
    # OPPS cap RVUs (PE 2.68, MP 0.04): 2.68*0.869 + 0.04*0.575 = 2.35192 -> 76.0766 -> 76.08,
    # higher than the PFS amount, so the cap does not bite.
    p = quote("71046", "TC", "35010", "11")
    assert (p.amount, p.opps_cap_amount, p.opps_cap_applied) == (D("19.58"), D("76.08"), False)
    # Global 71046: 0.22*1 + 0.77*0.869 + 0.02*0.575 = 0.22 + 0.66913 + 0.0115 = 0.90063
    # 0.90063 * 32.3465 = 29.1323... -> 29.13  (= 9.55 + 19.58 here)
    assert quote("71046", "", "35010", "11").amount == D("29.13")


def test_tc_in_a_facility_notes_the_facility_na(quote):
    # 71046-TC facility PE 0.69 is marked NA (the hospital bills the TC); priced as published.
    p = quote("71046", "TC", "35010", "22")
    assert p.amount == D("19.58")
    assert any("facility PE as NA" in n for n in p.notes)


def test_gpci_floor_locality_alabama(quote):
    # 99213 POS 11, Alabama (work GPCI at the 1.0 floor):
    # 1.30*1 + 1.35*0.869 + 0.10*0.575 = 1.30 + 1.17315 + 0.0575 = 2.53065
    # 2.53065 * 32.3465 = 81.8574... -> 81.86
    assert quote("99213", "", "35010", "11").amount == D("81.86")


def test_frontier_floor_montana_super_rural_zip(files, quote):
    _, _, zips = files
    assert (zips["59001"].rural, zips["59001"].carrier, zips["59001"].locality) == (
        "B",
        "03202",
        "01",
    )
    # 99214 POS 11: work 1.92, non-fac PE 1.80, MP 0.15 ; Montana 1 / 1 / 0.978
    # 1.92 + 1.80 + 0.15*0.978 = 1.92 + 1.80 + 0.1467 = 3.8667 -> *32.3465 = 125.0742... -> 125.07
    assert quote("99214", "", "59001", "11").amount == D("125.07")


def test_major_surgery_facility_manhattan(quote):
    # 27447 POS 21: work 19.60, facility PE 15.30, MP 3.98
    # 19.60*1.065 + 15.30*1.166 + 3.98*1.656 = 20.874 + 17.8398 + 6.59088 = 45.30468
    # 45.30468 * 32.3465 = 1465.4523... -> 1465.45
    assert quote("27447", "", "10001", "21").amount == D("1465.45")


def test_opps_imaging_cap_applies(quote):
    # 70496-TC POS 11 Manhattan: work 0, PE 5.93, MP 0.03; OPPS cap PE 5.48, MP 0.03
    # PFS : 5.93*1.166 + 0.03*1.656 = 6.91438 + 0.04968 = 6.96406 -> *32.3465 = 225.2637 -> 225.26
    # OPPS: 5.48*1.166 + 0.03*1.656 = 6.38968 + 0.04968 = 6.43936 -> *32.3465 = 208.2908 -> 208.29
    p = quote("70496", "TC", "10001", "11")
    assert (p.amount, p.pfs_amount, p.opps_cap_amount) == (D("208.29"), D("225.26"), D("208.29"))
    assert p.opps_cap_applied and p.pe_rvu_used == D("5.48")
    assert sum(c.amount for c in p.components) == p.unrounded
    plain = quote("70496", "TC", "10001", "11", apply_opps_cap=False)
    assert (plain.amount, plain.opps_cap_applied) == (D("225.26"), False)


def test_status_t_injection_is_priced_with_a_note(quote):
    # 96523 (status T): work 0.04, PE 0.67, MP 0.01
    # 0.04*1.065 + 0.67*1.166 + 0.01*1.656 = 0.0426 + 0.78122 + 0.01656 = 0.84038
    # 0.84038 * 32.3465 = 27.1834... -> 27.18
    p = quote("96523", "", "10001", "11")
    assert (p.amount, p.status) == (D("27.18"), "T")
    assert any("same date" in n for n in p.notes)


def test_status_r_with_rvus_is_priced(quote):
    # 11055 (status R): work 0.35, non-fac PE 1.72, MP 0.03
    # 0.35*1.065 + 1.72*1.166 + 0.03*1.656 = 0.37275 + 2.00552 + 0.04968 = 2.42795
    # 2.42795 * 32.3465 = 78.5353... -> 78.54
    assert quote("11055", "", "10001", "11").amount == D("78.54")


def test_status_r_without_rvus_is_contractor_priced(quote):
    p = quote("V5299", "", "10001", "11")
    assert p.amount is None and "contractor" in p.reason.lower()


@pytest.mark.parametrize(
    ("code", "status", "words"),
    [
        ("20930", "B", "bundled"),
        ("36000", "B", "bundled"),  # RVUs shown but flagged not used for Medicare payment
        ("0042T", "C", "contractor"),
        ("90296", "E", "excluded"),
        ("0001F", "I", "not valid for medicare"),
        ("0500F", "M", "measurement"),
        ("0469T", "N", "non-covered"),
        ("A4211", "P", "bundled/excluded"),
        ("36415", "X", "statutory exclusion"),
    ],
)
def test_non_payable_statuses_say_why(quote, code, status, words):
    p = quote(code, "", "10001", "11")
    assert p.status == status
    assert p.amount is None and p.components == () and p.unrounded is None
    assert p.reason.startswith(f"Status {status} ")
    assert words in p.reason.lower()


def test_anesthesia_codes_are_not_priced_by_rvus(quote):
    p = quote("00840", "", "10001", "22")
    assert (p.amount, p.reason) == (None, ANESTHESIA_REASON)
    assert "base units" in p.reason and "time" in p.reason
    # Even a (hypothetical) active anesthesia-range row is not priced by RVUs.
    row = dataclasses.replace(_rvu_row(work="1", nonfac_pe="1", fac_pe="1", mp="1"), hcpcs="01999")
    assert price(row, _gpci(), "11").reason == ANESTHESIA_REASON


@pytest.mark.parametrize(
    ("code", "expected"),
    [("00100", True), ("01999", True), ("00099", False), ("02000", False), ("0010T", False),
     ("99213", False)],
)  # fmt: skip
def test_is_anesthesia_code(code, expected):
    assert is_anesthesia_code(code) is expected


def test_is_facility():
    assert FACILITY_POS == {
        "19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61",
    }  # fmt: skip
    assert all(is_facility(pos) for pos in FACILITY_POS)
    assert is_facility(21) and is_facility(" 22 ")
    assert not is_facility("11") and not is_facility("2") and not is_facility("02")
    with pytest.raises(ValueError, match="place of service"):
        is_facility("O1")
    with pytest.raises(ValueError):
        is_facility("111")


def test_rounding_is_half_up_at_the_end():
    # (1*1 + 0 + 0) * 0.125 = 0.125 -> 0.13 half-up (banker's rounding would give 0.12)
    row = _rvu_row(work="1", nonfac_pe="0", fac_pe="0", mp="0", cf="0.125")
    assert price(row, _gpci(), "11").amount == D("0.13")
    # Rounding only at the end: 3 * (0.333 * 1) * 1.005 = 1.003995 -> 1.00 ;
    # rounding each component first would give 3 * 0.33 = 0.99
    row = _rvu_row(work="0.333", nonfac_pe="0.333", fac_pe="0.333", mp="0.333", cf="1.005")
    assert price(row, _gpci(), "11").amount == D("1.00")


# ------------------------------------------------------------ surgical rules


def _line(quote, code, mods=(), units=1, pos="22", zip_code="10001", files=None):
    rvu, _, _ = files
    mod_row = next((m for m in mods if m in ("26", "TC", "53")), "")
    return SurgicalLine(
        code=code,
        modifiers=list(mods),
        units=units,
        price=quote(code, mod_row, zip_code, pos),
        rvu=rvu[(code, mod_row)],
    )


@pytest.fixture(scope="module")
def line(quote, files):
    def _make(code, mods=(), units=1, pos="22"):
        return _line(quote, code, mods, units, pos, files=files)

    return _make


# Facility (POS 22) amounts in Manhattan used below:
#   27447 1465.45 (above); MULT 2, BILAT 1, ASST 2, CO 1
#   63047: 15.37*1.065 + 13.61*1.166 + 4.87*1.656 = 16.36905 + 15.86926 + 8.06472
#          = 40.30303 * 32.3465 = 1303.6574 -> 1303.66 ; MULT 2, BILAT 2, ASST 2, CO 2
#   47562: 10.47*1.065 + 6.97*1.166 + 2.62*1.656 = 11.15055 + 8.12702 + 4.33872
#          = 23.61629 * 32.3465 = 763.9045 -> 763.90 ; MULT 2, BILAT 0, ASST 2
#   29881: 7.03*1.065 + 8.22*1.166 + 1.39*1.656 = 7.48695 + 9.58452 + 2.30184
#          = 19.37331 * 32.3465 = 626.6571 -> 626.66 ; MULT 3 (endo base 29870), BILAT 1, ASST 0
#   11042: 1.01*1.065 + 0.68*1.166 + 0.13*1.656 = 1.07565 + 0.79288 + 0.21528
#          = 2.08381 * 32.3465 = 67.4040 -> 67.40 ; MULT 2, ASST 1, CO 0
def test_base_prices_used_by_the_surgical_examples(line):
    assert [line(c).price.amount for c in ("27447", "63047", "47562", "29881", "11042")] == [
        D("1465.45"), D("1303.66"), D("763.90"), D("626.66"), D("67.40"),
    ]  # fmt: skip


def test_multiple_procedures_highest_100_others_50(line):
    out = apply_surgical_rules([line("63047"), line("27447")])
    assert [o.code for o in out] == ["63047", "27447"]  # input order kept
    spine, knee = out
    # 27447 is the higher amount -> 100% ; 63047: 1303.66 * 0.5 = 651.83
    assert (knee.amount, knee.mppr_rank) == (D("1465.45"), 1)
    assert (spine.amount, spine.mppr_rank) == (D("651.83"), 2)
    assert spine.adjustments == (
        Adjustment("Multiple procedure", D("0.5"), spine.adjustments[0][2]),
    )
    label, factor, explanation = knee.adjustments[0]
    assert (label, factor) == ("Multiple procedure", D("1"))
    assert "100%" in explanation
    assert case_total(out) == D("2117.28")


def test_multiple_procedures_count_units(line):
    # 47562 x1 (763.90) is ranked first; the two units of 11042 are procedures 2 and 3:
    # 67.40 * (0.5 + 0.5) = 67.40
    debride, gall = apply_surgical_rules([line("11042", units=2), line("47562")])
    assert debride.amount == D("67.40") and debride.adjustments[0].factor == D("1.0")
    assert (debride.mppr_rank, gall.mppr_rank) == (2, 1)
    assert gall.amount == D("763.90")
    # 11042 x3 alone: 100% + 50% + 50% = factor 2.0 -> 134.80
    (alone,) = apply_surgical_rules([line("11042", units=3)])
    assert (alone.amount, alone.factor) == (D("134.80"), D("2.0"))


def test_single_procedure_and_non_surgical_lines_are_not_reduced(line):
    # 99213 has MULT PROC 0: never reduced; 27447 is then the only eligible procedure.
    knee, visit = apply_surgical_rules([line("27447"), line("99213", units=2)])
    assert (knee.amount, knee.adjustments) == (D("1465.45"), ())
    # 99213 facility 71.64 x 2 units = 143.28
    assert visit.amount == D("143.28")
    assert visit.adjustments == (Adjustment("Units", D("2"), "2 units at 100% each."),)


def test_bilateral_150_percent(line):
    # 27447-50, BILAT 1: 1465.45 * 1.5 = 2198.175 -> 2198.18 (half-up)
    (knee,) = apply_surgical_rules([line("27447", ["50"])])
    assert knee.amount == D("2198.18")
    assert [(a.label, a.factor) for a in knee.adjustments] == [
        ("Bilateral (modifier 50)", D("1.5"))
    ]


def test_bilateral_indicators_0_and_3(line, quote, files):
    # 47562-50 has BILAT 0: no 150%; 100% of the single code = 763.90
    (gall,) = apply_surgical_rules([line("47562", ["50"])])
    assert gall.amount == D("763.90") and "does not apply" in gall.adjustments[0].explanation
    # 73560-26 has BILAT 3: each side at 100%.
    # 0.16*1.065 + 0.07*1.166 + 0.01*1.656 = 0.1704 + 0.08162 + 0.01656 = 0.26858
    # 0.26858 * 32.3465 = 8.6876 -> 8.69 ; x 2 = 17.38
    (xray,) = apply_surgical_rules([line("73560", ["26", "50"])])
    assert (xray.base_amount, xray.amount) == (D("8.69"), D("17.38"))


def test_bilateral_is_applied_before_ranking(line):
    # Alone, 47562 (763.90) outranks 29881 (626.66); bilateral 29881 is
    # 626.66 * 1.5 = 939.99 and becomes the primary procedure.
    gall, scope = apply_surgical_rules([line("47562"), line("29881", ["50", "RT"])])
    assert (scope.mppr_rank, scope.amount) == (1, D("939.99"))
    # 47562 at 50%: 381.95
    assert (gall.mppr_rank, gall.amount) == (2, D("381.95"))
    # 29881 is an endoscopy (MULT PROC 3): the simplification is spelled out.
    assert "endoscopic family rule" in scope.adjustments[-1].explanation


def test_assistant_at_surgery(line):
    # 27447-80 (ASST 2): 1465.45 * 0.16 = 234.472 -> 234.47
    (a80,) = apply_surgical_rules([line("27447", ["80"])])
    assert a80.amount == D("234.47")
    # 27447-AS: 1465.45 * 0.16 * 0.85 = 199.3012 -> 199.30
    (a_as,) = apply_surgical_rules([line("27447", ["AS"])])
    assert a_as.amount == D("199.30") and a_as.factor == D("0.1360")
    # 29881-82 (ASST 0, documentation): 626.66 * 0.16 = 100.2656 -> 100.27
    (doc,) = apply_surgical_rules([line("29881", ["82"])])
    assert doc.amount == D("100.27") and "documentation" in doc.adjustments[-1].explanation
    # 11042-81 (ASST 1): statutory restriction -> not payable
    (never,) = apply_surgical_rules([line("11042", ["81"])])
    assert never.amount is None and "statutory" in never.reason
    # 77427-80 (ASST 9): the concept does not apply -> not payable
    (na,) = apply_surgical_rules([line("77427", ["80"])])
    assert na.amount is None and "ASST SURG 9" in na.reason


def test_assistant_lines_are_ranked_apart_from_the_surgeon(line):
    # Surgeon: 27447 100% + 63047 50% ; assistant: the same two codes at 16%:
    # 27447-80 1465.45 * 0.16 = 234.47 ; 63047-80 1303.66 * 0.5 * 0.16 = 104.2928 -> 104.29
    out = apply_surgical_rules(
        [line("27447"), line("63047"), line("27447", ["80"]), line("63047", ["80"])]
    )
    assert [o.amount for o in out] == [D("1465.45"), D("651.83"), D("234.47"), D("104.29")]
    assert [o.mppr_rank for o in out] == [1, 2, 1, 2]


def test_co_surgeons(line):
    # 63047-62 (CO 2): 1303.66 * 0.625 = 814.7875 -> 814.79
    (spine,) = apply_surgical_rules([line("63047", ["62"])])
    assert spine.amount == D("814.79")
    # 27447-62 (CO 1): 1465.45 * 0.625 = 915.90625 -> 915.91, documentation required
    (knee,) = apply_surgical_rules([line("27447", ["62"])])
    assert knee.amount == D("915.91") and "documentation" in knee.adjustments[-1].explanation
    # 11042-62 (CO 0): not permitted
    (no,) = apply_surgical_rules([line("11042", ["62"])])
    assert no.amount is None and "not permitted" in no.reason


def test_co_surgeons_with_multiple_procedures(line):
    # 27447-62: 1465.45 * 1 * 0.625 = 915.90625 -> 915.91
    # 63047-62: 1303.66 * 0.5 * 0.625 = 407.39375 -> 407.39
    knee, spine = apply_surgical_rules([line("27447", ["62"]), line("63047", ["62", "51"])])
    assert (knee.amount, spine.amount) == (D("915.91"), D("407.39"))
    assert [a.label for a in spine.adjustments] == [
        "Multiple procedure",
        "Co-surgeon (modifier 62)",
    ]


def test_team_surgery_and_unpriced_lines(line):
    team, carrier, knee = apply_surgical_rules(
        [line("63047", ["66"]), line("0042T"), line("27447")]
    )
    assert team.amount is None and "not permitted" in team.reason  # 63047 TEAM SURG 0
    assert carrier.amount is None and carrier.reason.startswith("Status C ")
    # neither takes part in the ranking, so 27447 is a lone procedure at 100%
    assert (knee.amount, knee.adjustments) == (D("1465.45"), ())


def test_other_mppr_indicators_are_noted_not_applied(line):
    a, b = apply_surgical_rules([line("70496", ["26"]), line("74177", ["26"])])
    assert a.amount == a.base_amount and b.amount == b.base_amount
    assert all("imaging" in o.notes[0] for o in (a, b))


def test_units_must_be_positive(line):
    with pytest.raises(ValueError, match="units"):
        line("27447", units=0)


# ------------------------------------------------------------------ helpers


def _rvu_row(work, nonfac_pe, fac_pe, mp, cf="10", status="A") -> RvuRow:
    return RvuRow(
        hcpcs="99999", modifier="", status=status, work_rvu=D(work), nonfac_pe_rvu=D(nonfac_pe),
        nonfac_na=False, fac_pe_rvu=D(fac_pe), fac_na=False, mp_rvu=D(mp), pctc="0",
        global_days="XXX", mult_proc="0", bilat_surg="0", asst_surg="0", co_surg="0",
        team_surg="0", conv_factor=D(cf), line_no=0,
    )  # fmt: skip


def _gpci() -> GpciRow:
    return GpciRow("00000", "XX", "00", "UNIT", D("1"), D("1"), D("1"), 0)
