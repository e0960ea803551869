"""Who may change whom (issue 15, items 9 and 10; issue 18, item 4): role
changes and (re)activation follow one rule, a firm's deactivation outranks a
practice admin, and deactivation revokes API tokens for good."""

from __future__ import annotations

import re

from sqlalchemy import select

from advocate.auth.models import ApiToken
from advocate.extensions import db
from tenants import tenant_scope
from tenants.models import Membership
from tests.factories import login, make_firm, make_practice, make_user


def _membership(tenant_id, membership_id) -> Membership:
    with tenant_scope(tenant_id):
        db.session.expire_all()
        return db.session.get(Membership, membership_id)


def _token(browser) -> dict:
    r = browser.post("/account/tokens", {"name": "ci"})
    raw = re.search(r'data-testid="new-token">([^<]+)<', r.get_data(as_text=True)).group(1)
    return {"Authorization": f"Bearer {raw}"}


def test_deactivation_revokes_api_tokens_for_good(db_app, make_browser):
    firm = make_firm()
    adv = make_user(firm.tenant, "advocate")
    adv_b = make_browser("10.9.0.2")
    login(adv_b, adv)
    auth = _token(adv_b)
    client = db_app.test_client()
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    owner_b = make_browser("10.9.0.1")
    login(owner_b, firm.owner)
    assert owner_b.post(f"/people/{adv.membership_id}/deactivate").status_code == 302
    assert client.get("/api/v1/me", headers=auth).status_code == 401
    assert owner_b.post(f"/people/{adv.membership_id}/reactivate").status_code == 302
    assert _membership(firm.tenant.id, adv.membership_id).is_active is True
    # Reactivated, the person logs in again, but the old token stays dead.
    assert client.get("/api/v1/me", headers=auth).status_code == 401
    with tenant_scope(firm.tenant.id):
        tokens = db.session.scalars(
            select(ApiToken).where(ApiToken.membership_id == adv.membership_id)
        ).all()
        assert tokens and all(t.revoked_at is not None for t in tokens)


def test_an_admin_cannot_reactivate_an_owner_an_owner_deactivated(db_app, make_browser):
    firm = make_firm()
    second = make_user(firm.tenant, "owner")
    admin = make_user(firm.tenant, "admin")
    owner_b, admin_b = make_browser("10.9.1.1"), make_browser("10.9.1.2")
    login(owner_b, firm.owner)
    login(admin_b, admin)
    assert owner_b.post(f"/people/{second.membership_id}/deactivate").status_code == 302
    assert _membership(firm.tenant.id, second.membership_id).is_active is False
    admin_b.post(f"/people/{second.membership_id}/reactivate")
    assert _membership(firm.tenant.id, second.membership_id).is_active is False
    assert "Only an owner can reactivate an owner" in admin_b.get("/people").get_data(as_text=True)
    # The owner can.
    owner_b.post(f"/people/{second.membership_id}/reactivate")
    assert _membership(firm.tenant.id, second.membership_id).is_active is True


def test_an_admin_changes_only_people_below_admin(db_app, make_browser):
    firm = make_firm()
    admin = make_user(firm.tenant, "admin")
    peer = make_user(firm.tenant, "admin")
    adv = make_user(firm.tenant, "advocate")
    admin_b = make_browser("10.9.2.1")
    login(admin_b, admin)
    # Not a peer admin: neither role, nor access.
    admin_b.post(f"/people/{peer.membership_id}/role", {"role": "viewer"})
    admin_b.post(f"/people/{peer.membership_id}/deactivate")
    m = _membership(firm.tenant.id, peer.membership_id)
    assert (m.role, m.is_active) == ("admin", True)
    # Nor raise someone to their own rank.
    admin_b.post(f"/people/{adv.membership_id}/role", {"role": "admin"})
    assert _membership(firm.tenant.id, adv.membership_id).role == "advocate"
    # Below: yes.
    admin_b.post(f"/people/{adv.membership_id}/role", {"role": "viewer"})
    assert _membership(firm.tenant.id, adv.membership_id).role == "viewer"
    admin_b.post(f"/people/{adv.membership_id}/deactivate")
    assert _membership(firm.tenant.id, adv.membership_id).is_active is False


def test_the_people_page_offers_an_admin_only_what_an_admin_may_do(db_app, make_browser):
    firm = make_firm()
    admin = make_user(firm.tenant, "admin")
    adv = make_user(firm.tenant, "advocate")
    admin_b, owner_b = make_browser("10.9.3.1"), make_browser("10.9.3.2")
    login(admin_b, admin)
    login(owner_b, firm.owner)
    page = admin_b.get("/people").get_data(as_text=True)
    assert 'value="owner"' not in page  # neither to invite nor to give
    assert f"/people/{firm.owner.membership_id}/deactivate" not in page
    assert f"/people/{firm.owner.membership_id}/role" not in page
    assert f"/people/{adv.membership_id}/deactivate" in page
    assert f'id="role-{adv.membership_id}"' in page
    page = owner_b.get("/people").get_data(as_text=True)
    assert 'value="owner"' in page
    assert f"/people/{admin.membership_id}/deactivate" in page


def test_a_practice_admin_cannot_undo_the_firms_deactivation(db_app, make_browser):
    firm = make_firm()
    pid = make_practice(firm.tenant)
    admin = make_user(firm.tenant, "admin")
    pam = make_user(firm.tenant, "practice_admin", practice_id=pid, with_totp=False)
    colin = make_user(firm.tenant, "practice_user", practice_id=pid, with_totp=False)
    admin_b, pam_b = make_browser("10.9.4.1"), make_browser("10.9.4.2")
    login(admin_b, admin)
    login(pam_b, pam)
    assert (
        admin_b.post(f"/practices/{pid}/portal/{colin.membership_id}/deactivate").status_code == 302
    )
    assert _membership(firm.tenant.id, colin.membership_id).is_active is False
    page = pam_b.get("/portal/people").get_data(as_text=True)
    assert f"/portal/people/{colin.membership_id}/restore" not in page
    pam_b.post(f"/portal/people/{colin.membership_id}/restore")
    assert _membership(firm.tenant.id, colin.membership_id).is_active is False
    # What the practice admin removed, the practice admin may restore; the firm always may.
    admin_b.post(f"/practices/{pid}/portal/{colin.membership_id}/reactivate")
    assert _membership(firm.tenant.id, colin.membership_id).is_active is True
    pam_b.post(f"/portal/people/{colin.membership_id}/remove")
    assert _membership(firm.tenant.id, colin.membership_id).is_active is False
    pam_b.post(f"/portal/people/{colin.membership_id}/restore")
    assert _membership(firm.tenant.id, colin.membership_id).is_active is True
