"""Saved filters belong to one person: saved from the list's query string
(only filter parameters kept), listed in the filter bar, overwritten by
name, deleted by their owner only (anyone else's id is a 404)."""

from __future__ import annotations

from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.cases.models import SavedFilter
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import login, make_firm, make_user


def _filters(tenant_id):
    with tenant_scope(tenant_id):
        db.session.expire_all()
        return [
            (f.user_id, f.name, f.query)
            for f in db.session.scalars(select(SavedFilter).order_by(SavedFilter.id))
        ]


def test_save_list_and_delete_my_filters(db_app, make_browser):
    firm = make_firm("Saved Firm")
    ada = make_user(
        firm.tenant, "viewer", name="Ada Viewer"
    )  # read-only staff keep their own filters too
    bob = make_user(firm.tenant, "advocate", name="Bob Advocate")
    b_ada, b_bob = make_browser("10.1.0.1"), make_browser("10.1.0.2")
    login(b_ada, ada)
    login(b_bob, bob)

    r = b_ada.post(
        "/cases/filters",
        {
            "name": "Big open ones",
            "query": "?status=open&amount_min=5000&page=4&csrf_token=zzz&bogus=1&sort=at_stake&dir=desc",
        },
    )
    assert r.status_code == 302
    assert r.headers["Location"] == "/cases/?status=open&amount_min=5000&sort=at_stake&dir=desc"
    assert _filters(firm.tenant.id) == [
        (ada.user.id, "Big open ones", "status=open&amount_min=5000&sort=at_stake&dir=desc"),
    ]
    body = b_ada.get("/cases/").get_data(as_text=True)
    assert "Big open ones" in body
    assert 'href="/cases/?status=open&amp;amount_min=5000&amp;sort=at_stake&amp;dir=desc"' in body
    assert "Big open ones" not in b_bob.get("/cases/").get_data(as_text=True)

    # The same name again replaces the query.
    b_ada.post("/cases/filters", {"name": "Big open ones", "query": "status=open&amount_min=9000"})
    assert _filters(firm.tenant.id) == [
        (ada.user.id, "Big open ones", "status=open&amount_min=9000")
    ]
    # Bob may use the same name for his own.
    b_bob.post("/cases/filters", {"name": "Big open ones", "query": "overdue=1"})
    saved = _filters(firm.tenant.id)
    assert len(saved) == 2 and saved[1] == (bob.user.id, "Big open ones", "overdue=1")

    with tenant_scope(firm.tenant.id):
        ada_id, bob_id = [
            f.id for f in db.session.scalars(select(SavedFilter).order_by(SavedFilter.id))
        ]
    # Someone else's filter is not found, and stays.
    assert b_bob.post(f"/cases/filters/{ada_id}/delete").status_code == 404
    assert b_ada.post(f"/cases/filters/{bob_id}/delete").status_code == 404
    assert len(_filters(firm.tenant.id)) == 2
    r = b_ada.post(f"/cases/filters/{ada_id}/delete", {"next": "/cases/?overdue=1"})
    assert r.status_code == 302 and r.headers["Location"] == "/cases/?overdue=1"
    assert _filters(firm.tenant.id) == [(bob.user.id, "Big open ones", "overdue=1")]
    assert b_ada.post(f"/cases/filters/{ada_id}/delete").status_code == 404

    with tenant_scope(firm.tenant.id):
        actions = [
            (a.action, a.user_id, a.details)
            for a in db.session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.tenant_id == firm.tenant.id, AuditEvent.action.like("saved_filter.%")
                )
                .order_by(AuditEvent.id)
            )
        ]
    assert actions == [
        ("saved_filter.created", ada.user.id, {"params": ["amount_min", "dir", "sort", "status"]}),
        ("saved_filter.updated", ada.user.id, {"params": ["amount_min", "status"]}),
        ("saved_filter.created", bob.user.id, {"params": ["overdue"]}),
        ("saved_filter.deleted", ada.user.id, None),
    ]


def test_a_filter_that_does_not_parse_or_has_no_name_is_not_saved(db_app, browser):
    firm = make_firm("Unsaved Firm")
    login(browser, firm.owner)
    r = browser.post("/cases/filters", {"name": "Broken", "query": "amount_min=abc&status=open"})
    assert r.status_code == 302
    body = browser.get(r.headers["Location"]).get_data(as_text=True)
    assert "Filter not saved. amount_min: &#39;abc&#39; is not an amount" in body
    r = browser.post("/cases/filters", {"name": "  ", "query": "status=open"})
    assert "Filter not saved. name: give the filter a name" in browser.get(
        r.headers["Location"]
    ).get_data(as_text=True)
    r = browser.post("/cases/filters", {"name": "x" * 101, "query": "status=open"})
    assert "name: is longer than 100 characters" in browser.get(r.headers["Location"]).get_data(
        as_text=True
    )
    assert _filters(firm.tenant.id) == []
