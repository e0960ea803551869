"""Route-level security, walked over every rule in the URL map so new routes
are covered the day they are added: declared access, the tenant-isolation
crawler, the unauthenticated crawl, and CSRF on every mutating form route."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from advocate.auth.access import PUBLIC
from advocate.auth.models import ApiToken, AuthSession
from advocate.extensions import db
from tenants import user_scope
from tenants.models import Membership
from tenants.onboarding.models import Invitation
from tests.factories import login
from tests.isolation import TOKEN_ARGS, seed_firm

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
MACHINE_PREFIXES = ("/api/", "/stripe/")


def _rules(app):
    return sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint != "static"),
        # Log-out last: it would end the crawling session.
        key=lambda r: (r.endpoint == "auth.logout", r.rule),
    )


def _methods(rule):
    return sorted(m for m in rule.methods if m not in {"HEAD", "OPTIONS"})


def _build(app, rule, values):
    return app.url_map.bind("localhost").build(rule.endpoint, values, method=_methods(rule)[0])


def _arg_values(rule, ids):
    """Every combination the crawler tries: each of firm A's ids per argument."""
    combos = [{}]
    for arg in sorted(rule.arguments):
        conv = rule._converters[arg]
        if isinstance(conv, IntegerConverter):
            assert arg in ids, (
                f"route {rule.rule} takes <{arg}>, which no isolation seeder fills: "
                "register a seeder in tests/isolation.py (never exempt a route)"
            )
            choices = ids[arg]
        elif arg in TOKEN_ARGS:
            choices = ["not-a-real-token-0123456789abcdef"]
        else:
            raise AssertionError(f"route {rule.rule}: teach the crawler about <{arg}>")
        combos = [dict(c, **{arg: v}) for c in combos for v in choices]
    return combos


def test_every_endpoint_declares_who_may_call_it(app):
    missing = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        and getattr(app.view_functions[rule.endpoint], "_access", None) is None
    ]
    assert missing == []


def _request(browser, method, url, *, csrf=True, bearer=None):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    if method == "GET":
        return browser.get(url, headers=headers)
    if url.startswith(MACHINE_PREFIXES):
        return browser.open(url, method=method, headers=headers, json={})
    data = {}
    if csrf:
        data["csrf_token"] = browser.csrf()
    return browser.open(url, method=method, data=data, headers=headers)


def test_isolation_crawler_firm_b_cannot_reach_firm_a(db_app, make_browser):
    a = seed_firm("Alpha", "QXALPHA7")
    b = seed_firm("Bravo", "ZZBRAVO3")
    # A is logged in somewhere, so A's sessions exist to be probed.
    login(make_browser("10.0.0.1"), a.firm.owner)
    with user_scope(a.firm.owner.user.id):  # RLS shows a user's own sessions
        a.ids["session_id"] = list(
            db.session.scalars(
                select(AuthSession.id).where(AuthSession.user_id == a.firm.owner.user.id)
            )
        )
    b_browser = make_browser("10.0.0.2")
    login(b_browser, b.firm.owner)

    failures = []
    requests_made = 0
    for rule in _rules(db_app):
        for method in _methods(rule):
            for values in _arg_values(rule, a.ids):
                url = _build(db_app, rule, values)
                r = _request(b_browser, method, url, bearer=b.raw_api_token)
                requests_made += 1
                body = r.get_data(as_text=True)
                if values and 200 <= r.status_code < 300:
                    failures.append(f"{method} {url} -> {r.status_code} with firm A's ids")
                if a.marker in body:
                    failures.append(f"{method} {url} -> shows firm A's marker")
        if rule.endpoint == "auth.account":
            # Proof the crawl ran logged in (not a vacuous run of redirects).
            assert b_browser.get("/account").status_code == 200
    assert failures == []
    assert requests_made > 20

    # Nothing of firm A changed.
    db.session.expire_all()
    from tenants import tenant_scope

    with tenant_scope(a.firm.tenant.id):
        assert all(
            m.is_active
            for m in db.session.scalars(
                select(Membership).where(Membership.tenant_id == a.firm.tenant.id)
            )
        )
        assert db.session.scalar(select(ApiToken).where(ApiToken.revoked_at.is_not(None))) is None
        assert (
            db.session.scalar(select(Invitation).where(Invitation.revoked_at.is_not(None))) is None
        )
    with user_scope(a.firm.owner.user.id):
        assert db.session.scalars(
            select(AuthSession.id).where(AuthSession.user_id == a.firm.owner.user.id)
        ).all()
        revoked = db.session.scalars(
            select(AuthSession).where(
                AuthSession.user_id == a.firm.owner.user.id, AuthSession.revoked_at.is_not(None)
            )
        ).all()
    assert revoked == []


def test_unauthenticated_requests_go_to_login_or_get_401(db_app, browser):
    anonymous_token = browser.csrf()
    checked = 0
    for rule in _rules(db_app):
        view = db_app.view_functions[rule.endpoint]
        if getattr(view, "_access", None) in (PUBLIC, "pending"):
            continue
        values = {
            arg: (1 if isinstance(rule._converters[arg], IntegerConverter) else "x")
            for arg in rule.arguments
        }
        url = _build(db_app, rule, values)
        for method in _methods(rule):
            if method == "GET":
                r = browser.get(url)
            elif url.startswith(MACHINE_PREFIXES):
                r = browser.open(url, method=method, json={})
            else:
                r = browser.open(url, method=method, data={"csrf_token": anonymous_token})
            checked += 1
            if url.startswith("/api/"):
                assert r.status_code == 401, (method, url, r.status_code)
                assert r.is_json and "error" in r.get_json()
            else:
                assert r.status_code == 302, (method, url, r.status_code)
                assert r.headers["Location"].startswith("/login"), (method, url)
    assert checked > 10


def test_mutating_routes_refuse_a_missing_csrf_token(db_app, make_browser):
    b = seed_firm("Bravo", "ZZBRAVO3")
    browser = make_browser()
    login(browser, b.firm.owner)
    checked = 0
    for rule in _rules(db_app):
        if rule.rule.startswith(MACHINE_PREFIXES):
            continue  # bearer tokens and signed webhooks: no cookies to forge
        for method in set(_methods(rule)) & MUTATING:
            values = {
                a: (
                    b.ids.get(a, [1])[0]
                    if isinstance(rule._converters[a], IntegerConverter)
                    else "x"
                )
                for a in rule.arguments
            }
            url = _build(db_app, rule, values)
            r = browser.open(url, method=method, data={})
            checked += 1
            assert r.status_code == 400, (method, url, r.status_code)
    assert checked > 10
    assert browser.get("/account").status_code == 200  # still logged in: nothing was done


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"],
)
def test_next_never_redirects_off_site(db_app, make_browser, target):
    b = seed_firm("Bravo", "ZZBRAVO3")
    browser = make_browser()
    r = browser.post(
        f"/login?next={target}",
        {"email": b.firm.owner.user.email, "password": b.firm.owner.password},
    )
    from tests.factories import totp_code

    r = browser.post("/login/two-factor", {"code": totp_code(b.firm.owner)})
    assert r.status_code == 302
    assert r.headers["Location"] == "/"
