"""The daily deadline digest: `flask deadlines digest` emails each advocate
their overdue and due-soon items, case references only (never patient names),
once a day; the RQ job takes ids; a firm's other people get nothing."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from advocate.cases import services as case_services
from advocate.deadlines.case_models import CaseDeadline, DeadlineDigest
from advocate.extensions import db
from advocate.mail import OutboxMessage
from tenants import tenant_scope
from tests.deadlines.nsa_support import load_case, make_shop, new_case
from tests.factories import make_firm, make_user

ON = "2026-03-10"  # a Tuesday; due soon runs through 2026-03-24 (10 business days)


def _manual(tenant_id, case_id, label, due):
    with tenant_scope(tenant_id):
        db.session.add(
            CaseDeadline(
                tenant_id=tenant_id,
                case_id=case_id,
                kind="manual",
                label=label,
                due_on=due,
                rule="Set by hand.",
                is_manual=True,
            )
        )
        db.session.commit()


def _outbox(*tenant_ids: int) -> list[SimpleNamespace]:
    """The firms' sent mail (on PostgreSQL, RLS shows a firm its own only)."""
    out = []
    for tid in tenant_ids:
        with tenant_scope(tid):
            db.session.expire_all()
            rows = db.session.execute(
                select(OutboxMessage.to_addr, OutboxMessage.subject, OutboxMessage.body).where(
                    OutboxMessage.tenant_id == tid
                )
            ).all()
            out += [SimpleNamespace(to_addr=r[0], subject=r[1], body=r[2]) for r in rows]
    return sorted(out, key=lambda m: m.to_addr)


@pytest.fixture()
def firm(db_app):
    shop = make_shop()
    other = make_user(shop.tenant, "advocate", name="Blair Advocate")
    make_user(shop.tenant, "viewer", name="Vera Viewer")
    # Arlo: an overdue hand-made deadline, a follow-up due soon, one far off.
    arlo_case = new_case(
        shop, service_from="2026-02-02", patient_first_name="Zelda", patient_last_name="Quimby"
    )
    _manual(shop.tenant_id, arlo_case, "Quimby's records to the payer", date(2026, 3, 5))
    with tenant_scope(shop.tenant_id):
        case_services.add_communication(
            load_case(arlo_case),
            actor_id=None,
            data={
                "kind": "call",
                "direction": "outbound",
                "summary": "Spoke to Zelda Quimby's plan",
                "follow_up_on": "2026-03-17",
                "occurred_at": "2026-03-03T15:00:00+00:00",
            },
        )
        db.session.commit()
    _manual(shop.tenant_id, arlo_case, "Far away", date(2026, 6, 1))
    # Blair: one due soon.
    blair_case = new_case(
        shop,
        service_from="2026-02-02",
        assignee_id=other.user.id,
        patient_first_name="Xavier",
        patient_last_name="Yarrow",
    )
    _manual(shop.tenant_id, blair_case, "Call back", date(2026, 3, 24))
    with tenant_scope(shop.tenant_id):
        refs = load_case(arlo_case).reference, load_case(blair_case).reference
    return shop, other, refs


def test_the_digest_cli_sends_one_email_per_advocate_with_references_only(firm, db_app):
    shop, other, (arlo_ref, blair_ref) = firm
    quiet = make_firm("Quiet Firm")  # nothing due: nobody there is emailed
    make_user(quiet.tenant, "advocate")
    runner = db_app.test_cli_runner()
    r = runner.invoke(args=["deadlines", "digest", "--date", ON])
    assert r.exit_code == 0, r.output
    assert f"{shop.tenant.slug}: 2 digests sent." in r.output

    mail = _outbox(shop.tenant_id, quiet.tenant.id)
    assert sorted(m.to_addr for m in mail) == sorted([shop.advocate.user.email, other.user.email])
    arlo = next(m for m in mail if m.to_addr == shop.advocate.user.email)
    blair = next(m for m in mail if m.to_addr == other.user.email)
    assert arlo.subject == "Deadlines: 1 overdue, 1 due soon (Harbor Claims Advocacy)"
    assert (
        f"{arlo_ref}  2026-03-05 (Thu)  Deadline set by hand  [overdue by 3 business days]"
        in arlo.body
    )
    assert (
        f"{arlo_ref}  2026-03-17 (Tue)  Follow up with the payer  [in 5 business days]" in arlo.body
    )
    assert "Far away" not in arlo.body and blair_ref not in arlo.body
    assert (
        f"{blair_ref}  2026-03-24 (Tue)  Deadline set by hand  [in 10 business days]" in blair.body
    )
    for m in mail:
        for name in ("Zelda", "Quimby", "Xavier", "Yarrow"):
            assert name not in m.subject and name not in m.body

    # Re-running the same day (a cron retry, a re-delivered job) sends nothing more.
    r = runner.invoke(args=["deadlines", "digest", "--date", ON, "--tenant", shop.tenant.slug])
    assert r.exit_code == 0 and "0 digests sent" in r.output
    assert len(_outbox(shop.tenant_id, quiet.tenant.id)) == 2
    with tenant_scope(shop.tenant_id):
        sent = db.session.scalars(select(DeadlineDigest).order_by(DeadlineDigest.user_id)).all()
        assert [(d.sent_on, d.overdue_count, d.due_soon_count) for d in sent] == [
            (date(2026, 3, 10), 1, 1),
            (date(2026, 3, 10), 0, 1),
        ]


def test_owners_get_the_unassigned_cases_and_a_bad_slug_is_refused(firm, db_app):
    shop, _other, _refs = firm
    unassigned = new_case(shop, service_from="2026-02-02", assignee_id="")
    _manual(shop.tenant_id, unassigned, "Nobody's", date(2026, 3, 9))
    runner = db_app.test_cli_runner()
    assert runner.invoke(args=["deadlines", "digest", "--date", ON]).exit_code == 0
    owner_mail = [m for m in _outbox(shop.tenant_id) if m.to_addr == shop.firm.owner.user.email]
    assert len(owner_mail) == 1 and "Unassigned cases: overdue (1)" in owner_mail[0].body
    bad = runner.invoke(args=["deadlines", "digest", "--tenant", "no-such-firm"])
    assert bad.exit_code != 0 and "No firm" in bad.output
    bad = runner.invoke(args=["deadlines", "digest", "--date", "March 10"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_the_digest_job_is_queued_when_redis_is_configured(firm, db_app, monkeypatch):
    from advocate import jobs
    from advocate.deadlines.tasks import send_firm_digest

    queued = []

    class Job:
        id = "job-1"

    def fake_enqueue(func, *args, **kwargs):
        queued.append((func, args))
        return Job()

    monkeypatch.setattr(jobs, "is_inline", lambda: False)
    monkeypatch.setattr(jobs, "enqueue", fake_enqueue)
    shop = firm[0]
    r = db_app.test_cli_runner().invoke(
        args=["deadlines", "digest", "--date", ON, "--tenant", shop.tenant.slug]
    )
    assert r.exit_code == 0 and "queued job job-1" in r.output
    assert queued == [(send_firm_digest, (shop.tenant_id, ON, True))]
    assert _outbox(shop.tenant_id) == []
    # The worker runs the same function with those ids.
    assert send_firm_digest(shop.tenant_id, ON) == 2
