"""The path beyond one machine, proven on one (docs/scaling.md): two web
processes and two RQ workers on one PostgreSQL database and one Redis behave
as one system.

* Two gunicorn processes on two ports, spoken to over real HTTP: a session
  logged in on one is valid on the other, a log-out on the other ends it on
  the first, and the per-IP log-in rate limit counts attempts on both (it
  lives in Redis, not in a process).
* Two `rq worker` processes on one queue: a batch of letters (the app's
  leased work items) is rendered with each letter filed exactly once, and
  both workers took part.

Needs PostgreSQL (two processes on one SQLite file is not the claim) and a
Redis at TEST_REDIS_URL (.ci/run starts one); skipped without them.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import make_firm, make_user, totp_code

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


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


def _env(app, **extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LETTERS_", "REDIS_", "RATELIMIT_", "LOGIN_"))
    }
    env.update(
        {
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "MIGRATION_DATABASE_URL": app.config["MIGRATION_DATABASE_URL"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "REDIS_URL": REDIS_URL,
            **{k: str(v) for k, v in extra.items()},
        }
    )
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    out = log.open("ab")
    try:
        return subprocess.Popen(  # noqa: S603 - fixed arguments
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        out.close()


def _wait_http(base: str, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            if requests.get(base + "/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError("web process did not start: " + log.read_text()[-3000:])


def _csrf(html: str) -> str:
    m = CSRF.search(html)
    assert m, html[:500]
    return m.group(1) or m.group(2)


@pytest.fixture()
def two_web_processes(db_app, redis_db, tmp_path):
    """Two gunicorn processes (one worker each) on two ports, one database,
    one Redis, one SECRET_KEY: what a load balancer spreads requests over."""
    env = _env(db_app, RATELIMIT_ENABLED="1", LOGIN_ATTEMPTS_PER_IP="4 per minute")
    procs, bases = [], []
    log = tmp_path / "web.log"
    try:
        for _ in range(2):
            port = _free_port()
            cmd = [
                str(ROOT / ".venv/bin/gunicorn"),
                "--workers", "1",
                "--threads", "2",
                "--bind", f"127.0.0.1:{port}",
                "wsgi:app",
            ]  # fmt: skip
            procs.append(_start(cmd, env, log))
            bases.append(f"http://127.0.0.1:{port}")
        for proc, base in zip(procs, bases, strict=True):
            _wait_http(base, proc, log)
        yield bases
    finally:
        for proc in procs:
            _stop(proc)


def test_a_session_from_one_web_process_works_on_the_other(two_web_processes):
    import requests

    a, b = two_web_processes
    firm = make_firm("Two Process Advocacy")
    person = make_user(firm.tenant, "advocate")

    browser = requests.Session()
    r = browser.get(a + "/login")
    r = browser.post(
        a + "/login",
        data={"csrf_token": _csrf(r.text), "email": person.user.email, "password": person.password},
    )
    assert r.url.startswith(a + "/login/two-factor"), r.url
    r = browser.post(
        a + "/login/two-factor", data={"csrf_token": _csrf(r.text), "code": totp_code(person)}
    )
    assert r.status_code == 200 and "/login" not in r.url, r.url

    # The cookie process A set is a session on process B (and back on A).
    for base in (b, a, b):
        r = browser.get(base + "/cases/", allow_redirects=False)
        assert r.status_code == 200, (base, r.status_code, r.headers.get("Location"))
        assert "Two Process Advocacy" in r.text

    # Log out on B: the session ends on A too (it is a row, not process memory).
    r = browser.get(b + "/cases/")
    r = browser.post(b + "/logout", data={"csrf_token": _csrf(r.text)})
    assert r.status_code == 200
    r = browser.get(a + "/cases/", allow_redirects=False)
    assert r.status_code == 302 and "/login" in r.headers["Location"]

    # The per-IP log-in limit (4 a minute here) counts attempts on both
    # processes: 1 above, then A, B, A; the next, on B, is refused.
    stranger = requests.Session()
    for base in (a, b, a):
        r = stranger.get(base + "/login")
        r = stranger.post(
            base + "/login",
            data={"csrf_token": _csrf(r.text), "email": "nobody@example.com", "password": "x" * 12},
        )
        assert r.status_code == 200, r.status_code
    r = stranger.get(b + "/login")
    r = stranger.post(
        b + "/login",
        data={"csrf_token": _csrf(r.text), "email": "nobody@example.com", "password": "x" * 12},
    )
    assert r.status_code == 429


def _worker(app, queue: str, settings: dict, storage_root: Path, log: Path) -> subprocess.Popen:
    env = _env(app, STORAGE_LOCAL_ROOT=storage_root, RATELIMIT_ENABLED="0", **settings)
    cmd = [
        str(ROOT / ".venv/bin/rq"),
        "worker",
        "--with-scheduler",
        "--maintenance-interval", "5",
        "-u", REDIS_URL,
        queue,
    ]  # fmt: skip
    return _start(cmd, env, log)


def test_two_workers_process_a_batch_exactly_once(db_app, redis_db, tmp_path):
    from rq import Worker

    from advocate.auth.models import User
    from advocate.cases.models import CaseEvent
    from advocate.documents.models import Document
    from advocate.letters import services, tasks
    from advocate.letters.models import DONE, Letter
    from advocate.practices.services import tenant_today
    from tests.letters.conftest import bulk_cases, make_setup

    n = 120
    queue = f"scale-test-{os.getpid()}"
    settings = {
        "LETTERS_QUEUE": queue,
        "LETTERS_LEASE_SECONDS": 10,
        "LETTERS_CHUNK": 5,
        "LETTERS_PARALLEL_JOBS": 4,
    }
    storage_root = tmp_path / "storage"
    log = tmp_path / "workers.log"
    s = make_setup()
    bulk_cases(s.tenant.id, s.practice_id, s.payer_id, n - 1, lines=2)
    tid = s.tenant.id

    workers = [_worker(db_app, queue, settings, storage_root, log) for _ in range(2)]
    saved = {k: db_app.config.get(k) for k in (*settings, "REDIS_URL")}
    inline = db_app.extensions["advocate_jobs"]["inline"]
    try:
        # Both workers listening before the work arrives, so both can take a job.
        deadline = time.monotonic() + 60
        while len(Worker.all(connection=redis_db)) < 2:
            for w in workers:
                assert w.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)

        db_app.config.update(settings, REDIS_URL=REDIS_URL)
        db_app.extensions["advocate_jobs"]["inline"] = False
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
        assert tasks.start_batch(tid, bid, n) == 4
        db.session.commit()

        deadline = time.monotonic() + 120
        while True:
            db.session.commit()
            with tenant_scope(tid):
                done = db.session.scalar(
                    select(func.count(Letter.id)).where(
                        Letter.batch_id == bid, Letter.status == DONE
                    )
                )
            db.session.commit()
            if done >= n:
                break
            assert all(w.poll() is None for w in workers), log.read_text()[-3000:]
            assert time.monotonic() < deadline, (done, log.read_text()[-3000:])
            time.sleep(0.3)
        # The four jobs of the batch finish (a job whose letters were all taken
        # by the other waits out their leases first), and each worker ran some.
        while True:
            jobs_done = [w.successful_job_count for w in Worker.all(connection=redis_db)]
            if sum(jobs_done) >= 4:
                break
            assert time.monotonic() < deadline, (jobs_done, log.read_text()[-3000:])
            time.sleep(0.3)
        assert len(jobs_done) == 2 and all(c >= 1 for c in jobs_done), jobs_done
    finally:
        for w in workers:
            _stop(w)
        db_app.config.update(saved)
        db_app.extensions["advocate_jobs"]["inline"] = inline

    with tenant_scope(tid):
        statuses = dict(
            db.session.execute(
                select(Letter.status, func.count())
                .where(Letter.batch_id == bid)
                .group_by(Letter.status)
            ).all()
        )
        keys = db.session.scalars(select(Letter.storage_key).where(Letter.batch_id == bid)).all()
        doc_keys = db.session.scalars(
            select(Document.storage_key).where(Document.owner_type == "case")
        ).all()
        events = db.session.scalar(
            select(func.count(CaseEvent.id)).where(CaseEvent.kind == "letter")
        )
    from advocate.storage import LocalStorage

    storage = LocalStorage(storage_root, secret_key=db_app.config["SECRET_KEY"])
    objects = [o.key for o in storage.list(f"tenants/{tid}/letters/")]
    assert statuses == {DONE: n}
    assert len(keys) == len(set(keys)) == n
    assert len(doc_keys) == len(set(doc_keys)) == n and set(doc_keys) == set(keys)
    assert events == n
    assert len(objects) == len(set(objects)) == n and set(objects) == set(keys)
