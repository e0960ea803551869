"""Issue 17, item 4: the claim card's "Next deadline" is the earliest open
item of the case's deadlines table (follow-ups included: the Deadlines page
counts them), and My caseload counts what the Deadlines page counts.

Before: a follow-up due in 2 days was on the Deadlines page but the case said
its next deadline was the manual one in 5 days, and My caseload counted cases
by that date over 7 calendar days while the Deadlines page counted items over
10 business days.
"""

from __future__ import annotations

import re
from datetime import timedelta

from advocate.cases import services as case_services
from advocate.cases.models import Case
from advocate.deadlines import case_services as dsvc
from advocate.extensions import db
from advocate.practices.services import tenant_today
from tenants import tenant_scope
from tests.factories import login
from tests.figures.conftest import api_headers
from tests.letters.conftest import make_setup


def test_next_deadline_and_due_counts_agree_on_every_surface(db_app, browser):
    s = make_setup()
    tid = s.tenant.id
    today = tenant_today(s.tenant)
    cid = s.case(assignee_id=str(s.advocate.user.id))
    with tenant_scope(tid):
        case = db.session.get(Case, cid)
        dsvc.add_manual_deadline(
            case,
            actor_id=None,
            data={"label": "Call the plan", "due_on": str(today + timedelta(days=5))},
        )
        case_services.add_communication(
            case, actor_id=None,
            data={"kind": "call", "direction": "outbound", "summary": "Left a message",
                  "follow_up_on": str(today + timedelta(days=2))},
        )  # fmt: skip
        case_services.refresh_deadlines(case)
        db.session.commit()
        assert case.next_deadline_on == today + timedelta(days=2)  # the follow-up
    login(browser, s.advocate)
    page = browser.get(f"/cases/{cid}").get_data(as_text=True)
    m = re.search(r"Next deadline</dt>\s*<dd[^>]*>(.*?)</dd>", page, re.S)
    assert m and (today + timedelta(days=2)).isoformat() in m.group(1)
    api = (
        db_app.test_client()
        .get(f"/api/v1/cases/{cid}", headers=api_headers(tid, s.advocate.membership_id))
        .get_json()
    )
    assert api["next_deadline_on"] == api["figures"]["next_deadline_on"]
    assert api["next_deadline_on"] == (today + timedelta(days=2)).isoformat()

    deadlines = browser.get(f"/deadlines/?advocate={s.advocate.user.id}").get_data(as_text=True)
    mine = browser.get("/cases/mine").get_data(as_text=True)
    with tenant_scope(tid):
        until = dsvc.due_horizon(tid, today)
        summary = dsvc.due_summary(today=today, until=until, assignee=s.advocate.user.id)
    due = sum(r["due_soon"] for r in summary)
    assert due >= 2  # the follow-up and the manual deadline (and any rule deadline)
    assert f"Due soon ({due})" in mine
    assert f"Overdue ({sum(r['overdue'] for r in summary)})" in mine
    kinds = re.findall(
        r'<tr class="deadline-[^"]*" data-state="([^"]*)" data-kind="([^"]*)"', deadlines
    )
    assert "follow_up" in {k for _s, k in kinds}
    assert len(kinds) == due + sum(r["overdue"] for r in summary)
