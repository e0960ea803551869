"""Scheduled billing (``flask billing run`` and its RQ job): every firm's
pending fees posted, each practice billed per its cadence, invoices issued on
Stripe; a second run creates nothing."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from advocate.billing import scheduled
from advocate.billing.models import FeeLedgerEntry, Invoice
from advocate.extensions import db
from tenants import tenant_scope
from tests.billing.conftest import fake_stats
from tests.billing.support import make_books
from tests.billing.test_stripe_invoicing import with_test_key
from tests.factories import make_practice

D = Decimal
ON = date(2026, 4, 10)


def two_practices():
    """Practice A bills per settlement (25 %), practice B monthly (20 %)."""
    b = make_books()
    b.agreement(date(2025, 1, 1), "25")
    monthly = make_practice(b.firm.tenant, name="Monthly Clinic", npi="1245319599")
    b.agreement(date(2025, 1, 1), "20", cadence="monthly", practice_id=monthly)
    a1 = b.case("100.00", number="CLM-A1")
    b.pay(a1, "400.00", date(2026, 3, 3))
    m1 = b.case("100.00", number="CLM-M1", practice_id=monthly)
    b.pay(m1, "300.00", date(2026, 3, 9))
    b.pay(m1, "50.00", date(2026, 4, 2))  # April: billed in May
    return b, monthly, a1, m1


def snapshot(tenant_id: int) -> list[tuple]:
    with tenant_scope(tenant_id):
        db.session.expire_all()
        rows = db.session.execute(
            select(
                Invoice.practice_id,
                Invoice.kind,
                Invoice.business_key,
                Invoice.status,
                Invoice.total,
            ).order_by(Invoice.id)
        ).all()
        entries = db.session.scalar(select(func.count()).select_from(FeeLedgerEntry))
        db.session.rollback()
    return [tuple(r) for r in rows] + [("entries", entries)]


def test_a_run_bills_each_practice_per_its_cadence_and_a_second_run_adds_nothing(
    stripe_app, stripe_server
):
    b, monthly, a1, m1 = two_practices()
    with_test_key(b)
    before = fake_stats(stripe_server)["invoices_created"]
    run = scheduled.bill_firm(b.tenant_id, today=ON)
    assert (run.prepared, run.issued, run.failed, run.waiting) == (2, 2, 0, 0)
    invoices = snapshot(b.tenant_id)
    assert [(p, k, s, t) for p, k, _, s, t in invoices[:-1]] == [
        (b.practice_id, "settlement", "open", D("100.00")),
        (monthly, "monthly", "open", D("60.00")),
    ]
    assert invoices[1][2].endswith(":monthly:2026-03")
    assert fake_stats(stripe_server)["invoices_created"] - before == 2

    again = scheduled.bill_firm(b.tenant_id, today=ON)
    assert (again.accrued, again.prepared, again.issued) == (0, 0, 0)
    assert snapshot(b.tenant_id) == invoices
    assert fake_stats(stripe_server)["invoices_created"] - before == 2

    # In May, April's fee is billed on the monthly practice's statement, once.
    may = scheduled.bill_firm(b.tenant_id, today=date(2026, 5, 4))
    assert (may.prepared, may.issued) == (1, 1)
    assert scheduled.bill_firm(b.tenant_id, today=date(2026, 5, 4)).prepared == 0
    last = snapshot(b.tenant_id)[-2]
    assert last[2].endswith(":monthly:2026-04") and last[4] == D("10.00")


def test_the_run_posts_pending_fees_first(stripe_app):
    b = make_books()
    case_id = b.case("100.00")
    b.pay(case_id, "200.00", date(2026, 2, 1))  # no agreement yet: stays pending
    with tenant_scope(b.tenant_id):
        # The initial payment earns nothing; the settlement waits for an agreement.
        assert db.session.scalar(select(func.count()).select_from(FeeLedgerEntry)) == 1
        db.session.rollback()
    b.agreement(date(2025, 1, 1), "10")
    with_test_key(b)
    run = scheduled.bill_firm(b.tenant_id, today=ON)
    assert (run.accrued, run.prepared, run.issued) == (1, 1, 1)
    assert [e.amount for e in b.entries(case_id)] == [D("0.00"), D("20.00")]


def test_invoices_wait_for_the_firms_stripe_and_go_out_on_a_later_run(stripe_app):
    b, monthly, _, _ = two_practices()
    run = scheduled.bill_firm(b.tenant_id, today=ON)  # no Stripe account yet
    assert (run.prepared, run.issued, run.waiting) == (2, 0, 2)
    assert [s for _, _, _, s, _ in snapshot(b.tenant_id)[:-1]] == ["pending", "pending"]
    with_test_key(b)
    later = scheduled.bill_firm(b.tenant_id, today=date(2026, 4, 11))
    assert (later.prepared, later.issued, later.waiting) == (0, 2, 0)
    assert [s for _, _, _, s, _ in snapshot(b.tenant_id)[:-1]] == ["open", "open"]


def test_the_cli_runs_every_firm_and_is_idempotent(stripe_app):
    b, _, _, _ = two_practices()
    with_test_key(b)
    other = make_books("Quiet Firm", npi="1497758544")  # nothing to bill
    runner = stripe_app.test_cli_runner()
    r = runner.invoke(args=["billing", "run", "--date", ON.isoformat()])
    assert r.exit_code == 0, r.output
    assert (
        f"{b.firm.tenant.slug}: 0 fee entries posted, 2 invoice(s) prepared, 2 issued" in r.output
    )
    assert (
        f"{other.firm.tenant.slug}: 0 fee entries posted, 0 invoice(s) prepared, 0 issued"
        in r.output
    )
    first = snapshot(b.tenant_id)
    r = runner.invoke(
        args=["billing", "run", "--date", ON.isoformat(), "--tenant", b.firm.tenant.slug]
    )
    assert r.exit_code == 0 and "0 invoice(s) prepared, 0 issued" in r.output
    assert other.firm.tenant.slug not in r.output
    assert snapshot(b.tenant_id) == first
    bad = runner.invoke(args=["billing", "run", "--tenant", "no-such-firm"])
    assert bad.exit_code != 0 and "No firm" in bad.output
    bad = runner.invoke(args=["billing", "run", "--date", "April 10"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_the_cli_queues_one_job_per_firm_when_redis_is_configured(stripe_app, monkeypatch):
    from advocate import jobs

    b, _, _, _ = two_practices()
    queued = []

    class Job:
        id = "job-7"

    monkeypatch.setattr(jobs, "is_inline", lambda: False)
    monkeypatch.setattr(
        jobs, "enqueue", lambda func, *args, **kw: queued.append((func, args)) or Job()
    )
    r = stripe_app.test_cli_runner().invoke(
        args=["billing", "run", "--date", ON.isoformat(), "--tenant", b.firm.tenant.slug]
    )
    assert r.exit_code == 0 and "queued job job-7" in r.output
    assert queued == [(scheduled.bill_firm_job, (b.tenant_id, ON.isoformat()))]
    assert snapshot(b.tenant_id)[:-1] == []  # nothing done by the command itself


@pytest.mark.redis
def test_the_rq_job_bills_the_firm_in_a_worker_and_twice_is_once(stripe_app, stripe_server):
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown
    from rq import SimpleWorker

    from advocate import jobs

    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    conn = Redis.from_url(url)
    try:
        conn.ping()
    except RedisDown:
        pytest.skip(f"no Redis at {url}")
    conn.flushdb()
    b, _, _, _ = two_practices()
    with_test_key(b)
    saved = stripe_app.config.get("REDIS_URL")
    stripe_app.config["REDIS_URL"] = url
    stripe_app.extensions["advocate_jobs"]["inline"] = False
    try:
        before = fake_stats(stripe_server)["invoices_created"]
        # RQ delivers at least once: the same job twice.
        for _ in range(2):
            assert scheduled.enqueue_firm(b.tenant_id, ON.isoformat()) is not None
        SimpleWorker([jobs.queue("default")], connection=conn).work(burst=True)
        assert jobs.queue("default").finished_job_registry.count == 2
        assert [s for _, _, _, s, _ in snapshot(b.tenant_id)[:-1]] == ["open", "open"]
        assert fake_stats(stripe_server)["invoices_created"] - before == 2
    finally:
        stripe_app.config["REDIS_URL"] = saved
        stripe_app.extensions["advocate_jobs"]["inline"] = not saved
        conn.flushdb()
        conn.close()
