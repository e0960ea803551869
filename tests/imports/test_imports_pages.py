"""The import pages: 835 upload -> preview (nothing written) -> post; error
report download; the unmatched list (open a case, dismiss); settings; the
claims CSV flow with a header mapping; nav and access."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from advocate.cases.models import Case, Payment
from advocate.imports.models import HeaderAlias, ImportSettings, Remittance, UnmatchedClaim
from tests.factories import login, make_user
from tests.imports.remit_support import GOOD, Setup, sample_file, to_csv

D = Decimal
TOKEN_RE = re.compile(r'name="token" type="hidden" value="([^"]+)"|name="token" value="([^"]+)"')


def _token(html: str) -> str:
    m = TOKEN_RE.search(html)
    assert m, "no confirm token on the page"
    return m.group(1) or m.group(2)


def upload(browser, url, data: bytes, name: str):
    return browser.post(url, {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_upload_previews_then_posts_on_confirm(setup: Setup, browser):
    setup.case("CN-1", "PCN-1")
    login(browser, setup.advocate)
    r = upload(browser, "/imports/remittances/upload", sample_file(), "june.835")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'data-testid="import-counts"' in html
    for label, value in (("Matched to cases", "2"), ("New cases", "1"), ("Unmatched", "1")):
        assert re.search(rf"<dt>{label}</dt><dd>{value}\b", html), label
    assert "$395.00" in html
    assert setup.count(Remittance) == 0 and setup.count(Payment) == 1  # nothing posted yet
    r = browser.post("/imports/remittances/confirm", {"token": _token(html)})
    assert r.status_code == 302
    (rem,) = setup.rows(Remittance)
    assert r.headers["Location"].endswith(f"/imports/remittances/{rem.id}")
    assert (rem.filename, rem.matched_count, rem.created_count, rem.unmatched_count) == (
        "june.835",
        2,
        1,
        1,
    )
    page = browser.get(f"/imports/remittances/{rem.id}").get_data(as_text=True)
    assert "PCN-LOW" in page and "C-000001" in page
    # Confirming again (a replayed form) changes nothing.
    r = browser.post("/imports/remittances/confirm", {"token": _token(html)})
    assert r.status_code == 302 and setup.count(Remittance) == 1
    r = upload(browser, "/imports/remittances/upload", sample_file(), "again.835")
    assert 'data-testid="duplicate"' in r.get_data(as_text=True)


def test_invalid_upload_lists_located_errors_and_offers_the_report(setup: Setup, browser):
    login(browser, setup.advocate)
    bad = sample_file().replace(b"CLP*PCN-LOW*1*100*95", b"CLP*PCN-LOW*1*100*abc")
    r = upload(browser, "/imports/remittances/upload", bad, "bad.835")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "nothing was imported" in html and "CLP04" in html
    link = re.search(r'href="(/imports/reports/[^"]+)"', html).group(1)
    report = browser.get(link)
    assert report.status_code == 200 and report.mimetype == "text/plain"
    assert "Transaction 0001, segment" in report.get_data(as_text=True)
    assert "attachment" in report.headers["Content-Disposition"]
    assert setup.count(Remittance) == 0
    # The report is the uploader's only.
    other = make_user(setup.tenant, "advocate")
    from tests.conftest import Browser

    b2 = Browser(browser.app, ip="10.9.9.9")
    login(b2, other)
    assert b2.get(link).status_code == 404


def test_unmatched_claim_opens_a_case_or_is_dismissed(setup: Setup, browser):
    login(browser, setup.advocate)
    r = upload(browser, "/imports/remittances/upload", sample_file(), "june.835")
    browser.post("/imports/remittances/confirm", {"token": _token(r.get_data(as_text=True))})
    items = setup.rows(UnmatchedClaim)
    assert {i.patient_control_number for i in items} == {"PCN-LOW"}
    (item,) = items
    listing = browser.get("/imports/unmatched").get_data(as_text=True)
    assert "PCN-LOW" in listing and "DOE" in listing
    page = browser.get(f"/imports/unmatched/{item.id}")
    assert page.status_code == 200 and "Open a case" in page.get_data(as_text=True)
    r = browser.post(
        f"/imports/unmatched/{item.id}",
        {
            "practice_id": str(setup.practice_id),
            "payer_id": str(setup.payer_id),
            "plan_type": "fully_insured",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    case = next(c for c in setup.rows(Case) if c.patient_control_number == "PCN-LOW")
    assert (case.plan_type, case.status, case.total_paid, case.initial_paid) == (
        "fully_insured",
        "intake",
        D("95.00"),
        D("95.00"),
    )
    (pay,) = setup.rows(Payment, Payment.case_id == case.id)
    assert (pay.remittance_id, pay.reference) == (item.remittance_id, "EFT-A")
    (item,) = setup.rows(UnmatchedClaim)
    assert (item.status, item.case_id) == ("case_created", case.id)
    # Reviewed once only.
    r = browser.post(f"/imports/unmatched/{item.id}/dismiss", {})
    assert r.status_code == 302
    assert setup.rows(UnmatchedClaim)[0].status == "case_created"


def test_dismissing_an_unmatched_claim(setup: Setup, browser):
    login(browser, setup.advocate)
    r = upload(browser, "/imports/remittances/upload", sample_file(), "june.835")
    browser.post("/imports/remittances/confirm", {"token": _token(r.get_data(as_text=True))})
    (item,) = setup.rows(UnmatchedClaim)
    assert browser.post(f"/imports/unmatched/{item.id}/dismiss", {}).status_code == 302
    assert setup.rows(UnmatchedClaim)[0].status == "dismissed"
    assert "PCN-LOW" not in browser.get("/imports/unmatched").get_data(as_text=True)
    assert "PCN-LOW" in browser.get("/imports/unmatched?status=dismissed").get_data(as_text=True)


def test_settings_are_for_managers(setup: Setup, make_browser):
    adv = make_browser("10.1.0.1")
    login(adv, setup.advocate)
    assert adv.get("/imports/settings").status_code == 403
    owner = make_browser("10.1.0.2")
    login(owner, setup.firm.owner)
    assert owner.get("/imports/settings").status_code == 200
    r = owner.post("/imports/settings", {"co45_threshold": "abc"})
    assert r.status_code == 422 and "is not an amount" in r.get_data(as_text=True)
    r = owner.post("/imports/settings", {"co45_threshold": "150.5"})
    assert r.status_code == 302
    (s,) = setup.rows(ImportSettings)
    assert s.co45_threshold == D("150.50")


def test_nav_shows_imports_to_workers_only(setup: Setup, make_browser):
    adv = make_browser("10.2.0.1")
    login(adv, setup.advocate)
    assert 'href="/imports/"' in adv.get("/").get_data(as_text=True)
    viewer = make_browser("10.2.0.2")
    login(viewer, make_user(setup.tenant, "viewer"))
    assert 'href="/imports/"' not in viewer.get("/").get_data(as_text=True)
    assert viewer.get("/imports/").status_code == 403


def test_claims_csv_flow_with_a_saved_header_mapping(setup: Setup, browser):
    login(browser, setup.advocate)
    data = to_csv(GOOD, rename={"billed": "Gross Chg"})
    r = upload(browser, "/imports/claims", data, "claims.csv")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'data-testid="mapping-form"' in html and "Gross Chg" in html
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    r = browser.post("/imports/claims/mapping", {"token": token, "map:Gross Chg": "billed"})
    assert r.status_code == 200, r.get_data(as_text=True)[:3000]
    html = r.get_data(as_text=True)
    assert re.search(r"<dt>New cases</dt><dd>2\b", html)
    assert setup.count(HeaderAlias) == 1 and setup.count(Case) == 0
    r = browser.post("/imports/claims/confirm", {"token": _token(html)})
    assert r.status_code == 302
    assert setup.count(Case) == 2
    # The mapping is remembered for the next file.
    r = upload(browser, "/imports/claims", to_csv(GOOD, rename={"billed": "Gross Chg"}), "same.csv")
    assert 'data-testid="duplicate"' in r.get_data(as_text=True)
    page = browser.get("/imports/mapping").get_data(as_text=True)
    assert "Gross Chg" in page


def test_claims_csv_errors_are_listed_by_line(setup: Setup, browser):
    login(browser, setup.advocate)
    bad = to_csv([GOOD[0], dict(GOOD[1], billed="lots")])
    r = upload(browser, "/imports/claims", bad, "bad.csv")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Line 3, column billed" in html
    assert "/imports/claims/confirm" not in html
    assert setup.count(Case) == 0


def test_the_claims_upload_page_documents_every_column(setup: Setup, browser):
    from advocate.imports.claims_csv import COLUMNS

    login(browser, setup.advocate)
    html = browser.get("/imports/claims").get_data(as_text=True)
    table = html.split('data-testid="import-columns"', 1)[1].split("</table>", 1)[0]
    for column in COLUMNS:
        assert f"<td><code>{column.key}</code></td>" in table
    assert table.count("<tr>") == len(COLUMNS) + 1  # the header row, then one per column
