"""`flask documents sweep`: make stored objects and document rows agree.

- An object under `tenants/<id>/documents/` with no document row (live or soft-deleted),
  older than the grace period, is removed: an upload that wrote its object and
  died before its row committed. The grace period protects uploads in flight.
- A row whose object is missing is marked (`is_missing`), and unmarked if the
  object comes back.
- Rows soft-deleted more than RESTORE_DAYS ago are purged: object first, then
  the row, so a crash in between leaves a row the next sweep purges again.

Each firm is swept inside its own `tenant_scope`, so it works as the app's
database role under row-level security. Safe to run repeatedly and
concurrently with uploads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from sqlalchemy import delete, select, update

from advocate.audit.services import audit
from advocate.db import utcnow
from advocate.documents.models import Document
from advocate.documents.services import KEY_KIND, RESTORE_DAYS
from advocate.extensions import db
from advocate.storage import TENANT_PREFIX, Storage, tenant_of_key
from tenants import tenant_scope
from tenants.scoping import tenant_directory

DEFAULT_GRACE = timedelta(hours=1)


@dataclass
class SweepReport:
    objects_seen: int = 0
    orphans_removed: int = 0
    orphans_in_grace: int = 0
    foreign_objects: int = 0
    rows_checked: int = 0
    rows_marked_missing: int = 0
    rows_found_again: int = 0
    purged: int = 0
    temp_files_removed: int = 0

    def lines(self) -> list[str]:
        return [f"{name.replace('_', ' ')}: {value}" for name, value in vars(self).items()]


def sweep(
    storage: Storage,
    *,
    grace: timedelta = DEFAULT_GRACE,
    now: datetime | None = None,
    restore_days: int = RESTORE_DAYS,
    dry_run: bool = False,
    log: Callable[[str], None] | None = None,
) -> SweepReport:
    now = now or utcnow()
    cutoff = now - grace
    report = SweepReport()
    log = log or (lambda _msg: None)
    db.session.rollback()
    # Every firm, through the directory (RLS shows the app role no firm row
    # outside its scope: reading tenants here would make every firm look gone).
    tenant_ids = {tid for tid, _slug, _active in tenant_directory()}
    db.session.commit()
    visited: set[int] = set()

    # Keys come in order, so each firm's objects arrive together.
    for tid, group in groupby(storage.list(TENANT_PREFIX), key=lambda o: tenant_of_key(o.key)):
        objects = list(group)
        report.objects_seen += len(objects)
        if tid is None:
            report.foreign_objects += len(objects)
            continue
        # Only documents' own keys: other kinds (letters, exports) are not ours to judge.
        mine = [o for o in objects if o.key.startswith(f"tenants/{tid}/{KEY_KIND}/")]
        report.foreign_objects += len(objects) - len(mine)
        objects = mine
        if tid not in tenant_ids:
            # The firm is gone (its rows went with it): everything left is an orphan.
            for obj in objects:
                if obj.last_modified >= cutoff:
                    report.orphans_in_grace += 1
                    continue
                log(f"orphan (no firm {tid}): {obj.key}")
                if not dry_run:
                    storage.delete(obj.key)
                report.orphans_removed += 1
            continue
        visited.add(tid)
        _sweep_tenant(storage, tid, objects, cutoff, now, restore_days, dry_run, report, log)

    for tid in sorted(tenant_ids - visited):
        _sweep_tenant(storage, tid, [], cutoff, now, restore_days, dry_run, report, log)

    remove_temp = getattr(storage, "sweep_temp_files", None)
    if remove_temp is not None and not dry_run:
        report.temp_files_removed = remove_temp(int(grace.total_seconds()))
    return report


def _sweep_tenant(storage, tid, objects, cutoff, now, restore_days, dry_run, report, log) -> None:
    with tenant_scope(tid):
        try:
            rows = db.session.execute(
                select(Document.id, Document.storage_key, Document.is_missing, Document.deleted_at)
            ).all()
            by_key = {r.storage_key: r for r in rows}
            seen = {o.key for o in objects}

            for obj in objects:
                if obj.key in by_key:
                    continue
                if obj.last_modified >= cutoff:
                    report.orphans_in_grace += 1
                    continue
                # The row may have committed since the snapshot: look again before deleting.
                if (
                    db.session.scalar(select(Document.id).where(Document.storage_key == obj.key))
                    is not None
                ):
                    continue
                log(f"orphan: {obj.key}")
                if not dry_run:
                    storage.delete(obj.key)
                    audit(
                        "document.orphan_removed",
                        object_type="storage_object",
                        tenant_id=tid,
                        details={"key": obj.key, "size": obj.size},
                    )
                report.orphans_removed += 1

            purge_before = now - timedelta(days=restore_days)
            for row in rows:
                report.rows_checked += 1
                if row.deleted_at is not None and row.deleted_at < purge_before:
                    log(f"purge document {row.id}: {row.storage_key}")
                    if not dry_run:
                        storage.delete(row.storage_key)
                        db.session.execute(
                            update(Document)
                            .where(Document.duplicate_of_id == row.id)
                            .values(duplicate_of_id=None)
                        )
                        db.session.execute(delete(Document).where(Document.id == row.id))
                        audit(
                            "document.purged",
                            object_type="documents",
                            object_id=row.id,
                            tenant_id=tid,
                            details={"key": row.storage_key},
                        )
                    report.purged += 1
                    continue
                present = row.storage_key in seen or storage.exists(row.storage_key)
                if not present and not row.is_missing:
                    log(f"missing object for document {row.id}: {row.storage_key}")
                    if not dry_run:
                        db.session.execute(
                            update(Document)
                            .where(Document.id == row.id)
                            .values(is_missing=True, missing_since=now)
                        )
                        audit(
                            "document.missing",
                            object_type="documents",
                            object_id=row.id,
                            tenant_id=tid,
                            details={"key": row.storage_key},
                        )
                    report.rows_marked_missing += 1
                elif present and row.is_missing:
                    log(f"object back for document {row.id}")
                    if not dry_run:
                        db.session.execute(
                            update(Document)
                            .where(Document.id == row.id)
                            .values(is_missing=False, missing_since=None)
                        )
                        audit(
                            "document.found",
                            object_type="documents",
                            object_id=row.id,
                            tenant_id=tid,
                            details={"key": row.storage_key},
                        )
                    report.rows_found_again += 1
            if dry_run:
                db.session.rollback()
            else:
                db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
