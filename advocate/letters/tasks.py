"""Bulk letter rendering: RQ jobs (inline without Redis) that take ids only.

Why it survives a killed worker and never makes a second copy:
- Work items are `letters` rows. A job claims a chunk with one UPDATE that
  sets a fresh lease token and `leased_until` (on PostgreSQL the candidate
  rows are locked with SKIP LOCKED, so concurrent jobs take different chunks).
  Pending letters and letters whose lease expired are both claimable.
- Each PDF goes to a key derived from the letter id (`services.letter_key`):
  rendering the same letter twice overwrites the same object.
- The chunk is filed (status done, case document, timeline entry) in one
  transaction by an UPDATE that matches only rows still carrying this job's
  token: a job whose lease was taken over files nothing.
- Completion never waits on RQ's heartbeat (about 90 s): a job that runs out
  of claimable letters while others are leased waits for those leases (a
  live job finishes them; a dead job's expire and are re-claimed), and every
  batch has a sweeper job scheduled for when the leases run out. RQ's
  `Retry` and abandoned-job handling are the third net.
Progress is counted from the rows, never from RQ results (they expire).
"""

from __future__ import annotations

import io
import math
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, bindparam, func, or_, select, update

from advocate import jobs
from advocate.audit.services import audit
from advocate.db import utcnow
from advocate.extensions import db
from advocate.letters import document as doc
from advocate.letters import services
from advocate.letters.models import (
    BATCH_CANCELLED,
    BATCH_FINISHED,
    BATCH_RUNNING,
    DONE,
    FAILED,
    PENDING,
    RENDERING,
    Letter,
    LetterBatch,
)
from advocate.letters.render import RenderError, render_pdf
from advocate.letters.sandbox import TemplateProblem
from advocate.letters.types import letter_type
from advocate.storage import get_storage
from tenants import tenant_scope
from tenants.models import Tenant

JOB_PATH = "advocate.letters.tasks:render_batch"


def _settings() -> dict:
    s = services.setting
    return {
        "chunk": s("LETTERS_CHUNK", 50),
        "lease": s("LETTERS_LEASE_SECONDS", 60),
        "parallel": s("LETTERS_PARALLEL_JOBS", 4),
        "queue": s("LETTERS_QUEUE", "default"),
        "job_timeout": s("LETTERS_JOB_TIMEOUT", 3600),
        "budget": s("LETTERS_JOB_BUDGET_SECONDS", 900),
    }


# --------------------------------------------------------------------------- enqueueing


def start_batch(tenant_id: int, batch_id: int, letters: int) -> int:
    """After the commit that created (or re-opened) the batch: run it inline
    without Redis, else enqueue jobs that share its letters plus a sweeper
    for when their leases would have run out. Returns the jobs enqueued."""
    if jobs.is_inline():
        render_batch(tenant_id, batch_id)
        return 0
    cfg = _settings()
    n = max(1, min(cfg["parallel"], math.ceil(letters / cfg["chunk"])))
    for _ in range(n):
        _enqueue(tenant_id, batch_id, cfg)
    schedule_sweep(tenant_id, batch_id, delay=cfg["lease"] + 5, cfg=cfg)
    return n


def _enqueue(tenant_id: int, batch_id: int, cfg: dict, *, delay: float | None = None):
    from rq import Retry

    q = jobs.queue(cfg["queue"])
    kwargs = dict(
        retry=Retry(max=3, interval=[5, 15, 60]),
        job_timeout=cfg["job_timeout"],
        result_ttl=600,
        failure_ttl=7 * 86400,
        description=f"letters batch {batch_id} (firm {tenant_id})",
    )
    if delay is not None:
        return q.enqueue_in(
            timedelta(seconds=delay), jobs.run_in_app, JOB_PATH, tenant_id, batch_id, **kwargs
        )
    return q.enqueue(jobs.run_in_app, JOB_PATH, tenant_id, batch_id, **kwargs)


def schedule_sweep(tenant_id: int, batch_id: int, *, delay: float, cfg: dict | None = None) -> None:
    """A job for later that re-claims whatever leases have expired by then
    (needs workers started `--with-scheduler`)."""
    if jobs.is_inline():
        return
    _enqueue(tenant_id, batch_id, cfg or _settings(), delay=max(1.0, delay))


# --------------------------------------------------------------------------- the job


def render_batch(tenant_id: int, batch_id: int) -> dict:
    """Render a batch's letters until none is left to claim. Idempotent, and
    safe to run any number of times concurrently."""
    cfg = _settings()
    stats = {"rendered": 0, "failed": 0, "lost": 0}
    started = time.monotonic()
    ctx = None
    with tenant_scope(tenant_id):
        try:
            ctx = _JobContext.load(tenant_id, batch_id)
            if ctx is None:
                return stats
            waited_since = None
            while True:
                if not jobs.is_inline() and time.monotonic() - started > cfg["budget"]:
                    _enqueue(tenant_id, batch_id, cfg)  # continue in a fresh job
                    break
                token, ids = claim(batch_id, cfg["chunk"], cfg["lease"])
                if ids:
                    waited_since = None
                    if not ctx.started:
                        _mark_started(batch_id)
                        ctx.started = True
                    result = process_chunk(ctx, token, ids)
                    for k in stats:
                        stats[k] += result[k]
                    continue
                if _batch_status(batch_id) == BATCH_CANCELLED:
                    break
                soonest = _soonest_lease_end(batch_id)
                if soonest is None:
                    _finish(batch_id)
                    break
                # Others hold leases: a live job will file them; a dead one's expire.
                now = utcnow()
                waited_since = waited_since or time.monotonic()
                if time.monotonic() - waited_since > cfg["lease"] + 5 or jobs.is_inline():
                    schedule_sweep(
                        tenant_id, batch_id, delay=(soonest - now).total_seconds() + 1, cfg=cfg
                    )
                    break
                db.session.commit()
                time.sleep(min(0.25, max(0.05, (soonest - now).total_seconds())))
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        finally:
            if ctx is not None:
                ctx.io.shutdown(wait=True)
    return stats


class _JobContext:
    """What every letter of the batch shares, loaded once per job."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    @classmethod
    def load(cls, tenant_id: int, batch_id: int):
        batch = db.session.get(LetterBatch, batch_id)
        if batch is None or batch.status == BATCH_CANCELLED:
            return None
        subject, body, _v = services.resolve_text(batch.letter_type, batch.template_version_id)
        tenant = services.tenant_snapshot(db.session.get(Tenant, tenant_id))
        ctx = cls(
            tenant_id=tenant_id,
            batch_id=batch_id,
            ltype=letter_type(batch.letter_type),
            subject=subject,
            body=body,
            tenant=tenant,
            sender=services.sender_of(batch.created_by),
            today=batch.letter_date,
            actor_id=batch.created_by_id,
            storage=get_storage(),
            medicare_cache={},
            started=False,
            io=ThreadPoolExecutor(max_workers=2, thread_name_prefix="letters-put"),
        )
        db.session.commit()
        return ctx


def _is_pg() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def claim(batch_id: int, n: int, lease_seconds: int) -> tuple[str, list[int]]:
    """Lease up to `n` claimable letters (pending, or leased and expired) to a
    new token, in one committed UPDATE. Returns (token, letter ids)."""
    now = utcnow()
    token = uuid.uuid4().hex
    claimable = or_(
        Letter.status == PENDING, and_(Letter.status == RENDERING, Letter.leased_until < now)
    )
    candidates = (
        select(Letter.id).where(Letter.batch_id == batch_id, claimable).order_by(Letter.id).limit(n)
    )
    if _is_pg():
        # A materialized CTE runs once: an IN (subquery ... LIMIT n) may be re-run by
        # the planner and lease more than n rows.
        cte = (
            candidates.with_for_update(skip_locked=True)
            .cte("claimable")
            .prefix_with("MATERIALIZED")
        )
        chosen = Letter.id.in_(select(cte.c.id))
    else:
        chosen = Letter.id.in_(candidates.scalar_subquery())  # SQLite: one writer, one statement
    db.session.commit()  # the claim starts its own (write) transaction
    ids = list(
        db.session.scalars(
            update(Letter)
            .where(chosen, claimable)
            .values(
                status=RENDERING,
                lease_token=token,
                leased_until=now + timedelta(seconds=lease_seconds),
                attempts=Letter.attempts + 1,
                updated_at=now,
            )
            .returning(Letter.id)
            .execution_options(synchronize_session=False)
        )
    )
    db.session.commit()
    return token, sorted(ids)


def process_chunk(ctx: _JobContext, token: str, ids: list[int]) -> dict:
    """Render and store the claimed letters, then file those still ours."""
    rows = db.session.execute(
        select(Letter.id, Letter.case_id, Letter.batch_id).where(Letter.id.in_(ids))
    ).all()
    data = doc.load_cases(
        [r.case_id for r in rows], ctx.ltype, ctx.today, medicare_cache=ctx.medicare_cache
    )
    rendered: list[tuple] = []
    failures: list[dict] = []
    puts = []
    for r in rows:
        case = data.cases.get(r.case_id)
        try:
            if case is None:
                raise doc.LetterRefused("the case no longer exists")
            built = doc.build_letter(
                case,
                ctx.ltype,
                subject_tpl=ctx.subject,
                body_tpl=ctx.body,
                tenant=ctx.tenant,
                sender=ctx.sender,
                today=ctx.today,
                data=data,
            )
            pdf = render_pdf(built.document)
        except (doc.LetterRefused, TemplateProblem, RenderError) as err:
            failures.append({"lid": r.id, "err": str(err)[:1000]})
            continue
        key = services.letter_key(ctx.tenant_id, r)
        # Stored from a thread while the next letter renders (Typst releases the GIL).
        puts.append(
            ctx.io.submit(ctx.storage.put, key, io.BytesIO(pdf), content_type="application/pdf")
        )
        rendered.append((r, case.reference, key, pdf))
    for put in puts:
        put.result()  # every object is stored before any letter is filed
    db.session.commit()  # end the read transaction before writing (SQLite)
    return _file_chunk(ctx, token, rendered, failures)


def _file_chunk(ctx, token, rendered, failures) -> dict:
    now = utcnow()
    t = Letter.__table__
    won: set[int] = set()
    if rendered:
        won = set(
            db.session.scalars(
                update(Letter)
                .where(
                    Letter.id.in_([r.id for r, *_ in rendered]),
                    Letter.lease_token == token,
                    Letter.status == RENDERING,
                )
                .values(status=DONE, rendered_at=now, error=None, updated_at=now)
                .returning(Letter.id)
                .execution_options(synchronize_session=False)
            )
        )
    filed = []
    for r, reference, key, pdf in rendered:
        if r.id not in won:
            continue  # another job took the lease over; it files this letter
        document = services.file_letter(
            tenant_id=ctx.tenant_id,
            letter_id=r.id,
            case_id=r.case_id,
            ltype=ctx.ltype,
            case_reference=reference,
            key=key,
            pdf=pdf,
            actor_id=ctx.actor_id,
        )
        filed.append((r.id, document, key, len(pdf)))
    if filed:
        db.session.flush()
        db.session.execute(
            update(t)
            .where(t.c.id == bindparam("lid"), t.c.tenant_id == ctx.tenant_id)
            .values(
                document_id=bindparam("did"),
                storage_key=bindparam("key"),
                size_bytes=bindparam("size"),
            ),
            [{"lid": lid, "did": d.id, "key": key, "size": size} for lid, d, key, size in filed],
        )
    failed = 0
    if failures:
        res = db.session.execute(
            update(t)
            .where(
                t.c.id == bindparam("lid"),
                t.c.tenant_id == ctx.tenant_id,
                t.c.lease_token == token,
                t.c.status == RENDERING,
            )
            .values(status=FAILED, error=bindparam("err"), updated_at=now),
            failures,
        )
        failed = res.rowcount if res.rowcount and res.rowcount > 0 else len(failures)
    db.session.commit()
    return {"rendered": len(filed), "failed": failed, "lost": len(rendered) - len(filed)}


def _mark_started(batch_id: int) -> None:
    db.session.execute(
        update(LetterBatch)
        .where(LetterBatch.id == batch_id, LetterBatch.started_at.is_(None))
        .values(started_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _batch_status(batch_id: int) -> str | None:
    return db.session.scalar(select(LetterBatch.status).where(LetterBatch.id == batch_id))


def _soonest_lease_end(batch_id: int):
    """When the first lease still held by someone ends; None when no letter
    of the batch is pending or being rendered."""
    row = db.session.execute(
        select(func.count(Letter.id), func.min(Letter.leased_until)).where(
            Letter.batch_id == batch_id, Letter.status.in_((PENDING, RENDERING))
        )
    ).one()
    if not row[0]:
        return None
    soonest = row[1]
    if soonest is None:
        return utcnow()
    if soonest.tzinfo is None:  # SQLite hands back naive values from aggregates
        from datetime import UTC

        soonest = soonest.replace(tzinfo=UTC)
    return soonest


def _finish(batch_id: int) -> None:
    res = db.session.execute(
        update(LetterBatch)
        .where(LetterBatch.id == batch_id, LetterBatch.status == BATCH_RUNNING)
        .values(status=BATCH_FINISHED, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if res.rowcount:
        counts = services.status_counts(batch_id)
        audit(
            "letter_batch.finished",
            object_type="letter_batch",
            object_id=batch_id,
            details={"done": counts[DONE], "failed": counts[FAILED]},
        )
        from advocate.webhooks.services import emit
        from tenants import require_tenant_id

        emit(
            require_tenant_id(),
            "letter_batch.finished",
            {"batch_id": batch_id, "done": counts[DONE], "failed": counts[FAILED]},
        )
    db.session.commit()


def queue_name() -> str:
    return _settings()["queue"]


def app_config_summary() -> dict:
    return {k: v for k, v in _settings().items()} | {
        "inline": jobs.is_inline(),
        "redis": bool(current_app.config.get("REDIS_URL")),
    }
