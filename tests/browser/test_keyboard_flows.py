"""The main flows with the keyboard alone: log in, open a case from the
caseload, record the payer's offer, generate a letter. Focus moves with Tab
only, controls are used with typing, arrow keys, Space and Enter; a control
Tab cannot reach fails the test."""

from __future__ import annotations

import re

import pyotp
import pytest

from tests.letters.conftest import make_setup

pytestmark = pytest.mark.browser


def _tab_to(page, selector: str, limit: int = 250) -> None:
    """Press Tab until the focused element matches the selector."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_log_in_open_a_case_record_an_offer_and_generate_a_letter_by_keyboard(
    db_app, live_server, chromium, screenshot_dir
):
    s = make_setup()
    person = s.advocate
    shots = screenshot_dir / "keyboard"
    shots.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())

    # Log in.
    page.goto(f"{live_server}/login")
    _tab_to(page, "#email")
    page.keyboard.type(person.user.email)
    _tab_to(page, "#password")
    page.keyboard.type(person.password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/login/two-factor$"))
    _tab_to(page, "#code")
    page.keyboard.type(pyotp.TOTP(person.totp_secret).now())
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Dashboard").wait_for()

    # Open a case: the menu, then the case's link in the list.
    _tab_to(page, 'a.nav-link[href="/cases/"]')
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/cases/$"))
    _tab_to(page, f'a[href="/cases/{s.case_id}"]')
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/cases/{s.case_id}$"))
    page.screenshot(path=str(shots / "01-case.png"))

    # Record the payer's offer: open the form, fill it, save.
    _tab_to(page, "#negotiation summary")
    page.keyboard.press("Enter")
    _tab_to(page, "#offer-party")
    page.keyboard.press("Home")  # the first choice: the payer's offer
    _tab_to(page, "#offer-amount")
    page.keyboard.type("4200.00")
    _tab_to(page, "#offer-basis")
    page.keyboard.type("175% of Medicare")
    _tab_to(page, "[data-testid=offer-form] button[type=submit]")
    page.keyboard.press("Enter")
    page.get_by_test_id("timeline").get_by_text(
        "Payer offered 4,200.00 (175% of Medicare)"
    ).wait_for()
    page.screenshot(path=str(shots / "02-offer-recorded.png"))

    # Generate a letter: choose it with the arrow keys, then the button.
    select = f"#letter-template-{s.case_id}"
    _tab_to(page, select)
    page.keyboard.press("ArrowDown")
    assert page.locator(select).input_value() != ""
    _tab_to(page, '[data-testid="generate-letter-form"] button[type=submit]')
    page.keyboard.press("Enter")
    page.get_by_text("generated and filed in the case's documents").wait_for()
    page.screenshot(path=str(shots / "03-letter-generated.png"))
    context.close()
