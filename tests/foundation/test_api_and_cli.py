"""API tokens (bearer auth, JSON errors, revocation) and the ops CLI."""

from __future__ import annotations

import re

from sqlalchemy import select

from advocate.auth.models import ApiToken
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import login, make_firm, make_user


def _create_token(browser, label="Billing sync") -> str:
    r = browser.post("/account/tokens", {"name": label})
    assert r.status_code == 200
    return re.search(r'data-testid="new-token">([^<]+)<', r.get_data(as_text=True)).group(1)


def test_token_authenticates_as_its_user_and_role(db_app, browser):
    firm = make_firm("Acme Advocacy")
    adv = make_user(firm.tenant, "advocate", name="Ava")
    login(browser, adv)
    raw = _create_token(browser)
    r = browser.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["role"] == "advocate"
    assert body["user"]["name"] == "Ava"
    assert body["tenant"]["name"] == "Acme Advocacy"
    with tenant_scope(firm.tenant.id):
        tok = db.session.scalar(select(ApiToken))
        assert tok.token_hash != raw and raw.startswith(tok.token_prefix)
        assert tok.last_used_at is not None


def test_api_refuses_missing_bad_and_revoked_tokens(db_app, browser):
    firm = make_firm()
    login(browser, firm.owner)
    raw = _create_token(browser)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {raw}"}):
        r = browser.get("/api/v1/me", headers=headers)
        assert r.status_code == 401
        assert r.get_json()["error"] and r.get_json()["details"] == []
    with tenant_scope(firm.tenant.id):
        tok_id = db.session.scalar(select(ApiToken.id))
    assert browser.post(f"/account/tokens/{tok_id}/revoke").status_code == 302
    assert browser.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_api_ignores_session_cookies(db_app, browser):
    firm = make_firm()
    login(browser, firm.owner)
    assert browser.get("/api/v1/me").status_code == 401  # cookies never authenticate the API


def test_api_unknown_route_is_json_404(db_app, browser):
    r = browser.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.is_json


def test_deactivated_member_token_stops_working(db_app, make_browser):
    firm = make_firm()
    adv = make_user(firm.tenant, "advocate")
    b = make_browser("10.0.0.5")
    login(b, adv)
    raw = _create_token(b)
    owner = make_browser("10.0.0.6")
    login(owner, firm.owner)
    owner.post(f"/people/{adv.membership_id}/deactivate")
    assert b.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_cli_creates_a_firm_and_a_token(db_app):
    runner = db_app.test_cli_runner()
    r = runner.invoke(
        args=[
            "tenants",
            "create",
            "--name",
            "Cli Firm",
            "--slug",
            "cli-firm",
            "--owner-email",
            "Boss@Cli.example.com",
            "--owner-password",
            "sturdy-ledger-canyon-12",
        ]
    )
    assert r.exit_code == 0, r.output
    assert "cli-firm" in r.output
    dup = runner.invoke(
        args=[
            "tenants",
            "create",
            "--name",
            "Other",
            "--slug",
            "cli-firm",
            "--owner-email",
            "x@cli.example.com",
            "--owner-password",
            "sturdy-ledger-canyon-12",
        ]
    )
    assert dup.exit_code != 0 and "taken" in dup.output
    weak = runner.invoke(
        args=[
            "tenants",
            "create",
            "--name",
            "Weak",
            "--slug",
            "weak",
            "--owner-email",
            "w@cli.example.com",
            "--owner-password",
            "password",
        ]
    )
    assert weak.exit_code != 0 and "password" in weak.output
    r = runner.invoke(
        args=[
            "tokens",
            "create",
            "--tenant",
            "cli-firm",
            "--email",
            "boss@cli.example.com",
            "--name",
            "ops",
        ]
    )
    assert r.exit_code == 0, r.output
    raw = r.output.strip()
    client = db_app.test_client()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200 and me.get_json()["role"] == "owner"
    bad = runner.invoke(
        args=[
            "tokens",
            "create",
            "--tenant",
            "nope",
            "--email",
            "boss@cli.example.com",
            "--name",
            "x",
        ]
    )
    assert bad.exit_code != 0 and "No firm" in bad.output


def test_audit_log_lists_and_filters_for_managers_only(db_app, make_browser):
    firm = make_firm()
    adv = make_user(firm.tenant, "advocate")
    owner_b = make_browser("10.0.0.1")
    login(owner_b, firm.owner)
    login(make_browser("10.0.0.2"), adv)
    page = owner_b.get("/audit/").get_data(as_text=True)
    assert page.count("auth.login") >= 2
    filtered = owner_b.get(f"/audit/?user={adv.user.id}").get_data(as_text=True)
    assert filtered.count("<code>auth.login</code>") == 1
    bad = owner_b.get("/audit/?from=2026-13-01")
    assert "is not a date" in bad.get_data(as_text=True)
    adv_b = make_browser("10.0.0.3")
    login(adv_b, adv)
    assert adv_b.get("/audit/").status_code == 403


def test_invite_role_change_and_last_owner_rules(db_app, make_browser):
    firm = make_firm()
    owner_b = make_browser()
    login(owner_b, firm.owner)
    r = owner_b.post(
        "/people/invite", {"email": "new@example.com", "name": "New", "role": "viewer"}
    )
    assert r.status_code == 302
    outbox = owner_b.get("/outbox").get_data(as_text=True)
    # The firm sees that the invitation went out, never its link (issue 15 item 2).
    assert "new@example.com" in outbox and "link sent only to the recipient" in outbox
    assert "/invitations/accept/" not in outbox
    # An owner can't demote themselves away when they are the last owner.
    admin = make_user(firm.tenant, "admin")
    admin_b = make_browser("10.0.0.8")
    login(admin_b, admin)
    admin_b.post(f"/people/{firm.owner.membership_id}/role", {"role": "viewer"})
    with tenant_scope(firm.tenant.id):
        from tenants.models import Membership

        assert db.session.get(Membership, firm.owner.membership_id).role == "owner"
    # An admin can't invite an owner.
    r = admin_b.post("/people/invite", {"email": "boss2@example.com", "role": "owner"})
    assert r.status_code == 422 and "Only an owner" in r.get_data(as_text=True)
