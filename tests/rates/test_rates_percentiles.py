"""Commercial percentiles: the CSV format, the upload -> preview -> confirm
flow (all or nothing), the list page, `percentiles_for` and its API."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from advocate.audit.models import AuditEvent
from advocate.auth.models import ApiToken, new_token, token_hash
from advocate.extensions import db
from advocate.rates.models import CommercialPercentile, PercentileImport
from advocate.rates.percentiles import MAX_ERRORS, parse_percentile_csv
from advocate.rates.services import RateInputError, percentiles_for
from tenants import TenantScopeError, tenant_scope
from tests.factories import login, make_firm, make_user

HEADER = "code,modifier,zip3,p50,p60,p70,p75,p80,p85,p90,p95,year\n"
GOOD = (
    HEADER
    + "99213,,100,150.00,165.00,180.00,190.00,200.00,215.00,240.00,275.00,2025\n"
    + "71046,26,100,45,50,55,58,61,66,72,85,2025\n"
    + "99214,,005,210,230,250,260,270,290,320,360,2025\n"
)


# ------------------------------------------------------------------ the format


def test_good_file_with_aliases_bom_and_spreadsheet_habits():
    text = (
        "\ufeffCPT, Mod ,GeoZip,50th,60th,70th,75th,80th,85th,90th,95th,Year,Description\n"
        "\n"
        '99213,,5,"$1,150.00",1200,1250,1300,1350,1400,1450,1500.5,2025,Office visit\n'
        "71046,tc,100,1,1,1,1,1,1,1,1,2024,\n"
    )
    parsed = parse_percentile_csv(text.encode())
    assert parsed.ok, parsed.errors
    assert parsed.ignored_columns == ["Description"]
    first, second = parsed.rows
    assert (first.code, first.modifier, first.zip3, first.year, first.line) == (
        "99213",
        "",
        "005",
        2025,
        3,
    )
    assert first.values[0] == Decimal("1150.00") and first.values[-1] == Decimal("1500.50")
    assert (second.modifier, second.year) == ("TC", 2024)
    assert parsed.years == [2024, 2025]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "9921,,100,1,2,3,4,5,6,7,8,2025",
            "line 3 (code): '9921' is not a 5-character CPT/HCPCS code",
        ),
        (
            "99213,2,100,1,2,3,4,5,6,7,8,2025",
            "line 3 (modifier): '2' is not a 2-character modifier",
        ),
        ("99213,,1000,1,2,3,4,5,6,7,8,2025", "line 3 (zip3): '1000' is not a 3-digit ZIP area"),
        ("99213,,10A,1,2,3,4,5,6,7,8,2025", "line 3 (zip3): '10A' is not a 3-digit ZIP area"),
        ("99213,,100,1,2,3,4,5,6,7,8,25", "line 3 (year): '25' is not a 4-digit year"),
        ("99213,,100,1,2,3,4,5,6,7,8,1066", "line 3 (year): 1066 is not a plausible year"),
        (
            "99213,,100,1.005,2,3,4,5,6,7,8,2025",
            "line 3 (p50): '1.005' is not an amount with at most 2 decimals",
        ),
        ("99213,,100,-1,2,3,4,5,6,7,8,2025", "line 3 (p50): '-1' is negative"),
        ("99213,,100,1,,3,4,5,6,7,8,2025", "line 3 (p60): is empty"),
        ("99213,,100,1,2,3,4,5,6,8,7,2025", "line 3 (p95): p95 (7.00) is lower than p90 (8.00)"),
        (
            "99213,,100,1,2,3,4,5,6,7,8,2025,extra",
            "line 3: 13 cells, but the header has 12 columns",
        ),
        ("99214,,100,1,2,3,4,5,6,7,8,2025", "line 3: 99214 in area 100 for 2025 repeats line 2"),
    ],
)
def test_each_bad_row_is_reported_with_its_line_and_nothing_is_kept(row, message):
    text = (
        HEADER
        + "99214,,100,1,2,3,4,5,6,7,8,2025\n"
        + row
        + "\n"
        + "99215,,100,1,2,3,4,5,6,7,8,2025\n"
    )
    parsed = parse_percentile_csv(text.encode())
    assert [str(e) for e in parsed.errors] == [message]
    assert parsed.rows == [] and not parsed.ok


def test_header_problems_and_empty_files():
    missing = parse_percentile_csv(b"code,modifier,zip3,p50,p60,p70,p75,p80,p85,p90,year\n")
    assert str(missing.errors[0]).startswith("line 1: the header is missing p95")
    twice = parse_percentile_csv(b"code,cpt,modifier,zip3,p50,p60,p70,p75,p80,p85,p90,p95,year\n")
    assert "two columns mean code" in str(twice.errors[0])
    assert str(parse_percentile_csv(b"").errors[0]) == "file: the file is empty (no header row)"
    assert (
        str(parse_percentile_csv(HEADER.encode()).errors[0])
        == "file: the file has a header but no rows"
    )
    assert "NUL" in str(parse_percentile_csv(b"\x00\x01binary").errors[0])


def test_a_quoted_value_spanning_lines_is_reported_where_its_row_starts():
    text = HEADER + '99213,,100,1,2,3,4,5,6,7,8,2025\n"99\n214",,100,1,2,3,4,5,6,7,8,2025\n'
    assert str(parse_percentile_csv(text).errors[0]).startswith("line 3 (code):")


def test_errors_stop_at_a_hundred_and_rows_are_capped():
    text = HEADER + "".join(f"bad{i},,100,1,2,3,4,5,6,7,8,2025\n" for i in range(300))
    parsed = parse_percentile_csv(text)
    assert len(parsed.errors) == MAX_ERRORS and parsed.truncated_errors
    capped = parse_percentile_csv(GOOD, max_rows=2)
    assert "more than 2 rows" in str(capped.errors[0])


# ------------------------------------------------------------------ upload, preview, confirm


def _upload(browser, text: str, name: str = "fh-2025.csv"):
    return browser.post(
        "/rates/percentiles/import",
        {"file": (io.BytesIO(text.encode()), name)},
        content_type="multipart/form-data",
    )


def _rows(tenant_id):
    with tenant_scope(tenant_id):
        return db.session.scalars(
            select(CommercialPercentile).order_by(CommercialPercentile.code)
        ).all()


def test_upload_preview_confirm(db_app, make_browser):
    firm = make_firm()
    b = make_browser()
    login(b, firm.owner)
    r = _upload(b, GOOD)
    assert r.status_code == 302
    import_id = int(re.search(r"/imports/(\d+)$", r.headers["Location"]).group(1))
    assert _rows(firm.tenant.id) == []  # nothing saved before the confirmation

    preview = b.get(f"/rates/percentiles/imports/{import_id}").get_data(as_text=True)
    assert 'data-testid="preview-table"' in preview
    assert "$150.00" in preview and "Import 3 rows" in preview

    r = b.post(f"/rates/percentiles/imports/{import_id}/confirm")
    assert r.status_code == 302 and r.headers["Location"].endswith("/rates/percentiles")
    rows = _rows(firm.tenant.id)
    assert [(x.code, x.modifier, x.zip3) for x in rows] == [
        ("71046", "26", "100"),
        ("99213", "", "100"),
        ("99214", "", "005"),
    ]
    assert rows[1].p95 == Decimal("275.00")
    with tenant_scope(firm.tenant.id):
        imp = db.session.get(PercentileImport, import_id)
        assert (imp.status, imp.inserted_count, imp.updated_count, imp.content) == (
            "applied",
            3,
            0,
            None,
        )
        actions = set(
            db.session.scalars(
                select(AuditEvent.action).where(AuditEvent.tenant_id == firm.tenant.id)
            )
        )
    assert {"rates.percentiles_uploaded", "rates.percentiles_imported"} <= actions

    listing = b.get("/rates/percentiles").get_data(as_text=True)
    assert "99214" in listing and "$360.00" in listing and "fh-2025.csv" in listing
    # Confirming twice does nothing more.
    again = b.post(f"/rates/percentiles/imports/{import_id}/confirm")
    assert again.status_code == 302
    assert len(_rows(firm.tenant.id)) == 3


def test_a_bad_file_is_refused_whole_with_line_numbers(db_app, make_browser):
    firm = make_firm()
    b = make_browser()
    login(b, firm.owner)
    bad = GOOD + "99215,,100,10,9,8,7,6,5,4,3,2025\n" + "99216,,10X,1,2,3,4,5,6,7,8,2025\n"
    r = _upload(b, bad)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "line 5 (p60): p60 (9.00) is lower than p50 (10.00)" in html
    assert "line 6 (zip3): &#39;10X&#39; is not a 3-digit ZIP area" in html
    assert "Nothing was saved" in html
    assert _rows(firm.tenant.id) == []
    with tenant_scope(firm.tenant.id):
        assert db.session.scalar(select(func.count()).select_from(PercentileImport)) == 0


def test_reimport_updates_existing_keys_and_adds_new_ones(db_app, make_browser):
    firm = make_firm()
    b = make_browser()
    login(b, firm.owner)
    first = _upload(b, GOOD)
    b.post(first.headers["Location"] + "/confirm")
    update = (
        HEADER
        + "99213,,100,155,170,185,195,205,220,245,280,2025\n"
        + "99215,,100,1,2,3,4,5,6,7,8,2025\n"
    )
    r = _upload(b, update, "fh-2025-q2.csv")
    preview = b.get(r.headers["Location"]).get_data(as_text=True)
    assert re.search(r"<dt>New</dt><dd[^>]*>1</dd>", preview)
    assert re.search(r"<dt>Replacing existing values</dt><dd[^>]*>1</dd>", preview)
    b.post(r.headers["Location"] + "/confirm")
    rows = {x.code: x for x in _rows(firm.tenant.id)}
    assert set(rows) == {"71046", "99213", "99214", "99215"}
    assert rows["99213"].p50 == Decimal("155.00") and rows["99213"].p95 == Decimal("280.00")


def test_discarded_upload_cannot_be_confirmed(db_app, make_browser):
    firm = make_firm()
    b = make_browser()
    login(b, firm.owner)
    url = _upload(b, GOOD).headers["Location"]
    assert b.post(url + "/discard").status_code == 302
    r = b.post(url + "/confirm")
    assert r.status_code == 302
    assert "Nothing was imported: this import is already discarded." in b.get(url).get_data(
        as_text=True
    )
    assert _rows(firm.tenant.id) == []
    with tenant_scope(firm.tenant.id):
        imp = db.session.scalar(select(PercentileImport))
        assert (imp.status, imp.content) == ("discarded", None)


def test_viewers_read_but_only_managers_import(db_app, make_browser):
    firm = make_firm()
    viewer = make_user(firm.tenant, "viewer")
    advocate = make_user(firm.tenant, "advocate")
    for person in (viewer, advocate):
        b = make_browser()
        login(b, person)
        assert b.get("/rates/percentiles").status_code == 200
        assert b.get("/rates/percentiles/import").status_code == 403
        assert _upload(b, GOOD).status_code == 403
    template = b.get("/rates/percentiles/template.csv")
    assert template.status_code == 200
    assert template.get_data(as_text=True).startswith(HEADER.strip())
    assert parse_percentile_csv(template.get_data()).ok


def _seed_rows(tenant_id, n, year=2025):
    with tenant_scope(tenant_id):
        for i in range(n):
            values = {f"p{p}": Decimal(p + i) for p in (50, 60, 70, 75, 80, 85, 90, 95)}
            db.session.add(
                CommercialPercentile(
                    year=year, code=f"{10000 + i:05d}", modifier="", zip3="100", **values
                )
            )
        db.session.commit()


def test_list_search_and_pagination(db_app, make_browser):
    firm = make_firm()
    _seed_rows(firm.tenant.id, 60)
    _seed_rows(firm.tenant.id, 1, year=2024)
    b = make_browser()
    login(b, firm.owner)
    page1 = b.get("/rates/percentiles").get_data(as_text=True)
    assert "Showing 1–50 of 61" in page1
    page2 = b.get("/rates/percentiles?page=2").get_data(as_text=True)
    assert "Showing 51–61 of 61" in page2
    found = b.get("/rates/percentiles?code=10042&zip3=10001").get_data(as_text=True)
    assert "Showing 1–1 of 1" in found and "10042" in found
    by_year = b.get("/rates/percentiles?year=2024").get_data(as_text=True)
    assert "Showing 1–1 of 1" in by_year
    bad = b.get("/rates/percentiles?year=20x4").get_data(as_text=True)
    assert "is not a 4-digit year" in bad


def test_list_page_queries_do_not_grow_with_rows(db_app, make_browser):
    firm = make_firm()
    b = make_browser()
    login(b, firm.owner)
    counts = []
    for n in (2, 40):
        _seed_rows(firm.tenant.id, n, year=2000 + n)
        statements: list[str] = []

        def count(conn, cursor, statement, *args, _seen=statements):
            _seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert b.get("/rates/percentiles").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        counts.append(len(statements))
    assert counts[0] == counts[1]


# ------------------------------------------------------------------ percentiles_for and the API


def test_percentiles_for_is_the_firms_own_data(db_app):
    a = make_firm("Alpha")
    b = make_firm("Bravo")
    _seed_rows(a.tenant.id, 3)
    found = percentiles_for(a.tenant.id, 2025, "10001", None, "100")
    assert found is not None
    assert found[50] == Decimal("51.00") and found.values[95] == Decimal("96.00")
    assert (
        percentiles_for(a.tenant.id, 2025, "10001", "", "10016") is not None
    )  # a ZIP is cut to its area
    assert percentiles_for(a.tenant.id, 2025, "10001", "26", "100") is None
    assert percentiles_for(a.tenant.id, 2024, "10001", None, "100") is None
    assert percentiles_for(b.tenant.id, 2025, "10001", None, "100") is None
    with tenant_scope(b.tenant.id), pytest.raises(TenantScopeError):
        percentiles_for(a.tenant.id, 2025, "10001", None, "100")
    with pytest.raises(RateInputError) as err:
        percentiles_for(a.tenant.id, 2025, "10001", None, "1X0")
    assert err.value.field == "zip3"


def test_percentiles_api(db_app, browser):
    firm = make_firm()
    _seed_rows(firm.tenant.id, 1)
    raw = new_token("adv_")
    with tenant_scope(firm.tenant.id):
        db.session.add(
            ApiToken(
                membership_id=firm.owner.membership_id,
                name="t",
                token_prefix=raw[:8],
                token_hash=token_hash(raw),
            )
        )
        db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    r = browser.get("/api/v1/rates/percentiles?year=2025&code=10000&zip3=100", headers=headers)
    assert r.status_code == 200
    body = r.get_json()
    assert body["percentiles"]["p50"] == "50.00" and body["zip3"] == "100"
    assert (
        browser.get(
            "/api/v1/rates/percentiles?year=2025&code=10009&zip3=100", headers=headers
        ).status_code
        == 404
    )
    bad = browser.get("/api/v1/rates/percentiles?year=2025&code=10000&zip3=1", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["details"][0]["field"] == "zip3"
