"""Firm templates: copied from a system template, edited as versions (never
overwritten), refused before saving when they name an unknown merge field,
previewed with a real case; managers edit, staff read."""

from __future__ import annotations

from sqlalchemy import func, select

from advocate.extensions import db
from advocate.letters.models import LetterTemplate, LetterTemplateVersion
from tenants import tenant_scope
from tests.factories import login
from tests.letters.conftest import pdf_text


def _template_id(tid: int) -> int:
    with tenant_scope(tid):
        return db.session.scalar(select(func.max(LetterTemplate.id)))


def _versions(tid: int, template_id: int) -> list[tuple[int, str]]:
    with tenant_scope(tid):
        return [
            (v.number, v.body)
            for v in db.session.scalars(
                select(LetterTemplateVersion)
                .where(LetterTemplateVersion.template_id == template_id)
                .order_by(LetterTemplateVersion.number)
            )
        ]


def test_a_manager_copies_and_edits_a_template_as_versions(setup, browser):
    tid = setup.tenant.id
    login(browser, setup.admin)
    r = browser.post(
        "/letters/templates/copy", {"letter_type": "appeal_level_1", "name": "Our L1 appeal"}
    )
    assert r.status_code == 302
    t_id = _template_id(tid)
    assert r.headers["Location"].endswith(f"/letters/templates/{t_id}/edit")
    ((n1, body1),) = _versions(tid, t_id)
    assert n1 == 1 and "level 1 appeal" in body1
    new_body = "Dear {{ payer.name }},\n\nWe appeal claim {{ case.claim_number }} for {{ patient.full_name }}.\n\n{{ claim_table }}\n"
    r = browser.post(
        f"/letters/templates/{t_id}/edit",
        {
            "name": "Our L1 appeal",
            "subject": "Appeal {{ case.claim_number }}",
            "body": new_body,
            "note": "shorter",
        },
    )
    assert r.status_code == 302
    assert [n for n, _ in _versions(tid, t_id)] == [1, 2]
    assert _versions(tid, t_id)[0][1] == body1  # version 1 is kept as it was
    page = browser.get(f"/letters/templates/{t_id}/versions").get_data(as_text=True)
    assert "Version 2" in page and "Version 1" in page and "shorter" in page
    # Restoring version 1 makes it version 3.
    with tenant_scope(tid):
        v1 = db.session.scalar(
            select(LetterTemplateVersion.id).where(
                LetterTemplateVersion.template_id == t_id, LetterTemplateVersion.number == 1
            )
        )
    browser.post(f"/letters/templates/{t_id}/versions/{v1}/restore")
    assert [n for n, _ in _versions(tid, t_id)] == [1, 2, 3]
    assert _versions(tid, t_id)[2][1] == body1


def test_an_unknown_merge_field_is_refused_at_save_with_the_field_named(setup, browser):
    tid = setup.tenant.id
    login(browser, setup.admin)
    browser.post("/letters/templates/copy", {"letter_type": "reconsideration", "name": "Ours"})
    t_id = _template_id(tid)
    r = browser.post(
        f"/letters/templates/{t_id}/edit",
        {
            "name": "Ours",
            "subject": "Re {{ case.claim_number }}",
            "body": "Dear {{ payer.name }},\n\nPatient SSN {{ patient.ssn }}.\n",
        },
    )
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "unknown merge field “patient.ssn” (line 3)" in page
    assert [n for n, _ in _versions(tid, t_id)] == [1]
    r = browser.post(
        f"/letters/templates/{t_id}/edit",
        {"name": "Ours", "subject": "x", "body": "{{ ''.__class__.__mro__ }}"},
    )
    assert r.status_code == 422 and "only merge fields can be read" in r.get_data(as_text=True)
    assert [n for n, _ in _versions(tid, t_id)] == [1]


def test_preview_renders_a_real_case_and_refuses_unknown_fields(setup, browser):
    login(browser, setup.admin)  # previews need the template-editing role
    r = browser.post(
        "/letters/preview",
        {
            "letter_type": "records_cover",
            "subject": "Records {{ case.claim_number }}",
            "body": "For {{ patient.full_name }}.\n\n{{ claim_table }}\n",
            "case": "C-000001",
        },
    )
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.headers["Cache-Control"] == "no-store"
    text = pdf_text(r.data)
    assert "Records CLM-0001" in text and "For Jane Doe." in text and "99213" in text
    r = browser.post(
        "/letters/preview",
        {
            "letter_type": "records_cover",
            "subject": "x",
            "body": "{{ case.secret }}",
            "case": "C-000001",
        },
    )
    assert r.status_code == 422 and "unknown merge field “case.secret”" in r.get_data(as_text=True)
    r = browser.post(
        "/letters/preview",
        {"letter_type": "records_cover", "subject": "x", "body": "y", "case": "C-999999"},
    )
    assert r.status_code == 422 and "no case C-999999" in r.get_data(as_text=True)


def test_staff_read_templates_and_only_managers_change_them(setup, make_browser):
    tid = setup.tenant.id
    admin = make_browser("10.0.1.1")
    login(admin, setup.admin)
    admin.post("/letters/templates/copy", {"letter_type": "records_cover", "name": "Records"})
    t_id = _template_id(tid)
    for person in (setup.viewer, setup.advocate):
        b = make_browser("10.0.1.2")
        login(b, person)
        assert b.get("/letters/templates").status_code == 200
        assert b.get("/letters/system?type=idr_offer_summary").status_code == 200
        assert b.get(f"/letters/templates/{t_id}").status_code == 200
        assert b.get(f"/letters/templates/{t_id}/versions").status_code == 200
        assert b.get(f"/letters/templates/{t_id}/edit").status_code == 403
        assert (
            b.post(
                f"/letters/templates/{t_id}/edit", {"name": "x", "subject": "x", "body": "x"}
            ).status_code
            == 403
        )
        assert (
            b.post(
                "/letters/templates/copy", {"letter_type": "records_cover", "name": "Mine"}
            ).status_code
            == 403
        )
    assert [n for n, _ in _versions(tid, t_id)] == [1]


def test_a_firm_template_is_used_for_the_letter(setup, browser):
    from advocate.letters.models import Letter
    from advocate.storage import get_storage

    tid = setup.tenant.id
    login(browser, setup.admin)
    browser.post(
        "/letters/templates/copy", {"letter_type": "records_cover", "name": "Records (ours)"}
    )
    t_id = _template_id(tid)
    browser.post(
        f"/letters/templates/{t_id}/edit",
        {
            "name": "Records (ours)",
            "subject": "Our records {{ case.claim_number }}",
            "body": "Hello {{ payer.name|upper }}.\n\n{{ claim_table }}\n\nBye.\n",
        },
    )
    with tenant_scope(tid):
        version_id = db.session.get(LetterTemplate, t_id).current_version_id
    page = browser.get(f"/letters/cases/{setup.case_id}/letters").get_data(as_text=True)
    assert f'value="records_cover:{version_id}"' in page and "Records (ours)" in page
    browser.post(
        f"/letters/cases/{setup.case_id}/letters", {"template": f"records_cover:{version_id}"}
    )
    with tenant_scope(tid):
        letter = db.session.scalar(select(Letter))
        assert letter.template_version_id == version_id
    with get_storage().open(letter.storage_key) as fh:
        text = pdf_text(fh.read())
    assert (
        "Our records CLM-0001" in text and "Hello KEYSTONE HEALTH PLAN." in text and "Bye." in text
    )
    # Another type's template cannot be passed off as this type.
    r = browser.post(
        f"/letters/cases/{setup.case_id}/letters", {"template": f"reconsideration:{version_id}"}
    )
    assert r.status_code == 302
    with tenant_scope(tid):
        assert db.session.scalar(select(func.count(Letter.id))) == 1
