"""Log-in, two-factor, throttling, password rules and resets, headers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pyotp
import time_machine
from argon2 import extract_parameters
from sqlalchemy import select

from advocate.audit.models import AuditEvent
from advocate.auth.models import User
from advocate.auth.passwords import password_problems
from advocate.extensions import db
from advocate.mail import OutboxMessage
from tenants import user_scope
from tests.factories import PASSWORD, login, make_firm, make_user, totp_code


def _text(r):
    return r.get_data(as_text=True)


def test_passwords_are_argon2id_at_owasp_strength(db_app):
    firm = make_firm()
    params = extract_parameters(firm.owner.user.password_hash)
    assert params.type.name == "ID"
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2


def test_password_policy():
    assert password_problems("short-pw") != []
    assert password_problems("password1234") != []  # common, even at 12 characters
    assert password_problems("qwertyuiop123") != []
    assert password_problems("aaaaaaaaaaaaaaaa") != []
    assert password_problems("gentle-ocean-lantern-58") == []


def test_unknown_user_and_wrong_password_get_the_same_answer(db_app, browser):
    firm = make_firm()
    wrong = browser.post(
        "/login", {"email": firm.owner.user.email, "password": "not-the-password-123"}
    )
    unknown = browser.post(
        "/login", {"email": "nobody@example.com", "password": "not-the-password-123"}
    )
    assert wrong.status_code == unknown.status_code == 200
    assert "Invalid email or password." in _text(wrong) and "Invalid email or password." in _text(
        unknown
    )
    assert "/login/two-factor" not in (wrong.headers.get("Location") or "")


def test_staff_must_enroll_two_factor_before_anything(db_app, browser):
    firm = make_firm()
    p = make_user(firm.tenant, "advocate", with_totp=False)
    r = browser.post("/login", {"email": p.user.email, "password": PASSWORD})
    assert r.headers["Location"] == "/login/two-factor/setup"
    assert browser.get("/").status_code == 302  # not logged in yet
    page = _text(browser.get("/login/two-factor/setup"))
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert 'src="data:image/svg+xml' in page  # the QR code
    bad = browser.post("/login/two-factor/setup", {"code": "000000"})
    assert "did not match" in _text(bad)
    ok = browser.post("/login/two-factor/setup", {"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", _text(ok))
    assert len(codes) == 10
    assert browser.get("/").status_code == 200
    db.session.expire_all()
    with user_scope(p.user.id):  # RLS on users: an account is visible to itself
        assert db.session.get(User, p.user.id).is_totp_enabled


def test_wrong_code_is_refused_and_a_code_cannot_be_replayed(db_app, make_browser):
    firm = make_firm()
    b1 = make_browser("10.0.0.1")
    b1.post("/login", {"email": firm.owner.user.email, "password": PASSWORD})
    r = b1.post("/login/two-factor", {"code": "123456"})
    assert "not valid" in _text(r)
    code = totp_code(firm.owner)
    assert b1.post("/login/two-factor", {"code": code}).status_code == 302
    b2 = make_browser("10.0.0.2")
    b2.post("/login", {"email": firm.owner.user.email, "password": PASSWORD})
    r = b2.post("/login/two-factor", {"code": code})
    # A replay is refused and says what happened (not "check your clock").
    assert r.status_code == 200 and "already used" in _text(r) and "not valid" not in _text(r)


def test_recovery_code_logs_in_once(db_app, make_browser):
    firm = make_firm()
    p = make_user(firm.tenant, "advocate", with_totp=False)
    b = make_browser()
    b.post("/login", {"email": p.user.email, "password": PASSWORD})
    secret = re.search(
        r'data-testid="totp-secret">([A-Z2-7]+)<', _text(b.get("/login/two-factor/setup"))
    ).group(1)
    codes = re.findall(
        r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>",
        _text(b.post("/login/two-factor/setup", {"code": pyotp.TOTP(secret).now()})),
    )
    b.post("/logout")
    for attempt, expect_ok in ((1, True), (2, False)):
        fresh = make_browser(f"10.0.1.{attempt}")
        fresh.post("/login", {"email": p.user.email, "password": PASSWORD})
        r = fresh.post("/login/two-factor", {"code": codes[0]})
        assert (r.status_code == 302) is expect_ok


def test_account_throttled_after_100_failures_in_an_hour(db_app, make_browser):
    firm = make_firm()
    email = firm.owner.user.email
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        for i in range(100):
            # Many addresses, so the per-IP limit is not what stops them.
            r = make_browser(f"10.1.{i // 200}.{i % 200 + 1}").post(
                "/login", {"email": email, "password": f"wrong-{i}-password"}
            )
            assert r.status_code == 200
        r = make_browser("10.9.9.9").post("/login", {"email": email, "password": PASSWORD})
        assert r.status_code == 429  # even the right password, until the hour passes
        clock.shift(timedelta(minutes=61))
        r = make_browser("10.9.9.8").post("/login", {"email": email, "password": PASSWORD})
        assert r.status_code == 302


def test_per_ip_limit(db_app, browser):
    for i in range(30):
        assert (
            browser.post(
                "/login", {"email": f"x{i}@example.com", "password": "whatever-password"}
            ).status_code
            == 200
        )
    assert (
        browser.post(
            "/login", {"email": "y@example.com", "password": "whatever-password"}
        ).status_code
        == 429
    )


def test_failed_logins_are_audited_without_the_address(db_app, browser):
    browser.post("/login", {"email": "nobody@example.com", "password": "whatever-password"})
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        return  # tenantless rows are not readable by the app role: by design
    ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.login_failed"))
    assert ev is not None and "nobody" not in str(ev.details)


def _reset_link(db_app) -> str:
    """The link in the newest mail, read as the recipient does (the .eml file):
    the outbox table keeps the link redacted."""
    import email
    import email.policy
    import pathlib

    db.session.commit()
    files = sorted(pathlib.Path(db_app.config["OUTBOX_DIR"]).glob("*.eml"))
    body = email.message_from_bytes(
        files[-1].read_bytes(), policy=email.policy.default
    ).get_content()
    return re.search(r"http://[^/]+(/password/reset/\S+)", body).group(1)


def test_reset_link_is_not_kept_in_the_outbox_table(db_app, browser, tmp_path, monkeypatch):
    monkeypatch.setitem(db_app.config, "OUTBOX_DIR", str(tmp_path))
    firm = make_firm()
    browser.post("/password/forgot", {"email": firm.owner.user.email})
    link = _reset_link(db_app)
    rows = db.session.scalars(select(OutboxMessage.body).execution_options(all_tenants=True)).all()
    # Readable on SQLite; on PostgreSQL the app role cannot read tenantless rows at all.
    assert all(link not in body for body in rows)


def test_password_reset_is_single_use_and_expires(db_app, make_browser, tmp_path):
    db_app.config["OUTBOX_DIR"] = str(tmp_path)
    firm = make_firm()
    b = make_browser()
    r = b.post("/password/forgot", {"email": firm.owner.user.email})
    assert r.status_code == 302
    link = _reset_link(db_app)
    new = "brand-new-passphrase-77"
    assert b.post(link, {"password": new, "confirm": new}).status_code == 302
    r = b.post(link, {"password": "another-passphrase-88", "confirm": "another-passphrase-88"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/password/forgot")
    firm.owner.password = new
    login(make_browser("10.0.0.9"), firm.owner)
    # Expiry: a link older than an hour is refused.
    b.post("/password/forgot", {"email": firm.owner.user.email})
    link2 = _reset_link(db_app)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2)):
        r = b.get(link2)
    assert r.status_code == 302 and r.headers["Location"].endswith("/password/forgot")


def test_forgot_password_answers_the_same_for_unknown_addresses(db_app, browser):
    r = browser.post("/password/forgot", {"email": "nobody@example.com"})
    assert r.status_code == 302


def test_security_headers(db_app, browser):
    r = browser.get("/login")
    h = r.headers
    assert "script-src 'self'" in h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert "unsafe-inline" not in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in h  # plain HTTP here
    assert "<script>" not in _text(r) and " onclick=" not in _text(r)
    db_app.config["HTTPS"] = True
    try:
        assert "Strict-Transport-Security" in browser.get("/login").headers
    finally:
        db_app.config["HTTPS"] = False


def test_session_cookie_flags(db_app, browser):
    firm = make_firm()
    browser.post("/login", {"email": firm.owner.user.email, "password": PASSWORD})
    r = browser.post("/login/two-factor", {"code": totp_code(firm.owner)})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
