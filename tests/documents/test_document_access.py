"""Who may download, delete and restore; downloads are short-lived,
attachment-only, audited and issued only after the access check."""

from __future__ import annotations

import io
import urllib.request
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event, select

from advocate.audit.models import AuditEvent
from advocate.db import utcnow
from advocate.documents import services
from advocate.documents.models import Document
from advocate.extensions import db
from advocate.storage import LocalStorage
from tenants import tenant_scope
from tests.documents import samples
from tests.documents.conftest import OWNER, make_owner
from tests.factories import login, make_firm, make_practice, make_user


def _add_document(firm, owner_id, data=None, name="EOB March.pdf", category="eob") -> int:
    with tenant_scope(firm.tenant.id):
        result = services.upload(
            tenant_id=firm.tenant.id,
            actor=firm.owner.user,
            owner_type=OWNER,
            owner_id=owner_id,
            category=category,
            stream=io.BytesIO(data or samples.pdf()),
            filename=name,
        )
        db.session.commit()
        return result.document.id


def _doc(tenant_id, doc_id) -> Document:
    with tenant_scope(tenant_id):
        db.session.expire_all()
        return db.session.get(Document, doc_id)


def _fetch(browser, storage, url):
    """Follow a download link the way a browser would: S3 straight from the
    bucket, local storage through the app."""
    if isinstance(storage, LocalStorage):
        r = browser.get(url)
        try:
            return r.status_code, r.headers, r.get_data()
        finally:
            r.close()  # a WSGI server closes the streamed file; the test client leaves it to us
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - the local moto server
        return resp.status, resp.headers, resp.read()


def _download_events(tenant_id):
    with tenant_scope(tenant_id):
        return list(
            db.session.scalars(select(AuditEvent).where(AuditEvent.action == "document.downloaded"))
        )


@pytest.fixture()
def firm(db_app):
    f = make_firm("Access Firm")
    # Real practices: a practice user's membership must name one (its foreign key).
    f.practices = (
        make_practice(f.tenant, name="Access Practice", npi="1234567893"),
        make_practice(f.tenant, name="Other Access Practice", npi="1245319599"),
    )
    return f


def test_staff_download_is_a_5_minute_attachment_link_and_is_audited(storage, firm, make_browser):
    owner_id = make_owner(firm.tenant.id)
    doc_id = _add_document(firm, owner_id, samples.pdf("march"), name="EOB March.pdf")
    viewer = make_user(firm.tenant, "viewer")
    browser = make_browser()
    login(browser, viewer)
    r = browser.get(f"/documents/{doc_id}/download")
    assert r.status_code == 302
    url = r.headers["Location"]
    assert r.headers["Cache-Control"] == "no-store"
    if isinstance(storage, LocalStorage):
        info = storage.read_token(url.rsplit("/", 1)[1])
        assert info["key"].startswith(f"tenants/{firm.tenant.id}/")
        assert info["filename"] == "EOB March.pdf"
        remaining = info["expires_at"] - utcnow().timestamp()
        assert 290 <= remaining <= 300
    else:
        q = parse_qs(urlsplit(url).query)
        assert q["X-Amz-Expires"] == ["300"]
        assert q["response-content-disposition"][0].startswith(
            'attachment; filename="EOB March.pdf"'
        )
        assert (
            urlsplit(url).path.split("/", 3)[3].startswith(f"tenants/{firm.tenant.id}/documents/")
        )
    status, headers, body = _fetch(browser, storage, url)
    assert status == 200 and body == samples.pdf("march")
    assert headers["Content-Disposition"].startswith('attachment; filename="EOB March.pdf"')
    assert headers["Content-Type"].startswith("application/pdf")
    (ev,) = _download_events(firm.tenant.id)
    assert ev.is_phi and ev.object_id == str(doc_id) and ev.user_id == viewer.user.id
    assert ev.details["expires_in"] == 300


def test_a_text_file_named_html_downloads_as_text(storage, firm, make_browser):
    owner_id = make_owner(firm.tenant.id)
    doc_id = _add_document(firm, owner_id, b"<script>alert(1)</script>\n", name="notes.html")
    browser = make_browser()
    login(browser, firm.owner)
    url = browser.get(f"/documents/{doc_id}/download").headers["Location"]
    status, headers, _ = _fetch(browser, storage, url)
    assert headers["Content-Type"].startswith("text/plain")
    assert 'filename="notes.html.txt"' in headers["Content-Disposition"]


def test_practice_users_download_their_own_practice_documents_only(storage, firm, make_browser):
    mine = _add_document(firm, make_owner(firm.tenant.id, practice_id=firm.practices[0]))
    theirs = _add_document(firm, make_owner(firm.tenant.id, practice_id=firm.practices[1]))
    firm_level = _add_document(firm, make_owner(firm.tenant.id, practice_id=None))
    portal = make_user(firm.tenant, "practice_user", practice_id=firm.practices[0])
    browser = make_browser()
    login(browser, portal)
    r = browser.get(f"/documents/{mine}/download")
    assert r.status_code == 302
    assert _fetch(browser, storage, r.headers["Location"])[0] == 200
    for doc_id in (theirs, firm_level):
        assert browser.get(f"/documents/{doc_id}/download").status_code == 404
    assert len(_download_events(firm.tenant.id)) == 1
    # Never delete, even their own.
    assert browser.post(f"/documents/{mine}/delete").status_code == 403
    assert _doc(firm.tenant.id, mine).deleted_at is None


def test_practice_users_see_the_owner_page_of_their_practice_only(storage, firm, make_browser):
    mine = make_owner(firm.tenant.id, practice_id=firm.practices[0])
    theirs = make_owner(firm.tenant.id, practice_id=firm.practices[1])
    _add_document(firm, mine, name="ours.pdf")
    _add_document(firm, theirs, name="not ours.pdf")
    portal = make_user(firm.tenant, "practice_admin", practice_id=firm.practices[0])
    browser = make_browser()
    login(browser, portal)
    r = browser.get(f"/documents/?owner_type={OWNER}&owner_id={mine}")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "ours.pdf" in body
    assert "/documents/upload" not in body and "/delete" not in body  # read-only
    assert browser.get(f"/documents/?owner_type={OWNER}&owner_id={theirs}").status_code == 404


def test_a_local_link_is_checked_again_when_used(db_app, firm, make_browser, tmp_path):
    """The local link is signed and expiring, and the app re-checks access:
    a link handed to someone without access is useless."""
    from advocate.storage import set_storage

    local = LocalStorage(tmp_path, secret_key=db_app.config["SECRET_KEY"])
    previous = set_storage(db_app, local)
    try:
        doc_id = _add_document(firm, make_owner(firm.tenant.id, practice_id=firm.practices[1]))
        staff = make_browser("10.0.0.1")
        login(staff, firm.owner)
        url = staff.get(f"/documents/{doc_id}/download").headers["Location"]

        portal = make_browser("10.0.0.2")
        login(portal, make_user(firm.tenant, "practice_user", practice_id=firm.practices[0]))
        assert portal.get(url).status_code == 404

        other_firm = make_firm("Other")
        outsider = make_browser("10.0.0.3")
        login(outsider, other_firm.owner)
        assert outsider.get(url).status_code == 404

        anonymous = make_browser("10.0.0.4")
        r = anonymous.get(url)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login")

        assert staff.get(url.replace("/file/", "/file/x")).status_code == 404
        # Deleted since the link was issued: gone.
        assert staff.post(f"/documents/{doc_id}/delete").status_code == 302
        assert staff.get(url).status_code == 404
    finally:
        set_storage(db_app, previous)


def test_another_firm_gets_404_for_every_document_route(storage, firm, make_browser):
    doc_id = _add_document(firm, make_owner(firm.tenant.id))
    deleted_id = _add_document(firm, make_owner(firm.tenant.id), samples.text())
    with tenant_scope(firm.tenant.id):
        db.session.get(Document, deleted_id).deleted_at = utcnow()
        db.session.commit()
    other = make_firm("Other")
    browser = make_browser()
    login(browser, other.owner)
    assert browser.get(f"/documents/{doc_id}/download").status_code == 404
    assert browser.post(f"/documents/{doc_id}/delete").status_code == 404
    assert browser.post(f"/documents/{deleted_id}/restore").status_code == 404
    assert "EOB March" not in browser.get("/documents/deleted").get_data(as_text=True)
    assert _doc(firm.tenant.id, doc_id).deleted_at is None
    assert _doc(firm.tenant.id, deleted_id).deleted_at is not None
    assert _download_events(firm.tenant.id) == [] and _download_events(other.tenant.id) == []


def test_delete_is_soft_and_an_admin_restores_within_30_days(storage, firm, make_browser):
    owner_id = make_owner(firm.tenant.id)
    doc_id = _add_document(firm, owner_id)
    key = _doc(firm.tenant.id, doc_id).storage_key
    adv = make_browser("10.0.0.1")
    adv_person = make_user(firm.tenant, "advocate")
    login(adv, adv_person)
    r = adv.post(
        f"/documents/{doc_id}/delete",
        {"next": f"/documents/?owner_type={OWNER}&owner_id={owner_id}"},
    )
    assert r.status_code == 302
    doc = _doc(firm.tenant.id, doc_id)
    assert doc.deleted_at is not None and doc.deleted_by_id == adv_person.user.id
    assert storage.exists(key)  # soft: the object stays
    assert adv.get(f"/documents/{doc_id}/download").status_code == 404
    listing = adv.get(f"/documents/?owner_type={OWNER}&owner_id={owner_id}").get_data(as_text=True)
    assert "EOB March.pdf" not in listing
    # Advocates may not restore; admins may.
    assert adv.post(f"/documents/{doc_id}/restore").status_code == 403
    admin = make_browser("10.0.0.2")
    login(admin, make_user(firm.tenant, "admin"))
    assert "EOB March.pdf" in admin.get("/documents/deleted").get_data(as_text=True)
    assert admin.post(f"/documents/{doc_id}/restore").status_code == 302
    assert _doc(firm.tenant.id, doc_id).deleted_at is None
    assert adv.get(f"/documents/{doc_id}/download").status_code == 302
    with tenant_scope(firm.tenant.id):
        actions = list(
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(doc_id)))
        )
    assert {"document.deleted", "document.restored"} <= set(actions)


def test_restore_is_refused_after_30_days(storage, firm, make_browser):
    doc_id = _add_document(firm, make_owner(firm.tenant.id))
    with tenant_scope(firm.tenant.id):
        db.session.get(Document, doc_id).deleted_at = utcnow() - timedelta(days=31)
        db.session.commit()
    admin = make_browser()
    login(admin, firm.owner)
    assert "EOB March.pdf" not in admin.get("/documents/deleted").get_data(as_text=True)
    r = admin.post(f"/documents/{doc_id}/restore")
    assert r.status_code == 302
    assert "can no longer be restored" in admin.get(r.headers["Location"]).get_data(as_text=True)
    assert _doc(firm.tenant.id, doc_id).deleted_at is not None


def test_a_missing_object_is_shown_and_not_linked(storage, firm, make_browser):
    owner_id = make_owner(firm.tenant.id)
    doc_id = _add_document(firm, owner_id)
    with tenant_scope(firm.tenant.id):
        db.session.get(Document, doc_id).is_missing = True
        db.session.commit()
    browser = make_browser()
    login(browser, firm.owner)
    page = browser.get(f"/documents/?owner_type={OWNER}&owner_id={owner_id}").get_data(as_text=True)
    assert "File missing" in page and f"/documents/{doc_id}/download" not in page
    r = browser.get(f"/documents/{doc_id}/download")
    assert r.status_code == 302 and "/documents/file/" not in r.headers["Location"]
    assert "missing" in browser.get(r.headers["Location"]).get_data(as_text=True)
    assert _download_events(firm.tenant.id) == []


def test_the_panel_lists_without_a_query_per_row(storage, db_app, firm, make_browser):
    owner_id = make_owner(firm.tenant.id)
    browser = make_browser()
    login(browser, firm.owner)
    url = f"/documents/?owner_type={OWNER}&owner_id={owner_id}"

    def count_queries():
        counter = {"n": 0}

        def on_execute(*args, **kwargs):
            counter["n"] += 1

        engine = db.engine
        event.listen(engine, "before_cursor_execute", on_execute)
        try:
            r = browser.get(url)
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
        assert r.status_code == 200
        return counter["n"], r.get_data(as_text=True)

    _add_document(firm, owner_id, samples.text("one\n"), name="one.txt")
    few, _ = count_queries()
    for n in range(6):
        _add_document(firm, owner_id, samples.text(f"more {n}\n"), name=f"more-{n}.txt")
    many, body = count_queries()
    assert many == few
    assert body.count('data-document-id="') == 7
    assert "Firm Owner" in body  # uploader names come from one batched query


def test_documents_for_lists_one_owners_live_documents(storage, firm):
    a = make_owner(firm.tenant.id)
    b = make_owner(firm.tenant.id)
    first = _add_document(firm, a, samples.text("1\n"))
    second = _add_document(firm, a, samples.text("2\n"))
    _add_document(firm, b, samples.text("3\n"))
    gone = _add_document(firm, a, samples.text("4\n"))
    with tenant_scope(firm.tenant.id):
        db.session.get(Document, gone).deleted_at = utcnow()
        db.session.commit()
        assert [d.id for d in services.documents_for(OWNER, a)] == [second, first]


def test_listing_an_owners_documents_is_audited_as_a_phi_read(storage, firm, make_browser):
    owner_id = make_owner(firm.tenant.id)
    _add_document(firm, owner_id, name="Jane Doe op note.pdf")
    browser = make_browser()
    login(browser, firm.owner)
    assert browser.get(f"/documents/?owner_type={OWNER}&owner_id={owner_id}").status_code == 200
    with tenant_scope(firm.tenant.id):
        ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "document.listed"))
    assert ev.is_phi and ev.object_type == OWNER and ev.object_id == str(owner_id)
    assert ev.details == {"count": 1}
