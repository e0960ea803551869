"""`make bench-rates`: re-benchmark 100,000 service lines of one firm on PostgreSQL.

Setup (not timed): the real CY2025 fee schedule (advocate/rates/data/pfs2025)
is imported; a firm is generated with bench/generate_cases.py (seed 7) and
trimmed to exactly --lines service lines; its practices get real ZIP codes
(spread over the ZIP5 file's localities); the firm gets commercial
percentiles (2025 and 2026) for every code in every practice's 3-digit ZIP
area, an OON policy per payer and plan type (percent of Medicare, percent of
the 80th percentile, percent of billed, QPA, in turn), and 2% of its cases are
billed under a signed single case agreement.

Timed, as the app role with row-level security in force, each run committed:

* **set-based re-benchmark**: `advocate.rates.benchmark.benchmark_firm`
  (what the background job runs): on PostgreSQL one SQL statement computes
  the plain cases' lines (Medicare with the multiple procedure ranking,
  percentiles, policy, expected) into a temporary table; the other cases
  (payment modifiers, 26/TC, SCAs, ...) are read and computed in
  Python and staged too; then only the changed line_benchmarks rows and cases
  are written.  Timed twice per run: a re-run over unchanged data (the common
  case: nothing to write) and a *cold* run after the firm's line_benchmarks
  were deleted and its cases' expected payment cleared (untimed), where every
  row is inserted and every case updated;
* **plain SQL join**: one SELECT over the same lines joined to cases,
  practices, ZIP5, GPCI, RVU and percentile rows computing the Medicare
  formula in SQL, every row fetched by the client: the floor the set-based
  job is measured against.

    python bench/bench_rates.py [--lines 100000] [--runs 3]

Database: BENCH_DATABASE_URL (app role, default
postgresql://advocate_app@127.0.0.1:5432/advocate_bench_rates) and
BENCH_MIGRATION_DATABASE_URL (owner); `make bench-rates` creates it with
.ci/pg-setup.sh and migrates it. Writes bench/RESULTS-rates.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

APP_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://advocate_app@127.0.0.1:5432/advocate_bench_rates"
)
OWNER_URL = os.environ.get(
    "BENCH_MIGRATION_DATABASE_URL",
    "postgresql://advocate_owner@127.0.0.1:5432/advocate_bench_rates",
)
SLUG = "bench-rates"
TARGET = 5.0
DATA = ROOT / "advocate" / "rates" / "data" / "pfs2025"

PLAIN_JOIN = """
SELECT l.id, l.case_id, l.code, l.units, l.billed, l.paid, z.carrier, z.locality,
       r.status,
       ROUND((r.work_rvu * g.pw
              + (CASE WHEN COALESCE(l.place_of_service, c.place_of_service) IN
                      ('19','21','22','23','24','26','31','34','41','42','51','52','53','56','61')
                      OR r.is_nonfac_na THEN r.fac_pe_rvu ELSE r.nonfac_pe_rvu END) * g.pe
              + r.mp_rvu * g.mp) * r.conv_factor, 2) AS medicare,
       cp.p50, cp.p80, cp.p95
FROM service_lines l
JOIN cases c ON c.id = l.case_id AND c.tenant_id = l.tenant_id
JOIN practices p ON p.id = c.practice_id AND p.tenant_id = c.tenant_id
LEFT JOIN pfs_zip_localities z ON z.year = 2025 AND z.zip = LEFT(p.zip, 5)
LEFT JOIN pfs_gpcis g ON g.year = z.year AND g.carrier = z.carrier AND g.locality = z.locality
LEFT JOIN pfs_rvus r ON r.year = 2025 AND r.hcpcs = l.code AND r.modifier = ''
LEFT JOIN commercial_percentiles cp ON cp.tenant_id = l.tenant_id AND cp.year = 2025
     AND cp.code = l.code AND cp.modifier = '' AND cp.zip3 = LEFT(p.zip, 3)
WHERE l.tenant_id = :tenant_id
"""


def _app():
    from advocate import create_app

    os.environ.setdefault("SECRET_KEY", "bench-rates-not-secret")
    return create_app({"SQLALCHEMY_DATABASE_URI": APP_URL, "MIGRATION_DATABASE_URL": OWNER_URL})


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


# --------------------------------------------------------------------------- setup


def existing_firm() -> int | None:
    import generate_cases

    with generate_cases.connect(OWNER_URL) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM tenants WHERE slug = %s", (SLUG,))
        row = cur.fetchone()
    return row[0] if row else None


def setup(app, n_lines: int) -> int:
    import generate_cases
    from sqlalchemy import select, text

    from advocate.extensions import db
    from advocate.rates.importer import import_pfs
    from advocate.rates.models import PfsYear
    from tenants import tenant_scope

    with app.app_context():
        if db.session.get(PfsYear, 2025) is None:
            import_pfs(
                db.session, 2025, rvu=DATA / "PPRRVU2025_Oct.csv", gpci=DATA / "GPCI2025.csv",
                zip5=DATA / "ZIP5_OCT2025.txt", anes=DATA / "ANES2025.csv",
            )  # fmt: skip
            db.session.commit()
        db.session.remove()
    n_cases = int(n_lines / 3.06 * 1.03) + 10  # about 3.06 lines a case
    print(f"generating about {n_cases:,} cases ...", file=sys.stderr)
    gen = generate_cases.generate(
        OWNER_URL, n_cases=n_cases, seed=7, slug=SLUG, replace=True, n_practices=60,
        n_payers=40, n_advocates=12, today=date(2026, 11, 20), quiet=True,
    )  # fmt: skip
    tenant_id = gen["tenant_id"]
    rng = random.Random(7)
    conn = generate_cases.connect(OWNER_URL)
    with conn, conn.cursor() as cur:
        generate_cases.set_tenant(cur, tenant_id)
        # Exactly n_lines lines: drop the newest cases' surplus lines.
        cur.execute("SELECT count(*) FROM service_lines WHERE tenant_id = %s", (tenant_id,))
        surplus = cur.fetchone()[0] - n_lines
        if surplus < 0:
            raise SystemExit(f"generated too few lines ({n_lines + surplus})")
        cur.execute(
            "DELETE FROM service_lines WHERE id IN (SELECT id FROM service_lines WHERE tenant_id = %s "
            "ORDER BY id DESC LIMIT %s)",
            (tenant_id, surplus),
        )
        # Real ZIP codes, one per locality at most.
        cur.execute(
            "SELECT DISTINCT ON (carrier, locality) zip FROM pfs_zip_localities WHERE year = 2025 "
            "ORDER BY carrier, locality, zip"
        )
        zips = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT id FROM practices WHERE tenant_id = %s ORDER BY id", (tenant_id,))
        for (pid,) in cur.fetchall():
            cur.execute("UPDATE practices SET zip = %s WHERE id = %s", (rng.choice(zips), pid))
        # Percentiles: every code x every practice ZIP area, 2025 and 2026.
        cur.execute("DELETE FROM commercial_percentiles WHERE tenant_id = %s", (tenant_id,))
        cur.execute(
            "SELECT DISTINCT LEFT(p.zip, 3) FROM practices p WHERE p.tenant_id = %s", (tenant_id,)
        )
        zip3s = [r[0] for r in cur.fetchall()]
        rows = []
        for code, _pos, base in generate_cases.CODES:
            for z3 in zip3s:
                for year in (2025, 2026):
                    p50 = Decimal(base) * Decimal(rng.uniform(0.5, 0.9))
                    vals = [
                        (p50 * Decimal(f)).quantize(Decimal("0.01"))
                        for f in ("1", "1.1", "1.2", "1.3", "1.4", "1.5", "1.7", "2")
                    ]
                    rows.append((tenant_id, year, code, "", z3, *vals))
        cur.executemany(
            "INSERT INTO commercial_percentiles (tenant_id, year, code, modifier, zip3, p50, p60, p70, "
            "p75, p80, p85, p90, p95, created_at, updated_at) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now(), now())",
            rows,
        )
        # Policies: one per payer and plan type, methods in turn.
        cur.execute("DELETE FROM payer_policies WHERE tenant_id = %s", (tenant_id,))
        cur.execute("SELECT id FROM payers WHERE tenant_id = %s ORDER BY id", (tenant_id,))
        payers = [r[0] for r in cur.fetchall()]
        methods = [
            ("medicare_percent", Decimal("140"), None),
            ("commercial_percentile", Decimal("80"), 80),
            ("billed_percent", Decimal("50"), None),
            ("qpa", None, None),
        ]
        plans = ["erisa_self_funded", "fully_insured", "medicare_advantage"]
        i = 0
        for payer_id in payers:
            for plan in plans:
                method, pct, pctl = methods[i % len(methods)]
                i += 1
                cur.execute(
                    "INSERT INTO payer_policies (tenant_id, payer_id, plan_type, effective_date, "
                    "pricing_method, pricing_percent, commercial_percentile, timely_filing_days, "
                    "created_at, updated_at) VALUES (%s, %s, %s, '2020-01-01', %s, %s, %s, 180, now(), now())",
                    (tenant_id, payer_id, plan, method, pct, pctl),
                )
        # 2% of cases under a signed SCA.
        cur.execute(
            "SELECT id, practice_id, payer_id FROM cases WHERE tenant_id = %s ORDER BY id",
            (tenant_id,),
        )
        cases = cur.fetchall()
        for cid, practice_id, payer_id in rng.sample(cases, len(cases) // 50):
            rate = rng.choice([("medicare_percent", "150"), ("billed_percent", "60")])
            cur.execute(
                "INSERT INTO single_case_agreements (tenant_id, practice_id, payer_id, patient_first_name, "
                "patient_last_name, codes, rate_type, rate_percent, fixed_rates, status, created_at, "
                "updated_at) VALUES (%s, %s, %s, 'Bench', 'Patient', '[]', %s, %s, '{}', 'signed', now(), "
                "now()) RETURNING id",
                (tenant_id, practice_id, payer_id, rate[0], Decimal(rate[1])),
            )
            cur.execute("UPDATE cases SET sca_id = %s WHERE id = %s", (cur.fetchone()[0], cid))
        cur.execute("DELETE FROM line_benchmarks WHERE tenant_id = %s", (tenant_id,))
    conn = generate_cases.connect(OWNER_URL)  # `with conn` closed the other one
    conn.autocommit = True
    with conn.cursor() as cur:
        for t in (
            "practices",
            "cases",
            "service_lines",
            "commercial_percentiles",
            "payer_policies",
        ):
            cur.execute(f"VACUUM (ANALYZE) {t}")  # noqa: S608 - fixed names
    conn.close()
    with app.app_context(), tenant_scope(tenant_id):
        n = db.session.execute(
            text("SELECT count(*) FROM service_lines WHERE tenant_id = :t").bindparams(t=tenant_id)
        ).scalar()
        assert n == n_lines, n
        db.session.remove()
    del select
    return tenant_id


# --------------------------------------------------------------------------- timing


def vacuum(*, full: bool = False) -> None:
    """VACUUM ANALYZE the tables the job rewrites (untimed, as the owner).

    Autovacuum is off on the bench server, so without this every run left its
    dead rows behind (a cold run deletes and inserts 100,000 line rows, an
    UPDATE of the cases rewrites 33,000 rows) and later runs scanned a table
    several times its size (line_benchmarks had grown to 324 MB for 100,000
    rows).  With autovacuum on, as in production, the tables stay near this.
    ``full`` (once, before the first run) also compacts what earlier runs bloated."""
    import generate_cases

    with generate_cases.connect(OWNER_URL) as conn:
        conn.autocommit = True
        conn.execute(
            f"VACUUM ({'FULL, ' if full else ''}ANALYZE) line_benchmarks, cases, service_lines"
        )


def time_set_based(app, tenant_id: int, *, cold: bool = False, parallel: int | None = None) -> dict:
    from advocate.extensions import db
    from advocate.rates.benchmark import benchmark_firm, parallel_parts
    from tenants import tenant_scope

    if cold:
        from sqlalchemy import text

        with app.app_context(), tenant_scope(tenant_id):
            db.session.execute(
                text("DELETE FROM line_benchmarks WHERE tenant_id = :t"), {"t": tenant_id}
            )
            db.session.execute(
                text("UPDATE cases SET expected_payment = NULL WHERE tenant_id = :t"),
                {"t": tenant_id},
            )
            db.session.commit()
            db.session.remove()
        # What autovacuum (off on this server) would do after that bulk
        # change: a firm's real first run meets tables without those dead rows.
        # The job copes with line_benchmarks recorded empty (nested loops off
        # for its INSERT: see bench/RESULTS-rates.md).
        vacuum()
    else:
        vacuum()
    with app.app_context(), tenant_scope(tenant_id):
        started = time.perf_counter()
        # As the background job runs it (rebenchmark_firm_job), or in one part.
        run = benchmark_firm(tenant_id, parallel=parallel or parallel_parts())
        db.session.commit()
        total = time.perf_counter() - started
        db.session.remove()
    return {
        "total": total,
        "lines": run.lines,
        "cases": run.cases,
        **{f"p_{k}": v for k, v in run.seconds.items()},
    }


def time_plain_join(app, tenant_id: int) -> tuple[float, int]:
    from sqlalchemy import text

    from advocate.extensions import db
    from tenants import tenant_scope

    with app.app_context(), tenant_scope(tenant_id):
        started = time.perf_counter()
        rows = db.session.execute(text(PLAIN_JOIN), {"tenant_id": tenant_id}).all()
        seconds = time.perf_counter() - started
        db.session.remove()
    return seconds, len(rows)


def summary_counts(app, tenant_id: int) -> dict:
    from sqlalchemy import text

    from advocate.extensions import db
    from tenants import tenant_scope

    sql = """
    SELECT count(*) AS lines, count(medicare) AS medicare, count(p50) AS percentiles,
           count(policy) AS policy, count(sca) AS sca, count(expected) AS expected
    FROM line_benchmarks WHERE tenant_id = :t
    """
    with app.app_context(), tenant_scope(tenant_id):
        row = db.session.execute(text(sql), {"t": tenant_id}).mappings().one()
        db.session.remove()
    return dict(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the firm a previous run generated"
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS-rates.md"))
    args = parser.parse_args()

    import sqlalchemy
    from sqlalchemy import text

    app = _app()
    t0 = time.perf_counter()
    reused = args.reuse and existing_firm()
    tenant_id = reused or setup(app, args.lines)
    setup_s = time.perf_counter() - t0
    vacuum(full=True)
    print(f"setup {setup_s:.1f} s", file=sys.stderr)
    # One untimed run first: after a fresh setup there are no rows yet, and the
    # timed re-runs are meant to find every row in place.
    time_set_based(app, tenant_id)

    with app.app_context():
        from advocate.rates.benchmark import parallel_parts

        parts = parallel_parts()
    loads, sets, colds, joins, singles = [], [], [], [], []
    for i in range(args.runs):
        loads.append(_load())
        s = time_set_based(app, tenant_id)
        c = time_set_based(app, tenant_id, cold=True)
        one = time_set_based(app, tenant_id, parallel=1)
        j, n = time_plain_join(app, tenant_id)
        sets.append(s)
        colds.append(c)
        singles.append(one)
        joins.append(j)
        print(f"run {i + 1}: re-run {s['total']:.2f} s, cold {c['total']:.2f} s, one part "
              f"{one['total']:.2f} s, plain join {j:.2f} s ({n:,} rows), load {loads[-1]}",
              file=sys.stderr)  # fmt: skip
    counts = summary_counts(app, tenant_id)
    with app.app_context():
        from advocate.extensions import db

        pg = db.session.execute(text("SHOW server_version")).scalar()
        db.session.remove()

    med_set = statistics.median(s["total"] for s in sets)
    med_join = statistics.median(joins)
    best_set = min(s["total"] for s in sets)
    med_cold = statistics.median(c["total"] for c in colds)
    med_one = statistics.median(o["total"] for o in singles)
    lines = [
        "<!-- measured:start (rewritten by make bench-rates; the notes after measured:end are kept) -->",
        "# Case benchmarking: re-benchmark 100,000 service lines",
        "",
        f"Command: `make bench-rates` (`python bench/bench_rates.py --lines {args.lines} --runs {args.runs}`), "
        f"{date.today().isoformat()}.",  # noqa: DTZ011
        "",
        f"Machine: {os.cpu_count()} vCPUs ({_cpu_model()}), **shared with other engineers' test runs "
        "and noisy** (load average per run below); PostgreSQL "
        f"{pg} on localhost as the app role `advocate_app` (row-level security in force); "
        f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}.",
        "",
        f"Data: one firm, {sets[0]['lines']:,} service lines in {sets[0]['cases']:,} cases "
        "(bench/generate_cases.py seed 7, trimmed), 60 practices at real ZIP codes, 40 payers with "
        "an OON policy per plan type (percent of Medicare / of the 80th percentile / of billed / QPA), "
        "percentiles for every code in every practice's ZIP area, 2% of cases under a signed SCA; "
        "the real CY2025 fee schedule. "
        + (
            "The firm an earlier run generated was reused (--reuse)."
            if reused
            else f"Setup (not timed) took {setup_s:.0f} s."
        ),
        "",
        "## Results",
        "",
        f"The job runs in {parts} parts at once (`BENCHMARK_PARALLEL`, cases split by id, one "
        "connection each); the step columns give the slowest part's time for that step. "
        '"One part" is the same re-run on a single connection.',
        "",
        "| run | load average | re-run (unchanged data) | of which: SQL lines | Python cases: read + "
        "reference rows | Python compute | write (stage + changed rows + cases) | cold run "
        "(all rows new) | of which: write | re-run in one part | plain SQL join | ratio re-run / join "
        "| ratio cold / join |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for i, (s, c, o, j, load) in enumerate(zip(sets, colds, singles, joins, loads, strict=True), 1):
        lines.append(
            f"| {i} | {load} | {s['total']:.2f} s | {s['p_read']:.2f} s | {s['p_refs']:.2f} s | "
            f"{s['p_compute']:.2f} s | {s['p_write']:.2f} s | {c['total']:.2f} s | {c['p_write']:.2f} s | "
            f"{o['total']:.2f} s | {j:.2f} s | {s['total'] / j:.1f}x | {c['total'] / j:.1f}x |"
        )
    lines += [
        "",
        f"Median: set-based **{med_set:.2f} s** (best {best_set:.2f} s) against the plain join "
        f"{med_join:.2f} s: **{med_set / med_join:.1f}x**. Target: under {TARGET:.0f} s on PostgreSQL: "
        f"{'met' if med_set < TARGET else 'NOT met'} (median). Cold run median **{med_cold:.2f} s** "
        f"({med_cold / med_join:.1f}x the join; target {'met' if med_cold < TARGET else 'NOT met'}). "
        f"The same re-run on one connection: median {med_one:.2f} s. Cases through the Python path: "
        f"{sets[0].get('p_python_cases', 0):,} ({sets[0].get('p_python_lines', 0):,} lines).",
        "",
        f"Stored: {counts['lines']:,} line_benchmarks rows; {counts['medicare']:,} with a Medicare amount, "
        f"{counts['percentiles']:,} with percentiles, {counts['policy']:,} with a payer policy amount, "
        f"{counts['sca']:,} with an SCA amount, {counts['expected']:,} with an expected payment.",
        "",
        "What the ratio measures: the plain join reads the same rows with the Medicare formula done in "
        "SQL and nothing written; the set-based job also ranks multiple procedures, builds every "
        "line's steps and reasons, applies percentiles, policies and the expected-payment rule (in SQL "
        "for plain cases, in Python for the rest), stages all 100,000 rows and writes the changed ones.",
        "<!-- measured:end -->",
    ]
    out = Path(args.out)
    old = out.read_text() if out.exists() else ""
    notes = old.split("<!-- measured:end -->", 1)[1] if "<!-- measured:end -->" in old else "\n"
    out.write_text("\n".join(lines) + notes)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
