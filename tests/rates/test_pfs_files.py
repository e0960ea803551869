"""Parsers for the CMS Physician Fee Schedule files, on the real vendored CY2025
files and on small in-memory files built to break them."""

from __future__ import annotations

import collections
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from advocate.rates.pfs_files import (
    AnesRow,
    GpciRow,
    PfsFileError,
    RvuRow,
    ZipRow,
    open_bundle,
    parse_anes,
    parse_gpci,
    parse_rvu,
    parse_zip5,
)

DATA = Path(__file__).resolve().parents[2] / "advocate" / "rates" / "data" / "pfs2025"
RVU_FILE = DATA / "PPRRVU2025_Oct.csv"
GPCI_FILE = DATA / "GPCI2025.csv"
ZIP5_FILE = DATA / "ZIP5_OCT2025.txt"
ANES_FILE = DATA / "ANES2025.csv"
LAYOUT_FILE = DATA / "ZIP5lyout.txt"


# ---------------------------------------------------------------- real files


@pytest.fixture(scope="module")
def rvu_rows() -> list[RvuRow]:
    return list(parse_rvu(RVU_FILE))


@pytest.fixture(scope="module")
def rvu(rvu_rows) -> dict[tuple[str, str], RvuRow]:
    return {r.key: r for r in rvu_rows}


@pytest.fixture(scope="module")
def gpci_rows() -> list[GpciRow]:
    return list(parse_gpci(GPCI_FILE))


@pytest.fixture(scope="module")
def zip_rows() -> list[ZipRow]:
    return list(parse_zip5(ZIP5_FILE))


@pytest.fixture(scope="module")
def anes_rows() -> list[AnesRow]:
    return list(parse_anes(ANES_FILE))


def test_real_rvu_counts(rvu_rows):
    # 19,100 physical lines: 10 header lines + 19,090 data rows.
    assert len(rvu_rows) == 19090
    statuses = collections.Counter(r.status for r in rvu_rows)
    assert statuses == {
        "A": 9021,
        "X": 2548,
        "E": 1569,
        "I": 1486,
        "C": 1347,
        "M": 1216,
        "R": 1058,
        "N": 336,
        "J": 276,
        "P": 142,
        "B": 83,
        "T": 8,
    }
    mods = collections.Counter(r.modifier for r in rvu_rows)
    assert mods == {"": 16851, "26": 1127, "TC": 1108, "53": 4}
    assert sum(r.nonfac_na for r in rvu_rows) == 4064
    assert sum(r.fac_na for r in rvu_rows) == 2530
    assert sum(r.not_used_for_medicare for r in rvu_rows) == 148
    assert rvu_rows[0].line_no == 11 and rvu_rows[-1].line_no == 19100


def test_real_rvu_spot_rows(rvu):
    r = rvu[("99213", "")]
    assert (r.status, r.work_rvu, r.nonfac_pe_rvu, r.fac_pe_rvu, r.mp_rvu) == (
        "A",
        Decimal("1.30"),
        Decimal("1.35"),
        Decimal("0.57"),
        Decimal("0.10"),
    )
    assert (r.nonfac_na, r.fac_na, r.pctc, r.global_days) == (False, False, "0", "XXX")
    assert (r.nonfac_total, r.fac_total, r.conv_factor) == (
        Decimal("2.75"),
        Decimal("1.97"),
        Decimal("32.3465"),
    )

    tc = rvu[("71046", "TC")]
    assert (tc.work_rvu, tc.nonfac_pe_rvu, tc.fac_na, tc.pctc) == (
        Decimal("0.00"),
        Decimal("0.69"),
        True,
        "1",
    )
    assert (tc.opps_nonfac_pe_rvu, tc.opps_fac_pe_rvu, tc.opps_mp_rvu) == (
        Decimal("2.68"),
        Decimal("2.68"),
        Decimal("0.04"),
    )
    pc = rvu[("71046", "26")]
    assert (pc.work_rvu, pc.fac_pe_rvu, pc.mp_rvu, pc.opps_capped) == (
        Decimal("0.22"),
        Decimal("0.08"),
        Decimal("0.01"),
        False,
    )

    knee = rvu[("27447", "")]
    assert knee.nonfac_na and not knee.fac_na
    assert (knee.global_days, knee.mult_proc, knee.bilat_surg) == ("090", "2", "1")
    assert (knee.asst_surg, knee.co_surg, knee.team_surg) == ("2", "1", "0")

    scope = rvu[("29881", "")]
    assert (scope.mult_proc, scope.endo_base) == ("3", "29870")

    assert rvu[("45378", "53")].work_rvu == Decimal("1.63")
    both_na = rvu[("93571", "")]
    assert both_na.nonfac_na and both_na.fac_na and both_na.status == "C"
    bundled = rvu[("36000", "")]
    assert bundled.status == "B" and bundled.not_used_for_medicare


def test_real_rvu_line_numbers_are_physical_lines(rvu):
    lines = RVU_FILE.read_text().splitlines()
    for code in ("99213", "0001F", "V5364", "G0008"):
        line_no = next(i for i, text in enumerate(lines, 1) if text.startswith(code + ",,"))
        assert rvu[(code, "")].line_no == line_no


def test_real_rvu_totals_are_consistent(rvu_rows):
    # Cross-check of the column mapping: CMS's totals equal the sum of the
    # components we read (using the facility PE where the non-facility is NA).
    for r in rvu_rows:
        nonfac_pe = r.fac_pe_rvu if r.nonfac_na else r.nonfac_pe_rvu
        assert r.work_rvu + nonfac_pe + r.mp_rvu == r.nonfac_total, r
        assert r.work_rvu + r.fac_pe_rvu + r.mp_rvu == r.fac_total, r
    assert {r.conv_factor for r in rvu_rows} == {Decimal("32.3465")}
    # Every endoscopy (MULT PROC 3) names its base code, and only those do.
    assert all(bool(r.endo_base) == (r.mult_proc == "3") for r in rvu_rows)


def test_rvu_rows_never_carry_a_description(rvu_rows):
    assert "description" not in RvuRow.__dataclass_fields__
    assert not hasattr(rvu_rows[0], "description")


def test_real_gpci(gpci_rows):
    assert len(gpci_rows) == 109
    by_key = {g.key: g for g in gpci_rows}
    assert len(by_key) == 109
    manhattan = by_key[("13202", "01")]
    assert (manhattan.state, manhattan.name) == ("NY", "MANHATTAN")
    assert (manhattan.pw, manhattan.pe, manhattan.mp) == (
        Decimal("1.065"),
        Decimal("1.166"),
        Decimal("1.656"),
    )
    assert manhattan.mac == "13202" and manhattan.line_no == 78
    alaska = by_key[("02102", "01")]
    assert (alaska.name, alaska.pw) == ("ALASKA", Decimal("1.5"))  # '*' footnote stripped
    assert by_key[("01212", "01")].name == "HAWAII, GUAM"  # quoted cell with a comma
    assert by_key[("10112", "00")].pw == Decimal("1")  # 1.0 work floor
    # Frontier states (the '**' footnote): PE GPCI floor of 1.0
    assert [g.pe for g in gpci_rows if g.state in ("MT", "NV", "ND", "SD", "WY")] == [1] * 5


def test_real_zip5(zip_rows, gpci_rows):
    assert len(zip_rows) == 42956
    by_zip = {z.zip: z for z in zip_rows}
    z = by_zip["10001"]
    assert (z.state, z.carrier, z.locality, z.rural, z.plus_four) == (
        "NY",
        "13202",
        "01",
        "",
        False,
    )
    assert (z.year_quarter, z.year, z.quarter, z.line_no) == ("20254", 2025, 4, 26150)
    assert by_zip["35010"].rural == "R"
    assert by_zip["99545"].rural == "B"
    assert by_zip["35958"].plus_four is True
    assert collections.Counter(z.rural for z in zip_rows) == {"": 23493, "R": 11633, "B": 7830}
    assert sum(z.plus_four for z in zip_rows) == 580
    # Every ZIP points at a locality that exists in the GPCI file.
    localities = {g.key for g in gpci_rows}
    assert {z.key for z in zip_rows} <= localities


def test_real_anes(anes_rows, gpci_rows):
    assert len(anes_rows) == 109
    by_key = {a.key: a for a in anes_rows}
    assert by_key[("13202", "01")].anes_cf == Decimal("22.76")
    # "10112 ,00 ,ALABAMA,19.31 " -- padding stripped
    assert by_key[("10112", "00")] == AnesRow("10112", "00", "ALABAMA", Decimal("19.31"), 2,
                                              Decimal("20.3178"))  # fmt: skip
    assert {a.national_cf for a in anes_rows} == {Decimal("20.3178")}
    assert set(by_key) == {g.key for g in gpci_rows}


# --------------------------------------------------------- RVU error cases

REAL_HEADER = "".join(RVU_FILE.read_text().splitlines(keepends=True)[:10])
ROW_99213 = "99213,,,A,,1.30,1.35,,0.57,,0.10,2.75,1.97,0,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00\n"
ROW_99214 = "99214,,,A,,1.92,1.80,,0.83,,0.15,3.87,2.90,0,XXX,0.00,0.00,0.00,0,0,0,0,0,,32.3465,09,0,99,0.00,0.00,0.00\n"
LABEL = "PPRRVU2025_Oct.csv"


def _rvu(text: str) -> list[RvuRow]:
    return list(parse_rvu(io.BytesIO(text.encode()), label=LABEL))


def _rvu_error(text: str) -> PfsFileError:
    with pytest.raises(PfsFileError) as exc:
        _rvu(text)
    return exc.value


def test_rvu_minimal_file_with_real_header():
    rows = _rvu(REAL_HEADER + ROW_99213 + ROW_99214)
    assert [(r.hcpcs, r.line_no) for r in rows] == [("99213", 11), ("99214", 12)]


def test_rvu_non_numeric_rvu_names_line_and_column():
    err = _rvu_error(REAL_HEADER + ROW_99213 + ROW_99214.replace("1.92", "abc"))
    assert str(err) == "PPRRVU2025_Oct.csv line 12: WORK RVU 'abc' is not a number"
    assert (err.file_label, err.line_no) == (LABEL, 12)


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (ROW_99214.replace(",A,", ",Z,"), "STATUS CODE 'Z' is not a known status code"),
        (ROW_99214.replace("1.80,,0.83", "1.80,XX,0.83"), "NON-FAC NA INDICATOR 'XX'"),
        (ROW_99214.replace("0.15", "-0.15"), "MP RVU '-0.15' is negative"),
        (ROW_99214.replace("99214", "9921"), "HCPCS '9921' is not a 5-character code"),
        (ROW_99214.replace("99214,,", "99214,ABC,"), "MOD 'ABC' is not a 2-character modifier"),
        (ROW_99214.replace(",XXX,", ",045,"), "GLOB DAYS '045'"),
        (ROW_99214.replace("32.3465", ""), "CONV FACTOR '' is not a number"),
        (ROW_99214.replace("32.3465", "0.0000"), "CONV FACTOR '0.0000' must be greater"),
        (ROW_99214.replace(",,A,,", ",,A,*,"), "NOT USED FOR MEDICARE PAYMENT '*'"),
        (ROW_99214.replace(",0,0,0,0,0,", ",0,0,0,0,8,"), "TEAM SURG '8'"),
        (ROW_99214.rstrip("\n") + ",extra\n", "expected 31 columns, found 32"),
        (ROW_99214.replace(",0.00,0.00,0.00\n", ",0.00,0.00\n"), "expected 31 columns, found 30"),
    ],
)
def test_rvu_strict_row_errors(bad_row, message):
    err = _rvu_error(REAL_HEADER + ROW_99213 + "\n" + bad_row)
    assert err.line_no == 13  # the blank line 12 is skipped, not miscounted
    assert message in str(err)
    assert str(err).startswith("PPRRVU2025_Oct.csv line 13: ")


def test_rvu_duplicate_pair_names_both_lines():
    err = _rvu_error(REAL_HEADER + ROW_99213 + ROW_99214 + ROW_99213)
    assert str(err) == (
        "PPRRVU2025_Oct.csv line 13: duplicate HCPCS/modifier 99213 (first seen on line 11)"
    )
    tc = ROW_99213.replace("99213,,", "99213,TC,")
    err = _rvu_error(REAL_HEADER + tc + ROW_99213 + tc)
    assert "duplicate HCPCS/modifier 99213-TC (first seen on line 11)" in str(err)


def test_rvu_multiline_quoted_description_keeps_physical_line_numbers():
    # A description with a comma and an embedded newline spans lines 11-12.
    row = ROW_99213.replace("99213,,,", '99213,,"OFFICE, VISIT\nSECRET WORDING",', 1)
    rows = _rvu(REAL_HEADER + row + ROW_99214)
    assert [(r.hcpcs, r.line_no) for r in rows] == [("99213", 12), ("99214", 13)]
    assert "SECRET" not in repr(rows)  # the descriptor is never kept


def test_rvu_one_line_header_and_crlf_and_text_stream():
    header = (
        "HCPCS,MOD,DESCRIPTION,STATUS CODE,NOT USED FOR MEDICARE PAYMENT,WORK RVU,"
        "NON-FAC PE RVU,NON-FAC NA INDICATOR,FACILITY PE RVU,FACILITY NA INDICATOR,MP RVU,"
        "NON-FACILITY TOTAL,FACILITY TOTAL,PCTC IND,GLOB DAYS,PRE OP,INTRA OP,POST OP,"
        "MULT PROC,BILAT SURG,ASST SURG,CO-SURG,TEAM SURG,ENDO BASE,CONV FACTOR\n"
    )
    row = ",".join(ROW_99213.split(",")[:25]) + "\n"
    text = (header + row).replace("\n", "\r\n")
    rows = list(parse_rvu(io.StringIO(text, newline="")))
    assert len(rows) == 1 and rows[0].line_no == 2
    assert rows[0].opps_nonfac_pe_rvu == 0  # optional OPPS columns absent
    err = _rvu_error(header.replace("CO-SURG", "COSURGEON") + row)
    assert str(err) == (
        "PPRRVU2025_Oct.csv line 1: header: column 'CO-SURG' not found (in the expected order)"
    )


def test_rvu_without_header():
    err = _rvu_error(ROW_99213 + ROW_99214)
    assert str(err) == "PPRRVU2025_Oct.csv: no header row (first cell 'HCPCS') found"


def test_rvu_reordered_columns_are_rejected():
    lines = REAL_HEADER.splitlines(keepends=True)
    last = lines[-1].split(",")
    assert (last[14], last[18]) == ("DAYS", "PROC")
    last[14], last[18] = last[18], last[14]  # now "GLOB PROC" ... "MULT DAYS"
    err = _rvu_error("".join(lines[:-1]) + ",".join(last) + ROW_99213)
    assert err.line_no == 10 and "header: column" in str(err)


def test_rvu_label_defaults_to_file_name(tmp_path):
    path = tmp_path / "PPRRVU2099_Jan.csv"
    path.write_text(REAL_HEADER + ROW_99213.replace("1.30", "x"))
    with pytest.raises(PfsFileError, match=r"^PPRRVU2099_Jan.csv line 11: WORK RVU 'x'"):
        list(parse_rvu(path))
    with pytest.raises(PfsFileError, match=r"^PPRRVU2099_Jan.csv line 11: "):
        list(parse_rvu(str(path)))


# -------------------------------------------------------- GPCI error cases

GPCI_HEAD = (
    "ADDENDUM E. FINAL CY 2025 GPCIs,,,,,,\n"
    ",,,,,,\n"
    "Medicare Administrative Contractor (MAC),State,Locality Number,Locality Name,"
    "2025 PW GPCI (with 1.0 Floor),2025 PE GPCI,2025 MP GPCI\n"
)
GPCI_AL = "10112,AL,00,ALABAMA,1,0.869,0.575\n"
GPCI_NY = "13202,NY,01,MANHATTAN,1.065,1.166,1.656\n"
GPCI_FOOT = '"MAC Assignments as of November 22, 2023",,,,,,\n,,,,,,\n*Work GPCI note,,,,,,\n'


def _gpci(text: str) -> list[GpciRow]:
    return list(parse_gpci(io.BytesIO(text.encode()), label="GPCI2025.csv"))


def test_gpci_small_file_skips_title_and_footnotes():
    rows = _gpci(GPCI_HEAD + GPCI_AL + GPCI_NY + GPCI_FOOT)
    assert [(g.carrier, g.locality, g.line_no) for g in rows] == [
        ("10112", "00", 4),
        ("13202", "01", 5),
    ]


def test_gpci_spreadsheet_dropped_leading_zeros_are_restored():
    rows = _gpci(GPCI_HEAD + "2102,AK,1,ALASKA*,1.5,1.081,0.592\n")
    assert (rows[0].carrier, rows[0].locality, rows[0].name) == ("02102", "01", "ALASKA")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (GPCI_NY.replace("1.166", "n/a"), "GPCI2025.csv line 5: PE GPCI 'n/a' is not a number"),
        (GPCI_NY.replace(",NY,", ",New York,"), "line 5: State 'NEW YORK' is not a 2-letter code"),
        (GPCI_NY.replace("13202", "1320A"), "line 5: MAC '1320A' is not a 5-digit code"),
        (GPCI_NY.replace("1.065", "0"), "line 5: PW GPCI '0' must be greater than zero"),
        (GPCI_AL, "line 5: duplicate MAC/locality 10112/00 (first seen on line 4)"),
        ("13202,,,,,,\n", "line 5: State '' is not a 2-letter code"),  # truncated row
        ("13202,NY,01,MANHATTAN,1.065\n", "line 5: expected 7 columns, found 5"),
    ],
)
def test_gpci_errors(bad, message):
    with pytest.raises(PfsFileError) as exc:
        _gpci(GPCI_HEAD + GPCI_AL + bad)
    assert message in str(exc.value)


def test_gpci_without_header():
    with pytest.raises(PfsFileError, match=r"^GPCI2025.csv: no GPCI header row found$"):
        _gpci(GPCI_AL + GPCI_NY)


# -------------------------------------------------------- ZIP5 error cases


def _zip_rec(
    state="NY", zip_code="10001", carrier="13202", locality="01", rural=" ", plus4="0", yq="20254"
) -> str:
    rec = f"{state}{zip_code}{carrier}{locality}{rural}Z9{rural}  {plus4} A".ljust(75) + yq
    assert len(rec) == 80
    return rec + "\r\n"


def _zip5(text: str) -> list[ZipRow]:
    return list(parse_zip5(io.BytesIO(text.encode()), label="ZIP5_OCT2025.txt"))


def test_zip5_record_builder_matches_real_file():
    real = ZIP5_FILE.read_text().splitlines()[26149]  # line 26150
    assert _zip_rec().rstrip("\r\n") == real


def test_zip5_small_file():
    rows = _zip5(
        _zip_rec() + _zip_rec(zip_code="35010", rural="R", state="AL", carrier="10112",
                              locality="00", plus4="1") + "\r\n"
    )  # fmt: skip
    assert rows[1] == ZipRow("AL", "35010", "10112", "00", "R", True, "20254", 2)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (_zip_rec(zip_code="1000A"), "ZIP '1000A' is not 5 digits"),
        (_zip_rec(zip_code="1 001"), "ZIP '1 001' is not 5 digits"),
        (_zip_rec(rural="X"), "rural indicator 'X' is not blank, 'R' or 'B'"),
        (_zip_rec(plus4="2"), "plus-four flag '2' is not '0' or '1'"),
        (_zip_rec(yq="20255"), "year/quarter '20255' is not YYYYQ"),
        (_zip_rec(state="N1"), "state 'N1' is not a 2-letter code"),
        (_zip_rec(locality="0A"), "locality '0A' is not 2 digits"),
        (_zip_rec()[:-10] + "\r\n", "record is 72 characters long, expected 80"),
        (_zip_rec(), "duplicate ZIP 10001 (first seen on line 1)"),
    ],
)
def test_zip5_errors(bad, message):
    with pytest.raises(PfsFileError) as exc:
        _zip5(_zip_rec() + _zip_rec(zip_code="10002") + bad)
    assert str(exc.value) == f"ZIP5_OCT2025.txt line 3: {message}"


# -------------------------------------------------------- ANES error cases


def test_anes_errors_and_padding():
    head = "Contractor,Locality,Locality Name,National Anes CF of 20.3178\n"
    rows = list(parse_anes(io.StringIO(head + "10112 ,00 ,ALABAMA,19.31 \n,,,\n")))
    assert rows == [AnesRow("10112", "00", "ALABAMA", Decimal("19.31"), 2, Decimal("20.3178"))]
    with pytest.raises(PfsFileError, match=r"^ANES2025.csv line 3: anesthesia CF '' is not"):
        list(parse_anes(io.StringIO(head + "10112,00,ALABAMA,19.31\n13202,01,MANHATTAN,\n"),
                        label="ANES2025.csv"))  # fmt: skip
    with pytest.raises(PfsFileError, match=r"line 3: duplicate contractor/locality 10112/00"):
        list(parse_anes(io.StringIO(head + "10112,00,ALABAMA,19.31\n10112,00,ALABAMA,19.31\n")))


# ---------------------------------------------------------------- bundles


def _make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_open_bundle_finds_files_in_subfolders_case_insensitively(tmp_path):
    members = {
        "RVU25D/pprrvu2025_oct.csv": RVU_FILE.read_bytes(),
        "RVU25D/GPCI2025.CSV": GPCI_FILE.read_bytes(),
        "RVU25D/ANES2025.csv": ANES_FILE.read_bytes(),
        "RVU25D/RVU25D.pdf": b"%PDF-1.4",
        "zip/ZIP5lyout.txt": LAYOUT_FILE.read_bytes(),
        "zip/ZIP5_OCT2025.txt": ZIP5_FILE.read_bytes(),
        "__MACOSX/RVU25D/._PPRRVU2025_Oct.csv": b"junk",
    }
    bundle = open_bundle(_make_zip(tmp_path / "rvu25d.zip", members))
    assert set(bundle) == {"rvu", "gpci", "zip5", "anes"}
    assert bundle["zip5"].name == "zip/ZIP5_OCT2025.txt"
    assert len(list(parse_rvu(bundle["rvu"]))) == 19090
    assert len(list(parse_gpci(bundle["gpci"]))) == 109
    assert len(list(parse_zip5(bundle["zip5"]))) == 42956
    assert len(list(parse_anes(bundle["anes"]))) == 109


def test_open_bundle_errors_name_the_file_label(tmp_path):
    # Line errors in a bundle member are labelled with the member's file name.
    bad_rvu = (REAL_HEADER + ROW_99213.replace("0.57", "?")).encode()
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w") as zf:
        zf.writestr("ZIP5_OCT2025.txt", ZIP5_FILE.read_bytes())
    members = {
        "a/PPRRVU25_JAN.csv": bad_rvu,
        "GPCI2025.csv": GPCI_FILE.read_bytes(),
        "ANES2025.csv": ANES_FILE.read_bytes(),
        "ZIP_CODE_CARRIER_LOCALITY.zip": nested.getvalue(),
    }
    bundle = open_bundle(_make_zip(tmp_path / "b.zip", members))
    assert bundle["zip5"].name == "ZIP_CODE_CARRIER_LOCALITY.zip!/ZIP5_OCT2025.txt"
    with pytest.raises(PfsFileError) as exc:
        list(parse_rvu(bundle["rvu"]))
    assert str(exc.value) == "PPRRVU25_JAN.csv line 11: FACILITY PE RVU '?' is not a number"


def test_open_bundle_missing_and_ambiguous(tmp_path):
    base = {
        "PPRRVU2025_Oct.csv": b"",
        "GPCI2025.csv": b"",
        "ANES2025.csv": b"",
        "ZIP5lyout.txt": b"layout only",
    }
    with pytest.raises(PfsFileError) as exc:
        open_bundle(_make_zip(tmp_path / "missing.zip", base))
    assert str(exc.value) == "missing.zip: no ZIP5*.TXT file found in the bundle"

    two = dict(base, **{"ZIP5_OCT2025.txt": b"", "old/ZIP5_JUL2025.txt": b""})
    with pytest.raises(PfsFileError, match=r"several ZIP5\*\.TXT files in the bundle: "):
        open_bundle(_make_zip(tmp_path / "two.zip", two))

    not_zip = tmp_path / "not.zip"
    not_zip.write_bytes(b"PK? no")
    with pytest.raises(PfsFileError, match=r"^not.zip: not a readable zip file"):
        open_bundle(not_zip)
