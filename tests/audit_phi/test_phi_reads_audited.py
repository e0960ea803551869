"""The PHI-read check: every page and API read that shows patient data writes
an audit row marked PHI. It walks the URL map, so a new case page is checked
the day it is added; a route that shows no PHI must be listed below with why."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from advocate.audit.models import AuditEvent
from advocate.extensions import db
from tenants import tenant_scope
from tests.factories import login
from tests.isolation import seed_firm

# Endpoints under the PHI prefixes that show no patient data, and why.
NO_PHI = {
    "cases.board": "counts and case references only, no patient names",
    "cases.sca_new": "an empty form",
    "cases.new": "an empty intake form",
    "nsa.deadline_list": "case references, payers and dates; no patient data",
    "nsa.deadline_calendar": "case references and dates; no patient data",
}
PHI_PREFIXES = ("cases.", "api.cases_", "nsa.")


def _phi_get_rules(app):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.endpoint.startswith(PHI_PREFIXES):
            continue
        if rule.endpoint in NO_PHI:
            continue
        yield rule


def _phi_rows(tenant_id) -> int:
    with tenant_scope(tenant_id):
        return db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.is_phi.is_(True))
        )


def test_every_phi_read_is_audited(db_app, make_browser):
    a = seed_firm("Alpha", "QXPHI01")
    browser = make_browser("10.3.0.1")
    login(browser, a.firm.owner)
    r = browser.post("/account/tokens", {"name": "phi check"})
    token = re.search(r'data-testid="new-token">([^<]+)<', r.get_data(as_text=True)).group(1)
    adapter = db_app.url_map.bind("localhost")
    checked, missing = [], []
    for rule in _phi_get_rules(db_app):
        values = {}
        for arg in rule.arguments:
            assert isinstance(rule._converters[arg], IntegerConverter), (
                f"{rule.rule}: unexpected <{arg}>"
            )
            values[arg] = a.ids[arg][0]
        url = adapter.build(rule.endpoint, values, method="GET")
        before = _phi_rows(a.firm.tenant.id)
        headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
        resp = browser.get(url, headers=headers)
        resp.get_data()  # read streamed bodies (CSV export) to the end, as a browser would
        resp.close()
        assert resp.status_code == 200, (url, resp.status_code)
        checked.append(url)
        if _phi_rows(a.firm.tenant.id) <= before:
            missing.append(url)
    assert missing == [], f"PHI shown without a PHI audit row: {missing}"
    assert len(checked) >= 4, checked
