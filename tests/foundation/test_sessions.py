"""Server-side sessions: timeouts on a frozen clock, deactivation and password
changes end sessions at once, and every log-in gets a new session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from advocate.auth.models import AuthSession
from advocate.extensions import db
from tenants import user_scope
from tests.factories import PASSWORD, login, make_firm, make_user

START = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def _logged_in(browser) -> bool:
    return browser.get("/account").status_code == 200


def test_idle_timeout_after_30_minutes(db_app, browser):
    firm = make_firm()
    with time_machine.travel(START, tick=False) as clock:
        login(browser, firm.owner)
        clock.shift(timedelta(minutes=29))
        assert _logged_in(browser)  # activity resets the idle clock
        clock.shift(timedelta(minutes=29))
        assert _logged_in(browser)
        clock.shift(timedelta(minutes=31))
        r = browser.get("/account")
        assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    with user_scope(firm.owner.user.id):  # RLS: a user's own sessions
        row = db.session.scalar(select(AuthSession))
        assert row.revoked_reason == "idle_timeout"


def test_absolute_timeout_after_12_hours_despite_activity(db_app, browser):
    firm = make_firm()
    with time_machine.travel(START, tick=False) as clock:
        login(browser, firm.owner)
        for _ in range(24):  # active every 30 s short of the idle limit for 12 hours
            clock.shift(timedelta(minutes=30))
            assert _logged_in(browser)
        clock.shift(timedelta(minutes=1))  # 12 h 1 min
        assert not _logged_in(browser)
    with user_scope(firm.owner.user.id):  # RLS: a user's own sessions
        assert db.session.scalar(select(AuthSession)).revoked_reason == "absolute_timeout"


def test_deactivation_ends_the_persons_sessions_at_once(db_app, make_browser):
    firm = make_firm()
    adv = make_user(firm.tenant, "advocate")
    owner_b, adv_b = make_browser("10.0.0.1"), make_browser("10.0.0.2")
    login(owner_b, firm.owner)
    login(adv_b, adv)
    assert _logged_in(adv_b)
    r = owner_b.post(f"/people/{adv.membership_id}/deactivate")
    assert r.status_code == 302
    assert not _logged_in(adv_b)
    # and they cannot log back in
    r = adv_b.post("/login", {"email": adv.user.email, "password": PASSWORD})
    assert "Invalid email or password." in r.get_data(as_text=True)


def test_password_change_ends_other_sessions_but_keeps_this_one(db_app, make_browser):
    firm = make_firm()
    here, elsewhere = make_browser("10.0.0.1"), make_browser("10.0.0.2")
    login(here, firm.owner)
    login(elsewhere, firm.owner)
    new = "a-completely-new-passphrase-91"
    r = here.post("/account/password", {"current": PASSWORD, "password": new, "confirm": new})
    assert r.status_code == 302
    assert _logged_in(here)
    assert not _logged_in(elsewhere)


def test_each_login_gets_a_new_session_cookie(db_app, browser):
    firm = make_firm()
    browser.get("/login")
    before = browser.client.get_cookie("advocate_session").value
    login(browser, firm.owner)
    after = browser.client.get_cookie("advocate_session").value
    assert before != after
    with user_scope(firm.owner.user.id):  # RLS: a user's own sessions
        tokens = db.session.scalars(select(AuthSession.token_hash)).all()
    assert (
        len(tokens) == 1 and tokens[0] not in after
    )  # the cookie holds the token, the DB its hash


def test_logout_revokes_the_server_side_session(db_app, browser):
    firm = make_firm()
    login(browser, firm.owner)
    stolen = browser.client.get_cookie("advocate_session").value
    browser.post("/logout")
    assert not _logged_in(browser)
    browser.client.set_cookie("advocate_session", stolen)  # replaying the old cookie
    assert not _logged_in(browser)
