"""Time the report pages on a firm made by bench/generate_cases.py: real GET
requests through the app (log-in, RLS as the app role, rendering), each run
several times; prints a Markdown table of min / median wall time, the time in
SQL, and the number of SQL statements per request.

    DATABASE_URL=postgresql://advocate_app@127.0.0.1:5432/advocate_bench \\
    MIGRATION_DATABASE_URL=postgresql://advocate_owner@127.0.0.1:5432/advocate_bench \\
        .venv/bin/python bench/time_reports.py --slug bench-7-100000 --runs 5

It enrols a second factor for the firm's owner and logs in as that person;
nothing else is written apart from audit rows (exports are audited).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--slug", required=True)
    p.add_argument("--runs", type=int, default=5)
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
            m = db.session.scalar(
                select(Membership).where(
                    Membership.tenant_id == tenant.id, Membership.role == "owner"
                )
            )
            membership_id, uid, tenant_id = m.id, m.user_id, tenant.id
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
            busiest = db.session.scalar(
                select(Case.assignee_id)
                .where(Case.assignee_id.is_not(None))
                .group_by(Case.assignee_id)
                .order_by(func.count(Case.id).desc())
                .limit(1)
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
            role="owner",
            totp_secret=secret,
        )
        from bench.generate_cases import BENCH_PASSWORD

        person.password = BENCH_PASSWORD
        browser = Browser(app)
        login(browser, person)

        urls = [
            ("landing page (dashboard, 12 months)", "/"),
            ("firm dashboard, 12 months", "/reports/"),
            ("firm dashboard, 5 years", "/reports/?from=2021-01-01"),
            ("dashboard, one payer", f"/reports/?payer_id={top_payer}"),
            ("dashboard, one advocate", f"/reports/?assignee_id={busiest}"),
            ("payer scorecards", "/reports/payers"),
            ("one payer's scorecard", f"/reports/payers/{top_payer}"),
            ("payer page (its scorecard included)", f"/payers/{top_payer}"),
            ("advocate workload", "/reports/advocates"),
            ("practice reports", "/reports/practices"),
            ("one practice's report", f"/reports/practices/{top_practice}"),
            ("drill-down: cases closed", "/reports/cases?figure=closed"),
            ("drill-down: recovered, page 20", "/reports/cases?figure=recovered&page=20"),
            ("export: dashboard CSV", "/reports/export?format=csv"),
            ("export: payer scorecards XLSX", "/reports/payers/export?format=xlsx"),
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

        print(f"\nFirm {args.slug}: {n_cases:,} cases. {args.runs} runs each.\n")
        print(
            "| request | URL | min | median | of which SQL (median) | SQL statements | response |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for label, url, tmin, tmed, tsql, q, size in rows:
            print(
                f"| {label} | `{url}` | {tmin * 1000:.0f} ms | {tmed * 1000:.0f} ms | {tsql * 1000:.0f} ms "
                f"| {q} | {size / 1024:.0f} KB |"
            )


if __name__ == "__main__":
    main()
