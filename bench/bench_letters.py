"""`make bench-letters`: bulk letters end to end, and the PDF engines compared.

1. Engines: the same one-page letter (letterhead, references, three
   paragraphs, a six-line claim table) rendered by Typst (what Advocate uses),
   ReportLab (platypus, registered TTF fonts) and WeasyPrint (HTML/CSS), each
   in one process; CPU seconds per letter, so other load on the machine
   changes the numbers little. Engines not installed are skipped
   (`pip install reportlab weasyprint`; they are not dependencies).
2. Bare renderer: Advocate's own letter document for those cases, rendered
   with `advocate.letters.render.render_pdf` in two processes at once (no
   database, no storage): the ceiling for two workers.
3. Pipeline: a firm with N cases of six service lines (default 10,000) on
   PostgreSQL; one batch of "initial reconsideration" letters for all of
   them; two real `rq worker --with-scheduler` processes render it (claim
   with a lease, load the cases, build, render, store under the local
   storage root, file each as a case document and a timeline event).
   Throughput from the batch's enqueueing to its last letter; peak RSS of
   each worker (the worker and its work horses) and their RSS sampled at
   each tenth of the batch (flat memory); the ratio to the bare renderer.

Writes bench/RESULTS-letters.md.

    python bench/bench_letters.py [--letters 10000] [--workers 2]

Database: BENCH_DATABASE_URL (app role; default
postgresql://advocate_app@127.0.0.1:5432/advocate_bench_letters) and
BENCH_MIGRATION_DATABASE_URL (owner); Redis: BENCH_REDIS_URL (default
redis://127.0.0.1:6379/12, flushed).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

APP_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql://advocate_app@127.0.0.1:5432/advocate_bench_letters"
)
OWNER_URL = os.environ.get(
    "BENCH_MIGRATION_DATABASE_URL",
    "postgresql://advocate_owner@127.0.0.1:5432/advocate_bench_letters",
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
QUEUE = "letters-bench"
PG_APP_NAME = "letters-bench-worker"
SECRET = "bench-letters-not-secret"  # noqa: S105,S106 - test values
TARGET_RATE = 100.0
TARGET_RATIO = 1.5
FONTS = ROOT / "advocate" / "letters" / "fonts"


def _app():
    from advocate import create_app

    os.environ.setdefault("SECRET_KEY", SECRET)
    return create_app({"SQLALCHEMY_DATABASE_URI": APP_URL, "MIGRATION_DATABASE_URL": OWNER_URL})


# --------------------------------------------------------------------------- sample letter


def sample_document(i: int = 0) -> dict:
    """Advocate's letter document for a typical case (what the pipeline renders)."""
    from advocate.letters import document as doc
    from advocate.letters.types import letter_type

    lt = letter_type("reconsideration")
    lines = [
        {
            "line_no": str(j + 1),
            "code": ("99213", "20610", "99283")[j % 3],
            "modifiers": "",
            "units": "1",
            "date": "January 5, 2026",
            "paid": "$64.00",
            "allowed": "—",
            "billed": "$250.00",
            "benchmark": "—",
        }
        for j in range(6)
    ]
    table = {
        "columns": ["Line", "Code", "Mod", "Units", "Date", "Billed", "Paid", "Benchmark"],
        "widths": ["auto"] * 5 + ["1fr"] * 3,
        "numeric": [False] * 3 + [True, False, True, True, True],
        "rows": [
            [ln["line_no"], ln["code"], "", "1", "01/05/2026", ln["billed"], ln["paid"], "—"]
            for ln in lines
        ],
        "totals": ["", "Total", "", "", "", "$1,500.00", "$384.00", "—"],
        "note": "Benchmark: the Medicare physician fee schedule amount for the practice's locality in the year "
        "of service, times units.",
    }
    ctx = doc.sample_context(lt)
    from advocate.letters import sandbox

    body = sandbox.render(lt.body, ctx)
    return {
        "title": f"{lt.label}, C-{i:06d}",
        "footer": f"C-{i:06d} · {lt.label} · Confidential: contains protected health information",
        "letterhead": {
            "name": "Harbor Claims Advocacy",
            "tagline": "Out-of-network claim advocacy",
            "lines": [
                "12 Harbor Street",
                "Boston, MA 02110",
                "Phone 617-555-0100 · Fax 617-555-0101",
            ],
        },
        "date": "March 4, 2026",
        "recipient": ["Keystone Health Plan", "PO Box 1234", "Harrisburg, PA 17101"],
        "references": [
            ["Patient", f"Pat{i} Tester{i}"],
            ["Member ID", f"M{i:06d}"],
            ["Date of birth", "—"],
            ["Claim number", f"CLM{i:06d}"],
            ["Patient account", f"PCN{i:06d}"],
            ["Dates of service", "January 5, 2026"],
            ["Provider", "Lakeside Orthopedics (NPI 1234567893)"],
            ["Our reference", f"C-{i:06d}"],
        ],
        "subject": f"Request for reconsideration: claim CLM{i:06d}",
        "blocks": doc._blocks(body),
        "table": table,
        "closing": ["Sincerely,"],
        "signature": ["Arlo Advocate", "Harbor Claims Advocacy", "for Lakeside Orthopedics"],
    }


def _plain(d: dict) -> tuple[list[str], list[list[str]]]:
    paras = [" ".join(b["lines"]) for b in d["blocks"] if b["kind"] == "p"]
    return paras, [d["table"]["columns"], *d["table"]["rows"], d["table"]["totals"]]


# --------------------------------------------------------------------------- engines


def engine_typst(n: int) -> None:
    from advocate.letters.render import render_pdf

    for i in range(n):
        render_pdf(sample_document(i))


def engine_reportlab(n: int) -> None:
    import io

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import inch
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(TTFont("NotoSans", str(FONTS / "NotoSans-Regular.ttf")))
    pdfmetrics.registerFont(TTFont("NotoSans-Bold", str(FONTS / "NotoSans-Bold.ttf")))
    body = ParagraphStyle("b", fontName="NotoSans", fontSize=10, leading=13, spaceAfter=6)
    head = ParagraphStyle("h", fontName="NotoSans-Bold", fontSize=15, leading=18)
    for i in range(n):
        d = sample_document(i)
        paras, rows = _plain(d)
        out = io.BytesIO()
        story = [
            Paragraph(d["letterhead"]["name"], head),
            Spacer(1, 12),
            Paragraph(d["date"], body),
        ]
        story += [Paragraph(line, body) for line in d["recipient"]]
        story.append(
            Table(
                [[k, v] for k, v in d["references"]],
                hAlign="LEFT",
                style=TableStyle([("FONT", (0, 0), (-1, -1), "NotoSans", 9)]),
            )
        )
        story.append(Paragraph(d["subject"], body))
        story += [Paragraph(p, body) for p in paras]
        story.append(
            Table(
                rows,
                style=TableStyle(
                    [
                        ("FONT", (0, 0), (-1, -1), "NotoSans", 8.5),
                        ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.grey),
                    ]
                ),
            )
        )
        story += [Paragraph(line, body) for line in d["signature"]]
        SimpleDocTemplate(
            out, pagesize=letter, leftMargin=0.9 * inch, rightMargin=0.9 * inch
        ).build(story)


def engine_weasyprint(n: int) -> None:
    from html import escape

    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = (
        f"@font-face {{ font-family: Noto; src: url('file://{FONTS}/NotoSans-Regular.ttf'); }}"
        "@page { size: letter; margin: 0.7in 0.9in; } body { font-family: Noto; font-size: 10pt; }"
        "table { border-collapse: collapse; width: 100%; font-size: 8.5pt; } td { border-bottom: 0.3pt solid #bbb; }"
    )
    for i in range(n):
        d = sample_document(i)
        paras, rows = _plain(d)
        html = [
            f"<html><head><style>{css}</style></head><body><h1>{escape(d['letterhead']['name'])}</h1>",
            f"<p>{escape(d['date'])}</p>",
            *[f"<div>{escape(x)}</div>" for x in d["recipient"]],
            "<table>",
            *[f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in d["references"]],
            "</table>",
            f"<p><b>{escape(d['subject'])}</b></p>",
            *[f"<p>{escape(p)}</p>" for p in paras],
            "<table>",
            *["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows],
            "</table>",
            *[f"<div>{escape(x)}</div>" for x in d["signature"]],
            "</body></html>",
        ]
        HTML(string="".join(html)).write_pdf(font_config=fonts)


ENGINES = {"typst": engine_typst, "reportlab": engine_reportlab, "weasyprint": engine_weasyprint}


def measure_engine(name: str, n: int) -> dict | None:
    try:
        ENGINES[name](3)  # warm up: imports, fonts, caches
    except ImportError:
        return None
    c0, w0 = time.process_time(), time.perf_counter()
    ENGINES[name](n)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return {
        "engine": name,
        "letters": n,
        "cpu_s": cpu,
        "wall_s": wall,
        "per_core": n / cpu,
        "wall_rate": n / wall,
    }


def _bare_worker(args) -> tuple[float, float]:
    start, n = args
    from advocate.letters.render import render_pdf

    docs = [sample_document(start + i) for i in range(n)]
    render_pdf(docs[0])
    c0 = time.process_time()
    for d in docs:
        render_pdf(d)
    return time.process_time() - c0, time.time()


def measure_bare(n: int, processes: int) -> dict:
    """Render n letters split over `processes` processes at once (no database, no storage).
    Spawned, not forked: a process that has run Typst must not fork (its threads hold locks)."""
    per = n // processes
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        w0 = time.time()
        results = pool.map(_bare_worker, [(i * per, per) for i in range(processes)])
        wall = max(end for _cpu, end in results) - w0
    cpu = sum(c for c, _ in results)
    return {
        "letters": per * processes,
        "processes": processes,
        "wall_s": wall,
        "rate": per * processes / wall,
        "cpu_per_letter_ms": 1000 * cpu / (per * processes),
    }


# --------------------------------------------------------------------------- pipeline


def reset_database() -> None:
    import logging

    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from advocate.config import normalise_db_url

    engine = create_engine(normalise_db_url(OWNER_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = _app()
    with app.app_context():
        logging.getLogger("alembic").setLevel(logging.WARNING)
        upgrade(directory=str(ROOT / "migrations"), revision="heads")


def seed(n: int) -> tuple[int, int]:
    """A firm, a practice with a signed authorization, a payer and n cases of six lines."""
    from advocate.auth.models import User
    from advocate.cases.models import Case, CaseCounter, ServiceLine
    from advocate.extensions import db
    from advocate.payers.models import Payer
    from advocate.practices.models import Practice, PracticeAuthorization
    from tenants import tenant_scope
    from tenants.models import Membership, Tenant

    app = _app()
    with app.app_context():
        tenant = Tenant(
            name="Harbor Claims Advocacy",
            slug="bench-letters",
            letterhead_name="Harbor Claims Advocacy",
            letterhead_tagline="Out-of-network claim advocacy",
            address_line1="12 Harbor Street",
            city="Boston",
            state="MA",
            zip="02110",
            phone="617-555-0100",
            fax="617-555-0101",
        )
        db.session.add(tenant)
        db.session.commit()
        tid = tenant.id
        with tenant_scope(tid):
            user = User(email="arlo@bench.example.com", name="Arlo Advocate", password_hash="x")  # noqa: S105,S106 - test values
            db.session.add(user)
            db.session.flush()
            db.session.add(Membership(tenant_id=tid, user_id=user.id, role="advocate"))
            practice = Practice(
                tenant_id=tid,
                name="Lakeside Orthopedics",
                npi="1234567893",
                tin="123456789",
                specialty="Orthopedic surgery",
                address_line1="1 Main Street",
                city="New York",
                state="NY",
                zip="10001",
                default_pos="11",
            )
            payer = Payer(
                tenant_id=tid,
                name="Keystone Health Plan",
                name_key="keystone health plan",
                plan_types=["erisa_self_funded"],
                claims_address="PO Box 1234\nHarrisburg, PA 17101",
            )
            db.session.add_all([practice, payer])
            db.session.flush()
            db.session.add(
                PracticeAuthorization(
                    tenant_id=tid,
                    practice_id=practice.id,
                    signed_on=datetime.now(UTC).date() - timedelta(days=30),
                    scope="all",
                )
            )
            db.session.add(CaseCounter(tenant_id=tid, last_number=n))
            for start in range(0, n, 1000):
                cases = []
                for i in range(start + 1, min(n, start + 1000) + 1):
                    c = Case(
                        tenant_id=tid,
                        number=i,
                        practice_id=practice.id,
                        payer_id=payer.id,
                        plan_type="erisa_self_funded",
                        patient_first_name=f"Pat{i}",
                        patient_last_name=f"Tester{i}",
                        member_id=f"M{i:06d}",
                        payer_claim_number=f"CLM{i:06d}",
                        patient_control_number=f"PCN{i:06d}",
                        service_from=date(2026, 1, 5),
                        service_to=date(2026, 1, 5),
                        place_of_service="11",
                        status="intake",
                        billed_total=Decimal("1500.00"),
                        total_paid=Decimal("384.00"),
                        amount_at_stake=Decimal("1116.00"),
                        opened_at=datetime(2026, 2, 1, tzinfo=UTC),
                    )
                    c.lines = [
                        ServiceLine(
                            tenant_id=tid,
                            line_no=j + 1,
                            code=("99213", "20610", "99283")[j % 3],
                            billed=Decimal("250.00"),
                            paid=Decimal("64.00"),
                            service_date=date(2026, 1, 5),
                        )
                        for j in range(6)
                    ]
                    cases.append(c)
                db.session.add_all(cases)
                db.session.flush()
                db.session.expunge_all()
            uid = user.id
            db.session.commit()
    return tid, uid


def pg_backends(seen: dict[int, float]) -> None:
    """CPU seconds used so far by the PostgreSQL backends serving the workers
    (found by application_name; this is the same machine)."""
    from sqlalchemy import text

    from advocate.extensions import db

    pids = db.session.scalars(
        text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"), {"n": PG_APP_NAME}
    ).all()
    db.session.commit()
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seen[pid] = (int(fields[11]) + int(fields[12])) / tick


def _tree_rss_mb(pid: int) -> float:
    """RSS of a process and its children (the worker and its work horse)."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def run_pipeline(n: int, workers: int, storage_root: Path) -> dict:
    from redis import Redis
    from sqlalchemy import func, select

    from advocate.auth.models import User
    from advocate.extensions import db
    from advocate.letters import services, tasks
    from advocate.letters.models import DONE, FAILED, Letter
    from tenants import tenant_scope
    from tenants.models import Tenant

    conn = Redis.from_url(REDIS_URL)
    conn.flushdb()
    tid, uid = seed(n)
    settings = {
        "LETTERS_QUEUE": QUEUE,
        "LETTERS_PARALLEL_JOBS": str(workers),
        "LETTERS_CHUNK": "50",
        "LETTERS_LEASE_SECONDS": "60",
    }
    env = dict(os.environ)
    sep = "&" if "?" in APP_URL else "?"
    env.update(
        {
            "DATABASE_URL": f"{APP_URL}{sep}application_name={PG_APP_NAME}",
            "MIGRATION_DATABASE_URL": OWNER_URL,
            "SECRET_KEY": SECRET,
            "REDIS_URL": REDIS_URL,
            "STORAGE_LOCAL_ROOT": str(storage_root),
            **settings,
        }
    )
    cpu0 = os.times()
    procs = [
        subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                str(ROOT / ".venv/bin/rq"),
                "worker",
                "--with-scheduler",
                "--maintenance-interval",
                "30",
                "-u",
                REDIS_URL,
                QUEUE,
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(workers)
    ]
    time.sleep(3)  # the workers are up and idle before the clock starts
    os.environ.update({"REDIS_URL": REDIS_URL, "STORAGE_LOCAL_ROOT": str(storage_root), **settings})
    app = _app()
    app.config["REDIS_URL"] = REDIS_URL
    app.extensions["advocate_jobs"]["inline"] = False
    samples: list[tuple[int, list[float]]] = []
    pg_cpu: dict[int, float] = {}
    with app.app_context(), tenant_scope(tid):
        tenant = db.session.get(Tenant, tid)
        c0 = time.perf_counter()
        batch = services.create_batch(
            tenant=tenant,
            actor=db.session.get(User, uid),
            filter_args={},
            letter_type_key="reconsideration",
            template_version_id=None,
            today=datetime.now(UTC).date(),
        )
        db.session.commit()
        bid = batch.id
        tasks.start_batch(tid, bid, n)
        t0 = time.perf_counter()
        create_s = t0 - c0
        next_decile = 1
        while True:
            time.sleep(0.5)
            done = db.session.scalar(
                select(func.count(Letter.id)).where(
                    Letter.batch_id == bid, Letter.status.in_((DONE, FAILED))
                )
            )
            db.session.commit()
            pg_backends(pg_cpu)
            while next_decile <= 10 and done >= n * next_decile / 10:
                samples.append((next_decile * 10, [_tree_rss_mb(p.pid) for p in procs]))
                next_decile += 1
            if done >= n:
                break
            if time.perf_counter() - t0 > 3600:
                raise SystemExit("the batch did not finish in an hour")
        wall = time.perf_counter() - t0
        failed = db.session.scalar(
            select(func.count(Letter.id)).where(Letter.batch_id == bid, Letter.status == FAILED)
        )
        if failed:
            why = db.session.scalar(
                select(Letter.error).where(Letter.batch_id == bid, Letter.status == FAILED)
            )
            print(f"{failed} letters failed, e.g.: {why}", flush=True)
    with app.app_context(), tenant_scope(tid):
        pg_backends(pg_cpu)
    peaks = []
    for p in procs:
        os.killpg(p.pid, signal.SIGTERM)
        _, _status, usage = os.wait4(p.pid, 0)
        peaks.append(usage.ru_maxrss / 1024)
    # The workers' and their reaped work horses' CPU time (includes start-up and idle polling).
    cpu1 = os.times()
    cpu = (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system)
    objects = sum(1 for _ in storage_root.rglob("letter-*.pdf"))
    conn.flushdb()
    return {
        "letters": n,
        "workers": workers,
        "wall_s": wall,
        "rate": n / wall,
        "create_batch_s": create_s,
        "failed": failed,
        "objects": objects,
        "peak_rss_mb": peaks,
        "rss_by_decile": samples,
        "children_cpu_s": cpu,
        "pg_cpu_s": sum(pg_cpu.values()),
    }


# --------------------------------------------------------------------------- report


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("typst", "reportlab", "weasyprint", "rq", "redis", "psycopg"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine-letters", type=int, default=200)
    parser.add_argument("--skip-pipeline", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", SECRET)
    load_before = _load()

    app = _app()
    with app.app_context():
        engines = [r for r in (measure_engine(name, args.engine_letters) for name in ENGINES) if r]
    for r in engines:
        print(f"engine {r['engine']}: {r['per_core']:.1f} letters/s per core", flush=True)
    with app.app_context():
        bare = measure_bare(min(args.letters, 4000), args.workers)
    print(f"bare typst, {args.workers} processes: {bare['rate']:.1f} letters/s", flush=True)

    pipe = None
    if not args.skip_pipeline:
        reset_database()
        storage_root = Path(tempfile.mkdtemp(prefix="bench-letters-"))
        try:
            pipe = run_pipeline(args.letters, args.workers, storage_root)
        finally:
            shutil.rmtree(storage_root, ignore_errors=True)
        print(f"pipeline: {pipe['rate']:.1f} letters/s, peak RSS {pipe['peak_rss_mb']}", flush=True)
    write_results(args, engines, bare, pipe, load_before, _load())


def write_results(args, engines, bare, pipe, load_before, load_after) -> None:
    v = _versions()
    lines = [
        "# Letters: PDF engines and bulk generation",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench-letters` "
        f"(`python bench/bench_letters.py --letters {args.letters} --workers {args.workers}`).",
        "",
        f"Machine: {os.cpu_count()} cores ({_cpu_model()}), "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, Python "
        f"{platform.python_version()}, PostgreSQL (app role, RLS on), Redis; typst {v['typst']}, rq {v['rq']}, "
        f"reportlab {v['reportlab']}, weasyprint {v['weasyprint']}. Load average {load_before} before, "
        f"{load_after} after (other work on the machine shows in wall-clock numbers; CPU-second numbers "
        "are less affected).",
        "",
        "## PDF engines (the same one-page letter, one process)",
        "",
        "| engine | letters | CPU s | letters/s per core (CPU) | letters/s (wall) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in engines:
        lines.append(
            f"| {r['engine']} | {r['letters']} | {r['cpu_s']:.2f} | {r['per_core']:.1f} | "
            f"{r['wall_rate']:.1f} |"
        )
    lines += [
        "",
        "Typst is used. ReportLab is about as fast per core, but its letter here is a plainer layout",
        "(no letterhead grid, footer or page count) and it has no per-glyph font fallback: a Chinese or",
        "Korean name in a Latin paragraph prints as boxes unless the code splits text into font runs by",
        "hand, which Typst does itself from the font list. Typst also keeps one compiler (fonts, parsed",
        "layout) per process and reads each letter as JSON data, never as markup, so user text needs no",
        "escaping. WeasyPrint (HTML/CSS, needs Pango) is about eight times slower.",
        "",
        "## Bare renderer (Advocate's letter document, no database, no storage)",
        "",
        f"{bare['letters']:,} letters over {bare['processes']} processes: **{bare['rate']:.1f} letters/s** "
        f"({bare['wall_s']:.1f} s wall, {bare['cpu_per_letter_ms']:.1f} ms CPU per letter).",
        "",
    ]
    if pipe:
        ratio = bare["rate"] / pipe["rate"]
        lines += [
            f"## Pipeline: {pipe['letters']:,} letters, six-line claim table, {pipe['workers']} `rq worker` processes",
            "",
            f"- Throughput: **{pipe['rate']:.1f} letters/s** ({pipe['wall_s']:.1f} s from enqueueing to the last "
            f"letter filed; target {TARGET_RATE:.0f}/s: {'met' if pipe['rate'] >= TARGET_RATE else 'NOT met'}).",
            f"- Creating the batch (one transaction, {pipe['letters']:,} letter rows): {pipe['create_batch_s']:.2f} s.",
            f"- Cost relative to the bare renderer: **{ratio:.2f}x** (target at most {TARGET_RATIO}x: "
            f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}).",
            f"- Failed letters: {pipe['failed']}; stored objects: {pipe['objects']:,}.",
            f"- Worker CPU: {1000 * pipe['children_cpu_s'] / pipe['letters']:.1f} ms per letter (workers and work "
            f"horses, start-up included; PostgreSQL's own CPU not counted) against "
            f"{bare['cpu_per_letter_ms']:.1f} ms bare: {pipe['children_cpu_s'] * 1000 / pipe['letters'] / bare['cpu_per_letter_ms']:.2f}x; "
            f"PostgreSQL backends serving them: {1000 * pipe['pg_cpu_s'] / pipe['letters']:.1f} ms per letter. "
            f"All of it: {1000 * (pipe['children_cpu_s'] + pipe['pg_cpu_s']) / pipe['letters']:.1f} ms per letter, "
            f"so {pipe['workers']} otherwise idle cores would sustain about "
            f"{pipe['workers'] * pipe['letters'] / (pipe['children_cpu_s'] + pipe['pg_cpu_s']):.0f} letters/s.",
            f"- Peak RSS per worker (worker and work horses): {', '.join(f'{m:.0f} MB' for m in pipe['peak_rss_mb'])}.",
            "- RSS of each worker's process tree as the batch progressed (MB):",
            "",
            "| progress | " + " | ".join(f"worker {i + 1}" for i in range(pipe["workers"])) + " |",
            "| ---: | " + " | ".join("---:" for _ in range(pipe["workers"])) + " |",
        ]
        for pct, rss in pipe["rss_by_decile"]:
            lines.append(f"| {pct}% | " + " | ".join(f"{m:.0f}" for m in rss) + " |")
        lines += [""]
    lines += [
        "## How",
        "",
        "`make bench-letters` creates the `advocate_bench_letters` database (.ci/pg-setup.sh), then runs",
        "`bench/bench_letters.py`. Workers run as `rq worker --with-scheduler -u $BENCH_REDIS_URL letters-bench`",
        "with `LETTERS_CHUNK=50` (the default); each letter is claimed with a lease, rendered, written to",
        "`tenants/<firm>/letters/batch-<id>/letter-<id>.pdf` and filed (case document + timeline event) by",
        "chunk in one transaction.",
        "",
    ]
    (ROOT / "bench" / "RESULTS-letters.md").write_text("\n".join(lines))
    print(json.dumps({"engines": engines, "bare": bare, "pipeline": pipe}, default=str)[:2000])


if __name__ == "__main__":
    main()
