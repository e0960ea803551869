"""Issue 17, item 6: money that adds up.

* A letter's claim table: the Paid column sums to its Total row, later
  payments included (before: lines totalling $160 under a Total of $1,860).
* Amount at stake after a settlement is measured against the agreed amount,
  the same on the case page, the case list, the API, and after the caseload
  is benchmarked again.
* A claim denied at intake (nothing paid) and paid later through an 835: the
  contingency fee is charged on the whole later payment (baseline zero).
* Property (hypothesis): the sum of the line figures equals the totals on
  every surface that shows both (letter table, benchmark summary).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from advocate.cases import services as case_services
from advocate.cases.figures import amount_at_stake
from advocate.cases.models import Case
from advocate.extensions import db
from advocate.letters import document as doc
from advocate.letters.types import letter_type
from tenants import tenant_scope
from tests.factories import login
from tests.figures.conftest import api_headers, page_amount, stored_letter_text
from tests.letters.conftest import make_setup

D = Decimal


def _amount(text: str) -> Decimal:
    return D(text.replace("$", "").replace(",", ""))


def _later_payment(tenant_id: int, case_id: int, amount: str, *, source="settlement") -> None:
    with tenant_scope(tenant_id):
        case = db.session.get(Case, case_id)
        case.status = "negotiating"
        case_services.record_payment(
            case,
            actor_id=None,
            data={"amount": amount, "paid_on": "2026-06-01", "source": source},
            today=date(2026, 6, 2),
        )
        db.session.commit()


def test_letter_table_paid_column_sums_to_its_total_after_later_payments(db_app, browser):
    s = make_setup()  # two lines paid 64.00 + 96.00 at intake
    _later_payment(s.tenant.id, s.case_id, "1700.00")
    ltype = letter_type("reconsideration")
    with tenant_scope(s.tenant.id):
        case = db.session.get(Case, s.case_id)
        data = doc.load_cases([case.id], ltype, date(2026, 12, 7))
        ctx = doc.merge_context(
            data.cases[case.id], ltype, tenant=s.tenant, sender=doc.Sender("A"),
            today=date(2026, 12, 7), data=data,
        )  # fmt: skip
        table = doc.claim_table(data.cases[case.id], ltype, ctx, data, None)
        total_paid = case.total_paid
    paid_col = table["columns"].index("Paid")
    shown = [_amount(r[paid_col]) for r in table["rows"]]
    assert sum(shown) == _amount(table["totals"][paid_col]) == total_paid == D("1860.00")
    assert [r[1] for r in table["rows"]][-1] == "Later payments"
    # And in the PDF as sent.
    login(browser, s.advocate)
    assert browser.post(f"/letters/cases/{s.case_id}/letters", {"template": "reconsideration"})
    text = stored_letter_text(s.tenant.id, s.case_id)
    assert "Later payments" in text and "$1,700.00" in text and "$1,860.00" in text


def _row(html: str, case_id: int) -> str:
    m = re.search(rf'<tr data-case-id="{case_id}">(.*?)</tr>', html, re.S)
    assert m, "case not in the list"
    return m.group(1)


def test_amount_at_stake_after_settlement_uses_the_agreed_amount_everywhere(db_app, browser):
    from advocate.rates import benchmark

    s = make_setup()  # billed 650, paid 160, patient 40, no fee schedule: basis billed
    tid = s.tenant.id
    with tenant_scope(tid):
        case = db.session.get(Case, s.case_id)
        assert case.amount_at_stake == D("450.00")  # 650 - 160 - 40
        case.status = "negotiating"
        case_services.transition(case, "settled", actor_id=None, agreed_amount=D("300.00"))
        db.session.commit()
        assert case.amount_at_stake == D("100.00")  # 300 - 160 - 40
    with tenant_scope(tid):
        benchmark.benchmark_firm(tid)  # the caseload job keeps the rule
        db.session.commit()
        case = db.session.get(Case, s.case_id)
        assert case.amount_at_stake == D("100.00")
    login(browser, s.advocate)
    html = browser.get(f"/cases/{s.case_id}").get_data(as_text=True)
    assert page_amount(html, "at_stake") == "$100.00"
    listing = browser.get("/cases/?status=settled").get_data(as_text=True)
    assert "$100.00" in _row(listing, s.case_id)
    headers = api_headers(tid, s.advocate.membership_id)
    detail = db_app.test_client().get(f"/api/v1/cases/{s.case_id}", headers=headers).get_json()
    assert detail["amount_at_stake"] == detail["figures"]["amount_at_stake"] == "100.00"


def test_fee_on_a_claim_denied_at_intake_and_paid_later_by_835(db_app):
    from advocate.billing.models import FeeLedgerEntry
    from advocate.cases.models import Payment
    from advocate.imports import posting
    from advocate.practices.models import FeeAgreement
    from tests.imports.remit_support import build_setup
    from tests.imports.test_remittance_posting import claim, file_of

    setup = build_setup()
    tid = setup.tenant_id
    with tenant_scope(tid):
        db.session.add(
            FeeAgreement(
                practice_id=setup.practice_id, effective_date=date(2024, 1, 1), percent=D("25"),
                basis="incremental", idr_fee_bearer="firm", billing_cadence="per_settlement",
            )
        )  # fmt: skip
        db.session.commit()
    # Denied at intake: nothing paid, the denial's date recorded.
    denied = setup.case("CN-1", "PCN-1", paid=False, initial_payment_received_on="2024-05-20")
    # A case not yet adjudicated: its first 835 payment is its initial payment, as before.
    fresh = setup.case("CN-2", "PCN-2", paid=False)
    with tenant_scope(tid):
        posting.import_835(
            file_of(claim("PCN-1", "CN-1", "500"), claim("PCN-2", "CN-2", "500")),
            tenant_id=tid,
            actor_id=setup.actor_id,
            today=date(2026, 1, 15),
        )
        db.session.commit()
    with tenant_scope(tid):
        pay = db.session.scalar(select(Payment).where(Payment.case_id == denied))
        assert pay.is_initial is False
        fee = db.session.scalar(select(FeeLedgerEntry).where(FeeLedgerEntry.case_id == denied))
        assert fee.amount == D("125.00")  # 25% of the whole 500.00
        case = db.session.get(Case, denied)
        assert (case.initial_paid, case.total_paid, case.recovered) == (D("0"), D("500"), D("500"))
        first = db.session.scalar(select(Payment).where(Payment.case_id == fresh))
        assert first.is_initial is True
        assert not db.session.scalars(
            select(FeeLedgerEntry).where(
                FeeLedgerEntry.case_id == fresh, FeeLedgerEntry.amount != 0
            )
        ).all()


# --------------------------------------------------------------------------- properties

_money = st.decimals(min_value=D("0"), max_value=D("9999.99"), places=2)
_line = st.fixed_dictionaries(
    {"billed": _money, "paid": _money, "medicare": st.one_of(st.none(), _money)}
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_line, min_size=1, max_size=6), later=_money)
def test_line_figures_sum_to_the_totals_on_every_surface(lines, later):
    from advocate.rates.benchmark import summarize

    ltype = letter_type("reconsideration")
    service_lines = [
        SimpleNamespace(id=i + 1, line_no=i + 1, billed=ln["billed"], paid=ln["paid"],
                        service_date=date(2026, 3, 2), code="99213", modifier_text="")
        for i, ln in enumerate(lines)
    ]  # fmt: skip
    line_paid = sum((ln["paid"] for ln in lines), D("0"))
    case = SimpleNamespace(
        id=1, lines=service_lines, service_from=date(2026, 3, 2), total_paid=line_paid + later,
        billed_total=sum((ln["billed"] for ln in lines), D("0")), patient_resp_total=D("0"),
        allowed_total=D("0"), expected_payment=None, is_nsa_eligible=False,
    )  # fmt: skip
    rows = [
        SimpleNamespace(line_id=i + 1, medicare=ln["medicare"], fee_year=2025,
                        medicare_reason=None, expected=None, expected_basis=None, p50=None,
                        computed_at=date(2026, 12, 7), **{f"p{p}": None for p in (60, 70, 75, 80, 85, 90, 95)})
        for i, ln in enumerate(lines)
    ]  # fmt: skip
    bm = summarize(case, rows)
    data = SimpleNamespace(benchmarks={1: bm})
    ctx = {
        "lines": [
            {"line_no": str(ln.line_no), "code": ln.code, "modifiers": "", "units": "1",
             "date": "March 2, 2026", "billed": doc.money(ln.billed), "paid": doc.money(ln.paid),
             "benchmark": doc.money(doc._line_benchmark(ln, case, data))}
            for ln in service_lines
        ],
        "case": {"fee_schedule": bm.fee_label},
    }  # fmt: skip
    table = doc.claim_table(case, ltype, ctx, data, None)
    cols = table["columns"]
    for name in ("Billed", "Paid", "Benchmark"):
        if name not in cols:
            continue
        i = cols.index(name)
        cells = [r[i] for r in table["rows"] if r[i] not in ("",)]
        if "—" in cells:
            assert table["totals"][i] == "—"
            continue
        assert sum((_amount(c) for c in cells), D("0")) == _amount(table["totals"][i]), name
    assert _amount(table["totals"][cols.index("Paid")]) == case.total_paid
    priced = [ln["medicare"] for ln in lines if ln["medicare"] is not None]
    assert bm.medicare_total == (sum(priced, D("0")) if priced else None)
    assert ("Benchmark" in cols) == bool(priced)


@given(
    billed=_money, expected=st.one_of(st.none(), _money), agreed=st.one_of(st.none(), _money),
    paid=_money, resp=_money,
)  # fmt: skip
def test_amount_at_stake_rule(billed, expected, agreed, paid, resp):
    got = amount_at_stake(billed=billed, expected=expected, agreed=agreed, paid=paid, resp=resp)
    basis = agreed if agreed is not None else expected if expected is not None else billed
    assert got == max(D("0"), basis - paid - resp) and got >= 0


_db_line = st.fixed_dictionaries(
    {
        "billed": st.decimals(min_value=D("50"), max_value=D("5000"), places=2),
        "share": st.sampled_from([D("0"), D("0.2"), D("0.35"), D("0.6")]),
        "code": st.sampled_from(["99213", "20610", "27447"]),
    }
)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(lines=st.lists(_db_line, min_size=1, max_size=3), later=_money)
def test_every_surface_adds_up_for_random_cases(pfs, lines, later):
    """Random cases through the real services: the case page, the API and the
    letter's claim table show line figures that sum to the totals they show."""
    from advocate.rates.models import PfsYear  # noqa: F401  (the fee schedule is loaded)
    from tests.factories import make_firm, make_payer, make_practice

    firm = make_firm("Prop Firm")
    practice = make_practice(firm.tenant)
    payer = make_payer(firm.tenant)
    payload = []
    for ln in lines:
        paid = (ln["billed"] * ln["share"]).quantize(D("0.01"))
        payload.append({"code": ln["code"], "modifiers": [], "units": 1, "billed": str(ln["billed"]),
                        "allowed": str(paid), "paid": str(paid), "patient_resp": "0.00"})  # fmt: skip
    from tests.factories import make_case

    cid = make_case(firm.tenant, practice, payer, service_from="2025-06-02",
                    service_to="2025-06-02", place_of_service="22", lines=payload)  # fmt: skip
    if later > 0:
        _later_payment(firm.tenant.id, cid, str(later), source="check")
    ltype = letter_type("reconsideration")
    with tenant_scope(firm.tenant.id):
        case = db.session.get(Case, cid)
        data = doc.load_cases([cid], ltype, date(2026, 12, 7))
        ctx = doc.merge_context(data.cases[cid], ltype, tenant=firm.tenant, sender=doc.Sender("A"),
                                today=date(2026, 12, 7), data=data)  # fmt: skip
        table = doc.claim_table(data.cases[cid], ltype, ctx, data, None)
        from advocate.rates import benchmark

        bm = benchmark.for_case(case)
        total_paid, billed_total = case.total_paid, case.billed_total
    cols = table["columns"]
    for name in ("Billed", "Paid", "Benchmark"):
        if name in cols:
            i = cols.index(name)
            cells = [_amount(r[i]) for r in table["rows"] if r[i] not in ("", "—")]
            assert sum(cells, D("0")) == _amount(table["totals"][i]), name
    assert _amount(table["totals"][cols.index("Paid")]) == total_paid
    assert _amount(table["totals"][cols.index("Billed")]) == billed_total
    medicare = [b.medicare for _ln, b in bm.lines if b is not None and b.medicare is not None]
    assert bm.medicare_total == (sum(medicare, D("0")) if medicare else None)
    if "Benchmark" in cols:
        assert _amount(table["totals"][cols.index("Benchmark")]) == bm.medicare_total
