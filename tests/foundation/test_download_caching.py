"""PHI downloads are never stored by a browser or a proxy: every document,
letter, batch ZIP/PDF, export, statement and report file answers with
`Cache-Control: no-store` and `Pragma: no-cache` (send_file used to leave
"no-cache, max-age=0", which still lets a copy sit in the browser's cache);
S3 download links ask S3 for the same header."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from advocate.extensions import db
from advocate.letters.models import Letter, LetterBatch
from advocate.storage import S3Storage, new_key
from tenants import tenant_scope
from tests.billing.support import make_books
from tests.factories import login, make_user
from tests.letters.conftest import bulk_cases, make_setup
from tests.reports.conftest import RANGE


def assert_no_store(r, what: str) -> None:
    assert r.headers.get("Cache-Control") == "no-store", (what, r.headers.get("Cache-Control"))
    assert r.headers.get("Pragma") == "no-cache", what
    assert "Expires" not in r.headers, what


def _ok(r, what: str, mimetype: str) -> None:
    assert r.status_code == 200, (what, r.status_code)
    assert r.mimetype == mimetype, (what, r.mimetype)
    assert_no_store(r, what)
    assert r.get_data()  # read to the end (a streamed export closes its cursor)
    r.close()


def test_letters_documents_and_batch_files_are_never_cached(db_app, browser):
    s = make_setup()
    bulk_cases(s.tenant.id, s.practice_id, s.payer_id, 2)
    login(browser, s.advocate)
    # One letter, filed as a case document, downloaded through its signed link.
    browser.post(f"/letters/cases/{s.case_id}/letters", {"template": "reconsideration"})
    with tenant_scope(s.tenant.id):
        doc_id = db.session.scalar(select(Letter.document_id).where(Letter.case_id == s.case_id))
    r = browser.get(f"/documents/{doc_id}/download")
    assert r.status_code == 302
    assert_no_store(r, "document download redirect")
    _ok(browser.get(r.headers["Location"]), "document file", "application/pdf")
    # A batch, as a ZIP and as one PDF.
    browser.post("/letters/batches", {"template": "records_cover"})
    with tenant_scope(s.tenant.id):
        bid = db.session.scalar(select(func.max(LetterBatch.id)))
    _ok(browser.get(f"/letters/batches/{bid}/download.zip"), "batch zip", "application/zip")
    _ok(browser.get(f"/letters/batches/{bid}/merged.pdf"), "batch pdf", "application/pdf")
    # A preview (by someone who may edit templates).
    admin = type(browser)(browser.app, ip="10.4.4.4")
    login(admin, s.admin)
    r = admin.post(
        "/letters/preview",
        {"letter_type": "records_cover", "subject": "x", "body": "y", "case": "C-000001"},
    )
    _ok(r, "letter preview", "application/pdf")


def test_exports_reports_and_statements_are_never_cached(db_app, browser):
    b = make_books()
    b.agreement(date(2025, 1, 1), "25")
    case_id = b.case("100.00")
    b.pay(case_id, "400.00", date(2026, 3, 3))
    login(browser, b.firm.owner)
    _ok(browser.get("/cases/export.csv"), "case export", "text/csv")
    _ok(browser.get("/billing/reports?format=csv"), "fee report csv", "text/csv")
    _ok(browser.get(f"/reports/export?{RANGE}&format=csv"), "report csv", "text/csv")
    _ok(
        browser.get(f"/reports/practices/{b.practice_id}/export?{RANGE}&format=xlsx"),
        "report xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    period = "start=2026-03-01&end=2026-03-31"
    _ok(
        browser.get(f"/billing/practices/{b.practice_id}/statement.pdf?{period}"),
        "firm statement",
        "application/pdf",
    )
    person = make_user(b.firm.tenant, "practice_user", practice_id=b.practice_id)
    portal = type(browser)(browser.app, ip="10.4.4.5")
    login(portal, person)
    _ok(
        portal.get(f"/billing/statements/statement.pdf?{period}"),
        "portal statement",
        "application/pdf",
    )


def test_s3_download_links_ask_for_no_store():
    import boto3

    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",  # noqa: S106 - presigning is offline
    )
    s3 = S3Storage("phi-bucket", client=client)
    url = s3.presigned_get(new_key(7), filename="EOB.pdf", content_type="application/pdf")
    assert parse_qs(urlsplit(url).query)["response-cache-control"] == ["no-store"]
