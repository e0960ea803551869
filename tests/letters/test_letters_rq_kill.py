"""Reliability with a real Redis and real `rq worker` processes: start a batch
of 500 letters, SIGKILL the worker (its whole process group: the worker, its
work horse and its scheduler) in the middle, start a new worker: the batch
completes with exactly 500 letters, 500 stored objects, 500 case documents
and no duplicates.

Completion does not wait on RQ's heartbeat (about 90 s) or on the dead
worker's scheduler lock (61 s): the letters carry a lease, and the next job
to run re-claims the expired ones."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from advocate.cases.models import CaseEvent
from advocate.documents.models import Document
from advocate.extensions import db
from advocate.letters import services, tasks
from advocate.letters.models import DONE, RENDERING, Letter
from tenants import tenant_scope
from tests.letters.conftest import bulk_cases, make_setup

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LETTERS_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
LEASE_SECONDS = 5
N = 500


@pytest.fixture()
def redis_db():
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    conn = Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except RedisDown:
        pytest.skip(f"no Redis at {REDIS_URL} (.ci/run starts one)")
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


@pytest.fixture()
def rq_app(db_app, redis_db, fresh_storage):
    """The app enqueueing to Redis for this test, with short leases."""
    queue = f"letters-test-{os.getpid()}"
    settings = {
        "REDIS_URL": REDIS_URL,
        "LETTERS_QUEUE": queue,
        "LETTERS_LEASE_SECONDS": LEASE_SECONDS,
        "LETTERS_CHUNK": 10,
        "LETTERS_PARALLEL_JOBS": 4,
    }
    saved = {k: db_app.config.get(k) for k in settings}
    inline = db_app.extensions["advocate_jobs"]["inline"]
    db_app.config.update(settings)
    db_app.extensions["advocate_jobs"]["inline"] = False
    yield db_app, queue, settings
    db_app.config.update(saved)
    db_app.extensions["advocate_jobs"]["inline"] = inline


def _worker(app, queue: str, settings: dict, storage_root: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LETTERS_", "REDIS_"))}
    env.update(
        {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "MIGRATION_DATABASE_URL": app.config["MIGRATION_DATABASE_URL"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "STORAGE_LOCAL_ROOT": str(storage_root),
            "RATELIMIT_ENABLED": "0",
            **{k: str(v) for k, v in settings.items()},
        }
    )
    out = log.open("ab")
    try:
        return subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                str(ROOT / ".venv/bin/rq"),
                "worker",
                "--with-scheduler",
                "--maintenance-interval",
                "5",
                "-u",
                REDIS_URL,
                queue,
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        out.close()


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _counts(tid: int, bid: int) -> dict:
    db.session.commit()  # a fresh snapshot (and no lock held on SQLite)
    with tenant_scope(tid):
        rows = dict(
            db.session.execute(
                select(Letter.status, func.count())
                .where(Letter.batch_id == bid)
                .group_by(Letter.status)
            ).all()
        )
    db.session.commit()
    return rows


def test_sigkill_mid_batch_then_a_new_worker_completes_it_exactly_once(
    rq_app, fresh_storage, tmp_path
):
    app, queue, settings = rq_app
    s = make_setup()
    bulk_cases(s.tenant.id, s.practice_id, s.payer_id, N - 1, lines=2)
    tid = s.tenant.id
    from advocate.auth.models import User
    from advocate.practices.services import tenant_today

    with tenant_scope(tid):
        tenant = db.session.get(type(s.tenant), tid)
        batch = services.create_batch(
            tenant=tenant,
            actor=db.session.get(User, s.advocate.user.id),
            filter_args={},
            letter_type_key="reconsideration",
            template_version_id=None,
            today=tenant_today(tenant),
        )
        db.session.commit()
        bid = batch.id
    assert tasks.start_batch(tid, bid, N) == 4
    db.session.commit()
    db.session.remove()
    log = tmp_path / "workers.log"

    started = time.monotonic()
    first = _worker(app, queue, settings, fresh_storage.root, log)
    try:
        while True:
            c = _counts(tid, bid)
            if c.get(DONE, 0) >= 60:
                break
            assert first.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() - started < 60, (c, log.read_text()[-3000:])
            time.sleep(0.1)
    finally:
        _stop(first, signal.SIGKILL)  # the whole group: worker, work horse, scheduler
    at_kill = _counts(tid, bid)
    assert 0 < at_kill.get(DONE, 0) < N, at_kill

    second = _worker(app, queue, settings, fresh_storage.root, log)
    try:
        while True:
            c = _counts(tid, bid)
            if c.get(DONE, 0) + c.get("failed", 0) >= N:
                break
            assert second.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() - started < 75, (c, at_kill, log.read_text()[-3000:])
            time.sleep(0.2)
    finally:
        _stop(second)

    assert _counts(tid, bid) == {DONE: N}
    with tenant_scope(tid):
        keys = db.session.scalars(select(Letter.storage_key).where(Letter.batch_id == bid)).all()
        doc_keys = db.session.scalars(
            select(Document.storage_key).where(Document.owner_type == "case")
        ).all()
        docs_per_case = db.session.execute(
            select(Document.owner_id, func.count())
            .group_by(Document.owner_id)
            .having(func.count() > 1)
        ).all()
        events = db.session.scalar(
            select(func.count(CaseEvent.id)).where(CaseEvent.kind == "letter")
        )
        rendering = db.session.scalar(
            select(func.count(Letter.id)).where(Letter.status == RENDERING)
        )
    objects = [o.key for o in fresh_storage.list(f"tenants/{tid}/letters/")]
    assert len(keys) == len(set(keys)) == N
    assert len(doc_keys) == len(set(doc_keys)) == N and set(doc_keys) == set(keys)
    assert docs_per_case == []
    assert events == N and rendering == 0
    assert len(objects) == len(set(objects)) == N and set(objects) == set(keys)
