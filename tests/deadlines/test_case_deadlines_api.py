"""A case's deadlines and open negotiation notice over the API."""

from __future__ import annotations

import re

from advocate.deadlines import case_services as svc
from advocate.extensions import db
from tenants import tenant_scope
from tests.deadlines.nsa_support import TODAY, add_policy, load_case, make_shop, new_case
from tests.factories import login


def _token(make_browser, person) -> dict:
    b = make_browser("10.8.0.1")
    login(b, person)
    r = b.post("/account/tokens", {"name": "deadlines"})
    raw = re.search(r'data-testid="new-token">([^<]+)<', r.get_data(as_text=True)).group(1)
    return {"Authorization": f"Bearer {raw}"}


def test_the_api_gives_the_deadlines_with_their_rules_and_the_notice_data(db_app, make_browser):
    shop = make_shop()
    add_policy(shop, timely_filing_days=90)
    case_id = new_case(shop, service_from="2026-03-02", initial_payment_received_on="2026-03-02")
    with tenant_scope(shop.tenant_id):
        case = load_case(case_id)
        case.status = "negotiating"
        svc.record_eligibility(case, actor_id=None)
        svc.record_notice(
            case,
            actor_id=None,
            today=TODAY,
            data={"notice_sent_on": "2026-03-10", "qpa": "700.00", "offer": "1400.00"},
        )
        db.session.commit()
    headers = _token(make_browser, shop.advocate)
    client = db_app.test_client()
    r = client.get(f"/api/v1/cases/{case_id}/deadlines", headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    kinds = {d["kind"]: d for d in body["deadlines"]}
    assert kinds["timely_filing"]["due_on"] == "2026-05-31"
    assert kinds["timely_filing"]["state"] == "done"  # the claim is on file (it has a claim number)
    assert kinds["nsa_idr_window_end"]["due_on"] == "2026-04-24"
    assert "Business day 34 counted from 2026-03-10" in kinds["nsa_idr_window_end"]["rule"]
    assert body["next_deadline_on"] == "2026-04-24"

    r = client.get(f"/api/v1/cases/{case_id}/nsa/notice", headers=headers)
    notice = r.get_json()
    assert notice["qpa"] == "700.00" and notice["offer"] == "1400.00"
    assert notice["open_negotiation_period"]["ends_on"] == "2026-04-20"
    assert (
        client.get(f"/api/v1/cases/{case_id}/nsa/notice?sent_on=x", headers=headers).status_code
        == 422
    )
    assert client.get("/api/v1/cases/999999/deadlines", headers=headers).status_code == 404
