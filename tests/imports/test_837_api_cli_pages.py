"""POST /api/v1/claims/x12, `flask claims import-837` and the 837 pages: counts,
201/200, 422 with located errors, nothing written on errors, access, the
review list fixed in place."""

from __future__ import annotations

import io
import json
import re

from advocate.cases.models import Case
from advocate.extensions import db
from advocate.imports.claims837_fixtures import BatchSpec, ClaimSpec, LineSpec, build_837
from advocate.imports.claims837_models import X12Claim, X12ClaimFile
from advocate.imports.era_fixtures import generate_835
from tests.factories import login, make_user
from tests.imports.remit_support import PAYER_ID, Setup

KEYS = {"claims", "created", "updated", "unmatched", "duplicate", "file_duplicate"}


def sample(control="000000001", **batch) -> bytes:
    batch.setdefault("payer_id", PAYER_ID)
    claims = [
        ClaimSpec(
            "PCN-1", [LineSpec("99213", "150.00"), LineSpec("29881", "12750.00", modifiers=("RT",))]
        ),
    ]
    return build_837([BatchSpec(claims, **batch)], control_number=control).encode()


def post_file(browser, headers, data: bytes, name="claims.837"):
    return browser.open(
        "/api/v1/claims/x12",
        method="POST",
        data={"file": (io.BytesIO(data), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_api_imports_with_201_then_200_for_the_same_file(setup: Setup, browser):
    r = post_file(browser, setup.token(), sample())
    assert r.status_code == 201, r.get_json()
    assert r.get_json() == {
        "claims": 1,
        "created": 1,
        "updated": 0,
        "unmatched": 0,
        "duplicate": 0,
        "file_duplicate": False,
    }
    r = post_file(browser, setup.token(), sample())
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == KEYS and body["file_duplicate"] is True and body["created"] == 0
    assert setup.count(Case) == 1
    (record,) = setup.rows(X12ClaimFile)
    assert record.source == "api"


def test_api_422_locates_each_problem_and_writes_nothing(setup: Setup, browser):
    bad = sample().replace(b"CLM*PCN-1*12900", b"CLM*PCN-1*12000")
    r = post_file(browser, setup.token(), bad)
    assert r.status_code == 422
    body = r.get_json()
    (detail,) = body["details"]
    assert (detail["claim"], detail["element"], detail["segment"], detail["transaction"]) == (
        "PCN-1",
        "CLM02",
        20,
        "0001",
    )
    assert setup.count(Case) == 0 and setup.count(X12ClaimFile) == 0


def test_api_names_an_835(setup: Setup, browser):
    r = post_file(browser, setup.token(), generate_835(2).encode())
    assert r.status_code == 422
    assert "835 remittance advice, not an 837" in r.get_json()["error"]


def test_api_needs_a_file_and_a_worker(setup: Setup, browser):
    r = browser.open("/api/v1/claims/x12", method="POST", headers=setup.token(), json={})
    assert r.status_code == 400
    viewer = make_user(setup.tenant, "viewer")
    assert post_file(browser, setup.token(viewer), sample()).status_code == 403
    assert setup.count(X12ClaimFile) == 0


def _cli(db_app, *args):
    db.session.commit()
    return db_app.test_cli_runner().invoke(args=list(args))


def test_cli_imports_and_prints_the_counts(setup: Setup, db_app, tmp_path):
    path = tmp_path / "claims.837"
    path.write_bytes(sample())
    r = _cli(db_app, "claims", "import-837", str(path), "--tenant", setup.slug)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["created"] == 1
    (record,) = setup.rows(X12ClaimFile)
    assert (record.source, record.created_by_id) == ("cli", None)
    r = _cli(db_app, "claims", "import-837", str(path), "--tenant", setup.slug)
    assert r.exit_code == 0 and json.loads(r.output)["file_duplicate"] is True


def test_cli_invalid_file_exits_1_with_located_errors(setup: Setup, db_app, tmp_path):
    path = tmp_path / "bad.837"
    path.write_bytes(sample().replace(b"SV1*HC:99213", b"SV1*HC:9921"))
    r = _cli(db_app, "claims", "import-837", str(path), "--tenant", setup.slug)
    assert r.exit_code == 1
    body = json.loads(r.output)
    assert body["details"][0]["element"] == "SV101-02" and body["details"][0]["claim"] == "PCN-1"
    assert setup.count(X12ClaimFile) == 0


def test_page_preview_then_import(setup: Setup, browser):
    login(browser, setup.advocate)
    r = browser.post("/imports/x12-claims/", {"file": (io.BytesIO(sample()), "claims.837")},
                     content_type="multipart/form-data")  # fmt: skip
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert 'data-testid="import-counts"' in page and "PCN-1" in page
    assert setup.count(Case) == 0
    token = re.search(r'name="token"[^>]*value="([^"]+)"', page).group(1)
    r = browser.post("/imports/x12-claims/confirm", {"token": token})
    assert r.status_code == 302
    assert setup.count(Case) == 1
    (record,) = setup.rows(X12ClaimFile)
    r = browser.get(f"/imports/x12-claims/files/{record.id}")
    assert r.status_code == 200 and "PCN-1" in r.get_data(as_text=True)


def test_page_shows_errors_by_claim_with_422(setup: Setup, browser):
    login(browser, setup.advocate)
    bad = sample().replace(b"CLM*PCN-1*12900", b"CLM*PCN-1*12000")
    r = browser.post("/imports/x12-claims/", {"file": (io.BytesIO(bad), "bad.837")},
                     content_type="multipart/form-data")  # fmt: skip
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "does not equal the sum of the line charges" in page and "PCN-1" in page
    r = browser.post("/imports/x12-claims/", {"file": (io.BytesIO(generate_835(1).encode()), "era.835")},
                     content_type="multipart/form-data")  # fmt: skip
    assert r.status_code == 422 and 'data-testid="is-835"' in r.get_data(as_text=True)


def test_review_list_fixes_a_claim_in_place(setup: Setup, browser):
    r = post_file(browser, setup.token(), sample(payer_id="ZZ999", payer_name="UNKNOWN PAYER"))
    assert r.get_json()["unmatched"] == 1
    (item,) = setup.rows(X12Claim)
    login(browser, setup.advocate)
    page = browser.get("/imports/x12-claims/unmatched").get_data(as_text=True)
    assert "unknown payer" in page and 'data-testid="fix-form"' in page
    r = browser.post(
        f"/imports/x12-claims/unmatched/{item.id}/resolve",
        {
            "practice_id": str(setup.practice_id),
            "payer_id": str(setup.payer_id),
            "plan_type": "other",
        },
    )
    assert r.status_code == 302
    (case,) = setup.rows(Case)
    assert case.patient_control_number == "PCN-1" and case.payer_id == setup.payer_id
    (item,) = setup.rows(X12Claim)
    assert (item.status, item.case_id) == ("done", case.id)


def test_practice_users_and_viewers_cannot_import(setup: Setup, browser):
    viewer = make_user(setup.tenant, "viewer")
    login(browser, viewer)
    assert browser.get("/imports/x12-claims/").status_code == 403
