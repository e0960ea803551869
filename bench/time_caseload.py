"""Time the caseload pages on a firm made by bench/generate_cases.py: real
GET requests through the app (log-in, RLS as the app role, rendering), each
run several times; prints a Markdown table of min / median wall time and the
number of SQL statements per request.

    DATABASE_URL=postgresql://advocate_app@127.0.0.1:5432/advocate_bench \\
    MIGRATION_DATABASE_URL=postgresql://advocate_owner@127.0.0.1:5432/advocate_bench \\
        .venv/bin/python bench/time_caseload.py --slug bench-7-100000 --runs 5

It enrols a second factor for one generated advocate (the busiest) and logs
in as that person; nothing else is written apart from audit rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--slug", required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument(
        "--explain", action="store_true", help="also print EXPLAIN ANALYZE of the list's queries"
    )
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
    from tenants import tenant_scope
    from tenants.models import Membership, Tenant
    from tests.conftest import Browser
    from tests.factories import Person, login

    app = create_app({"SERVER_NAME": None, "TESTING": False})
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == args.slug))
        if tenant is None:
            raise SystemExit(f"no firm {args.slug!r}: run bench/generate_cases.py first")
        with tenant_scope(tenant.id):
            n_cases = db.session.scalar(select(func.count(Case.id)))
            uid, _n = db.session.execute(
                select(Case.assignee_id, func.count(Case.id))
                .where(Case.assignee_id.is_not(None))
                .group_by(Case.assignee_id)
                .order_by(func.count(Case.id).desc())
                .limit(1)
            ).one()
            m = db.session.scalar(
                select(Membership).where(
                    Membership.tenant_id == tenant.id, Membership.user_id == uid
                )
            )
            membership_id, role, tenant_id = m.id, m.role, tenant.id
            top_payer = db.session.scalar(
                select(Case.payer_id)
                .group_by(Case.payer_id)
                .order_by(func.count(Case.id).desc())
                .limit(1)
            )
            top_practice = db.session.scalar(
                select(Case.practice_id)
                .group_by(Case.practice_id)
                .order_by(func.count(Case.id).desc())
                .limit(1)
            )
            mid = db.session.scalar(select(Case.number).order_by(Case.number.desc()).limit(1)) // 2
            claim = db.session.scalar(select(Case.payer_claim_number).where(Case.number == mid))
            today = db.session.scalar(select(func.current_date()))
            mine_open = db.session.scalar(
                select(func.count(Case.id)).where(Case.assignee_id == uid)
            )
        user = db.session.get(User, uid)
        secret = pyotp.random_base32()
        user.totp_secret_enc = twofactor.encrypt_secret(secret)
        user.is_totp_enabled = True
        user.totp_last_step = None
        db.session.commit()
        person = Person(
            user=user,
            membership_id=membership_id,
            tenant_id=tenant_id,
            role=role,
            totp_secret=secret,
        )
        from bench.generate_cases import BENCH_PASSWORD

        person.password = BENCH_PASSWORD
        browser = Browser(app)
        login(browser, person)

        year_ago = (today - timedelta(days=365)).isoformat()
        urls = [
            ("list, no filter (opened, newest first)", "/cases/"),
            ("open, largest at stake first", "/cases/?status=open&sort=at_stake"),
            ("one payer, open", f"/cases/?payer_id={top_payer}&status=open"),
            (
                "one practice + service dates",
                f"/cases/?practice_id={top_practice}&service_from={year_ago}",
            ),
            (
                "amount range, by next deadline",
                "/cases/?amount_min=5000&amount_max=20000&sort=deadline",
            ),
            ("NSA eligible, opened this year", f"/cases/?nsa=1&opened_from={year_ago}"),
            ("overdue (all advocates)", "/cases/?overdue=1&sort=deadline"),
            ("mine + overdue", "/cases/?assignee_id=me&overdue=1"),
            ("search: case number", f"/cases/?q=C-{mid:06d}"),
            ("search: claim number", f"/cases/?q={claim}"),
            ("sort by payer name, 200 a page", "/cases/?sort=payer&per_page=200"),
            ("sort by status", "/cases/?sort=status"),
            ("page 1,000 (offset 49,950)", "/cases/?page=1000"),
            ("my caseload", "/cases/mine"),
            ("team board", "/cases/board"),
            ("CSV export: one payer, open", f"/cases/export.csv?payer_id={top_payer}&status=open"),
        ]
        counter = {"n": 0, "sql": 0.0, "t": 0.0}

        def before(*_a):
            counter["n"] += 1
            counter["t"] = time.perf_counter()

        def after(*_a):
            counter["sql"] += time.perf_counter() - counter["t"]

        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
        rows = []
        for label, url in urls:
            times, sql_times, queries, size = [], [], [], 0
            for _ in range(args.runs):
                counter.update(n=0, sql=0.0)
                t0 = time.perf_counter()
                r = browser.get(url)
                body = r.get_data()
                times.append(time.perf_counter() - t0)
                sql_times.append(counter["sql"])
                queries.append(counter["n"])
                size = len(body)
                assert r.status_code == 200, (url, r.status_code, body[:300])
            rows.append(
                (
                    label,
                    url,
                    min(times),
                    statistics.median(times),
                    statistics.median(sql_times),
                    max(queries),
                    size,
                )
            )
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)

        print(
            f"\nFirm {args.slug}: {n_cases:,} cases; logged in as an advocate with {mine_open:,} cases. "
            f"{args.runs} runs each.\n"
        )
        print(
            "| request | URL | min | median | of which SQL (median) | SQL statements | response |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for label, url, tmin, tmed, tsql, q, size in rows:
            print(
                f"| {label} | `{url}` | {tmin * 1000:.0f} ms | {tmed * 1000:.0f} ms | {tsql * 1000:.0f} ms | {q} "
                f"| {size / 1024:.0f} KB |"
            )

        if args.explain:
            explain(browser, tenant_id, [u for _l, u in urls if "export" not in u])


def explain(browser, tenant_id: int, urls: list[str]) -> None:
    """EXPLAIN ANALYZE each statement on `cases` a page ran, with its own
    parameters, in the firm's scope (RLS as in the request)."""
    from sqlalchemy import event

    from advocate.extensions import db
    from tenants import tenant_scope

    for url in urls:
        seen = []

        def grab(conn, cursor, statement, parameters, context, executemany, seen=seen):
            if statement.lstrip().upper().startswith("SELECT") and " cases" in statement:
                seen.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", grab)
        browser.get(url)
        event.remove(db.engine, "before_cursor_execute", grab)
        print(f"\n### {url}\n")
        with tenant_scope(tenant_id):
            for statement, parameters in seen:
                plan = db.session.connection().exec_driver_sql(
                    "EXPLAIN (ANALYZE, COSTS off) " + statement, parameters
                )
                lines = [r[0] for r in plan]
                print("    " + "\n    ".join(lines) + "\n")
            db.session.rollback()


if __name__ == "__main__":
    main()
