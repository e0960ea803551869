"""Uploading: what is accepted, what is refused (with a message naming the
field), and what is recorded (row, object, hash, audit)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.documents.models import Document
from advocate.extensions import db
from tenants import tenant_scope
from tests.documents import samples
from tests.documents.conftest import OWNER, make_owner
from tests.factories import login, make_firm, make_practice, make_user


def _post(
    browser,
    owner_id,
    data: bytes | None,
    *,
    name="eob.pdf",
    category="eob",
    note="",
    owner_type=OWNER,
    **extra,
):
    form = {"category": category, "note": note, "next": "/", **extra}
    if data is not None:
        form["file"] = (io.BytesIO(data), name)
    return browser.post(
        f"/documents/upload?owner_type={owner_type}&owner_id={owner_id}",
        form,
        content_type="multipart/form-data",
    )


def _docs(tenant_id):
    with tenant_scope(tenant_id):
        db.session.expire_all()
        return list(db.session.scalars(select(Document).order_by(Document.id)))


def _objects(storage, tenant_id):
    return [o.key for o in storage.list(f"tenants/{tenant_id}/")]


@pytest.fixture()
def firm(db_app):
    return make_firm("Upload Firm")


@pytest.fixture()
def staff_browser(browser, firm):
    login(browser, firm.owner)
    return browser


@pytest.mark.parametrize(
    ("data", "name", "kind", "content_type"),
    [
        (samples.pdf(), "EOB March.pdf", "pdf", "application/pdf"),
        (samples.png(), "scan.png", "png", "image/png"),
        (samples.jpeg(), "photo.jpg", "jpeg", "image/jpeg"),
        (samples.tiff(), "fax.tif", "tiff", "image/tiff"),
        (
            samples.docx(),
            "appeal.docx",
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (samples.text(), "call notes.txt", "text", "text/plain; charset=utf-8"),
    ],
)
def test_upload_stores_the_object_and_records_the_row(
    storage, firm, staff_browser, data, name, kind, content_type
):
    import hashlib

    owner_id = make_owner(firm.tenant.id)
    r = _post(
        staff_browser,
        owner_id,
        data,
        name=name,
        category="medical_records",
        note="from the practice",
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    (doc,) = _docs(firm.tenant.id)
    assert (doc.owner_type, doc.owner_id, doc.category) == (OWNER, owner_id, "medical_records")
    assert (doc.kind, doc.content_type, doc.filename) == (kind, content_type, name)
    assert doc.size_bytes == len(data) and doc.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.uploaded_by_id == firm.owner.user.id and doc.note == "from the practice"
    # The key is generated under the firm's prefix and owes nothing to the file name.
    assert doc.storage_key.startswith(f"tenants/{firm.tenant.id}/documents/")
    assert name.split(".")[0] not in doc.storage_key
    assert _objects(storage, firm.tenant.id) == [doc.storage_key]
    fh = storage.open(doc.storage_key)
    assert fh.read() == data
    fh.close()
    with tenant_scope(firm.tenant.id):
        ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "document.uploaded"))
    assert ev.object_id == str(doc.id) and ev.is_phi and ev.user_id == firm.owner.user.id
    assert ev.details["sha256"] == doc.sha256 and name not in str(ev.details)


def test_a_duplicate_on_the_same_owner_is_saved_and_flagged(storage, firm, staff_browser):
    owner_id = make_owner(firm.tenant.id)
    other_owner = make_owner(firm.tenant.id)
    assert _post(staff_browser, owner_id, samples.pdf(), name="first.pdf").status_code == 302
    r = _post(staff_browser, owner_id, samples.pdf(), name="again.pdf")
    assert r.status_code == 302
    page = staff_browser.get(r.headers["Location"]).get_data(as_text=True)
    assert "identical to “first.pdf”" in page and "marked as a duplicate" in page
    assert _post(staff_browser, other_owner, samples.pdf(), name="elsewhere.pdf").status_code == 302
    first, again, elsewhere = _docs(firm.tenant.id)
    assert again.duplicate_of_id == first.id and again.sha256 == first.sha256
    assert elsewhere.duplicate_of_id is None  # another owner: not a duplicate
    assert first.storage_key != again.storage_key
    assert len(_objects(storage, firm.tenant.id)) == 3


def test_a_deleted_original_is_not_a_duplicate(storage, firm, staff_browser):
    owner_id = make_owner(firm.tenant.id)
    _post(staff_browser, owner_id, samples.text())
    (first,) = _docs(firm.tenant.id)
    assert staff_browser.post(f"/documents/{first.id}/delete").status_code == 302
    _post(staff_browser, owner_id, samples.text())
    assert _docs(firm.tenant.id)[1].duplicate_of_id is None


@pytest.mark.parametrize(
    ("data", "name", "category", "status", "field", "message"),
    [
        (samples.windows_exe(), "eob.pdf", "eob", 422, "file", "Windows executable"),
        (samples.elf(), "records.pdf", "eob", 422, "file", "Linux executable"),
        (b"", "empty.pdf", "eob", 422, "file", "the file is empty"),
        (None, "", "eob", 422, "file", "choose a file"),
        (samples.plain_zip(), "letter.docx", "eob", 422, "file", "not a Word document"),
        (b"\x00\x01binary\x02", "notes.txt", "eob", 422, "file", "not accepted"),
        (samples.pdf(), "eob.pdf", "invoice", 422, "category", "choose one of"),
        (samples.pdf(), "eob.pdf", "", 422, "category", "choose one of"),
    ],
)
def test_refused_uploads_say_why_and_store_nothing(
    storage, firm, staff_browser, data, name, category, status, field, message
):
    owner_id = make_owner(firm.tenant.id)
    r = _post(staff_browser, owner_id, data, name=name, category=category)
    assert r.status_code == status
    body = r.get_data(as_text=True)
    assert f'id="{field}-error"' in body and message in body
    assert _docs(firm.tenant.id) == []
    assert _objects(storage, firm.tenant.id) == []


def test_too_big_a_file_is_refused(storage, db_app, firm, staff_browser):
    owner_id = make_owner(firm.tenant.id)
    db_app.config["MAX_UPLOAD_BYTES"] = 2048
    try:
        ok = _post(staff_browser, owner_id, b"a" * 2048, name="exactly.txt")
        assert ok.status_code == 302
        r = _post(staff_browser, owner_id, b"a" * 2049, name="big.txt")
        assert r.status_code == 413
        assert "larger than the 2.0 KB limit" in r.get_data(as_text=True)
        # Far past the limit: refused while the body is read, before anything is parsed.
        r = _post(staff_browser, owner_id, b"a" * (2048 + 300 * 1024), name="huge.txt")
        assert r.status_code == 413
        assert "larger than the 2.0 KB limit" in r.get_data(as_text=True)
    finally:
        db_app.config.pop("MAX_UPLOAD_BYTES")
    assert len(_docs(firm.tenant.id)) == 1
    assert len(_objects(storage, firm.tenant.id)) == 1


def test_the_default_limit_is_25_mb(db_app):
    from advocate.documents.services import max_upload_bytes

    assert max_upload_bytes() == 25 * 1024 * 1024


def test_unknown_owner_type_or_id_is_404(storage, firm, staff_browser):
    owner_id = make_owner(firm.tenant.id)
    assert _post(staff_browser, owner_id + 1000, samples.pdf()).status_code == 404
    assert _post(staff_browser, owner_id, samples.pdf(), owner_type="spaceship").status_code == 404
    assert _post(staff_browser, "abc", samples.pdf()).status_code == 404
    assert (
        staff_browser.get(f"/documents/upload?owner_type={OWNER}&owner_id=999999").status_code
        == 404
    )
    assert _docs(firm.tenant.id) == [] and _objects(storage, firm.tenant.id) == []


def test_another_firms_owner_is_404(storage, db_app, make_browser):
    a = make_firm("Alpha")
    b = make_firm("Bravo")
    a_owner = make_owner(a.tenant.id)
    browser = make_browser()
    login(browser, b.owner)
    assert _post(browser, a_owner, samples.pdf()).status_code == 404
    assert (
        browser.get(f"/documents/upload?owner_type={OWNER}&owner_id={a_owner}").status_code == 404
    )
    assert browser.get(f"/documents/?owner_type={OWNER}&owner_id={a_owner}").status_code == 404
    assert _docs(a.tenant.id) == [] and _docs(b.tenant.id) == []
    assert list(storage.list()) == []


@pytest.mark.parametrize("role", ["viewer", "practice_user", "practice_admin"])
def test_readers_cannot_upload(storage, firm, make_browser, role):
    practice_id = make_practice(firm.tenant, name="Upload Practice")
    owner_id = make_owner(firm.tenant.id, practice_id=practice_id)
    person = make_user(
        firm.tenant, role, practice_id=practice_id if role.startswith("practice") else None
    )
    browser = make_browser()
    login(browser, person)
    assert _post(browser, owner_id, samples.pdf()).status_code == 403
    assert _docs(firm.tenant.id) == []


def test_advocates_upload_and_the_form_page_renders(storage, firm, make_browser):
    owner_id = make_owner(firm.tenant.id)
    adv = make_user(firm.tenant, "advocate")
    browser = make_browser()
    login(browser, adv)
    page = browser.get(f"/documents/upload?owner_type={OWNER}&owner_id={owner_id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert (
        'enctype="multipart/form-data"' in body and "Operative note" in body and "25.0 MB" in body
    )
    r = _post(browser, owner_id, samples.pdf(), next="//evil.example/")
    assert r.status_code == 302
    assert (
        r.headers["Location"] == f"/documents/?owner_type={OWNER}&owner_id={owner_id}"
    )  # not off-site


def test_a_failure_between_the_object_and_the_commit_discards_the_object(
    storage, firm, staff_browser, monkeypatch
):
    """The row is flushed after the object is written; if the commit then
    fails, the object is removed at once (the sweep is the backstop)."""
    owner_id = make_owner(firm.tenant.id)
    from advocate.extensions import db as ext_db

    real_commit = ext_db.session.commit
    calls = {"n": 0}

    def failing_commit():
        from flask import request

        if request and request.path.startswith("/documents/upload") and request.method == "POST":
            calls["n"] += 1
            raise RuntimeError("database went away")
        return real_commit()

    monkeypatch.setattr(ext_db.session, "commit", failing_commit, raising=False)
    with pytest.raises(RuntimeError, match="database went away"):
        _post(staff_browser, owner_id, samples.pdf())
    monkeypatch.undo()
    assert calls["n"] == 1
    assert _docs(firm.tenant.id) == []
    assert _objects(storage, firm.tenant.id) == []
