"""The practice portal as people meet it: a firm admin adds a practice and
invites its practice admin; the practice admin accepts, logs in and invites a
colleague; the colleague reads the practice's cases, read only (no edit
controls, a change refused); the practice admin removes the colleague, whose
next request is refused."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import select

from advocate.extensions import db
from advocate.practices.models import Practice
from tenants import tenant_scope
from tests.factories import make_case, make_firm, make_payer, make_user
from tests.practices.practice_helpers import last_link

pytestmark = pytest.mark.browser

PAM_PASSWORD = "harbor-violet-compass-73"  # noqa: S105 - a test account's password
COLIN_PASSWORD = "meadow-copper-lantern-19"  # noqa: S105


def _log_in_staff(page, base, person):
    page.goto(f"{base}/login")
    page.locator("#email").fill(person.user.email)
    page.locator("#password").fill(person.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/login/two-factor$"))
    page.locator("#code").fill(pyotp.TOTP(person.totp_secret).now())
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Dashboard").wait_for()


def _accept(page, base, path, name, password):
    page.goto(base + path)
    page.locator("#name").fill(name)
    page.locator("#password").fill(password)
    page.locator("#confirm").fill(password)
    page.get_by_role("button", name="Accept invitation").click()
    page.wait_for_url(re.compile(r"/portal/$"))


def _main(page) -> str:
    return page.locator("main").inner_html()


def test_practice_portal_invite_read_only_and_revoke(db_app, live_server, chromium, screenshot_dir):
    firm = make_firm("Harbor Claims Advocacy")
    tid = firm.tenant.id
    admin = make_user(firm.tenant, "admin", name="Ada Admin")
    payer_id = make_payer(firm.tenant, name="Keystone Health Plan")
    shots = screenshot_dir / "practice-portal"
    shots.mkdir(exist_ok=True)
    errors: list[str] = []

    def context():
        ctx = chromium.new_context(viewport={"width": 1360, "height": 900})
        page = ctx.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("dialog", lambda d: d.accept())  # data-confirm on removing a colleague
        return page

    # 1. The firm admin adds the practice.
    ap = context()
    _log_in_staff(ap, live_server, admin)
    ap.goto(f"{live_server}/practices/new")
    ap.locator("#name").fill("Hudson Valley Orthopedics")
    ap.locator("#npi").fill("1234567893")
    ap.locator("#tin").fill("98-7654321")
    ap.locator("#specialty").select_option("Orthopedic surgery")
    ap.locator("#address_line1").fill("12 River Road")
    ap.locator("#city").fill("Kingston")
    ap.locator("#state").select_option("NY")
    ap.locator("#zip").fill("12401")
    ap.get_by_role("button", name="Add practice").click()
    ap.wait_for_url(re.compile(r"/practices/\d+$"))
    practice_id = int(re.search(r"/practices/(\d+)$", ap.url).group(1))

    # ... and invites its practice admin.
    ap.locator("#portal summary").click()
    ap.locator("#invite_email").fill("pam@hvortho.example.com")
    ap.locator("#invite_name").fill("Pam Practice")
    ap.locator("#invite_role").select_option("practice_admin")
    ap.get_by_role("button", name="Send invitation").click()
    ap.get_by_text("Invitation sent to pam@hvortho.example.com").wait_for()
    ap.screenshot(path=str(shots / "01-practice-invited.png"), full_page=True)

    # The firm works two cases for the practice; another practice's case must stay out of sight.
    with tenant_scope(tid):
        other = Practice(
            tenant_id=tid,
            name="Riverside Anesthesia",
            npi="9876543213",
            tin="123456789",
            specialty="Anesthesiology",
            address_line1="1 Main Street",
            city="Albany",
            state="NY",
            zip="12207",
            default_pos="11",
        )
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    mine = make_case(firm.tenant, practice_id, payer_id, patient_last_name="Marchant")
    make_case(
        firm.tenant,
        practice_id,
        payer_id,
        patient_last_name="Aprilson",
        service_from="2026-04-06",
        service_to="2026-04-06",
    )
    theirs = make_case(firm.tenant, other_id, payer_id, patient_last_name="Otherpractice")

    # 2. The practice admin accepts, logs out and in again, and invites a colleague.
    pp = context()
    _accept(pp, live_server, last_link(db_app, tid), "Pam Practice", PAM_PASSWORD)
    pp.locator("details.user-menu > summary").click()
    pp.get_by_role("button", name="Log out").click()
    pp.wait_for_url(re.compile(r"/login"))
    pp.locator("#email").fill("pam@hvortho.example.com")
    pp.locator("#password").fill(PAM_PASSWORD)
    pp.get_by_role("button", name="Log in").click()
    pp.wait_for_url(re.compile(r"/portal/$"))
    assert "Hudson Valley Orthopedics" in pp.content()
    pp.screenshot(path=str(shots / "02-practice-admin-home.png"), full_page=True)
    pp.get_by_role("link", name="People").click()
    pp.locator("#email").fill("colin@hvortho.example.com")
    pp.locator("#name").fill("Colin Clerk")
    pp.get_by_role("button", name="Send invitation").click()
    pp.get_by_text("Invitation sent to colin@hvortho.example.com").wait_for()

    # 3. The colleague accepts and reads the practice's cases, read only.
    cp = context()
    _accept(cp, live_server, last_link(db_app, tid), "Colin Clerk", COLIN_PASSWORD)
    cp.get_by_role("link", name="Cases", exact=True).click()
    cp.wait_for_url(re.compile(r"/portal/cases$"))
    listing = cp.get_by_test_id("portal-case-list").inner_text()
    assert "Marchant" in listing and "Aprilson" in listing and "Otherpractice" not in listing
    cp.screenshot(path=str(shots / "03-colleague-cases.png"), full_page=True)
    cp.locator(f'tr[data-case-id="{mine}"] a').click()
    cp.wait_for_url(re.compile(rf"/cases/{mine}$"))
    cp.get_by_test_id("case-status").wait_for()
    main = _main(cp)
    assert "<form" not in main and "<button" not in main  # no edit controls at all
    assert cp.get_by_test_id("next-steps").count() == 0
    cp.screenshot(path=str(shots / "04-colleague-case.png"), full_page=True)
    token = cp.locator('input[name="csrf_token"]').first.get_attribute("value")
    refused = cp.request.post(
        f"{live_server}/cases/{mine}/transition",
        form={"csrf_token": token, "to": "withdrawn"},
        max_redirects=0,
    )
    assert refused.status == 403
    assert cp.request.get(f"{live_server}/cases/{theirs}", max_redirects=0).status == 404
    cp.goto(f"{live_server}/cases/{mine}")
    assert cp.get_by_test_id("case-status").get_attribute("data-status") == "intake"

    # 4. The practice admin removes the colleague; the colleague's next request is refused.
    pp.get_by_role("link", name="People").click()
    row = pp.get_by_test_id("colleagues").locator("tr", has_text="Colin Clerk")
    row.get_by_role("button", name="Remove").click()
    pp.get_by_text("Colin Clerk no longer has access").wait_for()
    pp.screenshot(path=str(shots / "05-colleague-removed.png"), full_page=True)
    cp.goto(f"{live_server}/portal/cases")
    cp.wait_for_url(re.compile(r"/login"))
    assert cp.request.get(f"{live_server}/cases/{mine}", max_redirects=0).status in (302, 401, 403)
    cp.locator("#email").fill("colin@hvortho.example.com")
    cp.locator("#password").fill(COLIN_PASSWORD)
    cp.get_by_role("button", name="Log in").click()
    cp.wait_for_load_state()
    assert urlsplit(cp.url).path == "/login"  # no way back in
    cp.screenshot(path=str(shots / "06-colleague-refused.png"), full_page=True)
    with tenant_scope(tid):
        assert (
            db.session.scalar(select(Practice.id).where(Practice.id == practice_id)) == practice_id
        )
    assert not [e for e in errors if "Content Security Policy" in e], errors
