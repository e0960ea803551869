"""An advocate takes one claim from intake to paid through the case pages:
open the case, gather evidence, get ready, negotiate, log a call, record the
payer's offer, accept it (settled), record the payment, mark it paid and
close it as won; every step shows on the timeline."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest

from advocate.db import utcnow
from tests.factories import make_firm, make_payer, make_practice, make_user

pytestmark = pytest.mark.browser


def _log_in(page, base, person):
    page.goto(f"{base}/login")
    page.locator("#email").fill(person.user.email)
    page.locator("#password").fill(person.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/login/two-factor$"))
    page.locator("#code").fill(pyotp.TOTP(person.totp_secret).now())
    page.get_by_role("button", name="Verify").click()
    page.get_by_role("heading", name="Dashboard").wait_for()


def _timeline(page) -> str:
    return page.get_by_test_id("timeline").inner_text()


def test_an_advocate_takes_a_claim_from_intake_to_paid(
    db_app, live_server, chromium, screenshot_dir
):
    firm = make_firm("Harbor Claims Advocacy")
    practice_id = make_practice(firm.tenant, name="Lakeside Orthopedics")
    payer_id = make_payer(firm.tenant, name="Keystone Health Plan")
    advocate = make_user(firm.tenant, "advocate", name="Arlo Advocate")
    dos = (utcnow().date() - timedelta(days=45)).isoformat()
    shots = screenshot_dir / "case-flow"
    shots.mkdir(exist_ok=True)

    context = chromium.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: d.accept())  # data-confirm on accepting an offer
    _log_in(page, live_server, advocate)

    # 1. Intake.
    page.goto(f"{live_server}/cases/new")
    page.locator("#practice_id").select_option(str(practice_id))
    page.locator("#payer_id").select_option(str(payer_id))
    page.locator("#plan_type").select_option("erisa_self_funded")
    page.locator("#payer_claim_number").fill("KHP-2026-000417")
    page.locator("#patient_control_number").fill("LO-88213")
    page.locator("#service_from").fill(dos)
    page.locator("#place_of_service").select_option("22")
    page.locator("#patient_first_name").fill("Jane")
    page.locator("#patient_last_name").fill("Doe")
    page.locator("#patient_dob").fill("1980-04-02")
    page.locator("#member_id").fill("W123456789")
    for field, value in {
        "code": "27447",
        "modifiers": "RT",
        "units": "1",
        "billed": "12000.00",
        "allowed": "3000.00",
        "paid": "2400.00",
        "patient_resp": "600.00",
        "adjustments": "CO-45 9000.00",
        "remark_codes": "N381",
    }.items():
        page.locator(f"#lines-0-{field}").fill(value)
    # More line rows come from the server, keeping what was typed.
    page.get_by_role("button", name="More lines").click()
    page.locator("#lines-8-code").wait_for()
    assert page.locator("#lines-0-code").input_value() == "27447"
    page.locator("#lines-1-code").fill("99223")
    page.locator("#lines-1-billed").fill("800.00")
    page.locator("#lines-1-paid").fill("160.00")
    page.screenshot(path=str(shots / "01-intake-form.png"), full_page=True)
    page.get_by_role("button", name="Open case").click()
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    page.get_by_text("opened.").first.wait_for()
    assert "Case opened (2 lines)" in _timeline(page)
    assert page.get_by_test_id("case-status").get_attribute("data-status") == "intake"
    page.screenshot(path=str(shots / "02-case-opened.png"), full_page=True)

    def move(button: str, status: str, summary: str, shot: str):
        page.get_by_test_id("next-steps").get_by_role("button", name=button, exact=True).click()
        page.wait_for_load_state()
        page.get_by_test_id("timeline").get_by_text(summary).first.wait_for()
        assert page.get_by_test_id("case-status").get_attribute("data-status") == status
        assert "Arlo Advocate" in page.get_by_test_id("timeline").locator("li").first.inner_text()
        page.screenshot(path=str(shots / shot), full_page=True)

    # 2-4. Through the workflow, one allowed step at a time.
    move("Gather evidence", "gathering_evidence", "Intake → Gathering evidence", "03-gathering.png")
    move(
        "Ready to negotiate",
        "ready_to_negotiate",
        "Gathering evidence → Ready to negotiate",
        "04-ready.png",
    )
    move(
        "Start negotiating", "negotiating", "Ready to negotiate → Negotiating", "05-negotiating.png"
    )

    # 5. Log a call with a follow-up.
    follow_up = (utcnow().date() + timedelta(days=7)).isoformat()
    page.locator("#communications summary", has_text="Log a communication").click()
    page.locator("#comm-kind").select_option("call")
    page.locator("#comm-contact_name").fill("Dana, provider relations")
    page.locator("#comm-reference_number").fill("CALL-5521")
    page.locator("#comm-summary").fill(
        "Asked for reprocessing at 80% of billed; rep will take an offer to her lead."
    )
    page.locator("#comm-follow_up_on").fill(follow_up)
    page.get_by_role("button", name="Log it").click()
    page.get_by_test_id("timeline").get_by_text("Outbound call: Asked for reprocessing").wait_for()
    assert page.get_by_test_id("next-follow-up").inner_text() == follow_up
    page.screenshot(path=str(shots / "06-call-logged.png"), full_page=True)

    # 6. The payer's offer.
    page.locator("#negotiation summary", has_text="Record an offer").click()
    page.locator("#offer-party").select_option("payer")
    page.locator("#offer-amount").fill("4200.00")
    page.locator("#offer-basis").fill("175% of Medicare")
    page.get_by_role("button", name="Save offer").click()
    page.get_by_test_id("timeline").get_by_text(
        "Payer offered 4,200.00 (175% of Medicare)"
    ).wait_for()
    page.screenshot(path=str(shots / "07-payer-offer.png"), full_page=True)

    # 7. Accept it: settled at the agreed amount.
    page.get_by_test_id("offers").get_by_role("button", name=re.compile("Accept")).click()
    page.get_by_test_id("timeline").get_by_text(
        "Negotiating → Settled (awaiting payment)"
    ).wait_for()
    assert page.get_by_test_id("case-status").get_attribute("data-status") == "settled"
    assert "Agreed $4,200.00" in page.get_by_test_id("case-amounts").inner_text()
    page.screenshot(path=str(shots / "08-settled.png"), full_page=True)

    # 8. The settlement payment arrives.
    page.locator("#payments summary", has_text="Record a payment").click()
    page.locator("#pay-amount").fill("1640.00")
    page.locator("#pay-source").select_option("settlement")
    page.locator("#pay-reference").fill("EFT-0091827")
    page.get_by_role("button", name="Add to ledger").click()
    page.get_by_test_id("timeline").get_by_text(
        "Payment 1,640.00 (settlement, EFT-0091827)"
    ).wait_for()
    assert page.get_by_test_id("recovered").inner_text() == "$1,640.00"
    assert page.get_by_test_id("total-paid").inner_text() == "$4,200.00"
    page.screenshot(path=str(shots / "09-payment.png"), full_page=True)

    # 9-10. Paid, then closed as won.
    move("Mark paid", "paid", "Settled (awaiting payment) → Paid", "10-paid.png")
    move("Close as won", "closed_won", "Paid → Closed – won", "11-closed-won.png")

    timeline = _timeline(page)
    for step in (
        "Case opened",
        "Intake → Gathering evidence",
        "Gathering evidence → Ready to negotiate",
        "Ready to negotiate → Negotiating",
        "Outbound call",
        "Payer offered 4,200.00",
        "Negotiating → Settled (awaiting payment)",
        "Payment 1,640.00",
        "Settled (awaiting payment) → Paid",
        "Paid → Closed – won",
    ):
        assert step in timeline, step
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


def test_the_agreement_form_shows_the_rate_fields_that_apply(
    db_app, live_server, chromium, screenshot_dir
):
    firm = make_firm("Harbor Claims Advocacy")
    make_practice(firm.tenant, name="Lakeside Orthopedics")
    make_payer(firm.tenant, name="Keystone Health Plan")
    advocate = make_user(firm.tenant, "advocate", name="Arlo Advocate")
    context = chromium.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    _log_in(page, live_server, advocate)
    page.goto(f"{live_server}/cases/scas/new")
    assert page.locator("#rate_type").input_value() == "medicare_percent"
    assert (
        page.locator("#rate_percent").is_visible() and not page.locator("#fixed_rates").is_visible()
    )
    page.locator("#rate_type").select_option("fixed")
    assert (
        page.locator("#fixed_rates").is_visible() and not page.locator("#rate_percent").is_visible()
    )
    shots = screenshot_dir / "case-flow"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "12-sca-form-fixed.png"), full_page=True)
    context.close()
