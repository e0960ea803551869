"""An advocate works one emergency claim's No Surprises Act track in the UI:
from the case to its NSA page, check eligibility, record the initial payment's
arrival, the open negotiation notice (its dates appear with their rules), IDR
initiation (the administrative fee from the fee table), the IDR entity, the
offers (a Medicare-based basis is refused), the determination, and the payment
due date; then back to the case. Screenshots of every step."""

from __future__ import annotations

import re

import pyotp
import pytest

from advocate.cases.models import Case
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import make_case, make_firm, make_payer, make_practice, make_user

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


def _step(page, key: str):
    return page.get_by_test_id("nsa-timeline").locator(f'tr[data-step="{key}"]')


def test_an_advocate_works_the_nsa_track_end_to_end(db_app, live_server, chromium, screenshot_dir):
    firm = make_firm("Harbor Claims Advocacy")
    practice_id = make_practice(firm.tenant, name="Lakeside Emergency Physicians")
    payer_id = make_payer(firm.tenant, name="Keystone Health Plan")
    advocate = make_user(firm.tenant, "advocate", name="Arlo Advocate")
    case_id = make_case(
        firm.tenant,
        practice_id,
        payer_id,
        actor_id=advocate.user.id,
        service_from="2026-02-27",
        service_to="2026-02-27",
        place_of_service="23",
        assignee_id=advocate.user.id,
    )
    with tenant_scope(firm.tenant.id):
        case = db.session.get(Case, case_id)
        case.status = "negotiating"
        case.initial_payment_received_on = None  # to be recorded on the NSA page
        reference = case.reference
        db.session.commit()
    shots = screenshot_dir / "nsa-flow"
    shots.mkdir(exist_ok=True)

    context = chromium.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _log_in(page, live_server, advocate)

    def shot(name: str):
        page.screenshot(path=str(shots / name), full_page=True)

    def submit(button: str):
        page.get_by_role("button", name=button, exact=True).click()
        page.wait_for_load_state()

    # 1. The case, then its NSA track.
    page.goto(f"{live_server}/cases/{case_id}")
    page.get_by_role("heading", name=reference).wait_for()
    shot("01-case.png")
    page.goto(f"{live_server}/cases/{case_id}/nsa")
    page.get_by_role("heading", name=f"{reference} · No Surprises Act").wait_for()
    assert page.get_by_test_id("eligibility-stored").inner_text() == "Unknown"
    shot("02-nsa-page.png")

    # 2. Eligibility: an emergency service under an ERISA self-funded plan.
    page.locator("#elig-service_type").select_option("emergency")
    submit("Check eligibility")
    page.get_by_text("NSA eligibility: eligible.").wait_for()
    assert page.get_by_test_id("nsa-eligibility").get_attribute("data-status") == "eligible"
    assert page.get_by_test_id("eligibility-stored").inner_text() == "Eligible"
    assert (
        "Emergency services are covered by the NSA."
        in page.get_by_test_id("eligibility-reasons").inner_text()
    )
    shot("03-eligible.png")

    # 3. The initial payment arrived: the notice deadline appears, with its rule.
    page.locator("#recv-received_on").fill("2026-03-02")
    submit("Record date received")
    page.get_by_text("Date the initial payment or denial was received recorded.").wait_for()
    notice_due = _step(page, "notice_deadline")
    assert notice_due.get_attribute("data-date") == "2026-04-10"
    assert (
        "Business day 30 of the 30-business-day period beginning on 2026-03-02"
        in notice_due.inner_text()
    )
    shot("04-received.png")

    # 4. The open negotiation notice is sent: negotiation end and the IDR window.
    page.locator("#notice-notice_sent_on").fill("2026-03-10")
    page.locator("#notice-method").select_option("portal")
    page.locator("#notice-qpa").fill("700.00")
    page.locator("#notice-offer").fill("1400.00")
    submit("Record notice sent")
    page.get_by_text("Open negotiation notice recorded.").wait_for()
    negotiation = page.get_by_test_id("nsa-negotiation").inner_text()
    assert "2026-04-20" in negotiation  # open negotiation ends
    assert "2026-04-21 to 2026-04-24 (4 business days)" in negotiation
    assert "$1,400.00 (200.0% of the QPA)" in negotiation
    assert _step(page, "negotiation_ends").get_attribute("data-date") == "2026-04-20"
    assert _step(page, "idr_window_end").get_attribute("data-date") == "2026-04-24"
    assert page.get_by_test_id("nsa-status").get_attribute("data-status") == "nsa_open_negotiation"
    assert (
        "Us" in page.get_by_test_id("nsa-offers").inner_text()
    )  # the notice's offer is in the negotiation
    shot("05-notice-sent.png")

    # 5. IDR initiated in the window: the administrative fee from the fee table.
    page.locator("#idr-initiated_on").fill("2026-04-22")
    page.locator("#idr-idr_reference").fill("DISP-2026-000417")
    submit("Record IDR initiated")
    page.get_by_text("IDR initiation recorded.").wait_for()
    idr = page.get_by_test_id("nsa-idr").inner_text()
    assert "DISP-2026-000417" in idr and "$115.00" in idr
    assert _step(page, "idre_selection_due").get_attribute("data-date") == "2026-04-27"
    assert page.get_by_test_id("nsa-status").get_attribute("data-status") == "nsa_idr"
    shot("06-idr-initiated.png")

    # 6. The certified IDR entity is selected.
    page.locator("#idre-idre_name").fill("Federal Arbitration Partners")
    page.locator("#idre-selected_on").fill("2026-04-27")
    submit("Record IDR entity")
    page.get_by_text("IDR entity selection recorded.").wait_for()
    assert _step(page, "offers_due").get_attribute("data-date") == "2026-05-11"
    assert _step(page, "determination_due").get_attribute("data-date") == "2026-06-09"
    shot("07-idre-selected.png")

    # 7. Offers: a basis citing Medicare is refused; one from the statutory factors is taken.
    page.locator("#idroffer-our_offer").fill("1300.00")
    page.locator("#idroffer-their_offer").fill("700.00")
    page.locator("#idroffer-offers_submitted_on").fill("2026-05-08")
    page.locator("#idroffer-offer_basis").fill("Our offer is 150% of Medicare for this service.")
    submit("Record offers")
    page.locator("#idroffer-offer_basis-error").wait_for()
    assert "mentions Medicare" in page.locator("#idroffer-offer_basis-error").inner_text()
    shot("08-offer-refused.png")
    page.locator("#idroffer-offer_basis").fill(
        "The emergency physician's training and the acuity of the patient's condition justify "
        "an offer above the QPA; the plan made no good-faith effort to contract."
    )
    submit("Record offers")
    page.get_by_text("IDR offers recorded.").wait_for()
    idr = page.get_by_test_id("nsa-idr").inner_text()
    assert "$1,300.00 (185.7% of the QPA)" in idr and "$700.00 (100.0% of the QPA)" in idr
    shot("09-offers.png")

    # 8. The determination: payment due 30 calendar days later.
    page.locator("#det-determined_on").fill("2026-05-20")
    page.locator("#det-prevailing_party").select_option("provider")
    submit("Record determination")
    page.get_by_text("Determination recorded.").wait_for()
    payment_due = _step(page, "payment_due")
    assert payment_due.get_attribute("data-date") == "2026-06-19"
    assert "30 calendar days after 2026-05-20" in payment_due.inner_text()
    assert "Payment due" in page.get_by_test_id("nsa-idr").inner_text()
    assert "2026-06-19" in page.get_by_test_id("nsa-idr").inner_text()
    deadlines = page.get_by_test_id("case-deadlines")
    assert deadlines.locator('tr[data-kind="payment_due"]').get_attribute("data-state") in (
        "overdue",
        "open",
        "today",
    )
    assert page.get_by_test_id("nsa-status").get_attribute("data-status") == "settled"
    shot("10-determination.png")

    # 9. The firm-wide list and calendar show it; then back to the case.
    page.goto(f"{live_server}/deadlines/?advocate=me")
    shot("11-deadline-list.png")
    page.goto(f"{live_server}/deadlines/calendar?month=2026-06")
    cell = page.locator('td[data-date="2026-06-19"]')
    assert reference in cell.inner_text()
    shot("12-calendar.png")
    page.goto(f"{live_server}/cases/{case_id}/nsa")
    page.get_by_test_id("back-to-case").click()
    page.wait_for_url(re.compile(rf"/cases/{case_id}$"))
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
