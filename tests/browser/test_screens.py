"""Every page every role may see, at a desktop (1280x800) and a phone
(390x844) width: nothing scrolls the page sideways, no table is clipped by
its container (at the desktop width no table even needs its own scroll
container), and axe-core finds no serious or critical accessibility
violation. The pages are the URL map's GET routes, filled with the isolation
crawler's seed data, so a new page is covered the day it is added. A
screenshot of each page at each width goes to artifacts/screenshots/screens/.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter

import pyotp
import pytest
from werkzeug.routing import IntegerConverter

from advocate.auth.access import PENDING, PUBLIC
from tests.factories import make_case
from tests.isolation import TOKEN_ARGS, seed_firm

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ROLES = ("owner", "admin", "advocate", "viewer", "practice_admin", "practice_user")
# Machine endpoints (JSON, webhooks) and the log-out, which would end the walk.
SKIP_PREFIXES = ("/api/", "/stripe/", "/static/")
SKIP_ENDPOINTS = {"auth.logout"}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# What the layout check measures, in the page: the page's own horizontal
# overflow; every table whose nearest scroll container (or the table's own
# box, when it has none) is narrower than the table; every cell that hides
# its overflow and has more than it shows.
LAYOUT_JS = """
() => {
  const doc = document.documentElement;
  const out = {pageOverflow: doc.scrollWidth - window.innerWidth, clipped: [], scrolled: [], wide: []};
  const sidebar = document.querySelector('.sidebar');
  out.menuHidden = sidebar && getComputedStyle(sidebar).position === 'sticky'
    ? sidebar.scrollHeight - sidebar.clientHeight : 0;
  if (out.pageOverflow > 0) {
    // The outermost elements sticking out: the ones to fix.
    const contained = (el) => {
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== 'visible') return true;
      }
      return false;
    };
    for (const el of document.body.querySelectorAll('*')) {
      if (contained(el)) continue;
      const r = el.getBoundingClientRect();
      const p = el.parentElement.getBoundingClientRect();
      if (r.width && r.right > window.innerWidth + 1 && p.right <= window.innerWidth + 1) {
        out.wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + String(el.className).split(' ').join('.'));
        if (out.wide.length >= 3) break;
      }
    }
    if (!out.wide.length) {
      // Nothing in the flow: the widest boxes anywhere say where to look.
      const all = [...document.body.querySelectorAll('*')]
        .map((el) => [el.getBoundingClientRect().right, el])
        .filter(([right]) => Math.abs(right - doc.scrollWidth) < 3);
      for (const [right, el] of all.slice(0, 4)) {
        out.wide.push(el.tagName.toLowerCase() + '.' + String(el.className).split(' ').join('.') + ' right=' + Math.round(right));
      }
    }
  }
  const name = (el) => {
    const t = el.closest('[id]');
    const head = el.querySelector('caption, thead th, th');
    return (t ? '#' + t.id + ' ' : '') + (head ? head.textContent.trim().slice(0, 40) : el.className);
  };
  for (const table of document.querySelectorAll('table')) {
    if (!table.checkVisibility()) continue;  // hidden (closed <details>, inactive tab)
    let el = table.parentElement;
    let scroller = null;
    while (el && el !== document.body) {
      const ox = getComputedStyle(el).overflowX;
      if (ox === 'auto' || ox === 'scroll') { scroller = el; break; }
      if (el.scrollWidth > el.clientWidth + 1 && ox !== 'visible') {
        out.clipped.push(name(table) + ' (clipped by ' + el.tagName.toLowerCase() + '.' + el.className + ')');
        break;
      }
      el = el.parentElement;
    }
    if (scroller && scroller.scrollWidth > scroller.clientWidth + 1) out.scrolled.push(name(table));
    if (!scroller && table.getBoundingClientRect().right > doc.clientWidth + 1) {
      out.clipped.push(name(table) + ' (wider than the page)');
    }
    for (const cell of table.querySelectorAll('th, td')) {
      const ox = getComputedStyle(cell).overflowX;
      if (ox !== 'visible' && cell.scrollWidth > cell.clientWidth + 1) {
        out.clipped.push(name(table) + ' cell "' + cell.textContent.trim().slice(0, 30) + '"');
      }
    }
  }
  return out;
}
"""


def _get_rules(app, allowed_for):
    rules = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if (
            "GET" not in rule.methods
            or rule.endpoint in SKIP_ENDPOINTS
            or rule.rule.startswith(SKIP_PREFIXES)
        ):
            continue
        if rule.endpoint == "static":
            continue
        access = getattr(app.view_functions[rule.endpoint], "_access", None)
        if allowed_for(access):
            rules.append(rule)
    return rules


def _urls(app, rule, ids) -> list[str]:
    """The page's URL with the seed's ids: the first of each, then the next
    ones (a practice person sees only their own practice's case, not the
    first case the seeders made)."""
    choices = []
    for arg in sorted(rule.arguments):
        if isinstance(rule._converters[arg], IntegerConverter):
            choices.append([(arg, v) for v in ids[arg]])
        elif arg in TOKEN_ARGS:
            choices.append([(arg, "not-a-real-token-0123456789abcdef")])
        else:
            raise AssertionError(f"route {rule.rule}: teach the screens test about <{arg}>")
    adapter = app.url_map.bind("localhost")
    depth = max((len(c) for c in choices), default=1)
    return [
        adapter.build(rule.endpoint, dict(c[min(i, len(c) - 1)] for c in choices), method="GET")
        for i in range(depth)
    ]


def _log_in(page, base, person):
    page.goto(f"{base}/login")
    page.locator("#email").fill(person.user.email)
    page.locator("#password").fill(person.password)
    page.get_by_role("button", name="Log in").click()
    if person.totp_secret:
        page.wait_for_url(re.compile(r"/login/two-factor$"))
        page.locator("#code").fill(pyotp.TOTP(person.totp_secret).now())
        page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/(portal.*)?$"))


def _axe_problems(axe, page) -> list[str]:
    result = axe.run(
        page, options={"resultTypes": ["violations"], "runOnly": {"type": "tag", "values": WCAG}}
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        for v in result.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_every_page_fits_both_widths_and_passes_axe(db_app, live_server, chromium, screenshot_dir):
    from axe_playwright_python.sync_playwright import Axe

    # Stylesheets and scripts from the browser's cache, not revalidated per page.
    db_app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    seeded = seed_firm("Alpha", "QXALPHA7")
    people = {"owner": seeded.firm.owner, **seeded.firm.people}
    # A case of the practice people's own practice, so their case pages show
    # a case (the seeders' cases belong to other practices of the firm).
    seeded.add(
        "case_id", make_case(seeded.firm.tenant, seeded.practice_id, seeded.ids["payer_id"][0])
    )
    shots = screenshot_dir / "screens"
    shots.mkdir(exist_ok=True)
    axe = Axe()
    axed: set[str] = set()
    failures: list[str] = []
    visited = 0
    spent: Counter = Counter()

    def check(page, who: str, endpoint: str, url: str) -> None:
        nonlocal visited
        visited += 1
        stem = f"{who}--{endpoint}".replace(".", "-")
        for label, size in (("1280", DESKTOP), ("390", PHONE)):
            t0 = time.monotonic()
            page.set_viewport_size(size)
            found = page.evaluate(LAYOUT_JS)
            spent["layout"] += time.monotonic() - t0
            where = f"{who} {url} at {label}"
            if found["pageOverflow"] > 0:
                failures.append(
                    f"{where}: the page scrolls sideways by {found['pageOverflow']}px ({', '.join(found['wide'])})"
                )
            for table in found["clipped"]:
                failures.append(f"{where}: table clipped: {table}")
            if size is DESKTOP:
                if found["menuHidden"] > 1:
                    failures.append(
                        f"{where}: {found['menuHidden']}px of the menu is below the fold"
                    )
                for table in found["scrolled"]:
                    failures.append(f"{where}: table needs a sideways scroll: {table}")
            t0 = time.monotonic()
            # The whole page the first time an endpoint is seen; what a role
            # sees first (the viewport) after that, which is much cheaper.
            page.screenshot(
                path=str(shots / f"{stem}--{label}.png"), full_page=endpoint not in axed
            )
            spent["screenshot"] += time.monotonic() - t0
        page.set_viewport_size(DESKTOP)
        if endpoint not in axed:
            axed.add(endpoint)
            t0 = time.monotonic()
            failures.extend(f"{who} {url}: {p}" for p in _axe_problems(axe, page))
            spent["axe"] += time.monotonic() - t0

    def walk(page, who: str, rules) -> None:
        only = re.compile(os.environ.get("SCREENS_PATHS", ""))
        for rule in rules:
            urls = _urls(db_app, rule, seeded.ids)
            if not only.search(urls[0]):
                continue
            for url in urls:
                t0 = time.monotonic()
                try:
                    response = page.goto(live_server + url)
                    spent["goto"] += time.monotonic() - t0
                except Exception as e:  # a download (CSV, PDF, XLSX) is not a page
                    if "Download is starting" in str(e) or "ERR_ABORTED" in str(e):
                        response = None
                        break
                    raise
                if response.status != 404 or url == urls[-1]:
                    break
            if response is None or "text/html" not in (response.headers.get("content-type") or ""):
                continue
            check(page, who, rule.endpoint, url)

    # Anonymous visitors: the public pages.
    context = chromium.new_context(viewport=DESKTOP, reduced_motion="reduce")
    context.set_default_timeout(20_000)
    page = context.new_page()
    walk(page, "public", _get_rules(db_app, lambda access: access == PUBLIC))
    context.close()

    for role in os.environ.get("SCREENS_ROLES", ",".join(ROLES)).split(","):
        person = people[role]
        context = chromium.new_context(viewport=DESKTOP, reduced_motion="reduce")
        context.set_default_timeout(20_000)
        page = context.new_page()
        _log_in(page, live_server, person)
        rules = _get_rules(
            db_app, lambda access, r=role: access not in (None, PUBLIC, PENDING) and r in access
        )
        walk(page, role, rules)
        context.close()

    print(f"visited {visited} pages; seconds spent: {dict(spent)}")
    (screenshot_dir / "screens-failures.txt").write_text("\n".join(failures))
    if not os.environ.get("SCREENS_PATHS"):
        assert visited > 100
    assert failures == [], "\n".join(failures)
