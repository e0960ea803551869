"""Per-token API rate limits with Retry-After."""

from __future__ import annotations

from tests.factories import api_headers, make_firm


def test_a_token_over_its_limit_gets_429_with_retry_after_and_other_tokens_do_not(db_app):
    firm = make_firm("Limit Firm")
    one, two = api_headers(firm.owner, "one"), api_headers(firm.owner, "two")
    client = db_app.test_client()
    db_app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        assert [client.get("/api/v1/me", headers=one).status_code for _ in range(3)] == [
            200,
            200,
            200,
        ]
        r = client.get("/api/v1/me", headers=one)
        assert r.status_code == 429
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        assert "too many requests" in r.get_json()["error"]
        assert client.get("/api/v1/me", headers=two).status_code == 200
    finally:
        db_app.config["API_RATE_LIMIT"] = "600 per minute"
