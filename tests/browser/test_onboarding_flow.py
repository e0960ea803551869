"""A new firm as a person would meet Advocate: sign up, confirm the address
from the mailed link, secure the account, invite an advocate, who accepts,
secures theirs and logs in."""

from __future__ import annotations

import email
import email.policy
import pathlib
import re
import time

import pyotp
import pytest

pytestmark = pytest.mark.browser


def _enroll(page) -> str:
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor").click()
    page.get_by_test_id("recovery-codes").wait_for()
    assert len(page.get_by_test_id("recovery-codes").locator("code").all()) == 10
    return secret


def _mailed_link(outbox_dir: str, to: str, path: str) -> str:
    """The path of the newest link to `path` mailed to `to` (the outbox folder
    is the development transport's mailbox)."""
    for f in sorted(pathlib.Path(outbox_dir).glob("*.eml"), reverse=True):
        msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
        if msg["To"] == to:
            found = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"\S+)", msg.get_content())
            if found:
                return found.group(1)
    raise AssertionError(f"no mail to {to} with a {path} link")


def test_sign_up_invite_accept_and_log_in(db_app, live_server, chromium, screenshot_dir):
    owner = chromium.new_context(viewport={"width": 1360, "height": 900})
    page = owner.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{live_server}/signup")
    page.locator("#firm_name").fill("Harbor Claims Advocacy")
    page.locator("#name").fill("Hannah Harbor")
    page.locator("#email").fill("hannah@harbor.example.com")
    page.locator("#password").fill("tidal-compass-orchard-31")
    page.locator("#confirm").fill("tidal-compass-orchard-31")
    page.get_by_role("button", name="Create firm").click()

    # Nothing exists until the address is confirmed from the mailed link.
    page.get_by_role("heading", name="Check your email").wait_for()
    page.screenshot(path=str(screenshot_dir / "00-check-your-email.png"), full_page=True)
    outbox = db_app.config["OUTBOX_DIR"]
    page.goto(live_server + _mailed_link(outbox, "hannah@harbor.example.com", "/signup/confirm/"))
    assert "Create Harbor Claims Advocacy" in page.content()
    page.locator("#password").fill("tidal-compass-orchard-31")
    page.get_by_role("button", name="Create firm").click()

    page.wait_for_url(re.compile(r"/login/two-factor/setup"))
    page.screenshot(path=str(screenshot_dir / "01-two-factor-setup.png"), full_page=True)
    _enroll(page)
    page.screenshot(path=str(screenshot_dir / "02-recovery-codes.png"), full_page=True)
    page.get_by_role("link", name=re.compile("continue")).click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    assert "Harbor Claims Advocacy" in page.content()
    page.screenshot(path=str(screenshot_dir / "03-empty-dashboard.png"), full_page=True)

    page.get_by_role("link", name="People").first.click()
    page.locator("#email").fill("arlo@harbor.example.com")
    page.locator("#name").fill("Arlo Advocate")
    page.locator("#role").select_option("advocate")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("Invitation sent to arlo@harbor.example.com").wait_for()
    page.screenshot(path=str(screenshot_dir / "04-people.png"), full_page=True)

    page.get_by_role("link", name="Settings").first.click()
    # The firm's Email outbox lists the invitation, never its link...
    page.get_by_role("link", name="Email outbox").first.click()
    body = page.get_by_test_id("email-body").first.inner_text()
    assert "/invitations/accept/" not in body and "link sent only to the recipient" in body
    # ...which only the invited person's mail holds.
    link = live_server + _mailed_link(outbox, "arlo@harbor.example.com", "/invitations/accept/")

    advocate = chromium.new_context(viewport={"width": 1360, "height": 900})
    ap = advocate.new_page()
    ap.goto(link)
    assert "Join Harbor Claims Advocacy" in ap.content()
    ap.locator("#password").fill("maple-rivet-lantern-64")
    ap.locator("#confirm").fill("maple-rivet-lantern-64")
    ap.get_by_role("button", name="Accept invitation").click()
    ap.wait_for_url(re.compile(r"/login/two-factor/setup"))
    secret = _enroll(ap)
    ap.get_by_role("link", name=re.compile("continue")).click()
    ap.get_by_role("heading", name="Dashboard").wait_for()

    # Log out, then log in again with the password and a fresh code.
    ap.locator("details.user-menu > summary").click()
    ap.get_by_role("button", name="Log out").click()
    ap.wait_for_url(re.compile(r"/login"))
    ap.locator("#email").fill("arlo@harbor.example.com")
    ap.locator("#password").fill("maple-rivet-lantern-64")
    ap.get_by_role("button", name="Log in").click()
    ap.wait_for_url(re.compile(r"/login/two-factor$"))
    ap.locator("#code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    ap.get_by_role("button", name="Verify").click()
    ap.get_by_role("heading", name="Dashboard").wait_for()
    assert "Arlo Advocate" in ap.content()
    ap.screenshot(path=str(screenshot_dir / "05-advocate-dashboard.png"), full_page=True)

    # The owner sees the advocate on the People page, active.
    page.get_by_role("link", name="People").first.click()
    assert "arlo@harbor.example.com" in page.get_by_test_id("staff-table").inner_text()
    assert not [e for e in errors if "Content Security Policy" in e], errors
