"""gunicorn hooks for `make bench-web` only (`gunicorn -c bench/gunicorn_bench.py`):
a statement log like pg_stat_statements, kept in each worker.

PostgreSQL's own slow-query log (log_min_duration_statement) needs a
superuser to switch on, and pg_stat_statements needs a server restart
(shared_preload_libraries): neither is something a benchmark should do to a
shared server. So each worker times every statement it sends (SQLAlchemy's
cursor events), grouped by statement text (already parameterised, so the
text is the statement's shape), and keeps the slowest call's parameters and
its tenant/user scope, so bench/bench_web.py can run EXPLAIN (ANALYZE,
BUFFERS) on exactly that call. At exit each worker writes a pickle to
$BENCH_SQL_STATS_DIR. Synthetic benchmark data only: the parameters are not PHI.
"""

from __future__ import annotations

import os
import pickle
import threading
import time

_stats: dict[str, dict] = {}
_lock = threading.Lock()
_local = threading.local()


def post_worker_init(worker):
    from sqlalchemy import event

    from advocate.extensions import db
    from tenants import current_db_user_id, current_tenant_id

    app = worker.wsgi
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        _local.t0 = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        ms = (time.perf_counter() - getattr(_local, "t0", time.perf_counter())) * 1000
        with _lock:
            s = _stats.get(statement)
            if s is None:
                s = _stats[statement] = {"calls": 0, "total_ms": 0.0, "max_ms": 0.0}
            s["calls"] += 1
            s["total_ms"] += ms
            if ms >= s["max_ms"]:
                s["max_ms"] = ms
                s["params"] = None if executemany else parameters
                s["tenant_id"] = current_tenant_id()
                s["user_id"] = current_db_user_id()


def worker_exit(server, worker):
    out = os.environ.get("BENCH_SQL_STATS_DIR")
    if not out:
        return
    with _lock, open(os.path.join(out, f"sql-{os.getpid()}.pickle"), "wb") as fh:
        pickle.dump(_stats, fh)
