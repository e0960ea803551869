"""Importing the fee schedule from small files cut from the real CY2025 ones:
validation errors name the file and line and load nothing, a re-import
replaces the year atomically, CMS zip bundles, the CLI, the lookup page and
the demo seed."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from advocate.extensions import db
from advocate.rates.importer import import_pfs
from advocate.rates.models import PfsAnesCf, PfsGpci, PfsRvu, PfsYear, PfsZipLocality
from tests.factories import login, make_firm, make_user

DATA = Path(__file__).resolve().parents[2] / "advocate" / "rates" / "data" / "pfs2025"

CODES = ("99213", "27447", "71046", "36415", "00100")
ZIPS = ("10001", "35004", "99545")
LOCALITIES = ("10112,AL,00,", "02102,AK,01,", "13202,NY,01,")


def _rvu_text() -> str:
    lines = (DATA / "PPRRVU2025_Oct.csv").read_text().splitlines(keepends=True)
    header = lines[:10]
    rows = [line for line in lines[10:] if line.split(",", 1)[0] in CODES]
    return "".join(header + rows)


def _gpci_text() -> str:
    lines = (DATA / "GPCI2025.csv").read_text().splitlines(keepends=True)
    return "".join(lines[:3] + [line for line in lines[3:] if line.startswith(LOCALITIES)])


def _zip_text() -> str:
    lines = (DATA / "ZIP5_OCT2025.txt").read_text().splitlines(keepends=True)
    return "".join(line for line in lines if line[2:7] in ZIPS)


def _anes_text() -> str:
    lines = (DATA / "ANES2025.csv").read_text().splitlines(keepends=True)
    keys = tuple(f"{loc[:5]} ,{loc[9:11]} " for loc in LOCALITIES)
    return "".join(lines[:1] + [line for line in lines[1:] if line.startswith(keys)])


@pytest.fixture()
def files(tmp_path) -> dict[str, Path]:
    out = {}
    for key, name, text in (
        ("rvu", "PPRRVU2025_Oct.csv", _rvu_text()),
        ("gpci", "GPCI2025.csv", _gpci_text()),
        ("zip5", "ZIP5_OCT2025.txt", _zip_text()),
        ("anes", "ANES2025.csv", _anes_text()),
    ):
        path = tmp_path / name
        path.write_text(text)
        out[key] = path
    return out


def _counts() -> dict[str, int]:
    return {
        m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
        for m in (PfsYear, PfsRvu, PfsGpci, PfsZipLocality, PfsAnesCf)
    }


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["rates", *[str(a) for a in args]])


def _cli_files(files, keys=("rvu", "gpci", "zip5", "anes")):
    opt = {"rvu": "--rvu", "gpci": "--gpci", "zip5": "--zip", "anes": "--anes"}
    out = []
    for k in keys:
        out += [opt[k], files[k]]
    return out


EMPTY = {"pfs_years": 0, "pfs_rvus": 0, "pfs_gpcis": 0, "pfs_zip_localities": 0, "pfs_anes_cfs": 0}


def test_small_files_load_and_price(db_app, files):
    result = import_pfs(db.session, 2025, **files)
    db.session.commit()
    assert result.counts == {"rvu": 7, "gpci": 3, "zip5": 3, "anes": 3}
    assert result.replaced is False
    assert _counts() == {
        "pfs_years": 1,
        "pfs_rvus": 7,  # 71046 has three rows: global, 26, TC
        "pfs_gpcis": 3,
        "pfs_zip_localities": 3,
        "pfs_anes_cfs": 3,
    }
    from advocate.rates.services import medicare_price

    assert medicare_price(2025, "99213", "", pos="11", zip_code="10001").amount == Decimal("101.06")


def test_reimport_replaces_the_year(db_app, files, tmp_path):
    import_pfs(db.session, 2025, **files)
    db.session.commit()
    # A corrected release: 99213's work RVU changes, one ZIP and 36415 disappear.
    rvu = files["rvu"].read_text().replace("99213,,,A,,1.30,", "99213,,,A,,1.40,")
    rvu = "".join(line for line in rvu.splitlines(keepends=True) if not line.startswith("36415,"))
    new_rvu = tmp_path / "PPRRVU2025_Oct_corrected.csv"
    new_rvu.write_text(rvu)
    new_zip = tmp_path / "ZIP5_JAN2025.txt"
    new_zip.write_text(
        "".join(line for line in _zip_text().splitlines(keepends=True) if "99545" not in line)
    )
    result = import_pfs(db.session, 2025, rvu=new_rvu, gpci=files["gpci"], zip5=new_zip)
    db.session.commit()
    assert result.replaced is True
    db.session.expire_all()
    year = db.session.get(PfsYear, 2025)
    assert (year.rvu_file, year.zip_file, year.anes_file) == (
        "PPRRVU2025_Oct_corrected.csv",
        "ZIP5_JAN2025.txt",
        None,
    )
    assert _counts() == {
        "pfs_years": 1,
        "pfs_rvus": 6,
        "pfs_gpcis": 3,
        "pfs_zip_localities": 2,
        "pfs_anes_cfs": 0,
    }
    assert db.session.get(PfsRvu, (2025, "99213", "")).work_rvu == Decimal("1.40")
    assert db.session.get(PfsRvu, (2025, "36415", "")) is None


def _expect_error(app, files, key, text, message, tmp_path):
    path = tmp_path / files[key].name
    path.write_text(text)
    broken = dict(files, **{key: path})
    result = _cli(app, "import-pfs", "--year", 2025, *_cli_files(broken))
    assert result.exit_code == 1, result.output
    assert message in result.output, result.output
    assert "nothing was imported" in result.output
    assert _counts() == EMPTY


@pytest.mark.parametrize(
    ("key", "change", "message"),
    [
        (
            "rvu",
            ("99213,,,A,", "99213,,,Q,"),
            "PPRRVU2025_Oct.csv line 17: STATUS CODE 'Q' is not a known status code",
        ),
        (
            "rvu",
            ("99213,,,A,,1.30,", "99213,,,A,,1.3x,"),
            "PPRRVU2025_Oct.csv line 17: WORK RVU '1.3x' is not a number",
        ),
        (
            "rvu",
            ("99213,,,A,,1.30,", "99213,,,A,,1.30001,"),
            "PPRRVU2025_Oct.csv line 17: WORK RVU 1.30001 has more than 4 decimals",
        ),
        (
            "rvu",
            ("2025 National Physician", "2024 National Physician"),
            "PPRRVU2025_Oct.csv line 1: the file is for 2024, not 2025 (--year)",
        ),
        (
            "gpci",
            ("13202,NY,01,MANHATTAN,1.065,", "13202,NY,1X,MANHATTAN,1.065,"),
            "GPCI2025.csv line 6: Locality Number '1X' is not a 2-digit code",
        ),
        ("gpci", ("2025 PE GPCI", "2025 PE INDEX"), "GPCI2025.csv: no GPCI header row found"),
        (
            "zip5",
            ("NY100011320201", "NY100011320299"),
            "ZIP5_OCT2025.txt line 3: ZIP 10001 is in carrier 13202 locality 99, which GPCI2025.csv does not list",
        ),
        (
            "zip5",
            ("20254\n", "20244\n"),
            "ZIP5_OCT2025.txt line 1: the record is for 2024 (year/quarter 20244), not 2025 (--year)",
        ),
        (
            "zip5",
            ("NY10001", "NY1000"),
            "ZIP5_OCT2025.txt line 3: record is 79 characters long, expected 80",
        ),
        (
            "anes",
            ("13202 ,01 ,MANHATTAN,22.76", "13202 ,01 ,MANHATTAN,-22.76"),
            "ANES2025.csv line 4: anesthesia CF '-22.76' is negative",
        ),
    ],
)
def test_bad_files_name_file_and_line_and_load_nothing(
    db_app, files, tmp_path, key, change, message
):
    text = files[key].read_text()
    assert change[0] in text
    _expect_error(db_app, files, key, text.replace(change[0], change[1], 1), message, tmp_path)


def test_empty_rvu_file_is_refused(db_app, files, tmp_path):
    header_only = "".join(_rvu_text().splitlines(keepends=True)[:10])
    _expect_error(
        db_app, files, "rvu", header_only, "PPRRVU2025_Oct.csv: no rows after the header", tmp_path
    )


def test_failing_reimport_keeps_the_previous_year(db_app, files, tmp_path):
    assert _cli(db_app, "import-pfs", "--year", 2025, *_cli_files(files)).exit_code == 0
    before = _counts()
    imported_at = db.session.get(PfsYear, 2025).imported_at
    bad = tmp_path / "bad" / "ZIP5_OCT2025.txt"
    bad.parent.mkdir()
    bad.write_text(_zip_text().replace("NY10001", "NY1000A"))
    result = _cli(
        db_app,
        "import-pfs",
        "--year",
        2025,
        "--rvu",
        files["rvu"],
        "--gpci",
        files["gpci"],
        "--zip",
        bad,
    )
    assert result.exit_code == 1
    assert "ZIP5_OCT2025.txt line 3: ZIP '1000A' is not 5 digits" in result.output
    db.session.expire_all()
    assert _counts() == before
    assert db.session.get(PfsYear, 2025).imported_at == imported_at
    assert db.session.get(PfsYear, 2025).anes_rows == 3


def test_cli_reports_counts_and_lists_years(db_app, files):
    result = _cli(db_app, "import-pfs", "--year", 2025, *_cli_files(files))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "Imported the 2025 Medicare fee schedule (release A, effective 2025-01-01): 7 RVU rows, "
        "3 localities, 3 ZIP codes"
    )
    again = _cli(db_app, "import-pfs", "--year", 2025, *_cli_files(files, ("rvu", "gpci", "zip5")))
    assert again.output.startswith("Replaced the 2025 Medicare fee schedule")
    listing = _cli(db_app, "pfs-years")
    assert (
        "2025 release A (effective 2025-01-01): CF 32.3465, 7 RVU rows (PPRRVU2025_Oct.csv)"
        in listing.output
    )
    missing = _cli(
        db_app, "import-pfs", "--year", 2025, "--rvu", files["rvu"], "--gpci", files["gpci"]
    )
    assert missing.exit_code == 1
    assert "no ZIP5 file: give --zip or a --bundle that contains it" in missing.output
    bad_year = _cli(db_app, "import-pfs", "--year", 1890, *_cli_files(files))
    assert "--year 1890 is not a plausible fee schedule year" in bad_year.output


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_cms_bundles_as_downloaded(db_app, files, tmp_path):
    # CMS ships the RVU zip and the ZIP code zip separately; the latter nests its files.
    rvu_zip = _zip(
        tmp_path / "rvu25d.zip",
        {
            "PPRRVU2025_Oct.csv": files["rvu"].read_bytes(),
            "GPCI2025.csv": files["gpci"].read_bytes(),
            "ANES2025.csv": files["anes"].read_bytes(),
            "RVU25D.pdf": b"%PDF-1.4",
        },
    )
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("ZIP5_OCT2025.txt", files["zip5"].read_bytes())
        zf.writestr("ZIP5lyout.txt", b"layout")
    zip_zip = _zip(
        tmp_path / "zip-code-carrier-locality.zip", {"ZIP5_OCT2025.zip": inner.getvalue()}
    )
    result = _cli(db_app, "import-pfs", "--year", 2025, "--bundle", rvu_zip, "--bundle", zip_zip)
    assert result.exit_code == 0, result.output
    assert "7 RVU rows, 3 localities, 3 ZIP codes, 3 anesthesia factors" in result.output
    assert db.session.get(PfsYear, 2025).zip_file == "ZIP5_OCT2025.txt"

    twice = _cli(
        db_app,
        "import-pfs",
        "--year",
        2025,
        "--bundle",
        rvu_zip,
        "--bundle",
        zip_zip,
        "--zip",
        files["zip5"],
    )
    assert twice.exit_code == 1
    assert "second ZIP5 file (already given by --zip)" in twice.output
    only_rvu = _cli(db_app, "import-pfs", "--year", 2025, "--bundle", rvu_zip)
    assert "no ZIP5 file" in only_rvu.output


def test_release_label_and_effective_date_from_the_cms_bundles(
    db_app, files, tmp_path, make_browser
):
    # Issue 17 item 2: the files as CMS publishes them, imported as release B.
    rvu_zip = _zip(
        tmp_path / "rvu25b.zip",
        {n: files[k].read_bytes() for k, n in (("rvu", "PPRRVU2025_Oct.csv"),
                                               ("gpci", "GPCI2025.csv"), ("anes", "ANES2025.csv"))},
    )  # fmt: skip
    zip_zip = _zip(tmp_path / "zip.zip", {"ZIP5_OCT2025.txt": files["zip5"].read_bytes()})
    bundles = ("--bundle", rvu_zip, "--bundle", zip_zip)
    bad = _cli(db_app, "import-pfs", "--year", 2025, *bundles, "--release", "B2")
    assert bad.exit_code == 1 and "--release: 'B2' is not a CMS release letter" in bad.output
    bad = _cli(db_app, "import-pfs", "--year", 2025, *bundles, "--effective", "2024-12-31")
    assert bad.exit_code == 1 and "--effective: 2024-12-31 is not in 2025 (--year)" in bad.output
    assert db.session.get(PfsYear, 2025) is None  # nothing partial

    ok = _cli(
        db_app,
        "import-pfs",
        "--year",
        2025,
        *bundles,
        "--release",
        "b",
        "--effective",
        "2025-04-01",
    )
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith(
        "Imported the 2025 Medicare fee schedule (release B, effective 2025-04-01): 7 RVU rows"
    )
    db.session.expire_all()
    y = db.session.get(PfsYear, 2025)
    assert (y.release, y.effective) == ("B", date(2025, 4, 1))
    assert "2025 release B (effective 2025-04-01)" in _cli(db_app, "pfs-years").output

    firm = make_firm()
    b = make_browser()
    login(b, make_user(firm.tenant, "viewer"))
    html = b.get("/rates/medicare").get_data(as_text=True)
    assert 'data-release="B"' in html
    assert "CY2025 release B, effective" in html and "7 RVU rows" in html
    assert "PPRRVU2025_Oct.csv" in html and "ZIP5_OCT2025.txt" in html


# ------------------------------------------------------------------ the lookup page


def test_lookup_page_shows_amount_and_formula(db_app, files, make_browser):
    import_pfs(db.session, 2025, **files)
    db.session.commit()
    firm = make_firm()
    viewer = make_user(firm.tenant, "viewer")
    b = make_browser()
    login(b, viewer)
    page = b.get("/rates/medicare")
    assert page.status_code == 200
    assert "Look up a rate" in page.get_data(as_text=True)
    r = b.get("/rates/medicare?year=2025&code=99213&zip=10001&pos=11")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "$101.06" in html
    assert "MANHATTAN" in html and "1.065" in html and "32.3465" in html
    assert 'data-testid="formula"' in html
    # 36415 is status X: no amount, and the page says why.
    x = b.get("/rates/medicare?year=2025&code=36415&zip=10001&pos=11").get_data(as_text=True)
    assert "Not priced" in x and "Status X (statutory exclusion)" in x
    missing = b.get("/rates/medicare?year=2025&code=99999&zip=10001&pos=11").get_data(as_text=True)
    assert "99999 is not in the 2025 Medicare fee schedule" in missing
    bad = b.get("/rates/medicare?year=2025&code=99213&zip=10001&pos=XY")
    assert bad.status_code == 422
    assert "pos must be a 2-digit place of service code" in bad.get_data(as_text=True)


def test_lookup_page_is_for_staff_only(db_app, files, make_browser):
    firm = make_firm()
    practice_user = make_user(firm.tenant, "practice_user")
    b = make_browser()
    login(b, practice_user)
    assert b.get("/rates/medicare").status_code == 403


def test_lookup_page_without_a_loaded_year_says_how_to_load(db_app, make_browser):
    firm = make_firm()
    b = make_browser()
    login(b, firm.owner)
    html = b.get("/rates/medicare?code=99213&zip=10001&pos=11").get_data(as_text=True)
    assert "No Medicare fee schedule loaded" in html


def test_demo_seed_loads_the_vendored_year_once(db_app):
    from advocate.demo import seed_medicare_rates

    assert (
        seed_medicare_rates() == "Medicare fee schedule 2025: loaded 19,090 codes, 42,956 ZIP codes"
    )
    assert seed_medicare_rates() == "Medicare fee schedule 2025: already loaded"
    assert db.session.scalar(select(func.count()).select_from(PfsZipLocality)) == 42956
