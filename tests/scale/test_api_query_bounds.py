"""Query discipline of the API's case list (measured by `make bench-web`): the
number of SQL statements does not grow with the page size. It used to commit
before serialising, so every row was reloaded with a statement of its own."""

from __future__ import annotations

import re

from sqlalchemy import event

from advocate.extensions import db
from tests.factories import login, make_firm, make_payer, make_practice, make_user
from tests.letters.conftest import bulk_cases


def _statements(client, url: str, headers: dict) -> tuple[int, dict]:
    seen = []

    def count(*_a):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        r = client.get(url, headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    return len(seen), r.get_json()


def test_api_case_list_statements_do_not_grow_with_the_page(db_app, make_browser):
    firm = make_firm("Bounded Api Firm")
    person = make_user(firm.tenant, "advocate")
    bulk_cases(firm.tenant.id, make_practice(firm.tenant), make_payer(firm.tenant), 30, lines=1)
    b = make_browser("10.9.0.1")
    login(b, person)
    r = b.post("/account/tokens", {"name": "bounds"})
    raw = re.search(r'data-testid="new-token">([^<]+)<', r.get_data(as_text=True)).group(1)
    headers = {"Authorization": f"Bearer {raw}"}
    client = db_app.test_client()
    db.session.remove()

    # A first call records the token's use (a write of its own); then count.
    _statements(client, "/api/v1/cases?limit=10", headers)
    db.session.remove()
    small, body_small = _statements(client, "/api/v1/cases?limit=10", headers)
    db.session.remove()
    large, body_large = _statements(client, "/api/v1/cases?limit=25", headers)
    assert len(body_small["items"]) == 10 and len(body_large["items"]) == 25
    assert body_large["next"] and body_large["items"][0]["practice"]["name"]
    assert large == small, (small, large)
    assert large <= 12, large
