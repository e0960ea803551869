"""Profile the pages of `make bench-web` in-process, one user: statements, time
in SQL, wall time and this process's CPU time per page (median of N runs;
CPU ms is what the web process itself burns, the number that saturates the
cores under load, and far steadier than wall time on a busy machine),
optionally cProfile of one page. Logs in (password + authenticator code, through the test client) as the
big firm's advocate with the largest caseload, as the load does.

    DATABASE_URL=postgresql://advocate_app@127.0.0.1:5432/advocate_bench_web \\
    MIGRATION_DATABASE_URL=postgresql://advocate_owner@127.0.0.1:5432/advocate_bench_web \\
    REDIS_URL=redis://127.0.0.1:6379/13 \\
        .venv/bin/python bench/profile_pages.py --slug bench-7-100000 --runs 3 [--profile /deadlines/] [--sql]

Writes an authenticator secret for that account and an API token named
"bench-profile", plus what a log-in writes (sessions, audit rows). Do not run
it while `make bench-web` runs: it replaces that account's secret mid-load.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--slug", default="bench-7-100000")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--only", help="only URLs containing this")
    p.add_argument("--profile", help="cProfile the page with this URL (first run after warm-up)")
    p.add_argument("--sql", action="store_true", help="print each statement's time (last run)")
    args = p.parse_args(argv)
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    os.environ.setdefault("RATELIMIT_ENABLED", "0")

    import pyotp
    from sqlalchemy import event, func, select

    from advocate import create_app
    from advocate.auth import twofactor
    from advocate.auth.models import User
    from advocate.cases.models import Case
    from advocate.extensions import db
    from bench.generate_cases import BENCH_PASSWORD
    from tenants import tenant_scope
    from tenants.models import Membership, Tenant
    from tests.conftest import Browser
    from tests.factories import Person, login

    app = create_app({"SERVER_NAME": None, "TESTING": False})
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == args.slug))
        if tenant is None:
            raise SystemExit(f"no firm {args.slug!r}: run `make bench-data` first")
        with tenant_scope(tenant.id):
            busiest = db.session.scalar(
                select(Case.assignee_id)
                .where(Case.assignee_id.is_not(None))
                .group_by(Case.assignee_id)
                .order_by(func.count(Case.id).desc())
                .limit(1)
            )
            m = db.session.scalar(
                select(Membership).where(
                    Membership.tenant_id == tenant.id, Membership.user_id == busiest
                )
            )
            membership_id, role, tenant_id = m.id, m.role, tenant.id
            case_id = db.session.scalar(
                select(Case.id).where(Case.number % 200 == 0).order_by(Case.id).offset(100).limit(1)
            )
            payer = db.session.scalar(
                select(Case.payer_id)
                .group_by(Case.payer_id)
                .order_by(func.count(Case.id).desc())
                .limit(1)
            )
        user = db.session.get(User, m.user_id)
        secret = pyotp.random_base32()
        user.totp_secret_enc = twofactor.encrypt_secret(secret)
        user.is_totp_enabled = True
        user.totp_last_step = None
        from sqlalchemy import delete

        from advocate.auth.models import ApiToken, new_token, token_hash

        with tenant_scope(tenant_id):
            db.session.execute(delete(ApiToken).where(ApiToken.name == "bench-profile"))
            raw = new_token("adv_")
            db.session.add(
                ApiToken(
                    tenant_id=tenant_id,
                    membership_id=membership_id,
                    name="bench-profile",
                    token_prefix=raw[:8],
                    token_hash=token_hash(raw),
                )
            )
            db.session.commit()
        person = Person(
            user=user,
            membership_id=membership_id,
            tenant_id=tenant_id,
            role=role,
            totp_secret=secret,
        )
        person.password = BENCH_PASSWORD
        browser = Browser(app)
        login(browser, person)

        urls = [
            ("floor /api/v1/me", "/api/v1/me"),
            ("account (trivial page)", "/account"),
            ("landing page /", "/"),
            ("/reports/", "/reports/"),
            ("case page", f"/cases/{case_id}"),
            ("my caseload", "/cases/mine"),
            ("caseload", "/cases/"),
            ("caseload: one payer, open", f"/cases/?payer_id={payer}&status=open"),
            ("api list", "/api/v1/cases"),
            ("deadlines", "/deadlines/"),
        ]
        if args.only:
            urls = [u for u in urls if args.only in u[1] or args.only in u[0]]
        stmts: list[tuple[float, str]] = []
        counter = {"n": 0, "sql": 0.0, "t": 0.0}

        def before(*_a):
            counter["n"] += 1
            counter["t"] = time.perf_counter()

        def after(_conn, _cur, statement, params, _ctx, _many):
            dt = time.perf_counter() - counter["t"]
            counter["sql"] += dt
            stmts.append((dt, statement))

        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
        rows = []
        for label, url in urls:
            times, sql_times, queries, cpu_times = [], [], [], []
            for i in range(args.runs + 1):  # the first is warm-up
                counter.update(n=0, sql=0.0)
                stmts.clear()
                prof = cProfile.Profile() if (args.profile == url and i == 1) else None
                t0 = time.perf_counter()
                c0 = time.process_time()
                if prof:
                    prof.enable()
                r = browser.get(
                    url, headers={"Authorization": f"Bearer {raw}"} if "/api/" in url else {}
                )
                body = r.get_data()
                if prof:
                    prof.disable()
                dt = time.perf_counter() - t0
                dcpu = time.process_time() - c0
                assert r.status_code == 200, (url, r.status_code, body[:300])
                if i:
                    times.append(dt)
                    sql_times.append(counter["sql"])
                    queries.append(counter["n"])
                    cpu_times.append(dcpu)
                if prof:
                    pstats.Stats(prof).sort_stats(
                        os.environ.get("PSORT", "cumulative")
                    ).print_stats(45)
            if args.sql:
                print(f"\n--- {url}")
                for dt, s in stmts:
                    print(f"{dt * 1000:8.1f} ms  {' '.join(s.split())[:220]}")
            rows.append(
                (
                    label,
                    url,
                    max(queries),
                    statistics.median(sql_times),
                    statistics.median(times),
                    statistics.median(cpu_times),
                    min(cpu_times),
                )
            )
        print(f"\nload average {os.getloadavg()[0]:.1f}; {args.runs} runs each (median)\n")
        print("| page | statements | SQL ms | total ms | CPU ms | CPU ms, best run |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for label, url, q, tsql, t, cpu, cpu_min in rows:
            print(
                f"| {label} `{url}` | {q} | {tsql * 1000:.0f} | {t * 1000:.0f} | {cpu * 1000:.0f} | {cpu_min * 1000:.0f} |"
            )


if __name__ == "__main__":
    main()
