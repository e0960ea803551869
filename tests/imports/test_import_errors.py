"""Errors a person can use: at most 200 located problems with the total and the
count of each kind (API and page), a clear 413 page for a file over the limit."""

from __future__ import annotations

import io
import re

from advocate.imports.era_fixtures import generate_835
from advocate.imports.models import Remittance
from tests.factories import login
from tests.imports.remit_support import Setup
from tests.imports.test_remittance_api_cli import post_file

N_CLAIMS = 300


def _broken_file() -> tuple[bytes, int]:
    """A generated file with every CLP04 made unreadable; how many were broken."""
    text = generate_835(N_CLAIMS, seed=5)
    broken = 0
    out = []
    for seg in text.split("~"):
        body = seg.lstrip("\r\n")
        if body.startswith("CLP*"):
            parts = body.split("*")
            parts[4] = parts[4] + "X"
            seg = seg[: len(seg) - len(body)] + "*".join(parts)
            broken += 1
        out.append(seg)
    return "~".join(out).encode(), broken


def test_the_api_answers_at_most_200_details_with_the_total_and_counts_by_kind(
    setup: Setup, browser
):
    data, broken = _broken_file()
    assert broken == N_CLAIMS
    r = post_file(browser, setup.token(), data)
    assert r.status_code == 422
    body = r.get_json()
    assert body["total"] == broken and body["shown"] == 200 and len(body["details"]) == 200
    assert body["by_kind"] == [{"kind": "CLP04: … is not an amount", "count": broken}]
    assert f"{broken} error(s)" in body["error"]
    assert len(r.get_data()) < 100_000
    assert setup.count(Remittance) == 0


def test_the_error_page_lists_200_and_counts_the_kinds(setup: Setup, browser):
    login(browser, setup.advocate)
    data, broken = _broken_file()
    r = browser.post(
        "/imports/remittances/upload",
        {"file": (io.BytesIO(data), "broken.835")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f"{broken} error(s): nothing was imported" in html
    assert "(the first 200 are listed below)" in html
    kinds = re.search(r'data-testid="error-kinds">(.*?)</ul>', html, re.S).group(1)
    assert f"<strong>{broken}</strong>" in kinds and "is not an amount" in kinds
    table = re.search(r'data-testid="import-errors">(.*?)</table>', html, re.S).group(1)
    assert table.count("<tr>") == 1 + 200  # header row and 200 problems


def test_a_file_over_the_limit_gets_the_413_page(setup: Setup, browser):
    login(browser, setup.advocate)
    browser.app.config["MAX_CONTENT_LENGTH"] = 4096
    try:
        r = browser.post(
            "/imports/remittances/upload",
            {"file": (io.BytesIO(b"ISA" + b"*" * 10_000), "huge.835")},
            content_type="multipart/form-data",
        )
    finally:
        browser.app.config["MAX_CONTENT_LENGTH"] = 25 * 1024 * 1024
    assert r.status_code == 413
    html = r.get_data(as_text=True)
    assert 'data-testid="too-large"' in html and "nothing was read or saved" in html
    assert setup.count(Remittance) == 0
