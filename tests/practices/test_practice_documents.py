"""Documents of practices and associations: the signed letter of
authorization attached to an authorization (shown to staff and, read only, to
the practice's own people), the practice's documents panel, and the guidance
documents of professional associations (firm staff only)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from advocate.associations.models import Association
from advocate.audit.models import AuditEvent
from advocate.documents.models import Document
from advocate.extensions import db
from advocate.practices.models import PracticeAuthorization
from tenants import tenant_scope
from tests.documents import samples
from tests.factories import firm_today, login, make_firm, make_practice, make_user
from tests.practices.practice_helpers import add_authorization


def _text(r) -> str:
    return r.get_data(as_text=True)


@pytest.fixture()
def shop(db_app, make_browser):
    firm = make_firm("Documents Firm")
    t = firm.tenant
    pid = make_practice(t, name="Hudson Valley Orthopedics", specialty="Orthopedic surgery")
    other = make_practice(
        t, name="Riverside Anesthesia", npi="9876543213", specialty="Anesthesiology"
    )
    auth_id = add_authorization(t.id, pid, firm_today(t.id) - timedelta(days=5))
    with tenant_scope(t.id):
        assoc = Association(
            tenant_id=t.id,
            name="American Academy of Orthopaedic Surgeons",
            specialty="Orthopedic surgery",
            url="https://example.org/aaos",
        )
        db.session.add(assoc)
        db.session.flush()
        assoc_id = assoc.id
        db.session.commit()
    admin = make_user(t, "admin")
    admin_b = make_browser("10.8.0.1")
    login(admin_b, admin)
    return {
        "firm": firm,
        "tid": t.id,
        "pid": pid,
        "other": other,
        "auth_id": auth_id,
        "assoc_id": assoc_id,
        "admin": admin,
        "admin_b": admin_b,
        "make_browser": make_browser,
    }


def _auth(tid, auth_id) -> PracticeAuthorization:
    with tenant_scope(tid):
        db.session.expire_all()
        return db.session.get(PracticeAuthorization, auth_id)


def _attach(b, s, data: bytes, name="LOA signed.pdf"):
    return b.post(
        f"/practices/{s['pid']}/authorizations/{s['auth_id']}/document",
        {"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _practice_person(s, role="practice_user", practice_id=None):
    p = make_user(s["firm"].tenant, role, practice_id=practice_id or s["pid"], with_totp=False)
    b = s["make_browser"](f"10.8.1.{hash(role) % 200 + 1}")
    login(b, p)
    return p, b


def test_a_manager_attaches_the_signed_authorization(shop):
    s = shop
    r = _attach(s["admin_b"], s, samples.pdf("Letter of authorization"))
    assert r.status_code == 302 and r.headers["Location"].endswith("#authorization")
    auth = _auth(s["tid"], s["auth_id"])
    assert auth.document_id is not None
    with tenant_scope(s["tid"]):
        doc = db.session.get(Document, auth.document_id)
        assert (doc.owner_type, doc.owner_id, doc.category) == (
            "practice",
            s["pid"],
            "authorization",
        )
        doc_id = doc.id
        attached = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "practice.authorization_document_attached"
            )
        )
        assert attached.details["document_id"] == doc_id
    html = _text(s["admin_b"].get(f"/practices/{s['pid']}"))
    cell = html.split('data-testid="authorization-document"')[1].split("</td>")[0]
    assert f'href="/documents/{doc_id}/download"' in cell and "LOA signed.pdf" in cell
    assert "Attach the signed letter" not in cell
    # The practice's documents panel lists it too, and the listing is a PHI read.
    panel = html.split('data-testid="practice-documents"')[1]
    assert "LOA signed.pdf" in panel.split("</section>")[0]
    with tenant_scope(s["tid"]):
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.action == "document.listed",
                    AuditEvent.object_type == "practice",
                    AuditEvent.is_phi.is_(True),
                )
            )
            >= 1
        )
    # The practice's activity feed says so.
    assert "Signed authorization attached" in html


def test_a_refused_file_attaches_nothing(shop):
    s = shop
    r = _attach(s["admin_b"], s, samples.windows_exe(), name="loa.pdf")
    assert r.status_code == 302
    assert _auth(s["tid"], s["auth_id"]).document_id is None
    with tenant_scope(s["tid"]):
        assert db.session.scalar(select(func.count()).select_from(Document)) == 0
    html = _text(s["admin_b"].get(f"/practices/{s['pid']}"))
    assert "Signed authorization:" in html  # the flash names what was wrong
    r = s["admin_b"].post(
        f"/practices/{s['pid']}/authorizations/{s['auth_id']}/document",
        {},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302 and _auth(s["tid"], s["auth_id"]).document_id is None


def test_only_managers_attach_and_only_to_their_practices_authorization(shop):
    s = shop
    for role in ("advocate", "viewer"):
        p = make_user(s["firm"].tenant, role)
        b = s["make_browser"](f"10.8.2.{len(role)}")
        login(b, p)
        assert _attach(b, s, samples.pdf()).status_code == 403, role
    # The authorization of one practice under another practice's URL: 404.
    r = s["admin_b"].post(
        f"/practices/{s['other']}/authorizations/{s['auth_id']}/document",
        {"file": (io.BytesIO(samples.pdf()), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 404
    _person, pb = _practice_person(s, "practice_admin")
    assert _attach(pb, s, samples.pdf()).status_code == 403
    assert _auth(s["tid"], s["auth_id"]).document_id is None


def test_the_practice_reads_its_signed_authorization_in_the_portal(shop):
    s = shop
    _attach(s["admin_b"], s, samples.pdf("Letter of authorization"))
    doc_id = _auth(s["tid"], s["auth_id"]).document_id
    person, b = _practice_person(s)
    r = b.get("/portal/practice")
    html = _text(r)
    assert r.status_code == 200
    assert f'href="/documents/{doc_id}/download"' in html
    main = html.split("<main", 1)[1]
    assert 'data-testid="portal-documents"' in main
    assert 'enctype="multipart/form-data"' not in main and "/delete" not in main  # read only
    assert b.get(f"/documents/{doc_id}/download").status_code == 302  # to the short-lived link
    with tenant_scope(s["tid"]):
        view = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "portal.view", AuditEvent.user_id == person.user.id
            )
        )
        assert view.details["page"] == "practice" and view.is_phi  # document names were listed
    # Another practice's person cannot read it.
    _other, ob = _practice_person(s, "practice_admin", practice_id=s["other"])
    assert ob.get(f"/documents/{doc_id}/download").status_code == 404
    assert f"/documents/{doc_id}/download" not in _text(ob.get("/portal/practice"))


def _upload_guidance(s, name="Position statement.pdf") -> int:
    r = s["admin_b"].post(
        f"/documents/upload?owner_type=association&owner_id={s['assoc_id']}",
        {
            "category": "other",
            "file": (io.BytesIO(samples.pdf("Position statement")), name),
            "next": f"/associations/{s['assoc_id']}",
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 302, _text(r)[:400]
    assert r.headers["Location"] == f"/associations/{s['assoc_id']}"
    with tenant_scope(s["tid"]):
        return db.session.scalar(
            select(Document.id).where(
                Document.owner_type == "association", Document.filename == name
            )
        )


def test_associations_carry_guidance_documents(shop):
    s = shop
    page = _text(s["admin_b"].get(f"/associations/{s['assoc_id']}"))
    assert (
        "Guidance documents" in page
        and f"owner_type=association&amp;owner_id={s['assoc_id']}" in page
    )
    doc_id = _upload_guidance(s)
    page = _text(s["admin_b"].get(f"/associations/{s['assoc_id']}"))
    assert "Position statement.pdf" in page and f'href="/documents/{doc_id}/download"' in page
    # The directory links the association's page; the practice page of its specialty lists the documents.
    assert f'href="/associations/{s["assoc_id"]}"' in _text(s["admin_b"].get("/associations/"))
    practice_page = _text(s["admin_b"].get(f"/practices/{s['pid']}"))
    guidance = practice_page.split(f'data-testid="guidance-{s["assoc_id"]}"')[1].split("</ul>")[0]
    assert "Position statement.pdf" in guidance
    assert "Position statement.pdf" not in _text(s["admin_b"].get(f"/practices/{s['other']}"))


def test_guidance_documents_are_for_firm_staff(shop):
    s = shop
    doc_id = _upload_guidance(s)
    person, b = _practice_person(s)
    assert b.get(f"/associations/{s['assoc_id']}").status_code == 403
    assert b.get(f"/documents/{doc_id}/download").status_code == 404
    viewer = make_user(s["firm"].tenant, "viewer")
    vb = s["make_browser"]("10.8.3.1")
    login(vb, viewer)
    page = _text(vb.get(f"/associations/{s['assoc_id']}"))
    assert (
        "Position statement.pdf" in page and 'enctype="multipart/form-data"' not in page
    )  # reads, no upload


def test_the_association_page_of_another_firm_is_404(shop, make_browser):
    other = make_firm("Elsewhere")
    owner_b = make_browser("10.8.4.1")
    login(owner_b, other.owner)
    assert owner_b.get(f"/associations/{shop['assoc_id']}").status_code == 404


def test_attach_service_refuses_a_document_of_another_owner(shop):
    s = shop
    doc_id = _upload_guidance(s)
    from advocate.practices import services

    with tenant_scope(s["tid"]):
        auth = db.session.get(PracticeAuthorization, s["auth_id"])
        doc = db.session.get(Document, doc_id)
        with pytest.raises(ValueError):
            services.attach_authorization_document(auth, doc, actor=None)
        db.session.rollback()
