"""Bulk letters without Redis: the same job functions run inline. A batch is
one row per letter; letters are claimed with a lease and written to a key
derived from their id, so a duplicated or retried job never makes a second
copy and an abandoned lease is taken over."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

from pypdf import PdfReader
from sqlalchemy import func, select, update

from advocate.cases.models import CaseEvent
from advocate.db import utcnow
from advocate.documents.models import Document
from advocate.extensions import db
from advocate.letters import services, tasks
from advocate.letters.models import CANCELLED, DONE, FAILED, PENDING, RENDERING, Letter, LetterBatch
from advocate.storage import get_storage
from tenants import tenant_scope
from tests.factories import login, make_practice
from tests.letters.conftest import authorize, bulk_cases, make_setup, pdf_text


def _counts(tid: int, batch_id: int) -> dict:
    with tenant_scope(tid):
        letters = dict(
            db.session.execute(
                select(Letter.status, func.count())
                .where(Letter.batch_id == batch_id)
                .group_by(Letter.status)
            ).all()
        )
        docs = db.session.scalar(
            select(func.count(Document.id)).where(Document.note.like("Generated letter%"))
        )
        events = db.session.scalar(
            select(func.count(CaseEvent.id)).where(CaseEvent.kind == "letter")
        )
    objects = [o.key for o in get_storage().list(f"tenants/{tid}/letters/batch-{batch_id}/")]
    return {
        "letters": letters,
        "documents": docs,
        "events": events,
        "objects": len(objects),
        "distinct_objects": len(set(objects)),
    }


def _batch_id(tid: int) -> int:
    with tenant_scope(tid):
        return db.session.scalar(select(func.max(LetterBatch.id)))


def _new_batch(s, template="records_cover", **filters):
    from advocate.auth.models import User
    from advocate.practices.services import tenant_today

    with tenant_scope(s.tenant.id):
        tenant = db.session.get(type(s.tenant), s.tenant.id)
        actor = db.session.get(User, s.advocate.user.id)
        b = services.create_batch(
            tenant=tenant,
            actor=actor,
            filter_args=filters,
            letter_type_key=template,
            template_version_id=None,
            today=tenant_today(tenant),
        )
        db.session.commit()
        return b.id, b.total


def test_a_batch_renders_inline_without_redis(db_app, browser):
    s = make_setup()
    ids = bulk_cases(s.tenant.id, s.practice_id, s.payer_id, 30, lines=6)
    login(browser, s.advocate)
    page = browser.get(f"/letters/batches/new?practice_id={s.practice_id}").get_data(as_text=True)
    assert "<strong>31</strong> cases match" in page
    r = browser.post(
        "/letters/batches", {"practice_id": str(s.practice_id), "template": "reconsideration"}
    )
    assert r.status_code == 302
    bid = _batch_id(s.tenant.id)
    assert r.headers["Location"].endswith(f"/letters/batches/{bid}")
    c = _counts(s.tenant.id, bid)
    assert c == {
        "letters": {DONE: 31},
        "documents": 31,
        "events": 31,
        "objects": 31,
        "distinct_objects": 31,
    }
    prog = browser.get(f"/letters/batches/{bid}/progress.json").get_json()
    assert (
        prog["finished"] is True
        and prog["done"] == 31
        and prog["remaining"] == 0
        and prog["pct"] == 100.0
    )
    page = browser.get(f"/letters/batches/{bid}").get_data(as_text=True)
    assert f'data-poll-url="/letters/batches/{bid}/progress.json"' in page
    # Each letter is its own case's document.
    with tenant_scope(s.tenant.id):
        owners = set(
            db.session.scalars(select(Document.owner_id).where(Document.owner_type == "case"))
        )
    assert set(ids) <= owners


def test_failed_letters_show_why_and_can_be_retried(db_app, browser):
    s = make_setup()
    unauthorized = make_practice(s.tenant, name="Unsigned Clinic", npi="1245319599")
    bulk_cases(s.tenant.id, s.practice_id, s.payer_id, 3)
    bulk_cases(s.tenant.id, unauthorized, s.payer_id, 2)
    login(browser, s.advocate)
    browser.post("/letters/batches", {"template": "appeal_level_1"})
    bid = _batch_id(s.tenant.id)
    assert _counts(s.tenant.id, bid)["letters"] == {DONE: 4, FAILED: 2}
    page = browser.get(f"/letters/batches/{bid}").get_data(as_text=True)
    assert page.count("Unsigned Clinic has no valid authorization on file") == 2
    # Fix the cause, retry: exactly the two failed letters are rendered, nothing twice.
    authorize(s.tenant.id, unauthorized)
    r = browser.post(f"/letters/batches/{bid}/retry-failed")
    assert r.status_code == 302
    c = _counts(s.tenant.id, bid)
    assert c == {
        "letters": {DONE: 6},
        "documents": 6,
        "events": 6,
        "objects": 6,
        "distinct_objects": 6,
    }


def test_one_failed_letter_can_be_retried(db_app, browser):
    s = make_setup(authorized=False)
    login(browser, s.advocate)
    browser.post("/letters/batches", {"template": "external_review"})
    bid = _batch_id(s.tenant.id)
    with tenant_scope(s.tenant.id):
        letter_id = db.session.scalar(select(Letter.id).where(Letter.batch_id == bid))
    assert _counts(s.tenant.id, bid)["letters"] == {FAILED: 1}
    authorize(s.tenant.id, s.practice_id)
    browser.post(f"/letters/letter/{letter_id}/retry")
    assert _counts(s.tenant.id, bid)["letters"] == {DONE: 1}


def test_cancel_stops_the_letters_not_yet_rendered(db_app, browser):
    s = make_setup()
    bulk_cases(s.tenant.id, s.practice_id, s.payer_id, 9)
    bid, total = _new_batch(s)  # created, not started
    assert total == 10
    login(browser, s.advocate)
    assert browser.post(f"/letters/batches/{bid}/cancel").status_code == 302
    assert _counts(s.tenant.id, bid)["letters"] == {CANCELLED: 10}
    prog = browser.get(f"/letters/batches/{bid}/progress.json").get_json()
    assert prog["finished"] is True and prog["status"] == "cancelled" and prog["cancelled"] == 10
    # A job that runs after the cancel renders nothing.
    tasks.render_batch(s.tenant.id, bid)
    assert _counts(s.tenant.id, bid)["objects"] == 0


def test_zip_and_merged_pdf_hold_every_letter(db_app, browser):
    s = make_setup()
    bulk_cases(s.tenant.id, s.practice_id, s.payer_id, 4)
    login(browser, s.advocate)
    browser.post("/letters/batches", {"template": "records_cover"})
    bid = _batch_id(s.tenant.id)
    r = browser.get(f"/letters/batches/{bid}/download.zip")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    assert "attachment" in r.headers["Content-Disposition"]
    data = r.data
    r.close()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert len(names) == 5 and len(set(names)) == 5
    assert all(n.startswith("C-0000") and n.endswith(".pdf") for n in names)
    r = browser.get(f"/letters/batches/{bid}/merged.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    data = r.data
    r.close()
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 5
    text = pdf_text(data)
    assert text.count("Medical records: claim") == 5
    with tenant_scope(s.tenant.id):
        from advocate.audit.models import AuditEvent

        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "letter_batch.downloaded")
        )
        assert len(list(actions)) == 2


def test_a_duplicated_job_never_makes_a_second_copy(db_app):
    s = make_setup()
    bulk_cases(s.tenant.id, s.practice_id, s.payer_id, 11)
    bid, _total = _new_batch(s)
    tasks.render_batch(s.tenant.id, bid)
    tasks.render_batch(s.tenant.id, bid)  # delivered twice
    c = _counts(s.tenant.id, bid)
    assert c == {
        "letters": {DONE: 12},
        "documents": 12,
        "events": 12,
        "objects": 12,
        "distinct_objects": 12,
    }


def test_an_abandoned_lease_is_taken_over_and_the_late_job_files_nothing(db_app):
    s = make_setup()
    bulk_cases(s.tenant.id, s.practice_id, s.payer_id, 7)
    bid, _total = _new_batch(s)
    tid = s.tenant.id
    with tenant_scope(tid):
        # A worker claims five letters and renders them... then dies before filing them.
        ctx = tasks._JobContext.load(tid, bid)
        token, ids = tasks.claim(bid, 5, 60)
        assert len(ids) == 5
        db.session.execute(
            update(Letter)
            .where(Letter.id.in_(ids))
            .values(leased_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    # Any later run takes the expired leases over.
    tasks.render_batch(tid, bid)
    c = _counts(tid, bid)
    assert c == {
        "letters": {DONE: 8},
        "documents": 8,
        "events": 8,
        "objects": 8,
        "distinct_objects": 8,
    }
    # The first worker was only slow: it wakes up and tries to file its chunk with its old token.
    with tenant_scope(tid):
        rows = db.session.execute(
            select(Letter.id, Letter.case_id, Letter.batch_id).where(Letter.id.in_(ids))
        ).all()
        result = tasks._file_chunk(ctx, token, [(r, "C-0", "tenants/x", b"%PDF") for r in rows], [])
    assert result == {"rendered": 0, "failed": 0, "lost": 5}
    assert _counts(tid, bid) == c


def test_a_live_lease_is_not_taken_over(db_app):
    s = make_setup()
    bid, _total = _new_batch(s)
    with tenant_scope(s.tenant.id):
        _token, ids = tasks.claim(bid, 5, 60)
        assert len(ids) == 1
        assert tasks.claim(bid, 5, 60)[1] == []  # still leased: nobody else gets it
        assert db.session.scalar(select(Letter.status).where(Letter.id == ids[0])) == RENDERING


def test_batches_need_matching_cases_and_valid_filters(db_app, browser):
    s = make_setup()
    login(browser, s.advocate)
    browser.post("/letters/batches", {"template": "records_cover", "practice_id": "999999"})
    page = browser.get("/letters/batches/new").get_data(as_text=True)
    assert "no cases match these filters" in page
    browser.post("/letters/batches", {"template": "records_cover", "amount_min": "abc"})
    page = browser.get("/letters/batches/new").get_data(as_text=True)
    assert (
        "amount_min: &#39;abc&#39; is not an amount" in page
        or "amount_min: 'abc' is not an amount" in page
    )
    with tenant_scope(s.tenant.id):
        assert db.session.scalar(select(func.count(LetterBatch.id))) == 0
        assert db.session.scalar(select(func.count(Letter.id)).where(Letter.status == PENDING)) == 0


def test_viewers_see_batches_but_cannot_start_or_cancel_them(db_app, make_browser):
    s = make_setup()
    bid, _ = _new_batch(s)
    viewer = make_browser("10.0.0.9")
    login(viewer, s.viewer)
    assert viewer.get(f"/letters/batches/{bid}").status_code == 200
    assert viewer.post("/letters/batches", {"template": "records_cover"}).status_code == 403
    assert viewer.post(f"/letters/batches/{bid}/cancel").status_code == 403
    assert _counts(s.tenant.id, bid)["letters"] == {PENDING: 1}
