"""Issue 17, item 5: one negotiation suggestion.

Before: with no target set, the negotiation panel suggested the midpoint of
the payer's offer and the billed charges while the benchmark panel's "Ask"
said something else on the same page. Now the firm's target and floor default
to the benchmark's ask and floor, the suggestion is computed from them, and
the ask's reasoning is shown once (with the benchmarks).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from advocate.cases import services as case_services
from advocate.cases.models import Case
from advocate.extensions import db
from advocate.rates import benchmark
from tenants import tenant_scope
from tests.factories import login
from tests.figures.conftest import page_amount
from tests.letters.conftest import make_setup

D = Decimal


def _suggested(html: str) -> str:
    block = html.split('data-testid="suggestion"', 1)[1].split("</div>", 1)[0]
    return re.search(r"\$[\d,]+\.\d\d", block).group(0)


def test_the_suggestion_starts_from_the_benchmarks_ask_and_floor(pfs, browser):
    s = make_setup()  # 2026 services priced at the labelled CY2025 rates
    tid = s.tenant.id
    with tenant_scope(tid):
        case = db.session.get(Case, s.case_id)
        case.status = "negotiating"
        bm = benchmark.for_case(case)
        assert bm.ask is not None and bm.floor is not None
        ask = bm.ask
        db.session.commit()
    login(browser, s.advocate)
    html = browser.get(f"/cases/{s.case_id}").get_data(as_text=True)
    assert page_amount(html, "ask") == f"${ask:,.2f}"
    assert _suggested(html) == f"${ask:,.2f}"  # no payer offer yet: open with the ask
    assert "the suggested ask" in html
    assert html.count(bm.ask_reason) == 1  # the reasoning once, with the benchmarks

    with tenant_scope(tid):
        case = db.session.get(Case, s.case_id)
        offer = (bm.floor / 2).quantize(D("0.01"))
        case_services.add_offer(
            case, actor_id=None,
            data={"party": "payer", "amount": str(offer), "offered_on": date(2026, 6, 1).isoformat()},
        )  # fmt: skip
        db.session.commit()
    html = browser.get(f"/cases/{s.case_id}").get_data(as_text=True)
    mid = ((offer + ask) / 2).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    expected = max(mid, bm.floor)
    assert _suggested(html) == f"${expected:,.2f}"
    # The firm's own target wins over the benchmark's ask.
    with tenant_scope(tid):
        case = db.session.get(Case, s.case_id)
        case.target_amount = D("900.00")
        got = case_services.suggest_counter(case, last_payer_offer=offer)
        assert got.target == D("900.00") and got.target_source == "target"
