"""`make bench-web`: the web pages under load, on the firm made by `make bench-data`.

1. Prepares the load's accounts in the big firm: its owner, admins and
   advocates get an authenticator secret (as if each had enrolled) and an API
   token; nothing else of the firm changes (the load adds audit rows).
2. Starts gunicorn with the production settings (`DATABASE_URL` as the app
   role under row-level security, `REDIS_URL` for rate limits and jobs, the
   `make serve` worker model) and bench/gunicorn_bench.py's statement timer.
3. Runs locust headless on loopback (bench/locustfile.py): N users who log in
   with password and code, for D seconds.
4. Stops gunicorn, runs EXPLAIN (ANALYZE, BUFFERS) on the statements with
   the most total time (bench/explain/), and writes the measured part of
   bench/RESULTS.md (between the `measured` markers; the analysis around it
   is kept).

    DATABASE_URL=postgresql://advocate_app@127.0.0.1:5432/advocate_bench_web \\
    MIGRATION_DATABASE_URL=postgresql://advocate_owner@127.0.0.1:5432/advocate_bench_web \\
    REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/bench_web.py --users 20 --duration 60
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pickle
import platform
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_SECRET_KEY = "bench-web-secret-key-not-for-production"  # noqa: S105
TARGET_P95_MS = 150
TARGET_RATIO = 5.0
FLOOR = "floor: /api/v1/me"
START, END = "<!-- measured:start -->", "<!-- measured:end -->"


def sh(cmd: str) -> str:
    try:
        return subprocess.run(  # noqa: S602 (fixed commands for the machine's description)
            cmd, shell=True, capture_output=True, text=True, timeout=20
        ).stdout.strip()
    except Exception:  # noqa: BLE001
        return "?"


def prepare(slug: str, out: Path) -> dict:
    """Give the big firm's staff authenticator secrets and API tokens; pick
    the ids the load reads. Returns what the locustfile needs."""
    import pyotp
    from sqlalchemy import delete, func, select

    from advocate import create_app
    from advocate.auth import twofactor
    from advocate.auth.models import ApiToken, User, new_token, token_hash
    from advocate.cases.models import Case
    from advocate.extensions import db
    from bench.generate_cases import BENCH_PASSWORD
    from tenants import tenant_scope
    from tenants.models import Membership, Tenant

    app = create_app({"TESTING": False})
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            raise SystemExit(f"no firm {slug!r}: run `make bench-data` first")
        tenant_id = tenant.id
        with tenant_scope(tenant.id):
            per_user = dict(
                db.session.execute(
                    select(Case.assignee_id, func.count(Case.id))
                    .where(Case.assignee_id.is_not(None))
                    .group_by(Case.assignee_id)
                ).all()
            )
            members = list(
                db.session.scalars(
                    select(Membership).where(
                        Membership.tenant_id == tenant.id,
                        Membership.is_active.is_(True),
                        Membership.role.in_(("owner", "admin", "advocate")),
                    )
                )
            )
            # Advocates with the largest caseloads first: they are the load.
            members.sort(key=lambda m: (-per_user.get(m.user_id, 0), m.id))
            db.session.execute(delete(ApiToken).where(ApiToken.name == "bench-web"))
            accounts = []
            for m in members:
                user = db.session.get(User, m.user_id)
                secret = pyotp.random_base32()
                user.totp_secret_enc = twofactor.encrypt_secret(secret)
                user.is_totp_enabled = True
                user.totp_last_step = None
                raw = new_token("adv_")
                db.session.add(
                    ApiToken(
                        tenant_id=tenant.id,
                        membership_id=m.id,
                        name="bench-web",
                        token_prefix=raw[:8],
                        token_hash=token_hash(raw),
                    )
                )
                accounts.append(
                    {
                        "email": user.email,
                        "role": m.role,
                        "cases": per_user.get(m.user_id, 0),
                        "totp_secret": secret,
                        "api_token": raw,
                    }
                )
            n_cases = db.session.scalar(select(func.count(Case.id)))
            # Every 200th case: 500 case pages spread over the whole firm.
            case_ids = list(
                db.session.scalars(select(Case.id).where(Case.number % 200 == 0).order_by(Case.id))
            )
            payer_ids = list(
                db.session.scalars(
                    select(Case.payer_id)
                    .group_by(Case.payer_id)
                    .order_by(func.count(Case.id).desc())
                    .limit(5)
                )
            )
            practice_ids = list(
                db.session.scalars(
                    select(Case.practice_id)
                    .group_by(Case.practice_id)
                    .order_by(func.count(Case.id).desc())
                    .limit(5)
                )
            )
            today = db.session.scalar(select(func.current_date()))
            db.session.commit()
        reports = any(r.rule == "/reports/" for r in app.url_map.iter_rules())
        n_firms = db.session.scalar(select(func.count(Tenant.id)))
    config = {
        "slug": slug,
        "tenant_id": tenant_id,
        "n_cases": n_cases,
        "n_firms": n_firms,
        "password": BENCH_PASSWORD,
        "accounts": accounts,
        "case_ids": case_ids,
        "payer_ids": payer_ids,
        "practice_ids": practice_ids,
        "year_ago": (today - timedelta(days=365)).isoformat(),
        "reports": reports,
    }
    out.write_text(json.dumps(config))
    out.chmod(0o600)
    return config


def wait_up(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited at start; see its log")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 (loopback)
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer in time")


class LoadSampler(threading.Thread):
    """The 1-minute load average every 5 s while the load runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(5):
            self.samples.append(os.getloadavg()[0])


def read_stats(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats.csv") as fh:
        return list(csv.DictReader(fh))


def sql_stats(directory: Path) -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for f in sorted(directory.glob("sql-*.pickle")):
        with f.open("rb") as fh:
            for stmt, s in pickle.load(fh).items():  # noqa: S301 (our own files)
                m = merged.setdefault(stmt, {"calls": 0, "total_ms": 0.0, "max_ms": 0.0})
                m["calls"] += s["calls"]
                m["total_ms"] += s["total_ms"]
                if s["max_ms"] >= m["max_ms"]:
                    m.update(
                        max_ms=s["max_ms"],
                        params=s.get("params"),
                        tenant_id=s.get("tenant_id"),
                        user_id=s.get("user_id"),
                    )
    return merged


SKIP_EXPLAIN = re.compile(
    r"^\s*(SELECT set_config|select nextval|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)", re.I
)


def explain_top(app_url: str, stats: dict[str, dict], out_dir: Path, top: int) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS) the statements with the most total time, each
    with its slowest call's parameters, as the app role in that call's
    tenant scope, inside a transaction that is rolled back (an INSERT's
    EXPLAIN ANALYZE runs it)."""
    import psycopg

    from advocate.config import normalise_db_url

    url = normalise_db_url(app_url).replace("postgresql+psycopg://", "postgresql://")
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.txt"):
        old.unlink()
    ranked = sorted(
        ((s, st) for s, st in stats.items() if not SKIP_EXPLAIN.match(s)),
        key=lambda kv: -kv[1]["total_ms"],
    )
    done = []
    with psycopg.connect(url) as conn:
        for n, (stmt, st) in enumerate(ranked[:top], 1):
            plan = ""
            try:
                with conn.transaction(force_rollback=True), conn.cursor() as cur:
                    cur.execute(
                        "SELECT set_config('app.tenant_id', %s, true), set_config('app.user_id', %s, true)",
                        (str(st.get("tenant_id") or ""), str(st.get("user_id") or "")),
                    )
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + stmt, st.get("params") or None)
                    plan = "\n".join(r[0] for r in cur.fetchall())
            except Exception as e:  # noqa: BLE001 (record, go on to the next)
                plan = f"(EXPLAIN failed: {type(e).__name__}: {e})"
            first = re.sub(r"\s+", " ", stmt).strip()
            table = re.search(r"\bFROM\s+(\w+)", stmt, re.I) or re.search(
                r"\b(?:INTO|UPDATE)\s+(\w+)", stmt, re.I
            )
            name = f"{n:02d}-{(table.group(1) if table else 'statement')}.txt"
            (out_dir / name).write_text(
                f"-- rank {n} by total time in the run: {st['calls']} calls, "
                f"{st['total_ms']:.0f} ms in all, mean {st['total_ms'] / st['calls']:.1f} ms, "
                f"slowest {st['max_ms']:.1f} ms (wall time seen by the app, under load)\n"
                f"-- parameters of the slowest call: {st.get('params')!r}\n\n{stmt.strip()}\n\n"
                f"-- EXPLAIN (ANALYZE, BUFFERS), re-run after the load as the app role in that tenant:\n{plan}\n"
            )
            done.append(
                {
                    "file": name,
                    "statement": first[:140],
                    **{k: st[k] for k in ("calls", "total_ms", "max_ms")},
                }
            )
    return done


def fmt(x) -> str:
    return f"{float(x):,.0f}"


def write_results(path: Path, measured: str) -> None:
    block = f"{START}\n{measured.rstrip()}\n{END}"
    if path.exists() and START in path.read_text():
        text = path.read_text()
        text = text[: text.index(START)] + block + text[text.index(END) + len(END) :]
    else:
        text = "# Web pages under load: measured\n\n" + block + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--slug", default="bench-7-100000")
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--duration", type=int, default=60, help="seconds of load")
    p.add_argument("--spawn-rate", type=float, default=10)
    p.add_argument(
        "--steady",
        action="store_true",
        help="reset the statistics once every user is spawned (and logged in): the steady state "
        "without the log-in burst; pair with a low --spawn-rate and add the ramp to --duration",
    )
    p.add_argument(
        "--wait", default="0.5,1.5", help="think time between a user's requests, min,max seconds"
    )
    p.add_argument("--port", type=int, default=8765)
    p.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="as make serve"
    )
    p.add_argument("--threads", type=int, default=1, help="as make serve")
    p.add_argument("--top", type=int, default=12, help="statements to EXPLAIN")
    p.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"))
    p.add_argument("--explain-dir", default=str(ROOT / "bench" / "explain"))
    p.add_argument(
        "--note", default="", help="a line about the machine's state, printed in the results"
    )
    args = p.parse_args(argv)

    db_url = os.environ.get("DATABASE_URL", "")
    if not db_url.startswith(("postgres", "postgresql")) or not os.environ.get("REDIS_URL"):
        raise SystemExit("set DATABASE_URL (the app role, PostgreSQL) and REDIS_URL")
    os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    work = Path(tempfile.mkdtemp(prefix="bench-web-"))
    users_file, sql_dir, csv_prefix = work / "users.json", work / "sql", work / "locust"
    sql_dir.mkdir()

    print(f"preparing accounts in {args.slug} ...", file=sys.stderr)
    config = prepare(args.slug, users_file)
    env = {
        **os.environ,
        "BENCH_SQL_STATS_DIR": str(sql_dir),
        "BENCH_WEB_USERS": str(users_file),
        "BENCH_WEB_WAIT": args.wait,
    }
    bin_dir = Path(sys.executable).parent
    gunicorn_cmd = [
        str(bin_dir / "gunicorn"),
        "--workers", str(args.workers),
        "--threads", str(args.threads),
        "--bind", f"127.0.0.1:{args.port}",
        "--config", str(ROOT / "bench" / "gunicorn_bench.py"),
        "wsgi:app",
    ]  # fmt: skip
    locust_cmd = [
        str(bin_dir / "locust"),
        "-f", str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "-u", str(args.users),
        "-r", str(args.spawn_rate),
        "-t", f"{args.duration}s",
        "--host", f"http://127.0.0.1:{args.port}",
        "--csv", str(csv_prefix),
        "--only-summary",
        "--stop-timeout", "10",
    ]  # fmt: skip
    if args.steady:
        locust_cmd.append("--reset-stats")
    load_before = os.getloadavg()
    gun_log = (work / "gunicorn.log").open("w")
    gun = subprocess.Popen(  # noqa: S603
        gunicorn_cmd, cwd=ROOT, env=env, stdout=gun_log, stderr=subprocess.STDOUT
    )
    sampler = LoadSampler()
    try:
        wait_up(f"http://127.0.0.1:{args.port}/healthz", gun)
        print(f"gunicorn up; {args.users} users for {args.duration} s ...", file=sys.stderr)
        sampler.start()
        started = datetime.now(UTC)
        subprocess.run(locust_cmd, cwd=ROOT, env=env, check=False)  # noqa: S603
        sampler.stop.set()
    finally:
        gun.send_signal(signal.SIGTERM)
        try:
            gun.wait(30)
        except subprocess.TimeoutExpired:
            gun.kill()
        gun_log.close()
    rows = read_stats(csv_prefix)
    stats = sql_stats(sql_dir)
    print("EXPLAIN of the top statements ...", file=sys.stderr)
    explained = explain_top(db_url, stats, Path(args.explain_dir), args.top)

    by_name = {r["Name"]: r for r in rows}
    floor = by_name.get(FLOOR)
    floor_p95 = float(floor["95%"]) if floor else float("nan")
    order = [
        "dashboard: /",
        "dashboard: /reports/",
        "caseload: /cases/",
        "caseload: open, by at stake",
        "caseload: one payer, open",
        "caseload: practice + service dates",
        "caseload: overdue, by deadline",
        "my caseload: /cases/mine",
        "case page: /cases/<id>",
        "deadlines: /deadlines/",
        "api: /api/v1/cases",
        FLOOR,
        "no auth: /healthz",
        "login: form",
        "login: password",
        "login: code",
    ]
    lines = [
        "| request | n | fail | p50 ms | p95 ms | p99 ms | req/s | p95 / floor p95 | p95 < 150 ms | ≤ 5x floor |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | :---: |",
    ]
    misses = []
    for name in order + sorted(set(by_name) - set(order) - {"Aggregated"}):
        r = by_name.get(name)
        if r is None:
            continue
        p95 = float(r["95%"])
        ratio = p95 / floor_p95 if floor_p95 else float("nan")
        judged = not name.startswith(("login", "no auth", "floor"))
        ok_abs, ok_ratio = p95 < TARGET_P95_MS, ratio <= TARGET_RATIO
        if judged and not (ok_abs and ok_ratio):
            misses.append((name, p95, ratio))
        mark = (lambda ok: "yes" if ok else "**no**") if judged else (lambda ok: "")
        lines.append(
            f"| {name} | {r['Request Count']} | {r['Failure Count']} | {fmt(r['50%'])} | {fmt(p95)} | "
            f"{fmt(r['99%'])} | {float(r['Requests/s']):.2f} | {ratio:.1f}x | {mark(ok_abs)} | {mark(ok_ratio)} |"
        )
    agg = by_name.get("Aggregated", {})
    loads = sampler.samples or [os.getloadavg()[0]]
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("free -g | awk '/Mem:/ {print $2}'")
    pg = sh(f"psql {shlex.quote(db_url)} -Atc 'show server_version'") or "?"
    shared = sh(f"psql {shlex.quote(db_url)} -Atc 'show shared_buffers'")
    n_accounts = len(config["accounts"])
    total_sql = sum(s["calls"] for s in stats.values())
    lines_sql = [
        "| # | statement (start) | calls | total ms | slowest ms | plan |",
        "| ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for n, e in enumerate(explained, 1):
        stmt = e["statement"].replace("|", "\\|")
        lines_sql.append(
            f"| {n} | `{stmt}` | {e['calls']} | {e['total_ms']:,.0f} | {e['max_ms']:,.0f} | [{e['file']}](explain/{e['file']}) |"
        )
    measured = f"""
## Run of {started:%Y-%m-%d %H:%M} UTC

Machine: {os.cpu_count()} vCPU ({cpu}), {mem} GB RAM; {platform.system()} {platform.release()};
Python {platform.python_version()}; PostgreSQL {pg} (shared_buffers {shared}) and Redis on the same machine.
**Load average** (1 min) before the run {load_before[0]:.1f}; during the run min {min(loads):.1f},
median {sorted(loads)[len(loads) // 2]:.1f}, max {max(loads):.1f}{" — " + args.note if args.note else ""}.
Load averages above the core count mean other processes (other engineers' test suites) competed for
the CPU: every latency below then includes queueing for a core.

Data: firm `{config["slug"]}` ({config["n_cases"]:,} cases) among {config["n_firms"]} firms in the database
(`make bench-data`). Server: `gunicorn --workers {args.workers} --threads {args.threads}` (as `make serve`),
`DATABASE_URL` = the app role under row-level security, `REDIS_URL` for rate limits, log-in throttles and
jobs, rate limits on, server-side sessions. Load: locust {sh(str(bin_dir / "locust") + " --version").split(" ")[1] if " " in sh(str(bin_dir / "locust") + " --version") else "?"}
headless on loopback, {args.users} users (spawned {args.spawn_rate:g}/s) for {args.duration} s{" (statistics reset once all users were spawned: steady state, log-in burst excluded)" if args.steady else ""}, think time
{args.wait.replace(",", " to ")} s between requests; each user logs in with password and authenticator
code as one of the firm's {n_accounts} staff accounts (advocates with the largest caseloads first), then
picks pages at random (the caseload list and the filters, their own caseload, case pages, the deadline
list, the dashboard, the API list) beside the floor: `/api/v1/me`, a trivial authenticated route
(bearer token lookup, membership, one commit) on the same server in the same run.

Command: `make bench-web` = `{" ".join(shlex.quote(a) for a in ["python", "bench/bench_web.py", *(argv if argv is not None else sys.argv[1:])])}`

Targets: p95 under {TARGET_P95_MS} ms for every page, and no page's p95 more than {TARGET_RATIO:g}x the floor's.

{chr(10).join(lines)}

All requests: {agg.get("Request Count", "?")} ({agg.get("Failure Count", "?")} failed), {float(agg.get("Requests/s", 0) or 0):.1f} req/s.
Pages missing a target: {", ".join(f"{n} (p95 {p95:.0f} ms, {ratio:.1f}x)" for n, p95, ratio in misses) or "none"}.

### Statements with the most total time (of {total_sql:,} executed)

Timed in each gunicorn worker (bench/gunicorn_bench.py; the server's slow-query log and
pg_stat_statements need a superuser or a restart of the shared server). Each plan is the statement's
slowest call re-run after the load, as the app role in that call's firm, in bench/explain/.

{chr(10).join(lines_sql)}
"""
    write_results(Path(args.out), measured)
    print(measured)
    print(f"(work files: {work})", file=sys.stderr)


if __name__ == "__main__":
    main()
