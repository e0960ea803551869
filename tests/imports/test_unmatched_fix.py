"""Unmatched claims become work: the fix in place (a payer ID for a payer, an NPI
or TIN for a practice), then the remittance's unmatched claims re-posted, once."""

from __future__ import annotations

import re

from advocate.cases.models import Case, Payment
from advocate.imports.models import IdentifierAlias, RemittanceClaim, UnmatchedClaim
from tests.factories import login, make_firm, make_payer, make_practice
from tests.imports.remit_support import Setup
from tests.imports.test_imports_pages import upload
from tests.imports.x12_text import header, interchange, transaction

CLAIM = [
    "LX*1",
    "CLP*PCN-5*1*900*300*0*12*CN-5*11*1",
    "NM1*QC*1*DOE*JANE****MI*W5",
    "SVC*HC:99214*900*300**1",
    "DTM*472*20240501",
    "CAS*CO*45*600",
]


def _post(browser, setup: Setup, text: str) -> int:
    r = upload(browser, "/imports/remittances/upload", text.encode(), "remit.835")
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    token = re.search(r'name="token"[^>]*value="([^"]+)"', r.get_data(as_text=True)).group(1)
    r = browser.post("/imports/remittances/confirm", {"token": token})
    assert r.status_code == 302
    return int(r.headers["Location"].rsplit("/", 1)[1])


def test_adding_the_payer_id_to_a_payer_reposts_and_opens_the_case_once(setup: Setup, browser):
    login(browser, setup.advocate)
    text = interchange(
        transaction("0001", header("300", payer="ACME HEALTH", payer_id="ZZ999") + CLAIM)
    )
    remittance_id = _post(browser, setup, text)
    (item,) = setup.rows(UnmatchedClaim)
    assert item.reason.startswith("unknown payer")
    page = browser.get("/imports/unmatched").get_data(as_text=True)
    assert 'data-testid="fix-payer_id"' in page and "Payer ID ZZ999 belongs to" in page

    # Another firm's payer is not a target: nothing saved, nothing posted.
    other = make_firm("Other Firm")
    foreign = make_payer(other.tenant, name="Foreign Plan", edi_payer_id="F1")
    r = browser.post(
        f"/imports/unmatched/{item.id}/fix", {"kind": "payer_id", "target_id": foreign}
    )
    assert r.status_code == 302
    assert setup.count(IdentifierAlias) == 0 and setup.count(Case) == 0

    r = browser.post(
        f"/imports/unmatched/{item.id}/fix", {"kind": "payer_id", "target_id": setup.payer_id}
    )
    assert r.status_code == 302
    (alias,) = setup.rows(IdentifierAlias)
    assert (alias.kind, alias.value, alias.payer_id) == ("payer_id", "ZZ999", setup.payer_id)
    (item,) = setup.rows(UnmatchedClaim)
    assert item.status == "case_created" and item.case_id is not None
    (case,) = setup.rows(Case)
    assert (case.payer_id, case.practice_id, case.payer_claim_number) == (
        setup.payer_id,
        setup.practice_id,
        "CN-5",
    )
    (rc,) = setup.rows(RemittanceClaim)
    assert (rc.outcome, rc.case_id) == ("created", case.id)
    payments = setup.rows(Payment)
    assert [p.amount for p in payments] == [item.paid]

    # Re-posting again is a no-op: nothing posted twice.
    r = browser.post(f"/imports/remittances/{remittance_id}/repost", {})
    assert r.status_code == 302
    assert setup.count(Case) == 1 and setup.count(Payment) == 1


def test_adding_the_payee_npi_to_a_practice_opens_the_case(setup: Setup, browser):
    login(browser, setup.advocate)
    payee = "N1*PE*NEW CLINIC*XX*1982743651"
    text = interchange(transaction("0001", header("300", payee=payee) + CLAIM))
    _post(browser, setup, text)
    (item,) = setup.rows(UnmatchedClaim)
    assert item.reason.startswith("unknown practice")
    clinic = make_practice(setup.tenant, name="New Clinic", npi="1497758544")
    page = browser.get("/imports/unmatched").get_data(as_text=True)
    assert 'data-testid="fix-npi"' in page and "NPI 1982743651 belongs to" in page
    r = browser.post(f"/imports/unmatched/{item.id}/fix", {"kind": "npi", "target_id": clinic})
    assert r.status_code == 302
    (case,) = setup.rows(Case)
    assert case.practice_id == clinic
    assert setup.rows(UnmatchedClaim)[0].status == "case_created"


def test_the_unmatched_page_shows_the_corrected_name_beside_the_submitted_one(
    setup: Setup, browser
):
    login(browser, setup.advocate)
    claim = CLAIM[:3] + ["NM1*74*1*DOE-SMITH*JANE****C*W5A"] + CLAIM[3:]
    text = interchange(
        transaction("0001", header("300", payer="ACME HEALTH", payer_id="ZZ999") + claim)
    )
    _post(browser, setup, text)
    (item,) = setup.rows(UnmatchedClaim)
    html = browser.get(f"/imports/unmatched/{item.id}").get_data(as_text=True)
    assert "DOE, JANE" in html and "DOE-SMITH, JANE" in html


def test_the_remittance_page_shows_plb_items_the_shape_and_a_reconciliation_warning(
    setup: Setup, browser
):
    login(browser, setup.advocate)
    setup.case("CN-OLD", "PCN-OLD")
    plb = "PLB*1234567893*20241231*WO:CN-OLD*150*L6:CN-5*-12.5*FB:B2024*40"
    # BPR02 100.00 while sum(CLP04) - sum(PLB) = 300 - 177.50 = 122.50: posted, with a warning.
    text = interchange(transaction("0001", header("100.00") + CLAIM + [plb]))
    remittance_id = _post(browser, setup, text)
    html = browser.get(f"/imports/remittances/{remittance_id}").get_data(as_text=True)
    table = re.search(r'data-testid="provider-adjustments">(.*?)</table>', html, re.S).group(1)
    assert table.count("<tr>") == 1 + 3
    assert "overpayment recovery" in table and "interest owed" in table and "(recoupment)" in table
    assert re.search(r'data-testid="plb-total">\$177\.50<', html)
    assert 'data-testid="remittance-warnings"' in html and "does not equal claim payments" in html
    assert 'data-testid="file-shape">ASCII<' in html
