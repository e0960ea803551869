"""An advocate attaches evidence to a case, generates a letter for it, then
runs a small bulk batch and watches its progress bar reach done.

The batch runs on a real `rq worker` process (Redis at LETTERS_TEST_REDIS_URL,
default db 13) so the progress bar really moves; the page polls
progress.json (app.js) and stops when the batch has finished."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import func, select

from advocate.extensions import db
from advocate.letters.models import DONE, Letter
from tenants import tenant_scope
from tests.letters.conftest import bulk_cases, make_setup

pytestmark = [pytest.mark.browser, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LETTERS_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
# The `rq` of the interpreter running the tests (its virtualenv need not be
# inside the checkout: a worktree shares the main checkout's .venv).
RQ = Path(sys.executable).parent / "rq"
if not RQ.exists():
    RQ = ROOT / ".venv/bin/rq"


def _log_in(page, base, person):
    page.goto(f"{base}/login")
    page.locator("#email").fill(person.user.email)
    page.locator("#password").fill(person.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/login/two-factor$"))
    page.locator("#code").fill(pyotp.TOTP(person.totp_secret).now())
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Dashboard").wait_for()


@pytest.fixture()
def redis_worker(db_app, tmp_path):
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    from advocate.storage import LocalStorage, set_storage

    conn = Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except RedisDown:
        pytest.skip(f"no Redis at {REDIS_URL} (.ci/run starts one)")
    conn.flushdb()
    queue = f"letters-browser-{os.getpid()}"
    settings = {
        "REDIS_URL": REDIS_URL,
        "LETTERS_QUEUE": queue,
        "LETTERS_LEASE_SECONDS": 10,
        "LETTERS_CHUNK": 2,
        "LETTERS_PARALLEL_JOBS": 1,
    }
    saved = {k: db_app.config.get(k) for k in settings}
    inline = db_app.extensions["advocate_jobs"]["inline"]
    db_app.config.update(settings)
    db_app.extensions["advocate_jobs"]["inline"] = False
    storage = LocalStorage(tmp_path / "storage", secret_key=db_app.config["SECRET_KEY"])
    previous = set_storage(db_app, storage)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LETTERS_", "REDIS_"))}
    env.update(
        {
            "DATABASE_URL": db_app.config["SQLALCHEMY_DATABASE_URI"],
            "MIGRATION_DATABASE_URL": db_app.config["MIGRATION_DATABASE_URL"],
            "SECRET_KEY": db_app.config["SECRET_KEY"],
            "STORAGE_LOCAL_ROOT": str(storage.root),
            **{k: str(v) for k, v in settings.items()},
        }
    )
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            str(RQ),
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
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()
        conn.flushdb()
        conn.close()
        db_app.config.update(saved)
        db_app.extensions["advocate_jobs"]["inline"] = inline
        set_storage(db_app, previous)


def test_an_advocate_generates_a_letter_and_runs_a_batch(
    db_app, redis_worker, live_server, chromium, screenshot_dir, tmp_path
):
    s = make_setup(patient_first_name="Zoë", patient_last_name="Ñúñez-Øster")
    bulk_cases(s.tenant.id, s.practice_id, s.payer_id, 23, lines=6)
    shots = screenshot_dir / "letters-flow"
    shots.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: d.accept())
    _log_in(page, live_server, s.advocate)

    # 1. Evidence: upload the EOB to the case from its documents panel.
    page.goto(f"{live_server}/cases/{s.case_id}")
    eob = tmp_path / "eob.pdf"
    from advocate.letters.render import render_pdf

    eob.write_bytes(
        render_pdf(
            {
                "title": "EOB",
                "footer": "",
                "letterhead": {"name": "Payer", "tagline": "", "lines": []},
                "date": "",
                "recipient": [],
                "references": [],
                "subject": "EOB",
                "blocks": [{"kind": "p", "lines": ["Explanation of benefits"]}],
                "table": None,
                "closing": [],
                "signature": [],
            }
        )
    )
    upload = page.get_by_test_id(f"upload-case-{s.case_id}")
    upload.locator("select[name=category]").select_option("eob")
    upload.locator("input[type=file]").set_input_files(str(eob))
    upload.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(rf"/cases/{s.case_id}"))
    page.get_by_text("eob.pdf").first.wait_for()
    page.screenshot(path=str(shots / "01-case-with-evidence.png"), full_page=True)

    # 2. One letter for the case.
    page.goto(f"{live_server}/letters/cases/{s.case_id}/letters")
    page.locator(f"#letter-template-{s.case_id}").select_option("reconsideration")
    page.get_by_role("button", name="Generate letter").click()
    page.get_by_text("generated and filed in the case's documents").wait_for()
    page.get_by_test_id("case-letters").get_by_role(
        "link", name="Initial reconsideration"
    ).wait_for()
    page.screenshot(path=str(shots / "02-letter-generated.png"), full_page=True)
    page.goto(f"{live_server}/cases/{s.case_id}")
    page.get_by_test_id(f"documents-case-{s.case_id}").get_by_role(
        "link", name="Initial reconsideration - underpayment dispute C-000001.pdf"
    ).wait_for()
    assert (
        "Initial reconsideration / underpayment dispute generated"
        in page.get_by_test_id("timeline").inner_text()
    )
    page.screenshot(path=str(shots / "03-letter-in-case-documents.png"), full_page=True)

    # 3. A bulk batch of the practice's 24 cases, rendered by the worker.
    page.goto(f"{live_server}/letters/batches/new")
    page.locator("#f-practice").select_option(str(s.practice_id))
    page.get_by_role("button", name="Count cases").click()
    page.get_by_test_id("batch-count").wait_for()
    assert "24 cases match" in page.get_by_test_id("batch-count").inner_text()
    page.locator("#batch-template").select_option("records_cover")
    page.screenshot(path=str(shots / "04-new-batch.png"), full_page=True)
    page.get_by_role("button", name="Generate 24 letters").click()
    page.wait_for_url(re.compile(r"/letters/batches/\d+$"))
    page.screenshot(path=str(shots / "05-batch-progress.png"), full_page=True)
    from playwright.sync_api import expect

    expect(page.get_by_test_id("batch-status")).to_have_text("finished", timeout=90_000)
    assert page.get_by_test_id("batch-done").inner_text().strip() == "24"
    assert page.get_by_test_id("batch-remaining").inner_text().strip() == "0"
    assert page.locator("progress[data-field=pct]").get_attribute("value") in ("100", "100.0")
    page.wait_for_timeout(800)  # the bar animates to its new width
    page.screenshot(path=str(shots / "06-batch-done.png"), full_page=True)
    with page.expect_download() as dl:
        page.get_by_test_id("download-zip").click()
    assert dl.value.suggested_filename.endswith(".zip")
    assert errors == []
    context.close()
    with tenant_scope(s.tenant.id):
        assert db.session.scalar(select(func.count(Letter.id)).where(Letter.status == DONE)) == 25
