"""Mail leaves only after the transaction that wrote it commits; attempts,
failures and retries are recorded and shown on the outbox page."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from sqlalchemy import func, select

from advocate.extensions import db
from advocate.mail import OutboxMessage, send_mail
from tenants import tenant_scope
from tests.factories import login, make_firm


def _eml(app) -> list[Path]:
    folder = Path(app.config["OUTBOX_DIR"])
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def _messages(tenant_id):
    with tenant_scope(tenant_id):
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        out = [(m.subject, m.status, m.attempts, m.error) for m in rows]
        db.session.commit()
        return out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_rolled_back_transaction_sends_nothing_and_a_commit_sends_once(db_app):
    firm = make_firm("Mail Firm")
    before = len(_eml(db_app))
    with tenant_scope(firm.tenant.id):
        send_mail("a@example.com", "Never sent", "body", tenant_id=firm.tenant.id)
        assert len(_eml(db_app)) == before  # recorded, not sent, before the commit
        db.session.rollback()
    assert len(_eml(db_app)) == before
    with tenant_scope(firm.tenant.id):
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        send_mail("a@example.com", "Sent after commit", "body", tenant_id=firm.tenant.id)
        db.session.commit()
    files = _eml(db_app)
    assert len(files) == before + 1 and "Sent after commit" in files[-1].read_text()
    assert _messages(firm.tenant.id) == [("Sent after commit", "sent", 1, None)]


def test_a_failed_delivery_is_recorded_and_shown_on_the_outbox_page(db_app, browser):
    firm = make_firm("Mail Firm")
    db_app.config["SMTP_HOST"], db_app.config["SMTP_PORT"] = "127.0.0.1", _closed_port()
    try:
        with tenant_scope(firm.tenant.id):
            send_mail("a@example.com", "Unreachable", "body", tenant_id=firm.tenant.id)
            db.session.commit()
    finally:
        db_app.config["SMTP_HOST"] = None
    [(subject, status, attempts, error)] = _messages(firm.tenant.id)
    assert (subject, status, attempts) == ("Unreachable", "failed", 1)
    assert error.startswith("ConnectionRefusedError")
    login(browser, firm.owner)
    page = browser.get("/outbox").get_data(as_text=True)
    assert "Delivery failed" in page and "failed" in page and "1 delivery attempt" in page


@pytest.mark.redis
def test_with_redis_delivery_is_an_rq_job_queued_only_by_the_commit(db_app):
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown
    from rq import SimpleWorker

    from advocate import jobs

    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    conn = Redis.from_url(url)
    try:
        conn.ping()
    except RedisDown:
        pytest.skip(f"no Redis at {url}")
    conn.flushdb()
    firm = make_firm("Mail Firm")
    saved = db_app.config.get("REDIS_URL")
    db_app.config["REDIS_URL"] = url
    db_app.extensions["advocate_jobs"]["inline"] = False
    before = len(_eml(db_app))
    try:
        with tenant_scope(firm.tenant.id):
            send_mail("a@example.com", "Queued", "body", tenant_id=firm.tenant.id)
            db.session.rollback()
            send_mail("b@example.com", "Queued for real", "body", tenant_id=firm.tenant.id)
            assert jobs.queue("default").count == 0  # nothing before the commit
            db.session.commit()
        assert jobs.queue("default").count == 1  # the rolled-back one was never queued
        SimpleWorker([jobs.queue("default")], connection=conn).work(burst=True)
        assert len(_eml(db_app)) == before + 1
        assert _messages(firm.tenant.id) == [("Queued for real", "sent", 1, None)]
    finally:
        db_app.config["REDIS_URL"] = saved
        db_app.extensions["advocate_jobs"]["inline"] = not saved
        conn.flushdb()
        conn.close()
