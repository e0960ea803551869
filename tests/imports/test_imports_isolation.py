"""The tenant-isolation crawler over the import routes alone (the full crawl in
tests/foundation covers every route; this one keeps the imports' own routes
checked even while other features' routes are in progress)."""

from __future__ import annotations

from sqlalchemy import select

from advocate.extensions import db
from advocate.imports.models import HeaderAlias, ImportSettings, UnmatchedClaim
from tenants import tenant_scope
from tests.factories import login
from tests.foundation.test_route_security import _arg_values, _build, _methods, _request, _rules
from tests.isolation import seed_firm

IMPORT_API = {"api.remittances_create", "api.claims_import"}


def _mine(app):
    return [r for r in _rules(app) if r.endpoint.startswith("imports.") or r.endpoint in IMPORT_API]


def test_import_routes_are_all_covered(db_app):
    endpoints = {r.endpoint for r in _mine(db_app)}
    assert {
        "imports.index",
        "imports.remittance_upload",
        "imports.remittance_detail",
        "imports.unmatched_detail",
        "imports.mapping_delete",
        "api.remittances_create",
        "api.claims_import",
    } <= endpoints


def test_firm_b_cannot_reach_firm_a_imports(db_app, make_browser):
    a = seed_firm("Alpha", "QXALPHA7")
    b = seed_firm("Bravo", "ZZBRAVO3")
    b_browser = make_browser("10.0.0.2")
    login(b_browser, b.firm.owner)
    failures = []
    made = 0
    for rule in _mine(db_app):
        for method in _methods(rule):
            for values in _arg_values(rule, a.ids):
                url = _build(db_app, rule, values)
                r = _request(b_browser, method, url, bearer=b.raw_api_token)
                made += 1
                body = r.get_data(as_text=True)
                if values and 200 <= r.status_code < 300:
                    failures.append(f"{method} {url} -> {r.status_code} with firm A's ids")
                if a.marker in body:
                    failures.append(f"{method} {url} -> shows firm A's marker")
    assert failures == []
    assert made >= 15
    db.session.expire_all()
    with tenant_scope(a.firm.tenant.id):
        assert [u.status for u in db.session.scalars(select(UnmatchedClaim))] == ["open"]
        assert len(db.session.scalars(select(HeaderAlias)).all()) == 1
        assert db.session.scalars(select(ImportSettings)).one().co45_threshold == 25
