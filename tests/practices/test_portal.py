"""The practice portal: invitations by email, read-only pages of one's own
practice, colleague management by the practice admin, auditing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.extensions import db
from advocate.practices.models import Practice
from tenants import set_db_user, tenant_scope
from tenants.models import Membership
from tenants.onboarding import services as onboarding
from tenants.onboarding.models import Invitation
from tenants.onboarding.services import OnboardingError
from tenants.scoping import lookup_email
from tests.factories import firm_today, login, make_firm, make_user
from tests.practices.practice_helpers import (
    add_agreement,
    add_authorization,
    add_practice,
    last_link,
)

PASSWORD = "gentle-ocean-lantern-58"  # noqa: S105 - a test account's password


def _text(r) -> str:
    return r.get_data(as_text=True)


def _accept(browser, link: str, name: str):
    assert browser.get(link).status_code == 200
    r = browser.post(link, {"name": name, "password": PASSWORD, "confirm": PASSWORD})
    assert r.status_code == 302, _text(r)[:400]
    return r


def _membership(tenant_id: int, email: str) -> Membership:
    from advocate.auth.models import User

    db.session.expire_all()
    with lookup_email(email):  # RLS on users: the account of this address
        user = db.session.scalar(select(User).where(User.email == email))
    set_db_user(user.id)
    with tenant_scope(tenant_id):
        m = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    set_db_user(None)
    return m


def _events(tenant_id: int, action: str) -> list[AuditEvent]:
    with tenant_scope(tenant_id):
        return list(
            db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.tenant_id == tenant_id, AuditEvent.action == action
                )
            )
        )


@pytest.fixture()
def setup(db_app, make_browser):
    firm = make_firm("Fairpay Advocacy")
    tid = firm.tenant.id
    today = firm_today(tid)
    pid = add_practice(
        tid, name="Hudson Valley Orthopedics", tin="987654321", notes="internal firm note"
    )
    add_agreement(tid, pid, today - timedelta(days=100), "22.50", notes="internal agreement note")
    add_authorization(tid, pid, today - timedelta(days=10))
    other = add_practice(tid, name="Riverside Anesthesia")
    admin = make_user(firm.tenant, "admin")
    admin_browser = make_browser("10.0.1.1")
    login(admin_browser, admin)
    return {
        "firm": firm,
        "tid": tid,
        "pid": pid,
        "other": other,
        "admin": admin,
        "admin_browser": admin_browser,
        "make_browser": make_browser,
    }


def _invite_practice_admin(s) -> None:
    r = s["admin_browser"].post(
        f"/practices/{s['pid']}/portal/invite",
        {
            "invite_email": "pam@hvortho.example.com",
            "invite_name": "Pam Admin",
            "invite_role": "practice_admin",
        },
    )
    assert r.status_code == 302


def test_practice_admin_invites_a_colleague_who_sees_only_their_practice(db_app, setup):
    s = setup
    _invite_practice_admin(s)
    pam = s["make_browser"]("10.0.2.1")
    r = _accept(pam, last_link(db_app, s["tid"]), "Pam Admin")
    # Practice people have no two-factor requirement and land on their portal.
    assert r.headers["Location"] == "/"
    assert pam.get("/").headers["Location"].endswith("/portal/")
    assert "Hudson Valley Orthopedics" in _text(pam.get("/portal/"))

    r = pam.post(
        "/portal/people/invite", {"email": "colin@hvortho.example.com", "name": "Colin Clerk"}
    )
    assert r.status_code == 302
    colin = s["make_browser"]("10.0.2.2")
    _accept(colin, last_link(db_app, s["tid"]), "Colin Clerk")

    m = _membership(s["tid"], "colin@hvortho.example.com")
    assert (m.role, m.practice_id, m.is_active) == ("practice_user", s["pid"], True)

    pages = {url: colin.get(url) for url in ("/portal/", "/portal/practice", "/portal/activity")}
    for url, resp in pages.items():
        body = _text(resp)
        assert resp.status_code == 200, url
        assert "Hudson Valley Orthopedics" in body
        assert "Riverside Anesthesia" not in body
        assert "987654321" not in body and "XX-XXX4321" not in body  # no TIN at all
        assert "internal firm note" not in body and "internal agreement note" not in body
    assert "22.50%" in _text(pages["/portal/"])  # their own agreement terms
    # Read only, and nothing of the firm's side.
    for url in (
        "/portal/people",
        "/practices/",
        f"/practices/{s['pid']}",
        f"/practices/{s['other']}",
        "/associations/",
        "/people",
        "/audit/",
    ):
        assert colin.get(url).status_code == 403, url
    assert (
        "People"
        not in _text(pages["/portal/"]).split('aria-label="Your practice"')[1].split("</nav>")[0]
    )


def test_every_portal_page_is_audited(db_app, setup):
    s = setup
    person = make_user(s["firm"].tenant, "practice_user", practice_id=s["pid"], with_totp=False)
    b = s["make_browser"]("10.0.3.1")
    login(b, person)
    for url in ("/portal/", "/portal/practice", "/portal/activity"):
        assert b.get(url).status_code == 200
    views = _events(s["tid"], "portal.view")
    assert sorted(e.details["page"] for e in views) == ["activity", "home", "practice"]
    assert {e.object_id for e in views} == {str(s["pid"])}
    assert {e.user_id for e in views} == {person.user.id}


def test_activity_lists_changes_to_the_practice_only(db_app, setup):
    s = setup
    admin = s["admin_browser"]
    admin.post(
        f"/practices/{s['pid']}/agreements/new",
        {
            "effective_date": "2030-01-01",
            "percent": "20",
            "basis": "gross",
            "idr_fee_bearer": "firm",
            "billing_cadence": "monthly",
        },
    )
    admin.post(
        f"/practices/{s['other']}/agreements/new",
        {
            "effective_date": "2031-01-01",
            "percent": "35",
            "basis": "gross",
            "idr_fee_bearer": "firm",
            "billing_cadence": "monthly",
        },
    )
    person = make_user(s["firm"].tenant, "practice_user", practice_id=s["pid"], with_totp=False)
    b = s["make_browser"]("10.0.3.2")
    login(b, person)
    b.get("/portal/")
    body = _text(b.get("/portal/activity"))
    assert "Fee agreement version added: 20.00% gross, effective 2030-01-01" in body
    assert "2031-01-01" not in body and "35.00%" not in body
    assert "portal.view" not in body


def test_practice_admin_removes_a_colleague_and_their_sessions_end(db_app, setup):
    s = setup
    pam = make_user(s["firm"].tenant, "practice_admin", practice_id=s["pid"], with_totp=False)
    colin = make_user(s["firm"].tenant, "practice_user", practice_id=s["pid"], with_totp=False)
    pam_b, colin_b = s["make_browser"]("10.0.4.1"), s["make_browser"]("10.0.4.2")
    login(pam_b, pam)
    login(colin_b, colin)
    assert colin_b.get("/portal/").status_code == 200
    assert colin.user.name in _text(pam_b.get("/portal/people"))
    r = pam_b.post(f"/portal/people/{colin.membership_id}/remove")
    assert r.status_code == 302
    r = colin_b.get("/portal/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    db.session.expire_all()
    with tenant_scope(s["tid"]):
        assert db.session.get(Membership, colin.membership_id).is_active is False
    assert _events(s["tid"], "practice.member_removed")
    # Restored, they can log in again.
    assert pam_b.post(f"/portal/people/{colin.membership_id}/restore").status_code == 302
    login(s["make_browser"]("10.0.4.3"), colin)


def test_practice_admin_cannot_touch_admins_themselves_or_other_practices(db_app, setup):
    s = setup
    pam = make_user(s["firm"].tenant, "practice_admin", practice_id=s["pid"], with_totp=False)
    peer_admin = make_user(
        s["firm"].tenant, "practice_admin", practice_id=s["pid"], with_totp=False
    )
    elsewhere = make_user(
        s["firm"].tenant, "practice_user", practice_id=s["other"], with_totp=False
    )
    b = s["make_browser"]("10.0.5.1")
    login(b, pam)
    for target in (peer_admin, elsewhere, pam, s["admin"]):
        assert b.post(f"/portal/people/{target.membership_id}/remove").status_code == 404
    db.session.expire_all()
    with tenant_scope(s["tid"]):
        assert all(m.is_active for m in db.session.scalars(select(Membership)))


def test_firm_admin_manages_portal_access_from_the_practice_page(db_app, setup):
    s = setup
    admin = s["admin_browser"]
    bad = admin.post(
        f"/practices/{s['pid']}/portal/invite",
        {"invite_email": "not-an-email", "invite_role": "practice_admin"},
    )
    assert bad.status_code == 422 and 'id="invite_email-error"' in _text(bad)
    person = make_user(s["firm"].tenant, "practice_user", practice_id=s["pid"], with_totp=False)
    page = _text(admin.get(f"/practices/{s['pid']}"))
    assert person.user.email in page
    assert (
        admin.post(f"/practices/{s['other']}/portal/{person.membership_id}/deactivate").status_code
        == 404
    )
    assert (
        admin.post(
            f"/practices/{s['pid']}/portal/{s['admin'].membership_id}/deactivate"
        ).status_code
        == 404
    )
    assert (
        admin.post(f"/practices/{s['pid']}/portal/{person.membership_id}/deactivate").status_code
        == 302
    )
    db.session.expire_all()
    with tenant_scope(s["tid"]):
        assert db.session.get(Membership, person.membership_id).is_active is False
    assert (
        admin.post(f"/practices/{s['pid']}/portal/{person.membership_id}/reactivate").status_code
        == 302
    )


def test_invite_rules_for_practice_roles(db_app, setup):
    s = setup
    tenant = s["firm"].tenant
    admin_user = s["admin"].user
    with db_app.test_request_context(), tenant_scope(s["tid"]):
        # Staff invitations are unchanged.
        onboarding.invite(
            tenant=tenant,
            actor=admin_user,
            actor_role="admin",
            email="ann@example.com",
            role="advocate",
        )
        with pytest.raises(OnboardingError, match="Staff are not tied"):
            onboarding.invite(
                tenant=tenant,
                actor=admin_user,
                actor_role="admin",
                email="b@example.com",
                role="advocate",
                practice_id=s["pid"],
            )
        with pytest.raises(OnboardingError, match="belong to a practice"):
            onboarding.invite(
                tenant=tenant,
                actor=admin_user,
                actor_role="admin",
                email="c@example.com",
                role="practice_user",
            )
        for role, practice_id in (
            ("practice_admin", s["pid"]),
            ("practice_user", s["other"]),
            ("advocate", None),
        ):
            with pytest.raises(OnboardingError, match="own practice only"):
                onboarding.invite(
                    tenant=tenant,
                    actor=admin_user,
                    actor_role="practice_admin",
                    email="d@example.com",
                    role=role,
                    practice_id=practice_id,
                    actor_practice_id=s["pid"],
                )
        with pytest.raises(OnboardingError, match="own practice only"):
            onboarding.invite(
                tenant=tenant,
                actor=admin_user,
                actor_role="practice_user",
                email="e@example.com",
                role="practice_user",
                practice_id=s["pid"],
                actor_practice_id=s["pid"],
            )
        inv, _ = onboarding.invite(
            tenant=tenant,
            actor=admin_user,
            actor_role="practice_admin",
            email="f@example.com",
            role="practice_user",
            practice_id=s["pid"],
            actor_practice_id=s["pid"],
            practice_name="Hudson Valley Orthopedics",
        )
        assert inv.practice_id == s["pid"]
        db.session.rollback()


def test_a_practice_with_people_cannot_lose_its_record(db_app, setup):
    """The membership's foreign key (a7d1e5000005) keeps a practice user's
    practice in place; SQLite here does not enforce foreign keys."""
    from sqlalchemy.exc import IntegrityError

    from tests.conftest import IS_PG

    s = setup
    person = make_user(s["firm"].tenant, "practice_user", practice_id=s["other"], with_totp=False)
    if IS_PG:
        with tenant_scope(s["tid"]):
            db.session.delete(db.session.get(Practice, s["other"]))
            with pytest.raises(IntegrityError, match="fk_memberships_practice_id_practices"):
                db.session.flush()
            db.session.rollback()
    b = s["make_browser"]("10.0.6.1")
    login(b, person)
    assert b.get("/portal/").status_code == 200


def test_practice_admin_withdraws_a_colleague_invitation_but_not_the_firms(db_app, setup):
    s = setup
    _invite_practice_admin(s)  # the firm's invitation, for a practice admin
    pam = make_user(s["firm"].tenant, "practice_admin", practice_id=s["pid"], with_totp=False)
    b = s["make_browser"]("10.0.7.1")
    login(b, pam)
    assert (
        b.post("/portal/people/invite", {"email": "colin@hvortho.example.com"}).status_code == 302
    )
    with tenant_scope(s["tid"]):
        invs = {i.role: i.id for i in db.session.scalars(select(Invitation))}
    assert b.post(f"/portal/invitations/{invs['practice_admin']}/revoke").status_code == 404
    assert b.post(f"/portal/invitations/{invs['practice_user']}/revoke").status_code == 302
    db.session.expire_all()
    with tenant_scope(s["tid"]):
        revoked = {i.role: i.revoked_at is not None for i in db.session.scalars(select(Invitation))}
    assert revoked == {"practice_admin": False, "practice_user": True}
