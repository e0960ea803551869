"""Assigning cases, one at a time and in bulk: every change is audited and
put on the case's timeline; nothing changes when any part is refused."""

from __future__ import annotations

from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.cases.models import Case, CaseEvent
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import login, make_firm, make_payer, make_practice, make_user
from tests.seeders.cases import build_case


def _firm_with_cases(n=3):
    firm = make_firm("Assign Firm")
    p, y = make_practice(firm.tenant), make_payer(firm.tenant)
    ids = [build_case(firm.tenant.id, p, y) for _ in range(n)]
    return firm, ids


def _state(tenant_id):
    with tenant_scope(tenant_id):
        db.session.expire_all()
        assignees = {c.id: c.assignee_id for c in db.session.scalars(select(Case))}
        events = db.session.scalars(
            select(CaseEvent).where(CaseEvent.kind == "assignment").order_by(CaseEvent.id)
        ).all()
        audits = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.tenant_id == tenant_id, AuditEvent.action == "case.assigned")
            .order_by(AuditEvent.id)
        ).all()
        return (
            assignees,
            [(e.case_id, e.summary, e.data, e.actor_id) for e in events],
            [(int(a.object_id), a.object_type, a.details, a.user_id) for a in audits],
        )


def test_bulk_assign_audits_each_change_and_puts_it_on_each_timeline(db_app, browser):
    firm, (c1, c2, c3) = _firm_with_cases()
    lead = make_user(firm.tenant, "advocate", name="Lee Lead")
    ana = make_user(firm.tenant, "advocate", name="Ana Analyst")
    login(browser, lead)
    r = browser.post(
        "/cases/assign",
        {"case_id": [c1, c2], "assignee_id": ana.user.id, "next": "/cases/?status=open"},
    )
    assert r.status_code == 302 and r.headers["Location"] == "/cases/?status=open"
    assignees, events, audits = _state(firm.tenant.id)
    assert assignees == {c1: ana.user.id, c2: ana.user.id, c3: None}
    assert events == [
        (c1, "Assigned to Ana Analyst", {"from": None, "to": ana.user.id}, lead.user.id),
        (c2, "Assigned to Ana Analyst", {"from": None, "to": ana.user.id}, lead.user.id),
    ]
    assert audits == [
        (c1, "case", {"from": None, "to": ana.user.id}, lead.user.id),
        (c2, "case", {"from": None, "to": ana.user.id}, lead.user.id),
    ]
    assert "2 cases assigned to Ana Analyst." in browser.get("/cases/?status=open").get_data(
        as_text=True
    )

    # Again, with one already hers: only the change is recorded.
    r = browser.post("/cases/assign", {"case_id": [c2, c3], "assignee_id": ana.user.id})
    assert r.status_code == 302 and r.headers["Location"] == "/cases/"
    assignees, events, audits = _state(firm.tenant.id)
    assert assignees[c3] == ana.user.id
    assert [e[0] for e in events] == [c1, c2, c3] and [a[0] for a in audits] == [c1, c2, c3]
    assert "1 case assigned to Ana Analyst. 1 already were." in browser.get("/cases/").get_data(
        as_text=True
    )

    # Reassign and unassign say who it was.
    browser.post("/cases/assign", {"case_id": [c1], "assignee_id": lead.user.id})
    browser.post("/cases/assign", {"case_id": [c2], "assignee_id": "none"})
    assignees, events, audits = _state(firm.tenant.id)
    assert assignees == {c1: lead.user.id, c2: None, c3: ana.user.id}
    assert events[-2][1] == "Reassigned from Ana Analyst to Lee Lead"
    assert events[-1][1] == "Unassigned (was Ana Analyst)"
    assert audits[-1][2] == {"from": ana.user.id, "to": None}


def test_bulk_assign_refuses_without_changing_anything(db_app, browser):
    firm, (c1, c2, _c3) = _firm_with_cases()
    other_firm, (foreign,) = _firm_with_cases(1)
    outsider = make_user(other_firm.tenant, "advocate")
    viewer = make_user(firm.tenant, "viewer")
    ana = make_user(firm.tenant, "advocate")
    login(browser, firm.owner)

    def refused(data, message=None, status=302):
        r = browser.post("/cases/assign", data)
        assert r.status_code == status
        if message:
            assert message in browser.get("/cases/").get_data(as_text=True)
        assignees, events, audits = _state(firm.tenant.id)
        assert set(assignees.values()) == {None} and events == [] and audits == []

    refused(
        {"case_id": [c1, c2], "assignee_id": viewer.user.id}, "Only owners, admins and advocates"
    )
    refused({"case_id": [c1], "assignee_id": outsider.user.id}, "not an active member of this firm")
    refused({"case_id": [c1], "assignee_id": ""}, "Choose who to assign")
    refused({"assignee_id": ana.user.id}, "Tick at least one case")
    refused(
        {"case_id": ["x1"], "assignee_id": ana.user.id}, "case_id: &#39;x1&#39; is not a case id"
    )
    # A case of another firm among them: 404, and none of ours moved.
    refused({"case_id": [c1, foreign], "assignee_id": ana.user.id}, status=404)


def test_viewers_cannot_assign(db_app, browser):
    firm, (c1, *_rest) = _firm_with_cases()
    viewer = make_user(firm.tenant, "viewer")
    login(browser, viewer)
    assert (
        browser.post("/cases/assign", {"case_id": [c1], "assignee_id": "none"}).status_code == 403
    )
    assert browser.post(f"/cases/{c1}/assign", {"assignee_id": "none"}).status_code == 403
    body = browser.get("/cases/").get_data(as_text=True)
    assert 'data-testid="bulk-assign"' not in body and 'name="case_id"' not in body


def test_single_assign_is_audited_and_on_the_timeline(db_app, browser):
    firm, (c1, c2, _c3) = _firm_with_cases()
    other_firm, (foreign,) = _firm_with_cases(1)
    ana = make_user(firm.tenant, "advocate", name="Ana Single")
    login(browser, firm.owner)
    r = browser.post(f"/cases/{c1}/assign", {"assignee_id": ana.user.id})
    assert r.status_code == 302
    assignees, events, audits = _state(firm.tenant.id)
    assert assignees[c1] == ana.user.id and assignees[c2] is None
    assert events == [
        (c1, "Assigned to Ana Single", {"from": None, "to": ana.user.id}, firm.owner.user.id)
    ]
    assert audits == [(c1, "case", {"from": None, "to": ana.user.id}, firm.owner.user.id)]
    assert browser.post(f"/cases/{foreign}/assign", {"assignee_id": ana.user.id}).status_code == 404
    r = browser.post(f"/cases/{c2}/assign", {"assignee_id": "none", "next": "/cases/mine"})
    assert r.headers["Location"] == "/cases/mine"
    r = browser.post(
        f"/cases/{c2}/assign", {"assignee_id": ana.user.id, "next": "https://evil.example/"}
    )
    assert r.headers["Location"] == "/cases/"


def test_the_assign_one_partial_posts_to_the_single_assign_route(db_app):
    from flask import render_template_string

    firm, (c1, *_rest) = _firm_with_cases()
    ana = make_user(firm.tenant, "advocate", name="Ana Partial")
    with tenant_scope(firm.tenant.id):
        case = db.session.get(Case, c1)
        case.assignee_id = ana.user.id
        with db_app.test_request_context(f"/cases/{c1}"):
            html = render_template_string(
                '{% include "cases/_list_assign_one.html" %}',
                case=case,
                assignees=[type("U", (), {"id": ana.user.id, "name": "Ana Partial"})()],
            )
        db.session.rollback()
    assert f'action="/cases/{c1}/assign"' in html
    assert f'<option value="{ana.user.id}" selected>Ana Partial</option>' in html
    assert 'name="next" value="/cases/' in html
