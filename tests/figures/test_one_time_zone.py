"""Issue 17, item 8: one time zone per page, the firm's, labelled.

Before: the case page's documents panel showed a letter filed at "21:12"
(UTC) beside its timeline entry at "16:12" (New York).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import time_machine

from advocate.extensions import db
from tests.factories import login
from tests.letters.conftest import make_setup


def test_documents_and_timeline_show_the_same_firm_time(db_app, browser):
    s = make_setup()
    s.tenant.timezone = "America/New_York"
    db.session.commit()
    with time_machine.travel(datetime(2026, 1, 15, 21, 12, tzinfo=UTC), tick=True):
        login(browser, s.advocate)
        assert (
            browser.post(
                f"/letters/cases/{s.case_id}/letters", {"template": "records_cover"}
            ).status_code
            == 302
        )
        html = browser.get(f"/cases/{s.case_id}").get_data(as_text=True)
    docs = html.split('data-testid="documents', 1)[1].split("</table>", 1)[0]
    assert "2026-01-15 16:12 EST" in docs
    timeline = html.split('id="timeline"', 1)[1] if 'id="timeline"' in html else html
    assert "2026-01-15 16:12 EST" in timeline
    visible = re.sub(r"<[^>]+>", " ", html)  # <time datetime="...Z"> stays machine-readable UTC
    assert "21:12" not in visible
