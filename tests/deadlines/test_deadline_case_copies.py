"""case_deadlines.case_status and .assignee_id: copies of the case's status and
advocate kept by database triggers (migration a7d1e5000002), so the firm-wide
lists filter deadlines without joining cases.  Proven for an insert, an ORM
change of the case, a bulk UPDATE (no ORM events), and the lists that read them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from advocate.cases.models import Case
from advocate.deadlines import case_services as svc
from advocate.deadlines.case_models import CaseDeadline
from advocate.extensions import db
from tenants import tenant_scope
from tests.deadlines.nsa_support import make_shop, new_case
from tests.factories import make_user


@pytest.fixture()
def shop(db_app):
    return make_shop()


def _copies(tenant_id: int, case_id: int) -> set[tuple]:
    with tenant_scope(tenant_id):
        rows = db.session.execute(
            select(CaseDeadline.case_status, CaseDeadline.assignee_id).where(
                CaseDeadline.case_id == case_id
            )
        ).all()
        db.session.rollback()
    return {tuple(r) for r in rows}


def _case(tenant_id: int, case_id: int) -> tuple:
    with tenant_scope(tenant_id):
        row = db.session.execute(
            select(Case.status, Case.assignee_id).where(Case.id == case_id)
        ).one()
        db.session.rollback()
    return tuple(row)


def _add_manual(tenant_id: int, case_id: int, due) -> None:
    with tenant_scope(tenant_id):
        db.session.add(
            CaseDeadline(
                tenant_id=tenant_id, case_id=case_id, kind="manual", label="Call back",
                due_on=due, rule="Set by hand.", is_manual=True,
            )
        )  # fmt: skip
        db.session.commit()


def test_deadlines_follow_their_case_status_and_advocate(shop):
    case_id = new_case(shop, service_from="2026-03-02")
    other = make_user(shop.tenant, "advocate", name="Blair Advocate")
    with tenant_scope(shop.tenant_id):
        today = svc.firm_today(shop.tenant_id)
    _add_manual(shop.tenant_id, case_id, today + timedelta(days=3))
    # Written: each deadline holds the case's values (none set by the code).
    assert _copies(shop.tenant_id, case_id) == {_case(shop.tenant_id, case_id)}

    # The ORM changes the case's advocate: its deadlines follow.
    with tenant_scope(shop.tenant_id):
        db.session.get(Case, case_id).assignee_id = other.user.id
        db.session.commit()
    assert _copies(shop.tenant_id, case_id) == {(_case(shop.tenant_id, case_id)[0], other.user.id)}

    # A bulk UPDATE (no ORM events) closes the case and unassigns it: followed too.
    with tenant_scope(shop.tenant_id):
        db.session.execute(
            update(Case).where(Case.id == case_id).values(status="withdrawn", assignee_id=None)
        )
        db.session.commit()
    assert _copies(shop.tenant_id, case_id) == {("withdrawn", None)}

    # A deadline added to the closed case is written closed, and the lists skip it.
    _add_manual(shop.tenant_id, case_id, today + timedelta(days=1))
    assert _copies(shop.tenant_id, case_id) == {("withdrawn", None)}
    with tenant_scope(shop.tenant_id):
        until = today + timedelta(days=30)
        listed = db.session.scalars(svc.due_items(today=today, until=until)).all()
        assert case_id not in {d.case_id for d in listed}
        assert svc.due_summary(today=today, until=until) == []
        db.session.rollback()


def test_the_lists_read_the_copies_for_advocate_and_open_state(shop):
    mine, theirs = (
        new_case(shop, service_from="2026-03-02"),
        new_case(shop, service_from="2026-03-02"),
    )
    other = make_user(shop.tenant, "advocate", name="Blair Advocate")
    with tenant_scope(shop.tenant_id):
        today = svc.firm_today(shop.tenant_id)
        db.session.get(Case, theirs).assignee_id = other.user.id
        db.session.commit()
    for cid in (mine, theirs):
        _add_manual(shop.tenant_id, cid, today + timedelta(days=2))
    until = today + timedelta(days=10)
    with tenant_scope(shop.tenant_id):
        only_theirs = db.session.scalars(
            svc.due_items(today=today, until=until, assignee=other.user.id)
        ).all()
        assert {d.case_id for d in only_theirs} == {theirs}
        summary = {r["assignee_id"]: r["total"] for r in svc.due_summary(today=today, until=until)}
        assert summary[other.user.id] == sum(1 for d in only_theirs)
        # Reassigning moves the deadline between advocates in the next read.
        db.session.get(Case, theirs).assignee_id = None
        db.session.commit()
        assert (
            db.session.scalars(
                svc.due_items(today=today, until=until, assignee=other.user.id)
            ).all()
            == []
        )
        unassigned = db.session.scalars(
            svc.due_items(today=today, until=until, assignee="none")
        ).all()
        assert theirs in {d.case_id for d in unassigned}
        db.session.rollback()
