"""The menu: the firm's settings grouped on one Settings page, the page's own
item lit (a case's pages light "Cases", a scorecard "Payer scorecards"), and a
favicon so the browser asks for no /favicon.ico."""

from __future__ import annotations

import re

from tests.factories import login, make_case, make_firm, make_payer, make_practice, make_user

ACTIVE = re.compile(
    r'<a class="nav-link is-active" href="[^"]*" aria-current="page">\s*<span>([^<]+)</span>'
)
SETTINGS = (
    "Billing",
    "Stripe account",
    "Closure days",
    "State surprise-billing laws",
    "Letter templates",
    "Email outbox",
    "Deleted documents",
    "Audit log",
    "API tokens",
)


def _active(html: str) -> list[str]:
    return ACTIVE.findall(html)


def _menu(html: str) -> str:
    return html.split('<nav class="nav" aria-label="Main">', 1)[1].split("</nav>", 1)[0]


def test_each_page_lights_its_own_menu_item(db_app, make_browser):
    firm = make_firm("Harbor")
    practice_id = make_practice(firm.tenant)
    payer_id = make_payer(firm.tenant)
    case_id = make_case(firm.tenant, practice_id, payer_id)
    b = make_browser()
    login(b, firm.owner)
    expected = {
        "/": "Dashboard",
        "/cases/": "Cases",
        "/cases/mine": "My caseload",
        f"/cases/{case_id}": "Cases",
        f"/cases/{case_id}/nsa": "Cases",
        f"/payers/{payer_id}": "Payers",
        "/reports/payers": "Payer scorecards",
        f"/reports/payers/{payer_id}": "Payer scorecards",
        "/deadlines/closures": "Settings",
        "/audit/": "Settings",
        "/settings": "Settings",
    }
    for url, label in expected.items():
        r = b.get(url)
        assert r.status_code == 200, url
        assert _active(r.get_data(as_text=True)) == [label], url


def test_the_firms_settings_are_one_menu_item_and_one_page(db_app, make_browser):
    firm = make_firm("Harbor")
    b = make_browser()
    login(b, firm.owner)
    menu = _menu(b.get("/").get_data(as_text=True))
    assert ">Settings<" in menu
    for label in SETTINGS:
        assert f"<span>{label}</span>" not in menu, label
    page = b.get("/settings").get_data(as_text=True)
    for label in SETTINGS:
        assert f">{label}</a>" in page, label

    # An advocate sees only the settings an advocate may open.
    adv = make_browser("10.0.0.7")
    login(adv, make_user(firm.tenant, "advocate"))
    page = adv.get("/settings").get_data(as_text=True)
    assert ">Letter templates</a>" in page and ">API tokens</a>" in page
    for label in ("Audit log", "Stripe account", "Closure days", "Email outbox"):
        assert f">{label}</a>" not in page, label


def test_practice_users_have_no_settings(db_app, make_browser):
    firm = make_firm("Harbor")
    practice_id = make_practice(firm.tenant)
    b = make_browser()
    login(b, make_user(firm.tenant, "practice_admin", practice_id=practice_id, with_totp=False))
    assert "Settings" not in _menu(b.get("/portal/").get_data(as_text=True))
    assert b.get("/settings").status_code == 403


def test_every_page_names_a_favicon(db_app, browser):
    html = browser.get("/login").get_data(as_text=True)
    assert re.search(r'<link rel="icon" href="[^"]+"', html)
