"""`flask documents sweep` makes rows and objects agree: an object written by
an upload that died before its row committed is removed (after the grace
period), a row whose object vanished is marked, and deletions past the
restore window are purged."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.db import utcnow
from advocate.documents import services
from advocate.documents.models import Document
from advocate.documents.sweep import sweep
from advocate.extensions import db
from advocate.storage import new_key, tenant_key
from tenants import tenant_scope
from tests.documents import samples
from tests.documents.conftest import FAKE_AWS, OWNER, make_owner
from tests.factories import make_firm

ROOT = Path(__file__).resolve().parents[2]
LATER = timedelta(hours=2)  # past the default one-hour grace period


def _add(firm, owner_id, data: bytes) -> SimpleNamespace:
    with tenant_scope(firm.tenant.id):
        result = services.upload(
            tenant_id=firm.tenant.id,
            actor=firm.owner.user,
            owner_type=OWNER,
            owner_id=owner_id,
            category="eob",
            stream=io.BytesIO(data),
            filename="x.txt",
        )
        doc = result.document
        db.session.commit()
        return SimpleNamespace(
            id=doc.id, storage_key=doc.storage_key, duplicate_of_id=doc.duplicate_of_id
        )


def _rows(tenant_id):
    with tenant_scope(tenant_id):
        db.session.expire_all()
        return list(db.session.scalars(select(Document).order_by(Document.id)))


def _keys(storage):
    return [o.key for o in storage.list()]


def _upload_and_get_killed(db_app, storage, tenant_id, owner_id) -> str:
    db.session.commit()  # release SQLite's lock before the child writes
    config = {
        "SQLALCHEMY_DATABASE_URI": db_app.config["SQLALCHEMY_DATABASE_URI"],
        "MIGRATION_DATABASE_URL": db_app.config["MIGRATION_DATABASE_URL"],
        "SECRET_KEY": db_app.config["SECRET_KEY"],
        "TESTING": True,
        **storage.test_config,
    }
    proc = subprocess.run(  # noqa: S603 - this interpreter and a module of ours
        [
            sys.executable,
            "-m",
            "tests.documents.upload_then_die",
            json.dumps({"config": config, "tenant_id": tenant_id, "owner_id": owner_id}),
        ],
        cwd=ROOT,
        env={**os.environ, **FAKE_AWS},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    key = proc.stdout.strip().splitlines()[-1]
    assert key.startswith(f"tenants/{tenant_id}/documents/")
    return key


def test_sweep_removes_the_object_of_an_upload_killed_before_its_row_committed(storage, db_app):
    firm = make_firm("Sweep Firm")
    owner_id = make_owner(firm.tenant.id)
    kept = _add(firm, owner_id, samples.text("kept\n"))

    key = _upload_and_get_killed(db_app, storage, firm.tenant.id, owner_id)
    # The process died between the two steps: an object and no row.
    assert storage.exists(key)
    assert [d.storage_key for d in _rows(firm.tenant.id)] == [kept.storage_key]

    # Within the grace period (an upload may still be in flight): left alone.
    report = sweep(storage)
    assert report.orphans_in_grace == 1 and report.orphans_removed == 0
    assert storage.exists(key)

    report = sweep(storage, now=utcnow() + LATER)
    assert report.orphans_removed == 1 and report.rows_marked_missing == 0
    assert not storage.exists(key)
    assert _keys(storage) == [kept.storage_key]
    assert [d.id for d in _rows(firm.tenant.id)] == [kept.id] and not _rows(firm.tenant.id)[
        0
    ].is_missing
    with tenant_scope(firm.tenant.id):
        ev = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "document.orphan_removed")
        )
    assert ev.details["key"] == key

    # Idempotent: a second pass finds nothing to do.
    again = sweep(storage, now=utcnow() + LATER)
    assert (again.orphans_removed, again.rows_marked_missing, again.purged) == (0, 0, 0)


def test_sweep_marks_a_row_whose_object_is_missing_and_unmarks_it_when_it_returns(storage, db_app):
    firm = make_firm("Sweep Firm")
    owner_id = make_owner(firm.tenant.id)
    doc = _add(firm, owner_id, samples.text("will vanish\n"))
    ok = _add(firm, owner_id, samples.text("stays\n"))
    storage.delete(doc.storage_key)

    report = sweep(storage, now=utcnow() + LATER)
    assert (
        report.rows_marked_missing == 1 and report.rows_checked == 2 and report.orphans_removed == 0
    )
    rows = {d.id: d for d in _rows(firm.tenant.id)}
    assert rows[doc.id].is_missing and rows[doc.id].missing_since is not None
    assert not rows[ok.id].is_missing

    storage.put(
        doc.storage_key, io.BytesIO(b"will vanish\n"), content_type="text/plain; charset=utf-8"
    )
    report = sweep(storage, now=utcnow() + LATER)
    assert report.rows_found_again == 1
    assert not {d.id: d for d in _rows(firm.tenant.id)}[doc.id].is_missing


def test_sweep_purges_deletions_past_the_restore_window(storage, db_app):
    firm = make_firm("Sweep Firm")
    owner_id = make_owner(firm.tenant.id)
    old = _add(firm, owner_id, samples.text("old\n"))
    recent = _add(firm, owner_id, samples.text("recent\n"))
    dup = _add(firm, owner_id, samples.text("old\n"))
    assert dup.duplicate_of_id == old.id
    with tenant_scope(firm.tenant.id):
        db.session.get(Document, old.id).deleted_at = utcnow() - timedelta(days=31)
        db.session.get(Document, recent.id).deleted_at = utcnow() - timedelta(days=29)
        db.session.commit()

    report = sweep(storage)
    assert report.purged == 1
    rows = {d.id: d for d in _rows(firm.tenant.id)}
    assert set(rows) == {recent.id, dup.id}
    assert rows[dup.id].duplicate_of_id is None
    assert not storage.exists(old.storage_key) and storage.exists(recent.storage_key)


def test_sweep_keeps_other_firms_apart_and_clears_firms_that_are_gone(storage, db_app):
    a = make_firm("Alpha")
    b = make_firm("Bravo")
    a_doc = _add(a, make_owner(a.tenant.id), samples.text("a\n"))
    b_doc = _add(b, make_owner(b.tenant.id), samples.text("b\n"))
    # An object filed under firm B's prefix but named like A's row: an orphan of B.
    stray = tenant_key(b.tenant.id, "documents", a_doc.storage_key.rsplit("/", 1)[1])
    storage.put(stray, io.BytesIO(b"stray"), content_type="text/plain")
    gone = new_key(99999)
    storage.put(gone, io.BytesIO(b"firm deleted"), content_type="text/plain")

    report = sweep(storage, now=utcnow() + LATER)
    assert report.orphans_removed == 2
    assert sorted(_keys(storage)) == sorted([a_doc.storage_key, b_doc.storage_key])


def test_dry_run_changes_nothing(storage, db_app):
    firm = make_firm("Sweep Firm")
    doc = _add(firm, make_owner(firm.tenant.id), samples.text("x\n"))
    orphan = new_key(firm.tenant.id)
    storage.put(orphan, io.BytesIO(b"orphan"), content_type="text/plain")
    storage.delete(doc.storage_key)
    report = sweep(storage, now=utcnow() + LATER, dry_run=True)
    assert (report.orphans_removed, report.rows_marked_missing) == (1, 1)
    assert storage.exists(orphan)
    assert not _rows(firm.tenant.id)[0].is_missing


def test_the_cli_command_sweeps(storage, db_app):
    firm = make_firm("Sweep Firm")
    orphan = new_key(firm.tenant.id)
    storage.put(orphan, io.BytesIO(b"orphan"), content_type="text/plain")
    db.session.commit()
    runner = db_app.test_cli_runner()
    result = runner.invoke(args=["documents", "sweep", "--grace-minutes", "60", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "orphans in grace: 1" in result.output and storage.exists(orphan)
    result = runner.invoke(args=["documents", "sweep", "--grace-minutes", "0", "-v"])
    assert result.exit_code == 0, result.output
    assert "orphans removed: 1" in result.output and f"orphan: {orphan}" in result.output
    assert not storage.exists(orphan)


def test_sweep_leaves_other_kinds_of_object_alone(storage, db_app):
    firm = make_firm("Sweep Firm")
    letter = tenant_key(firm.tenant.id, "letters", "17.pdf")
    storage.put(letter, io.BytesIO(b"%PDF-1.4 letter"), content_type="application/pdf")
    report = sweep(storage, now=utcnow() + LATER)
    assert report.orphans_removed == 0 and report.foreign_objects == 1
    assert storage.exists(letter)
