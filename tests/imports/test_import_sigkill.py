"""Reliability: kill the importing process (SIGKILL) in the middle of posting a
large 835 and show that nothing was half-imported; re-running imports it
exactly once, and a third run is a duplicate.

The import runs as `flask --app wsgi import 835 FILE --tenant SLUG` in a
subprocess against the test database (the SQLite file, or PostgreSQL as the
app role). The test hook ADVOCATE_IMPORT_SLEEP_AFTER_N_CLAIMS makes it pause
after writing that many claim rows (cases, payments and claims already
inserted, nothing committed) and say so on stderr; the test kills it there.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.cases.models import Case, CaseCounter, CaseEvent, Payment, ServiceLine
from advocate.extensions import db
from advocate.imports.era import parse_835
from advocate.imports.era_fixtures import generate_835
from advocate.imports.models import (
    Remittance,
    RemittanceAdjustment,
    RemittanceClaim,
    RemittanceTransaction,
    UnmatchedClaim,
)
from tenants import tenant_scope
from tests.imports.remit_support import Setup

ROOT = Path(__file__).resolve().parents[2]
N_CLAIMS = 4000
PAUSE_AFTER = 1000
MODELS = (
    Remittance,
    RemittanceTransaction,
    RemittanceClaim,
    RemittanceAdjustment,
    UnmatchedClaim,
    Case,
    ServiceLine,
    Payment,
    CaseEvent,
)


def _env(app, **extra) -> dict:
    env = dict(os.environ)
    env["DATABASE_URL"] = app.config["SQLALCHEMY_DATABASE_URI"]
    env["MIGRATION_DATABASE_URL"] = app.config["MIGRATION_DATABASE_URL"]
    env["SECRET_KEY"] = app.config["SECRET_KEY"]
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def _command(path: Path, slug: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "wsgi",
        "import",
        "835",
        str(path),
        "--tenant",
        slug,
    ]


def _counts(s: Setup) -> dict:
    out = {m.__name__: s.count(m) for m in MODELS}
    with tenant_scope(s.tenant_id):
        out["audit:remittance.imported"] = len(
            db.session.scalars(
                select(AuditEvent.id).where(
                    AuditEvent.tenant_id == s.tenant_id, AuditEvent.action == "remittance.imported"
                )
            ).all()
        )
        counter = db.session.scalar(select(CaseCounter.last_number))
        out["case_counter"] = counter or 0
    return out


def _release(s: Setup) -> None:
    """End the test's own transaction and connection so the subprocess can write."""
    db.session.commit()
    db.session.remove()


def _wait_for_line(stream, marker: str, timeout: float) -> tuple[str | None, threading.Thread]:
    lines: queue.Queue[str] = queue.Queue()

    def pump():
        for line in iter(stream.readline, ""):
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            return None, reader
        if marker in line:
            return line, reader


def test_sigkill_mid_import_leaves_nothing_and_a_rerun_imports_exactly_once(
    setup: Setup, db_app, tmp_path
):
    data = generate_835(
        N_CLAIMS, seed=0
    ).encode()  # seed 0: the fixtures' payer and payee are the firm's
    parsed = parse_835(data)
    assert parsed.valid and len(list(parsed.claims)) == N_CLAIMS
    # A few existing cases for claims of the file, so posting matches as well as creates.
    claims = list(parsed.claims)
    for c in claims[:5]:
        setup.case(c.payer_claim_number, c.patient_control_number)
    path = tmp_path / "big.835"
    path.write_bytes(data)
    slug = setup.slug
    before = _counts(setup)
    _release(setup)

    with subprocess.Popen(  # noqa: S603 - our own command line
        _command(path, slug),
        cwd=ROOT,
        env=_env(
            db_app,
            ADVOCATE_IMPORT_SLEEP_AFTER_N_CLAIMS=str(PAUSE_AFTER),
            ADVOCATE_IMPORT_SLEEP_SECONDS="300",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            line, reader = _wait_for_line(proc.stderr, "advocate-import: paused after", timeout=240)
            assert line is not None, "the import never reached the pause"
            assert proc.poll() is None
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            reader.join(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL

    assert _counts(setup) == before  # nothing half-imported
    _release(setup)

    first = subprocess.run(  # noqa: S603 - our own command line
        _command(path, slug),
        cwd=ROOT,
        env=_env(db_app),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads(first.stdout)
    assert summary["duplicate"] is False
    assert summary["claims"] == N_CLAIMS
    assert summary["matched"] + summary["created"] + summary["unmatched"] == N_CLAIMS
    assert summary["matched"] >= 5 and summary["created"] > 0
    after = _counts(setup)
    assert after["Remittance"] == 1
    assert after["RemittanceClaim"] == N_CLAIMS
    assert after["UnmatchedClaim"] == summary["unmatched"]
    assert after["Case"] == before["Case"] + summary["created"]
    assert after["audit:remittance.imported"] == 1
    with tenant_scope(setup.tenant_id):
        posted = db.session.scalars(
            select(Payment.amount).where(Payment.remittance_id.is_not(None))
        ).all()
        paid_claims = db.session.scalars(
            select(RemittanceClaim.amount_posted).where(
                RemittanceClaim.outcome != "unmatched", RemittanceClaim.amount_posted != 0
            )
        ).all()
        # A PLB WO naming a matched claim posts as a recoupment (a negative payment).
        recouped = db.session.scalars(
            select(RemittanceAdjustment.amount).where(RemittanceAdjustment.payment_id.is_not(None))
        ).all()
    # one payment per paying claim and per recoupment: exactly once
    assert len(posted) == len(paid_claims) + len(recouped)
    assert sum(posted) == sum(paid_claims) - sum(recouped)
    _release(setup)

    second = subprocess.run(  # noqa: S603 - our own command line
        _command(path, slug),
        cwd=ROOT,
        env=_env(db_app),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert json.loads(second.stdout)["duplicate"] is True
    assert _counts(setup) == after
