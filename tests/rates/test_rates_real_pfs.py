"""The real CY2025 CMS files, loaded once per test session, and the Medicare
price API over them.

Every expected amount below was computed by hand from the vendored files'
own lines (quoted in each case) with the domain formula
[(work RVU x work GPCI) + (PE RVU x PE GPCI) + (MP RVU x MP GPCI)] x CF,
CF 32.3465, rounded half-up to cents.

These tests do not use `db_app` (it empties every table, the reference
tables included): they share the session's load, and `pfs2025` reloads it
if another module's test emptied the tables in between.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from advocate.auth.models import ApiToken, new_token, token_hash
from advocate.extensions import db
from advocate.rates.importer import import_pfs
from advocate.rates.models import PfsAnesCf, PfsGpci, PfsRvu, PfsYear, PfsZipLocality
from advocate.rates.pfs_files import PfsFileError
from tenants import tenant_scope
from tests.factories import make_firm

DATA = Path(__file__).resolve().parents[2] / "advocate" / "rates" / "data" / "pfs2025"
FILES = {
    "rvu": DATA / "PPRRVU2025_Oct.csv",
    "gpci": DATA / "GPCI2025.csv",
    "zip5": DATA / "ZIP5_OCT2025.txt",
    "anes": DATA / "ANES2025.csv",
}
COUNTS = {"rvu": 19090, "gpci": 109, "zip5": 42956, "anes": 109}


def _load() -> float:
    started = time.perf_counter()
    import_pfs(db.session, 2025, **FILES)
    db.session.commit()
    return time.perf_counter() - started


@pytest.fixture(scope="session")
def pfs2025_first_load(app):
    """Import the real files once per session; returns the seconds it took."""
    with app.app_context():
        seconds = _load()
        db.session.remove()
    return seconds


@pytest.fixture()
def pfs2025(app, pfs2025_first_load):
    with app.app_context():
        if db.session.get(PfsYear, 2025) is None:  # another module emptied the tables
            _load()
        yield
        db.session.remove()


@pytest.fixture(scope="module")
def token(app, pfs2025_first_load):
    """A bearer token of an advocate in a fresh firm."""
    with app.app_context():
        firm = make_firm("Rates Firm")
        raw = new_token("adv_")
        with tenant_scope(firm.tenant.id):
            db.session.add(
                ApiToken(
                    membership_id=firm.owner.membership_id,
                    name="rates tests",
                    token_prefix=raw[:8],
                    token_hash=token_hash(raw),
                )
            )
            db.session.commit()
        db.session.remove()
    return raw


def _get(app, token, **params):
    """One API request in its own app context, like a separate HTTP request."""
    db.session.commit()
    with app.app_context():
        return app.test_client().get(
            "/api/v1/rates/medicare",
            query_string=params,
            headers={"Authorization": f"Bearer {token}"},
        )


def _price(app, token, **params) -> dict:
    r = _get(app, token, **params)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


# ------------------------------------------------------------------ the import


def test_real_files_load_with_their_counts_in_seconds(pfs2025, pfs2025_first_load):
    assert pfs2025_first_load < 30, f"import took {pfs2025_first_load:.1f} s"
    year = db.session.get(PfsYear, 2025)
    assert (year.rvu_rows, year.gpci_rows, year.zip_rows, year.anes_rows) == (
        19090,
        109,
        42956,
        109,
    )
    assert str(year.conversion_factor.normalize()) == "32.3465"
    assert year.zip_year_quarter == "20254"
    assert (year.rvu_file, year.zip_file) == ("PPRRVU2025_Oct.csv", "ZIP5_OCT2025.txt")
    for model, n in ((PfsRvu, 19090), (PfsGpci, 109), (PfsZipLocality, 42956), (PfsAnesCf, 109)):
        assert db.session.scalar(select(func.count()).select_from(model)) == n
    row = db.session.get(PfsRvu, (2025, "99213", ""))
    assert (row.status, str(row.work_rvu.normalize()), str(row.nonfac_pe_rvu.normalize())) == (
        "A",
        "1.3",
        "1.35",
    )
    # CPT descriptors are AMA copyright: no column could hold one.
    assert not any("desc" in c.name for c in PfsRvu.__table__.columns)


def test_failing_reimport_leaves_the_loaded_year_intact(pfs2025, tmp_path):
    before = db.session.get(PfsYear, 2025).imported_at
    bad = tmp_path / "GPCI2025.csv"
    text = FILES["gpci"].read_text()
    bad.write_text(text.replace("13202,NY,01,MANHATTAN,1.065,", "13202,NY,01,MANHATTAN,1.O65,"))
    with pytest.raises(
        PfsFileError, match=r"GPCI2025\.csv line 78: PW GPCI '1\.O65' is not a number"
    ):
        import_pfs(db.session, 2025, rvu=FILES["rvu"], gpci=bad, zip5=FILES["zip5"])
    db.session.rollback()
    assert db.session.get(PfsYear, 2025).imported_at == before
    assert db.session.scalar(select(func.count()).select_from(PfsZipLocality)) == 42956


def test_a_failure_while_writing_rolls_the_whole_replacement_back(pfs2025, app, monkeypatch):
    """The old rows are deleted and the new RVUs written before the ZIP table
    fails: the CLI's one transaction must undo all of it."""
    from advocate.rates import importer

    real = importer._bulk_insert

    def failing(session, table, columns, rows):
        if table == "pfs_zip_localities":
            raise RuntimeError("disk full")
        return real(session, table, columns, rows)

    monkeypatch.setattr(importer, "_bulk_insert", failing)
    before = db.session.get(PfsYear, 2025).imported_at
    db.session.commit()
    args = ["rates", "import-pfs", "--year", "2025"]
    for key, option in (("rvu", "--rvu"), ("gpci", "--gpci"), ("zip5", "--zip")):
        args += [option, str(FILES[key])]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert isinstance(result.exception, RuntimeError)
    db.session.remove()
    assert db.session.get(PfsYear, 2025).imported_at == before
    assert db.session.scalar(select(func.count()).select_from(PfsZipLocality)) == 42956
    assert db.session.scalar(select(func.count()).select_from(PfsAnesCf)) == 109
    assert db.session.scalar(select(func.count()).select_from(PfsRvu)) == 19090


# ------------------------------------------------------------------ the API: prices


def test_worked_example_99213_manhattan_office(pfs2025, app, token):
    # 99213: work 1.30, non-facility PE 1.35, MP 0.10; 13202/01 MANHATTAN 1.065, 1.166, 1.656.
    body = _price(app, token, year=2025, code="99213", zip="10001", pos="11")
    assert body["amount"] == "101.06"
    assert body["reason"] is None
    assert body["status"] == "A"
    assert body["facility"] is False
    assert body["locality"] == {
        "carrier": "13202",
        "locality": "01",
        "name": "MANHATTAN",
        "state": "NY",
    }
    assert body["gpci"] == {"work": "1.065", "pe": "1.166", "mp": "1.656"}
    assert (body["rvu"]["work"], body["rvu"]["pe"], body["rvu"]["mp"]) == ("1.30", "1.35", "0.10")
    assert body["rvu"]["pe_source"] == "non-facility"
    assert body["conversion_factor"] == "32.3465"
    assert body["zip"] == {"zip": "10001", "rural": None, "plus_four": False}
    assert "description" not in str(body).lower()


@pytest.mark.parametrize(
    ("params", "amount", "facility", "pe_source"),
    [
        # Facility POS 22: facility PE 0.57.
        # (1.30*1.065 + 0.57*1.166 + 0.10*1.656) * 32.3465 = 71.63844 -> 71.64
        (dict(code="99213", zip="10001", pos="22"), "71.64", True, "facility"),
        # 27447 "19.60,15.30,NA,15.30,,3.98": non-facility PE is NA, office POS falls back
        # to the facility PE. (19.60*1.065 + 15.30*1.166 + 3.98*1.656) * CF = 1465.44783
        (
            dict(code="27447", zip="10001", pos="11"),
            "1465.45",
            False,
            "facility (non-facility PE is NA)",
        ),
        # 71046-26 "0.22,0.08,,0.08,,0.01" in ZIP 35004 = 10112/00 ALABAMA 1 (floor), 0.869, 0.575.
        # (0.22*1 + 0.08*0.869 + 0.01*0.575) * CF = 9.55095 -> 9.55
        (dict(code="71046", modifier="26", zip="35004", pos="11"), "9.55", False, "non-facility"),
        # 71046-TC "0.00,0.69,,0.69,NA,0.01": (0.69*0.869 + 0.01*0.575) * CF = 19.58128 -> 19.58
        # (its OPPS cap, (2.68*0.869 + 0.04*0.575) * CF = 76.08, is higher, so it does not bite).
        (dict(code="71046", modifier="tc", zip="35004", pos="11"), "19.58", False, "non-facility"),
        # Rural: ZIP 99545 is super rural (B) in 02102/01 ALASKA 1.5, 1.081, 0.592.
        # (1.30*1.5 + 1.35*1.081 + 0.10*0.592) * CF = 112.195452575 -> 112.20 (half up)
        (dict(code="99213", zip="99545", pos="11"), "112.20", False, "non-facility"),
        # OPPS imaging cap: 70496 "1.75,6.56,...,0.11" with OPPS PE 6.11, MP 0.11 in Manhattan.
        # PFS (1.75*1.065 + 6.56*1.166 + 0.11*1.656) * CF = 313.60; OPPS
        # (1.75*1.065 + 6.11*1.166 + 0.11*1.656) * CF = 296.62290 -> the lower one, 296.62.
        (dict(code="70496", zip="10001", pos="11"), "296.62", False, "non-facility, OPPS cap"),
        # Status T 36591 "0.00,0.82,,0.82,NA,0.01": (0.82*1.166 + 0.01*1.656) * CF = 31.46279
        (dict(code="36591", zip="10001", pos="11"), "31.46", False, "non-facility"),
        # Status R 11055 "0.35,1.72,,0.08,,0.03" in Alabama, office:
        # (0.35*1 + 1.72*0.869 + 0.03*0.575) * CF = 60.22692 -> 60.23
        (dict(code="11055", zip="35004", pos="11"), "60.23", False, "non-facility"),
        # By locality instead of ZIP: 99213 at 13202-01 is the worked example.
        (dict(code="99213", locality="13202-01", pos="11"), "101.06", False, "non-facility"),
        # Assistant at surgery (ASST SURG 2 on 27447): 16% of the facility amount 1465.45.
        # 1465.45 * 0.16 = 234.472 -> 234.47
        (dict(code="27447", modifier="80", zip="10001", pos="21"), "234.47", True, "facility"),
        # Bilateral 69436 (BILAT SURG 1): "2.01,2.55,NA,2.55,,0.29" in Manhattan
        # (2.01*1.065 + 2.55*1.166 + 0.29*1.656) * CF = 180.95247 -> 180.95; x 1.5 = 271.425 -> 271.43
        (dict(code="69436", modifier="50", zip="10001", pos="24"), "271.43", True, "facility"),
    ],
)
def test_hand_computed_prices(pfs2025, app, token, params, amount, facility, pe_source):
    body = _price(app, token, year="2025", **params)
    assert body["amount"] == amount
    assert body["facility"] is facility
    assert body["rvu"]["pe_source"] == pe_source
    assert body["reason"] is None


def test_rural_zip_reports_its_flag_and_the_floor_gpci(pfs2025, app, token):
    body = _price(app, token, code="99213", zip="99545", pos="11")
    assert body["zip"]["rural"] == "B"
    assert body["locality"]["name"] == "ALASKA"  # the file's "ALASKA*" footnote mark is dropped
    assert body["gpci"]["work"] == "1.500"
    alabama = _price(app, token, code="99213", zip="35004", pos="11")
    assert alabama["gpci"] == {"work": "1.000", "pe": "0.869", "mp": "0.575"}


def test_opps_cap_and_payment_modifier_details(pfs2025, app, token):
    capped = _price(app, token, code="70496", zip="10001", pos="11")
    assert capped["opps_cap_applied"] is True
    assert capped["fee_schedule_amount"] == "296.62"
    assert any("OPPS imaging cap" in n for n in capped["notes"])
    assistant = _price(app, token, code="27447", modifier="80", zip="10001", pos="21")
    assert assistant["fee_schedule_amount"] == "1465.45"
    assert [a["label"] for a in assistant["adjustments"]] == ["Assistant at surgery"]
    other = _price(app, token, code="99213", modifier="25", zip="10001", pos="11")
    assert other["amount"] == "101.06"
    assert any("Modifier 25 has no row of its own" in n for n in other["notes"])


@pytest.mark.parametrize(
    ("code", "status", "words"),
    [
        ("36415", "X", "Status X (statutory exclusion)"),  # venipuncture: lab fee schedule
        ("20930", "B", "Status B (bundled code)"),
        ("0042T", "C", "Status C (contractor priced)"),
        ("0001F", "I", "Status I (not valid for Medicare purposes)"),
    ],
)
def test_statuses_that_are_not_priced_say_why(pfs2025, app, token, code, status, words):
    body = _price(app, token, year=2025, code=code, zip="10001", pos="11")
    assert body["amount"] is None
    assert body["status"] == status
    assert body["reason"].startswith(words)
    assert body["components"] == []


def test_anesthesia_code_is_not_priced_by_rvus(pfs2025, app, token):
    # 00100 "J,,0.00,..." ; ANES2025.csv "13202 ,01 ,MANHATTAN,22.76".
    body = _price(app, token, code="00100", zip="10001", pos="21")
    assert body["amount"] is None
    assert body["status"] == "J"
    assert body["reason"].startswith("Anesthesia code")
    assert body["anesthesia_conversion_factor"] == "22.76"


def test_plus_four_zip_carries_a_note(pfs2025, app, token):
    # "AL35958..." has the plus-four flag: its locality may depend on the ZIP+4.
    body = _price(app, token, code="99213", zip="35958", pos="11")
    assert body["zip"]["plus_four"] is True
    assert any("ZIP+4" in n for n in body["notes"])


# ------------------------------------------------------------------ the API: errors


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        (dict(code="ZZZZZ", zip="10001", pos="11"), "code", "ZZZZZ is not in the 2025"),
        (dict(code="99213", zip="00000", pos="11"), "zip", "ZIP 00000 is not in the 2025"),
        (dict(code="99213", locality="99999-01", pos="11"), "locality", "locality 99999-01"),
        (
            dict(code="99213", modifier="26", zip="10001", pos="11"),
            "modifier",
            "no modifier 26 row",
        ),
        (
            dict(year="2019", code="99213", zip="10001", pos="11"),
            "year",
            "2019 Medicare fee schedule is not loaded",
        ),
    ],
)
def test_unknown_code_zip_locality_or_year_is_404(pfs2025, app, token, params, field, words):
    r = _get(app, token, **params)
    assert r.status_code == 404
    body = r.get_json()
    assert words in body["error"]
    assert body["details"][0]["field"] == field


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (dict(year="20x5", code="99213", zip="10001", pos="11"), "year"),
        (dict(year="25", code="99213", zip="10001", pos="11"), "year"),
        (dict(code="99213", zip="1000A", pos="11"), "zip"),
        (dict(code="99213", zip="100010", pos="11"), "zip"),
        (dict(code="99213", zip="10001", pos="ABC"), "pos"),
        (dict(code="99213", zip="10001", pos="123"), "pos"),
        (dict(code="99213", zip="10001"), "pos"),
        (dict(code="9921", zip="10001", pos="11"), "code"),
        (dict(code="99213", modifier="2", zip="10001", pos="11"), "modifier"),
        (dict(code="99213", pos="11"), "zip"),
        (dict(code="99213", zip="10001", locality="13202-01", pos="11"), "locality"),
        (dict(code="99213", zip="10001", pos="11", zipcode="10001"), "zipcode"),
    ],
)
def test_malformed_parameter_is_422_naming_it(pfs2025, app, token, params, field):
    r = _get(app, token, **params)
    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert body["details"][0]["field"] == field
    assert field in body["error"]


def test_api_needs_a_token(pfs2025, app):
    with app.app_context():
        r = app.test_client().get("/api/v1/rates/medicare?code=99213&zip=10001&pos=11")
    assert r.status_code == 401
