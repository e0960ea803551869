"""Issue 15: the attacks on log-in, sign-up and invitations, each performed
through HTTP as an attacker would, and refused.

Mail is read where the recipient reads it: the .eml files of the outbox
transport (the outbox table keeps token links redacted, and on PostgreSQL its
tenantless rows are not readable by the app role anyway).
"""

from __future__ import annotations

import email
import email.policy
import pathlib
import re
import threading
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import func, select, text, update

from advocate.auth import twofactor
from advocate.auth.models import RecoveryCode, User
from advocate.extensions import db
from advocate.mail import OutboxMessage
from tenants import set_db_user, tenant_scope, user_scope
from tenants.models import Membership
from tenants.onboarding.models import Invitation
from tenants.scoping import lookup_email, tenant_directory
from tests.conftest import CSRF_RE
from tests.factories import PASSWORD, login, make_firm, make_user, totp_code

# ruff: noqa: S106, S107 - passwords here are test values

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _text(r) -> str:
    return r.get_data(as_text=True)


@pytest.fixture()
def mailbox(db_app, tmp_path):
    """The .eml files the outbox transport writes, as the recipients' mailboxes."""
    old = db_app.config["OUTBOX_DIR"]
    db_app.config["OUTBOX_DIR"] = str(tmp_path / "outbox")

    def read(to: str | None = None) -> list[dict]:
        folder = tmp_path / "outbox"
        out = []
        for f in sorted(folder.glob("*.eml")) if folder.exists() else []:
            msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            if to is None or msg["To"] == to:
                out.append(
                    {
                        "to": str(msg["To"]),
                        "subject": str(msg["Subject"]),
                        "body": msg.get_content(),
                        "raw": f.read_bytes(),
                    }
                )
        return out

    yield read
    db_app.config["OUTBOX_DIR"] = old


def _link(body: str, path: str) -> str:
    """The path (and token) of the link in a mail body that goes to `path`."""
    return re.search(r"https?://[^/\s]+(" + re.escape(path) + r"\S+)", body).group(1)


def _user(email_addr: str) -> User | None:
    """The account of an address, read as the app would look it up (RLS shows
    the app role a users row only for the address it looks up)."""
    db.session.expire_all()
    with lookup_email(email_addr):
        return db.session.scalar(select(User).where(User.email == email_addr))


def _memberships(user_id: int) -> list[Membership]:
    db.session.expire_all()
    set_db_user(user_id)
    rows = list(db.session.scalars(select(Membership).where(Membership.user_id == user_id)))
    set_db_user(None)
    return rows


def _signup(
    b,
    email_addr: str,
    password: str = "tidal-compass-orchard-31",
    firm: str = "Harbor Claims",
    **kw,
):
    return b.post(
        "/signup",
        {
            "firm_name": firm,
            "name": kw.get("name", "Hannah Harbor"),
            "email": email_addr,
            "password": password,
            "confirm": password,
        },
    )


# ------------------------------------------------------------------ item 1: Host


def _open_as_host(b, url: str, host: str, data: dict | None = None):
    """GET (for the CSRF token) then POST `url` with the given Host header."""
    page = b.open(url, method="GET", base_url=f"http://{host}", environ_base={"REMOTE_ADDR": b.ip})
    if data is None:
        return page
    token = CSRF_RE.search(_text(page)).group(1)
    return b.open(
        url,
        method="POST",
        base_url=f"http://{host}",
        data={**data, "csrf_token": token},
        environ_base={"REMOTE_ADDR": b.ip},
    )


def test_a_request_for_an_untrusted_host_is_refused_with_400(db_app, browser, mailbox):
    firm = make_firm()
    r = _open_as_host(browser, "/password/forgot", "evil.example")
    assert r.status_code == 400
    assert "evil.example" not in _text(r)
    # The trusted names of development still work.
    for host in ("localhost", "127.0.0.1"):
        assert _open_as_host(browser, "/login", host).status_code == 200
    # A forged reset request for the victim gets nowhere and mails nothing.
    r = browser.open(
        "/password/forgot",
        method="POST",
        base_url="http://evil.example",
        data={"email": firm.owner.user.email},
    )
    assert r.status_code == 400
    assert mailbox() == []


def test_password_reset_link_comes_from_app_base_url_never_from_the_host_header(
    db_app, browser, mailbox
):
    """Even where the Host check is off (a proxy forwarding any Host), the
    mailed link goes to the configured site, not the attacker's."""
    firm = make_firm()
    saved = db_app.config["TRUSTED_HOSTS"], db_app.config["APP_BASE_URL"]
    db_app.config["TRUSTED_HOSTS"] = None
    db_app.config["APP_BASE_URL"] = "https://advocate.example.com"
    try:
        r = _open_as_host(
            browser, "/password/forgot", "evil.example", {"email": firm.owner.user.email}
        )
        assert r.status_code == 302
    finally:
        db_app.config["TRUSTED_HOSTS"], db_app.config["APP_BASE_URL"] = saved
    [mail] = mailbox(firm.owner.user.email)
    assert "evil.example" not in mail["body"]
    assert re.search(r"https://advocate\.example\.com/password/reset/\S+", mail["body"])


def test_invitation_link_comes_from_app_base_url(db_app, make_browser, mailbox):
    firm = make_firm()
    b = make_browser()
    login(b, firm.owner)
    db_app.config["APP_BASE_URL"] = "https://advocate.example.com/app"
    try:
        assert (
            b.post("/people/invite", {"email": "new@example.com", "role": "viewer"}).status_code
            == 302
        )
    finally:
        db_app.config["APP_BASE_URL"] = "http://localhost"
    [mail] = mailbox("new@example.com")
    assert re.search(r"https://advocate\.example\.com/app/invitations/accept/\S+", mail["body"])


def test_no_view_builds_absolute_links_from_the_request():
    """Every absolute link goes through advocate.links.external_url."""
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("advocate", "tenants")
        for p in (ROOT / folder).rglob("*.py")
        if re.search(r"url_for\([^)]*_external=True|request\.url_root", p.read_text())
    ]
    assert offenders == []


def _with_proxy_hops(app, hops: int):
    from advocate import _trust_proxies

    saved_app, saved_hops = app.wsgi_app, app.config["PROXY_HOPS"]
    app.config["PROXY_HOPS"] = hops
    _trust_proxies(app)
    return saved_app, saved_hops


def test_forwarded_headers_are_ignored_without_a_proxy_and_believed_with_one(db_app, browser):
    spoofed = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    # PROXY_HOPS=0 (default): a client cannot claim https or another address.
    assert db_app.config["PROXY_HOPS"] == 0
    assert "Strict-Transport-Security" not in browser.get("/login", headers=spoofed).headers
    for i in range(30):
        browser.post(
            "/login",
            {"email": f"x{i}@example.com", "password": "whatever-password"},
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
        )
    r = browser.post(
        "/login",
        {"email": "y@example.com", "password": "whatever-password"},
        headers={"X-Forwarded-For": "198.51.100.250"},
    )
    assert r.status_code == 429  # the per-IP limit saw the one real client
    # One proxy configured: its X-Forwarded-* name the real client.
    from advocate.extensions import limiter

    limiter.reset()
    saved_app, saved_hops = _with_proxy_hops(db_app, 1)
    try:
        assert "Strict-Transport-Security" in browser.get("/login", headers=spoofed).headers
        for i in range(40):
            r = browser.post(
                "/login",
                {"email": f"z{i}@example.com", "password": "whatever-password"},
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
            )
            assert r.status_code == 200  # forty different clients behind the proxy
    finally:
        db_app.wsgi_app, db_app.config["PROXY_HOPS"] = saved_app, saved_hops


def test_gunicorn_config_trusts_forwarded_headers_only_with_proxy_hops(monkeypatch):
    import runpy

    monkeypatch.delenv("PROXY_HOPS", raising=False)
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["forwarded_allow_ips"] == "" and conf["secure_scheme_headers"] == {}
    assert conf["timeout"] > 0 and conf["workers"] >= 1
    monkeypatch.setenv("PROXY_HOPS", "1")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.5")
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert conf["forwarded_allow_ips"] == "10.0.0.5" and "secure_scheme_headers" not in conf
    # The access log keeps the route of a mailed secret, not the secret.
    assert (
        conf["_SECRET_PATH"].sub(r"\1[redacted]", "/password/reset/abc.def")
        == "/password/reset/[redacted]"
    )


# --------------------------------------------------- items 3 and 12: sign-up


def test_signup_answers_the_same_whether_or_not_the_address_has_an_account(
    db_app, make_browser, mailbox
):
    firm = make_firm()
    taken = _signup(make_browser("10.0.3.1"), firm.owner.user.email)
    free = _signup(make_browser("10.0.3.2"), "fresh@harbor.example.com")
    assert taken.status_code == free.status_code == 302
    assert taken.headers["Location"] == free.headers["Location"] == "/signup/sent"
    # The mailbox learns which: the owner is told they have an account...
    [note] = mailbox(firm.owner.user.email)
    assert "already has an account" in note["body"] and "/signup/confirm/" not in note["body"]
    # ...the new address gets the link, and nothing exists until it is opened.
    [mail] = mailbox("fresh@harbor.example.com")
    assert "/signup/confirm/" in mail["body"]
    assert _user("fresh@harbor.example.com") is None
    assert len(tenant_directory()) == 1  # every firm (RLS hides other firms from the app role)


def test_pre_hijacking_a_signup_gets_no_account(db_app, make_browser, mailbox):
    """The attacker signs up with the victim's address: no account exists, the
    attacker cannot log in, and the victim's mailbox link is useless without
    the attacker's password."""
    victim = "victim@clinic.example.com"
    attacker = make_browser("10.0.4.1")
    assert _signup(attacker, victim, password="attacker-chosen-pass-99").status_code == 302
    r = attacker.post("/login", {"email": victim, "password": "attacker-chosen-pass-99"})
    assert r.status_code == 200 and "Invalid email or password." in _text(r)
    assert _user(victim) is None
    # The victim opens the mailed link but does not know that password.
    link = _link(mailbox(victim)[0]["body"], "/signup/confirm/")
    b = make_browser("10.0.4.2")
    assert b.get(link).status_code == 200
    r = b.post(link, {"password": "harbor-lantern-secret-77"})
    assert r.status_code == 422 and _user(victim) is None
    # A firm invites the victim: the invitation makes a fresh account of theirs.
    firm = make_firm()
    owner = make_browser("10.0.4.3")
    login(owner, firm.owner)
    owner.post("/people/invite", {"email": victim, "role": "advocate"})
    accept = _link(mailbox(victim)[-1]["body"], "/invitations/accept/")
    r = b.post(
        accept,
        {
            "name": "Victor Victim",
            "password": "harbor-lantern-secret-77",
            "confirm": "harbor-lantern-secret-77",
        },
    )
    assert r.status_code == 302 and r.headers["Location"] == "/login/two-factor/setup"
    again = make_browser("10.0.4.4").post(
        "/login", {"email": victim, "password": "attacker-chosen-pass-99"}
    )
    assert "Invalid email or password." in _text(again)


def test_signup_link_creates_the_firm_once_and_expires(db_app, make_browser, mailbox):
    b = make_browser("10.0.5.1")
    _signup(b, "hannah@harbor.example.com")
    link = _link(mailbox("hannah@harbor.example.com")[0]["body"], "/signup/confirm/")
    # Tampered: not ours.
    assert b.get(link[:-6] + "AAAAAA").status_code == 404
    r = b.post(link, {"password": "tidal-compass-orchard-31"})
    assert r.status_code == 302 and r.headers["Location"] == "/login/two-factor/setup"
    user = _user("hannah@harbor.example.com")
    assert user.is_verified and not user.is_totp_enabled
    [m] = _memberships(user.id)
    assert m.role == "owner"
    # Single use: the account exists now.
    again = make_browser("10.0.5.2")
    assert again.get(link).status_code == 410
    assert again.post(link, {"password": "tidal-compass-orchard-31"}).status_code == 410
    assert len(tenant_directory()) == 1  # every firm (RLS hides other firms from the app role)
    # Expiry: a day-old link is refused.
    _signup(b, "late@harbor.example.com")
    late = _link(mailbox("late@harbor.example.com")[0]["body"], "/signup/confirm/")
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=25)):
        r = make_browser("10.0.5.3").get(late)
    assert r.status_code == 410 and "expired" in _text(r)


def _unverified_account(firm, email_addr: str):
    """An account as the old sign-up made them: nobody proved the address, and
    its creator enrolled a second factor of their own."""
    person = make_user(firm.tenant, "owner", email=email_addr, verified=False)
    return person


def test_an_unverified_account_cannot_log_in_or_reset_its_password(db_app, make_browser, mailbox):
    attacker_firm = make_firm("Squatter")
    squatter = _unverified_account(attacker_firm, "victim@clinic.example.com")
    r = make_browser("10.0.6.1").post(
        "/login", {"email": squatter.user.email, "password": PASSWORD}
    )
    assert r.status_code == 200 and "Invalid email or password." in _text(r)
    make_browser("10.0.6.2").post("/password/forgot", {"email": squatter.user.email})
    assert mailbox(squatter.user.email) == []


def test_an_invitation_supersedes_an_unverified_account_and_discards_its_second_factor(
    db_app, make_browser, mailbox
):
    attacker_firm = make_firm("Squatter")
    squatter = _unverified_account(attacker_firm, "victim@clinic.example.com")
    with tenant_scope(attacker_firm.tenant.id):
        twofactor.issue_recovery_codes(db.session.get(User, squatter.user.id))
        db.session.commit()
    firm = make_firm("Real Firm")
    owner = make_browser("10.0.7.1")
    login(owner, firm.owner)
    assert (
        owner.post("/people/invite", {"email": squatter.user.email, "role": "advocate"}).status_code
        == 302
    )
    accept = _link(mailbox(squatter.user.email)[-1]["body"], "/invitations/accept/")
    b = make_browser("10.0.7.2")
    page = _text(b.get(accept))
    assert (
        'name="password"' in page and "Log in to accept" not in page
    )  # not matched to the squatter
    r = b.post(
        accept,
        {
            "name": "Victor Victim",
            "password": "harbor-lantern-secret-77",
            "confirm": "harbor-lantern-secret-77",
        },
    )
    assert r.status_code == 302 and r.headers["Location"] == "/login/two-factor/setup"
    user = _user(squatter.user.email)
    assert user.is_verified and not user.is_totp_enabled and user.totp_secret_enc is None
    assert (
        db.session.scalar(
            select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == user.id)
        )
        == 0
    )
    by_firm = {m.tenant_id: m.is_active for m in _memberships(user.id)}
    assert by_firm == {attacker_firm.tenant.id: False, firm.tenant.id: True}
    # The squatter's password no longer opens anything.
    r = make_browser("10.0.7.3").post("/login", {"email": user.email, "password": PASSWORD})
    assert "Invalid email or password." in _text(r)


def test_a_signup_from_the_mailbox_supersedes_an_unverified_account(db_app, make_browser, mailbox):
    attacker_firm = make_firm("Squatter")
    squatter = _unverified_account(attacker_firm, "victim@clinic.example.com")
    b = make_browser("10.0.8.1")
    _signup(b, squatter.user.email, password="harbor-lantern-secret-77", firm="Victim Billing")
    [mail] = mailbox(squatter.user.email)
    r = b.post(_link(mail["body"], "/signup/confirm/"), {"password": "harbor-lantern-secret-77"})
    assert r.status_code == 302 and r.headers["Location"] == "/login/two-factor/setup"
    user = _user(squatter.user.email)
    assert user.id == squatter.user.id and user.is_verified and not user.is_totp_enabled
    active = [m.tenant_id for m in _memberships(user.id) if m.is_active]
    assert attacker_firm.tenant.id not in active and len(active) == 1


# ------------------------------------------------------- item 2: invitations


def test_the_outbox_never_shows_an_invitation_link(db_app, make_browser, mailbox):
    firm = make_firm()
    b = make_browser()
    login(b, firm.owner)
    b.post("/people/invite", {"email": "new@example.com", "role": "advocate"})
    link = _link(mailbox("new@example.com")[0]["body"], "/invitations/accept/")
    token = link.rsplit("/", 1)[1]
    page = _text(b.get("/outbox"))
    assert "new@example.com" in page and token not in page and "/invitations/accept/" not in page
    with tenant_scope(firm.tenant.id):
        bodies = db.session.scalars(select(OutboxMessage.body)).all()
    assert bodies and all(token not in body for body in bodies)


def _cross_firm_invite(make_browser, mailbox, victim_email: str, role: str = "admin"):
    attacker_firm = make_firm("Attacker")
    ab = make_browser("10.0.9.1")
    login(ab, attacker_firm.owner)
    assert ab.post("/people/invite", {"email": victim_email, "role": role}).status_code == 302
    return attacker_firm, _link(mailbox(victim_email)[-1]["body"], "/invitations/accept/")


def test_an_invitation_is_no_password_oracle_for_an_existing_account(db_app, make_browser, mailbox):
    victim_firm = make_firm("Victim Firm")
    victim = victim_firm.owner
    attacker_firm, accept = _cross_firm_invite(make_browser, mailbox, victim.user.email)
    ab = make_browser("10.0.9.2")
    page = _text(ab.get(accept))
    assert "Log in to accept" in page and 'name="password"' not in page
    wrong = ab.post(accept, {"password": "not-the-password-1"})
    right = ab.post(accept, {"password": PASSWORD})
    assert wrong.status_code == right.status_code == 200
    assert "Log in to accept" in _text(right)
    assert [m.tenant_id for m in _memberships(victim.user.id)] == [victim_firm.tenant.id]
    db.session.expire_all()
    with tenant_scope(attacker_firm.tenant.id):
        assert db.session.scalar(select(Invitation.accepted_at)) is None


def test_an_existing_account_accepts_after_a_normal_log_in(db_app, make_browser, mailbox):
    victim_firm = make_firm("Victim Firm")
    person = victim_firm.owner
    inviting, accept = _cross_firm_invite(make_browser, mailbox, person.user.email, role="advocate")
    b = make_browser("10.0.10.1")
    r = b.get(accept)
    login_url = re.search(r'href="(/login\?next=[^"]+)"', _text(r)).group(1).replace("&amp;", "&")
    r = b.post(login_url, {"email": person.user.email, "password": PASSWORD})
    assert r.headers["Location"] == "/login/two-factor"  # the second factor, as always
    r = b.post("/login/two-factor", {"code": totp_code(person)})
    assert r.status_code == 302 and r.headers["Location"] == accept
    r = b.post(accept, {})
    assert r.status_code == 302
    memberships = {m.tenant_id: m.role for m in _memberships(person.user.id)}
    assert memberships == {victim_firm.tenant.id: "owner", inviting.tenant.id: "advocate"}
    assert "Attacker" in _text(b.get("/"))  # now working in the firm just joined


def test_an_invitation_never_starts_second_factor_enrolment_on_an_existing_account(
    db_app, make_browser, mailbox
):
    home = make_firm("Home")
    from tests.factories import make_practice

    practice_id = make_practice(home.tenant)
    person = make_user(home.tenant, "practice_user", with_totp=False, practice_id=practice_id)
    inviting, accept = _cross_firm_invite(make_browser, mailbox, person.user.email, role="admin")
    b = make_browser("10.0.11.1")
    login(b, person)  # a practice user logs in without a second factor
    r = b.post(accept, {})
    assert r.status_code == 200 and "two-factor" in _text(r)
    assert "/login/two-factor/setup" not in (r.headers.get("Location") or "")
    assert [m.tenant_id for m in _memberships(person.user.id)] == [home.tenant.id]
    db.session.expire_all()
    with user_scope(person.user.id):  # RLS: the account's own row
        assert not db.session.get(User, person.user.id).is_totp_enabled


# ------------------------------------------------------- items 7, 8: two-factor


def test_wrong_codes_lock_the_account_like_wrong_passwords(db_app, make_browser):
    db_app.config["LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR"] = 5
    try:
        firm = make_firm()
        b = make_browser("10.0.12.1")
        b.post("/login", {"email": firm.owner.user.email, "password": PASSWORD})
        for i in range(5):
            r = b.post("/login/two-factor", {"code": f"{i:06d}"})
            assert r.status_code == 200 and "not valid" in _text(r)
        # One half-open session, many guesses: the account is locked now,
        # even for the right code.
        r = b.post("/login/two-factor", {"code": totp_code(firm.owner)})
        assert r.status_code == 429
        assert b.get("/account").status_code == 302  # not logged in
        r = make_browser("10.0.12.2").post(
            "/login", {"email": firm.owner.user.email, "password": PASSWORD}
        )
        assert r.status_code == 429
    finally:
        db_app.config["LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR"] = 100


def test_a_code_used_by_a_concurrent_log_in_is_refused(db_app):
    """The check and the use of a step are one conditional UPDATE: a session
    that loaded the user before another log-in used the code cannot use it."""
    firm = make_firm()
    uid = firm.owner.user.id
    with user_scope(uid):  # RLS: the user's own row, as during their log-in
        stale = db.session.get(User, uid)
        assert stale.totp_last_step is None
        code = pyotp.TOTP(firm.owner.totp_secret).now()
        step = int(datetime.now(UTC).timestamp()) // 30
        # Another web process logs in with the same code and commits.
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT set_config('app.user_id', :u, true)"), {"u": str(uid)})
            done = conn.execute(update(User).where(User.id == uid).values(totp_last_step=step))
            assert done.rowcount == 1
        assert stale.totp_last_step is None  # this session still sees the old row
        assert twofactor.verify_user_code(stale, code) == twofactor.CODE_REUSED
        db.session.rollback()


def test_one_code_completes_one_of_three_simultaneous_log_ins(db_app, make_browser):
    firm = make_firm()
    browsers = [make_browser(f"10.0.13.{i}") for i in range(3)]
    tokens = []
    for b in browsers:
        b.post("/login", {"email": firm.owner.user.email, "password": PASSWORD})
        tokens.append(b.csrf())
    code = totp_code(firm.owner)
    db.session.commit()
    barrier = threading.Barrier(len(browsers))
    results = []

    def attempt(b, token):
        with db_app.app_context():
            barrier.wait()
            r = b.client.post(
                "/login/two-factor",
                data={"code": code, "csrf_token": token},
                environ_base={"REMOTE_ADDR": b.ip},
            )
            results.append((r.status_code, "already used" in _text(r)))
            db.session.remove()

    threads = [
        threading.Thread(target=attempt, args=pair) for pair in zip(browsers, tokens, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [(200, True), (200, True), (302, False)]


# ------------------------------------------------------- item 15: names and mail


def test_names_with_line_breaks_are_refused(db_app, make_browser, mailbox):
    r = _signup(make_browser("10.0.14.1"), "crlf@example.com", firm="Evil\r\nBcc: all@example.com")
    assert r.status_code == 422 and "no line breaks or control characters" in _text(r)
    r = _signup(make_browser("10.0.14.2"), "crlf@example.com", name="Eve\x00")
    # A NUL is refused before any form sees it (the input guard answers 400
    # for every field of every request); other control characters are the
    # name check's 422. Either way nothing is stored and nothing is mailed.
    assert r.status_code in (400, 422)
    assert _user("crlf@example.com") is None
    assert mailbox() == []
    firm = make_firm()
    b = make_browser("10.0.14.3")
    login(b, firm.owner)
    r = b.post(
        "/people/invite",
        {"email": "x@example.com", "name": "X\nBcc: all@example.com", "role": "viewer"},
    )
    assert r.status_code == 422 and "no line breaks" in _text(r)
    assert mailbox() == []


def test_a_stored_name_with_a_line_break_neither_breaks_nor_injects_mail(
    db_app, make_browser, mailbox
):
    firm = make_firm()
    with tenant_scope(firm.tenant.id):
        db.session.execute(
            text("UPDATE tenants SET name = :n WHERE id = :i"),
            {"n": "Evil\r\nBcc: all@example.com", "i": firm.tenant.id},
        )
        db.session.commit()
    b = make_browser()
    login(b, firm.owner)
    assert (
        b.post("/people/invite", {"email": "new@example.com", "role": "viewer"}).status_code == 302
    )
    [mail] = mailbox("new@example.com")
    headers = mail["raw"].split(b"\r\n\r\n", 1)[0].decode()
    assert "Bcc" not in [line.split(":", 1)[0] for line in headers.split("\r\n")]
    assert "Evil Bcc: all@example.com" in mail["subject"]


# ------------------------------------------------------- item 16


def test_new_recovery_codes_need_the_password_or_a_current_code(db_app, make_browser):
    firm = make_firm()
    b = make_browser()
    login(b, firm.owner)
    # A borrowed session alone cannot mint codes.
    r = b.post("/account/recovery-codes", {})
    assert r.status_code == 422 and "<code>" not in _text(r)
    r = b.post("/account/recovery-codes", {"proof": "not-my-password-1"})
    assert r.status_code == 422 and "neither your password" in _text(r)
    r = b.post("/account/recovery-codes", {"proof": PASSWORD})
    assert (
        r.status_code == 200
        and len(re.findall(r"<code>[0-9a-f]{5}-[0-9a-f]{5}</code>", _text(r))) == 10
    )
    r = b.post("/account/recovery-codes", {"proof": totp_code(firm.owner)})
    assert (
        r.status_code == 200
        and len(re.findall(r"<code>[0-9a-f]{5}-[0-9a-f]{5}</code>", _text(r))) == 10
    )


def test_session_cookie_has_the_host_prefix_with_https(db_app, monkeypatch, tmp_path):
    from advocate import config

    monkeypatch.setenv("HTTPS", "1")
    cfg = config.load(tmp_path)
    assert cfg["SESSION_COOKIE_NAME"] == "__Host-advocate_session"
    assert cfg["SESSION_COOKIE_SECURE"] is True and cfg["SESSION_COOKIE_PATH"] == "/"
    monkeypatch.setenv("HTTPS", "0")
    assert config.load(tmp_path)["SESSION_COOKIE_NAME"] == "advocate_session"
    # What the browser gets over HTTPS.
    saved = {k: db_app.config[k] for k in ("SESSION_COOKIE_NAME", "SESSION_COOKIE_SECURE")}
    db_app.config.update(SESSION_COOKIE_NAME=cfg["SESSION_COOKIE_NAME"], SESSION_COOKIE_SECURE=True)
    try:
        firm = make_firm()
        client = db_app.test_client()
        page = client.get("/login", base_url="https://localhost")
        token = CSRF_RE.search(_text(page)).group(1)
        r = client.post(
            "/login",
            base_url="https://localhost",
            headers={"Referer": "https://localhost/login"},
            data={"email": firm.owner.user.email, "password": PASSWORD, "csrf_token": token},
        )
        assert r.status_code == 302, _text(r)[:300]
        cookie = r.headers["Set-Cookie"]
        assert cookie.startswith("__Host-advocate_session=")
        assert "Secure" in cookie and "Path=/" in cookie and "Domain=" not in cookie
    finally:
        db_app.config.update(saved)


def test_operator_and_demo_accounts_are_verified_and_can_log_in(db_app, make_browser):
    """`flask tenants create` and `flask demo seed` make accounts that work at once."""
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
            "boss@cli.example.com",
            "--owner-password",
            "sturdy-ledger-canyon-12",
        ]
    )
    assert r.exit_code == 0, r.output
    r = make_browser("10.0.15.1").post(
        "/login", {"email": "boss@cli.example.com", "password": "sturdy-ledger-canyon-12"}
    )
    assert r.status_code == 302 and r.headers["Location"] == "/login/two-factor/setup"
    r = runner.invoke(args=["demo", "seed"])
    assert r.exit_code == 0, r.output
    r = make_browser("10.0.15.2").post(
        "/login", {"email": "owner@demo.advocate.test", "password": "demo-password-2026"}
    )
    assert r.status_code == 302 and r.headers["Location"] == "/login/two-factor/setup"
    # A name with a line break is refused by the CLI too.
    r = runner.invoke(
        args=[
            "tenants",
            "create",
            "--name",
            "Bad\nName",
            "--slug",
            "bad",
            "--owner-email",
            "bad@cli.example.com",
            "--owner-password",
            "sturdy-ledger-canyon-12",
        ]
    )
    assert r.exit_code != 0 and "line breaks" in r.output
