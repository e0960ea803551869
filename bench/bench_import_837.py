"""The 837 claims import on PostgreSQL, and the 835 that pays it matched line by line.

What is timed (each in a fresh child process):

* parse: ``claims837.parse_837`` on a generated 10,000-claim 837P
  (``claims837_fixtures.generate_837p``: 1 to 4 lines each, every line with
  its REF*6R), best of 3; target at least 15,000 claims/s.
* import: ``claims837_import.commit_837`` (parse, plan, bulk INSERT of the
  cases, lines, events, audit rows and the file's claims, commit) into a
  freshly migrated firm; target under 15 s.
* match: a 10,000-claim 835 paying those claims (CLP01 = CLM01, SVC with the
  REF*6R echoed) posted with ``edge.commit_835``, then its line payments
  written with ``claims837_match.apply_remittance_lines``.

Uses bench/bench_import.py's database (BENCH_DATABASE_URL,
BENCH_MIGRATION_DATABASE_URL) and writes bench/RESULTS-import-837.md.

    python bench/bench_import_837.py [--claims 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import bench_import as base  # noqa: E402  (the 835 bench: database reset, app)

TARGET_RATE = 15_000
TARGET_IMPORT = 15.0
TODAY = date(2025, 6, 1)


def seed_firm() -> int:
    from advocate.extensions import db
    from advocate.payers.models import Payer
    from advocate.practices.models import Practice
    from tenants import tenant_scope
    from tenants.models import Tenant

    app = base._app()
    with app.app_context():
        tenant = Tenant(name="Bench 837", slug="bench-837", letterhead_name="Bench 837")
        db.session.add(tenant)
        db.session.commit()
        tid = tenant.id
        with tenant_scope(tid):
            db.session.add_all(
                [
                    Practice(
                        tenant_id=tid, name="Northside Orthopedics", npi=base.NPI, tin="123456789",
                        specialty="Orthopedic surgery", address_line1="100 Main St",
                        city="Springfield", state="IL", zip="62701", default_pos="11",
                    ),
                    Payer(
                        tenant_id=tid, name=base.PAYER[0], name_key=base.PAYER[0].casefold(),
                        edi_payer_id=base.PAYER[1], plan_types=[],
                    ),
                ]
            )  # fmt: skip
            db.session.commit()
        return tid


def remittance_for(data: bytes) -> bytes:
    """An 835 paying every claim of the 837: 40% of each line, the rest CO-45."""
    from advocate.imports.claims837 import parse_837
    from advocate.imports.era_fixtures import ClaimSpec, LineSpec, RemittanceSpec, build_835

    claims = []
    for c in parse_837(data, today=TODAY).claims:
        lines = []
        for ln in c.lines:
            paid = (ln.charge * Decimal("0.4")).quantize(Decimal("0.01"))
            lines.append(
                LineSpec(
                    ln.code,
                    ln.charge,
                    paid,
                    adjustments=[("CO", "45", ln.charge - paid)],
                    modifiers=ln.modifiers,
                    service_date=ln.service_from,
                    control_number=ln.control_number,
                )  # fmt: skip
            )
        claims.append(
            ClaimSpec(
                c.patient_control_number,
                c.charge,
                sum(x.paid for x in lines),
                lines=lines,
                payer_claim_number=f"ICN{c.patient_control_number}",
            )  # fmt: skip
        )
    return build_835([RemittanceSpec(claims, trace_number="EFT837")]).encode()


def child_parse(path: str) -> dict:
    from advocate.imports.claims837 import parse_837

    data = Path(path).read_bytes()
    best_wall = best_cpu = float("inf")
    for _ in range(3):
        w0, c0 = time.perf_counter(), time.process_time()
        result = parse_837(data, today=TODAY)
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        assert result.valid, result.report()[:500]
    return {"wall": best_wall, "cpu": best_cpu, "claims": result.claim_count}


def child_import(path: str, tenant_id: int) -> dict:
    from advocate.extensions import db
    from advocate.imports import claims837_import
    from tenants import tenant_scope

    app = base._app()
    data = Path(path).read_bytes()
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(db.text("SELECT 1"))
        db.session.rollback()
        w0, c0 = time.perf_counter(), time.process_time()
        summary = claims837_import.commit_837(
            data,
            tenant_id=tenant_id,
            actor_id=None,
            filename="bench.837",
            source="cli",
            today=TODAY,
        )
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        w1 = time.perf_counter()
        again = claims837_import.commit_837(
            data,
            tenant_id=tenant_id,
            actor_id=None,
            filename="bench.837",
            source="cli",
            today=TODAY,
        )
        dup = time.perf_counter() - w1
    assert again.duplicate
    return {"wall": wall, "cpu": cpu, "summary": summary.as_json(), "duplicate_wall": dup}


def child_match(path: str, tenant_id: int) -> dict:
    from advocate.extensions import db
    from advocate.imports import claims837_match, edge, era
    from advocate.imports.claims837_match import cases_by_patient_control_number
    from tenants import tenant_scope

    app = base._app()
    data = Path(path).read_bytes()
    with app.app_context(), tenant_scope(tenant_id):
        db.session.execute(db.text("SELECT 1"))
        db.session.rollback()
        w0 = time.perf_counter()
        summary = edge.commit_835(
            data, tenant_id=tenant_id, actor_id=None, filename="bench.835", source="cli"
        )
        posted = time.perf_counter() - w0
        w1 = time.perf_counter()
        claims = list(era.parse_835(data).claims)
        cases = cases_by_patient_control_number([c.patient_control_number for c in claims])
        result = claims837_match.apply_remittance_lines(
            [(cases[c.patient_control_number], c) for c in claims], tenant_id=tenant_id
        )
        db.session.commit()
        lines = time.perf_counter() - w1
    return {
        "post_wall": posted,
        "lines_wall": lines,
        "summary": summary.as_json(),
        "lines_matched": result.lines_matched,
        "lines_unmatched": result.lines_unmatched,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        fn = {"parse": child_parse, "import": child_import, "match": child_match}[mode]
        out = fn(rest[0], *[int(x) for x in rest[1:]])
        print(json.dumps(out, default=str))
        return
    from advocate.imports.claims837_fixtures import generate_837p

    base.WORK.mkdir(parents=True, exist_ok=True)
    path_837 = base.WORK / "bench.837"
    path_835 = base.WORK / "bench-837.835"
    data = generate_837p(args.claims, payer_id=base.PAYER[1]).encode()
    path_837.write_bytes(data)
    path_835.write_bytes(remittance_for(data))
    base.__file__ = __file__  # run_child starts this script
    parse = base.run_child("parse", str(path_837))
    base.reset_database()
    tid = seed_firm()
    imported = base.run_child("import", str(path_837), str(tid))
    matched = base.run_child("match", str(path_835), str(tid))
    rate = parse["claims"] / parse["wall"]
    lines = [
        "# Benchmark: 837 claims import",
        "",
        f"Generated by `python bench/bench_import_837.py --claims {args.claims}` on "
        f"{base.platform.platform()}, CPU {base._cpu_model()}, load {base._load()}, {base._pg_version()}.",
        "",
        "| step | wall | CPU | target |",
        "| --- | --- | --- | --- |",
        f"| parse_837, {parse['claims']:,} claims (best of 3) | {parse['wall']:.2f} s ({rate:,.0f} claims/s) "
        f"| {parse['cpu']:.2f} s | ≥ {TARGET_RATE:,} claims/s: **{'met' if rate >= TARGET_RATE else 'not met'}** |",
        f"| import (parse, plan, write, commit) | {imported['wall']:.2f} s | {imported['cpu']:.2f} s "
        f"| < {TARGET_IMPORT:.0f} s: **{'met' if imported['wall'] < TARGET_IMPORT else 'not met'}** |",
        f"| same file again (duplicate) | {imported['duplicate_wall']:.2f} s | | |",
        f"| 835 of {args.claims:,} claims posted (matched by CLP01 = CLM01) | {matched['post_wall']:.2f} s | | |",
        f"| its line payments on the billed lines | {matched['lines_wall']:.2f} s | | |",
        "",
        f"- Import summary: `{json.dumps(imported['summary'])}`",
        f"- 835 summary: `{json.dumps(matched['summary'])}`; lines matched {matched['lines_matched']:,}, "
        f"unmatched {matched['lines_unmatched']:,}.",
        f"- Peak RSS: parse {parse['peak_rss_mb']:.0f} MB, import {imported['peak_rss_mb']:.0f} MB, "
        f"match {matched['peak_rss_mb']:.0f} MB.",
        "",
    ]
    (HERE / "RESULTS-import-837.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
