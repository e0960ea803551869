"""The payers API: list, create (201 / 422 with details), the policy on a date."""

from __future__ import annotations

from urllib.parse import urlsplit

from advocate.payers.models import Payer
from tests.factories import make_firm, make_user
from tests.payers.conftest import add_payer, add_policy, bearer, count


def _post(browser, headers, body):
    return browser.open("/api/v1/payers", method="POST", json=body, headers=headers)


def test_create_answers_201_with_the_id(firm, browser):
    headers = bearer(firm.owner)
    r = _post(
        browser,
        headers,
        {
            "name": "Northstar Health Plan",
            "edi_payer_id": "87726",
            "plan_types": ["erisa_self_funded", "MA"],
            "provider_phone": "800-555-0142",
            "portal_url": "provider.northstar.example",
        },
    )
    assert r.status_code == 201, r.get_json()
    data = r.get_json()
    assert isinstance(data["id"], int)
    assert data["plan_types"] == ["erisa_self_funded", "medicare_advantage"]
    assert data["provider_phone"] == "(800) 555-0142"
    assert data["portal_url"] == "https://provider.northstar.example"
    assert r.headers["Location"].endswith(f"/api/v1/payers/{data['id']}")
    got = browser.get(f"/api/v1/payers/{data['id']}", headers=headers)
    assert got.status_code == 200 and got.get_json()["name"] == "Northstar Health Plan"


def test_invalid_input_is_422_with_field_details_and_nothing_saved(firm, browser):
    headers = bearer(firm.owner)
    r = _post(
        browser,
        headers,
        {
            "name": "",
            "portal_url": "ftp://x.example",
            "claims_fax": "555",
            "plan_types": ["erisa", "commercial-ish"],
        },
    )
    assert r.status_code == 422
    body = r.get_json()
    fields = {d["field"]: d["message"] for d in body["details"]}
    assert set(fields) == {"name", "portal_url", "claims_fax", "plan_types"}
    assert "https://" in fields["portal_url"] and "not a plan type" in fields["plan_types"]
    assert body["error"] == "validation failed"
    assert count(firm, Payer) == 0

    r = _post(browser, headers, {"name": "X", "fax": "800-555-0100"})
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "fax"
    r = browser.open("/api/v1/payers", method="POST", data="not json", headers=headers)
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "body"
    add_payer(firm, name="Northstar")
    r = _post(browser, headers, {"name": "NORTHSTAR"})
    assert r.status_code == 422 and r.get_json()["details"][0]["field"] == "name"
    assert count(firm, Payer) == 1


def test_only_managers_create_and_staff_list(firm, browser):
    advocate = make_user(firm.tenant, "advocate")
    headers = bearer(advocate)
    assert _post(browser, headers, {"name": "X"}).status_code == 403
    add_payer(firm, name="Alpha")
    add_payer(firm, name="Beta", edi_payer_id="B2", plan_types=["medicaid_managed_care"])
    r = browser.get("/api/v1/payers?limit=1", headers=headers)
    assert r.status_code == 200
    data = r.get_json()
    assert [p["name"] for p in data["items"]] == ["Alpha"] and data["next"]
    nxt = urlsplit(data["next"])
    data = browser.get(f"{nxt.path}?{nxt.query}", headers=headers).get_json()
    assert ([p["name"] for p in data["items"]], data["next"]) == (["Beta"], None)
    r = browser.get("/api/v1/payers?q=b2", headers=headers)
    assert [p["name"] for p in r.get_json()["items"]] == ["Beta"]
    r = browser.get("/api/v1/payers?plan_type=medicaid_managed_care", headers=headers)
    assert [p["name"] for p in r.get_json()["items"]] == ["Beta"]
    r = browser.get("/api/v1/payers?plan_type=nope", headers=headers)
    assert r.status_code == 422 and {d["field"] for d in r.get_json()["details"]} == {"plan_type"}
    r = browser.get("/api/v1/payers?limit=0", headers=headers)
    assert r.status_code == 422 and {d["field"] for d in r.get_json()["details"]} == {"limit"}


def test_policy_lookup_by_plan_type_and_date(firm, browser):
    headers = bearer(firm.owner)
    pid = add_payer(firm)
    v1 = add_policy(firm, pid, effective_date="2024-01-01", pricing_percent="140")
    v2 = add_policy(
        firm,
        pid,
        effective_date="2025-07-01",
        pricing_percent="125",
        appeal_levels=[
            {"name": "Level 1 appeal", "window_days": 180, "submit_to_fax": "8005550144"},
            {"name": "External review", "window_days": 120},
        ],
    )
    r = browser.get(
        f"/api/v1/payers/{pid}/policy?plan_type=erisa_self_funded&on=2025-06-30", headers=headers
    )
    assert r.status_code == 200
    assert r.get_json()["policy"]["id"] == v1
    r = browser.get(
        f"/api/v1/payers/{pid}/policy?plan_type=erisa_self_funded&on=2025-07-01", headers=headers
    )
    policy = r.get_json()["policy"]
    assert policy["id"] == v2
    assert policy["pricing"] == {
        "method": "medicare_percent",
        "percent": "125.00",
        "commercial_percentile": None,
        "benchmark_name": None,
        "summary": "125% of Medicare",
    }
    assert policy["timely_filing_days"] == 90
    assert [
        (a["level"], a["name"], a["window_days"], a["submit_to_fax"])
        for a in policy["appeal_levels"]
    ] == [(1, "Level 1 appeal", 180, "(800) 555-0144"), (2, "External review", 120, None)]
    r = browser.get(
        f"/api/v1/payers/{pid}/policy?plan_type=erisa_self_funded&on=2023-01-01", headers=headers
    )
    assert r.status_code == 200 and r.get_json() == {
        "payer_id": pid,
        "plan_type": "erisa_self_funded",
        "on": "2023-01-01",
        "policy": None,
    }
    # Without `on`: today at the firm.
    r = browser.get(f"/api/v1/payers/{pid}/policy?plan_type=erisa_self_funded", headers=headers)
    assert r.get_json()["policy"]["id"] == v2


def test_policy_lookup_validates_its_parameters(firm, browser):
    headers = bearer(firm.owner)
    pid = add_payer(firm)
    r = browser.get(f"/api/v1/payers/{pid}/policy", headers=headers)
    assert r.status_code == 422 and [d["field"] for d in r.get_json()["details"]] == ["plan_type"]
    r = browser.get(f"/api/v1/payers/{pid}/policy?plan_type=hmo&on=2025-13-01", headers=headers)
    assert r.status_code == 422 and [d["field"] for d in r.get_json()["details"]] == [
        "plan_type",
        "on",
    ]
    r = browser.get(
        f"/api/v1/payers/{pid}/policy?plan_type=fully_insured&on=20250101", headers=headers
    )
    assert r.status_code == 422 and [d["field"] for d in r.get_json()["details"]] == ["on"]


def test_another_firms_payer_is_404(firm, browser):
    other = make_firm("Other")
    pid = add_payer(other, name="Their payer")
    add_policy(other, pid)
    headers = bearer(firm.owner)
    r = browser.get(
        f"/api/v1/payers/{pid}/policy?plan_type=erisa_self_funded&on=2025-01-01", headers=headers
    )
    assert r.status_code == 404 and r.get_json()["error"] == "not found"
    assert browser.get(f"/api/v1/payers/{pid}", headers=headers).status_code == 404
    assert browser.get("/api/v1/payers", headers=headers).get_json()["items"] == []


def test_no_token_is_401(firm, browser):
    assert browser.get("/api/v1/payers").status_code == 401
