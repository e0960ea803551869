"""One letter for a case: rendered on the firm's letterhead, filed as a case
document and on the timeline; refused (nothing saved) when the letter type
needs an authorization the practice lacks, or when an NSA letter would carry
a billed, Medicare or U&C figure."""

from __future__ import annotations

from sqlalchemy import func, select

from advocate.cases.models import CaseEvent
from advocate.documents.models import Document
from advocate.extensions import db
from advocate.letters import services
from advocate.letters.models import DONE, Letter
from advocate.storage import get_storage
from tenants import tenant_scope, user_scope
from tests.factories import login
from tests.letters.conftest import add_nsa, make_setup, pdf_text


def _stored_pdf(key: str) -> bytes:
    with get_storage().open(key) as fh:
        return fh.read()


def _count(tenant_id, model, *where):
    with tenant_scope(tenant_id):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_letter_is_stored_as_a_case_document_and_on_the_timeline(setup, browser):
    login(browser, setup.advocate)
    r = browser.post(f"/letters/cases/{setup.case_id}/letters", {"template": "reconsideration"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{setup.case_id}")
    tid = setup.tenant.id
    with tenant_scope(tid):
        letter = db.session.scalar(select(Letter).where(Letter.case_id == setup.case_id))
        assert letter.status == DONE and letter.document_id
        doc = db.session.get(Document, letter.document_id)
        assert (doc.owner_type, doc.owner_id, doc.kind, doc.content_type) == (
            "case",
            setup.case_id,
            "pdf",
            "application/pdf",
        )
        assert doc.filename.startswith("Initial reconsideration") and doc.filename.endswith(".pdf")
        assert doc.storage_key == letter.storage_key and doc.storage_key.startswith(
            f"tenants/{tid}/letters/"
        )
        events = db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == setup.case_id, CaseEvent.kind == "letter")
        ).all()
        assert [e.summary for e in events] == [
            "Initial reconsideration / underpayment dispute generated"
        ]
        text = pdf_text(_stored_pdf(doc.storage_key))
    # Letterhead, recipient, references, body and the claim table. No fee schedule is
    # loaded here, so there is no benchmark: the letter shows no benchmark column and
    # does not claim one (issue 17; tests/letters/test_letter_figures.py has the rest).
    assert "Benchmark" not in text and "benchmark" not in text
    for expected in (
        "Harbor Claims Advocacy",
        "12 Harbor Street",
        "Keystone Health Plan",
        "PO Box 1234",
        "Jane Doe",
        "CLM-0001",
        "Lakeside Orthopedics",
        "99213",
        "20610",
        "$250.00",
        "$650.00",
        "Arlo Advocate",
        "Request for reconsideration: claim CLM-0001",
    ):
        assert expected in text, expected
    # The case page lists it among the documents, and the timeline shows it.
    page = browser.get(f"/cases/{setup.case_id}").get_data(as_text=True)
    assert "Initial reconsideration" in page


def _generate(s, letter_type_key, *, actor=None, case_id=None, template_version_id=None):
    from advocate.auth.models import User
    from advocate.cases.models import Case
    from advocate.practices.services import tenant_today

    tid = s.tenant.id
    with tenant_scope(tid):
        tenant = db.session.get(type(s.tenant), tid)
        case = db.session.get(Case, case_id or s.case_id)
        user = db.session.get(User, (actor or s.advocate).user.id)
        letter = services.generate_letter(
            tenant=tenant,
            actor=user,
            case=case,
            letter_type_key=letter_type_key,
            template_version_id=template_version_id,
            today=tenant_today(tenant),
        )
        db.session.commit()
        return letter.id, letter.storage_key


def test_names_in_any_script_render_without_boxes(db_app):
    s = make_setup(
        patient_first_name="Zoë 王小明",
        patient_last_name="Ñúñez-Øster",
        member_id="Łódź-Ελένη-Дмитрий",
    )
    from advocate.auth.models import User
    from advocate.payers.models import Payer

    # RLS on users: only the user changes their own account row.
    with tenant_scope(s.tenant.id), user_scope(s.advocate.user.id):
        db.session.get(User, s.advocate.user.id).name = "Søren 김민준 さくら"
        db.session.get(
            Payer, s.payer_id
        ).name = "Αθηνά Health · שלום · مرحبا · नमस्ते · สวัสดี · Հայ · ქართ"
        db.session.commit()
    _id, key = _generate(s, "reconsideration")
    text = pdf_text(_stored_pdf(key))
    # A glyph no font has extracts as NUL: there is none.
    assert "\x00" not in text
    # (Thai, Arabic and Hebrew are shaped too; text extraction reorders their marks, so only
    # the absence of NUL is checked for them.)
    for name in (
        "Zoë 王小明 Ñúñez-Øster",
        "Łódź-Ελένη-Дмитрий",
        "Søren 김민준 さくら",
        "Αθηνά Health",
        "नमस्ते",
        "Հայ",
        "ქართ",
    ):
        assert name in text, name


def test_typst_markup_in_user_data_is_printed_as_text(db_app):
    s = make_setup(
        patient_first_name="#set page(width: 1pt) *bold* $x$",
        patient_last_name="[x] <l> @r // \\ `c`",
    )
    _id, key = _generate(s, "records_cover")
    text = pdf_text(_stored_pdf(key))
    assert "#set page(width: 1pt) *bold* $x$" in text
    assert "[x] <l> @r // \\ `c`" in text


def test_letters_needing_an_authorization_refuse_without_one(db_app, browser):
    s = make_setup(authorized=False)
    login(browser, s.advocate)
    for key in ("reconsideration", "appeal_level_1", "appeal_level_2", "external_review"):
        r = browser.post(f"/letters/cases/{s.case_id}/letters", {"template": key})
        assert r.status_code == 302
        page = browser.get(f"/cases/{s.case_id}").get_data(as_text=True)
        assert "no valid authorization on file" in page, key
    assert _count(s.tenant.id, Letter) == 0
    assert _count(s.tenant.id, Document) == 0
    # A letter that needs none is generated.
    browser.post(f"/letters/cases/{s.case_id}/letters", {"template": "records_cover"})
    assert _count(s.tenant.id, Letter, Letter.status == DONE) == 1


def test_nsa_letters_carry_no_billed_medicare_or_ucr_figures(db_app):
    s = make_setup(service_type="emergency")
    add_nsa(s.tenant.id, s.case_id)
    for key in ("nsa_open_negotiation", "idr_offer_summary"):
        _id, stored = _generate(s, key)
        text = pdf_text(_stored_pdf(stored))
        assert "$1,850.00" in text and "$4,200.00" in text, key  # QPA and offer
        assert "99213" in text and "20610" in text
        for forbidden in (
            "$250.00",
            "$400.00",
            "$650.00",
            "250.00",
            "650.00",
        ):  # billed per line and total
            assert forbidden not in text, (key, forbidden)
        for word in (
            "Medicare",
            "Billed",
            "billed",
            "UCR",
            "usual and customary",
            "percentile",
            "Benchmark",
        ):
            assert word not in text, (key, word)


def test_an_nsa_letter_whose_text_carries_a_billed_figure_is_refused(db_app):
    from advocate.letters.models import LetterTemplate

    s = make_setup()
    add_nsa(s.tenant.id, s.case_id)
    # A firm template that sneaks the billed total in as literal text passes the field
    # check (it names no field), and is still refused when the letter is built.
    with tenant_scope(s.tenant.id):
        from advocate.auth.models import User

        admin = db.session.get(User, s.admin.user.id)
        t = services.copy_template(
            tenant_id=s.tenant.id,
            actor=admin,
            name="NSA ours",
            letter_type_key="nsa_open_negotiation",
        )
        services.save_version(
            t, actor=admin, subject="Notice", body="We billed $650.00 for this.\n"
        )
        version_id = t.current_version_id
        db.session.commit()
    try:
        _generate(s, "nsa_open_negotiation", template_version_id=version_id)
    except services.LetterError as err:
        assert "650.00" in str(err) and "billed charges" in str(err)
    else:
        raise AssertionError("the NSA letter with a billed figure was generated")
    with tenant_scope(s.tenant.id):
        assert db.session.scalar(select(func.count(LetterTemplate.id))) == 1
    assert _count(s.tenant.id, Letter) == 0


def test_nsa_letter_without_a_dispute_record_says_why(db_app, browser):
    s = make_setup()
    login(browser, s.advocate)
    browser.post(f"/letters/cases/{s.case_id}/letters", {"template": "idr_offer_summary"})
    page = browser.get(f"/cases/{s.case_id}").get_data(as_text=True)
    assert "no No Surprises Act dispute record" in page


def test_generating_needs_a_worker_role_and_the_firms_own_case(db_app, make_browser):
    s = make_setup()
    other = make_setup()
    viewer = make_browser("10.0.0.5")
    login(viewer, s.viewer)
    assert (
        viewer.post(
            f"/letters/cases/{s.case_id}/letters", {"template": "records_cover"}
        ).status_code
        == 403
    )
    adv = make_browser("10.0.0.6")
    login(adv, s.advocate)
    assert (
        adv.post(
            f"/letters/cases/{other.case_id}/letters", {"template": "records_cover"}
        ).status_code
        == 404
    )
    assert _count(other.tenant.id, Letter) == 0


def test_fee_statement_lists_payments_and_fees(db_app):
    from datetime import date
    from decimal import Decimal

    from advocate.cases import services as case_services
    from advocate.cases.models import Case
    from advocate.practices.models import FeeAgreement

    s = make_setup()
    with tenant_scope(s.tenant.id):
        db.session.add(
            FeeAgreement(
                tenant_id=s.tenant.id,
                practice_id=s.practice_id,
                effective_date=date(2025, 1, 1),
                percent=Decimal("25.00"),
                basis="incremental",
            )
        )
        case = db.session.get(Case, s.case_id)
        case_services.add_payment(
            case,
            amount=Decimal("400.00"),
            paid_on=date(2026, 4, 1),
            source="check",
            reference="CHK-1",
            actor_id=None,
        )
        db.session.commit()
    _id, key = _generate(s, "fee_statement")
    text = pdf_text(_stored_pdf(key))
    assert "Fee statement" in text and "CHK-1" in text and "$400.00" in text
    assert "25%" in text and "$100.00" in text
