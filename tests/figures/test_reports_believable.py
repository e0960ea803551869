"""Issue 17, item 7: reports you can believe.

* Median days to payment is measured from the date of service (as labelled)
  and is never negative, even for a case opened after its payment arrived
  (before: days from opening, -30 for such a case).
* A line paid above 400% of its Medicare amount is left out of "Paid % of
  Medicare" and counted under "check the benchmark" (before: averaged in).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from advocate.cases.models import Payment, ServiceLine
from advocate.extensions import db
from advocate.rates.models import LineBenchmark
from advocate.reports import queries as q
from advocate.reports.filters import ReportFilter
from tenants import tenant_scope
from tests.factories import make_firm, make_payer, make_practice
from tests.seeders.cases import build_case

D = Decimal


def test_median_days_from_service_never_negative_and_implausible_ratios_flagged(db_app):
    firm = make_firm("Reports Firm")
    tid = firm.tenant.id
    p, y = make_practice(firm.tenant), make_payer(firm.tenant)
    # Opened (imported) a month after the payer's recovery payment.
    late = build_case(tid, p, y, service_from=date(2026, 2, 1), status="paid",
                      opened_at=datetime(2026, 4, 1, 15, tzinfo=UTC))  # fmt: skip
    plain = build_case(tid, p, y, service_from=date(2026, 2, 1), status="paid",
                       opened_at=datetime(2026, 2, 5, 15, tzinfo=UTC))  # fmt: skip
    with tenant_scope(tid):
        for cid, on in ((late, date(2026, 3, 3)), (plain, date(2026, 3, 13))):
            db.session.add(Payment(case_id=cid, paid_on=on, amount=D("500.00"), source="check"))
        lines = {ln.case_id: ln for ln in db.session.query(ServiceLine).all()}
        for cid, paid, medicare in ((late, "150.00", "100.00"), (plain, "900.00", "100.00")):
            ln = lines[cid]
            ln.paid = D(paid)
            db.session.add(LineBenchmark(case_id=cid, line_id=ln.id, line_no=ln.line_no,
                                         medicare=D(medicare)))  # fmt: skip
        db.session.commit()
        f = ReportFilter(date(2026, 1, 1), date(2026, 6, 30), tenant_id=tid, tz="America/New_York")
        cases, median, _sca, _idr = q.paid_cohort(f)[None]
        assert cases == 2
        assert median >= 0
        assert median == D("35.0")  # 30 and 40 days from the date of service
        pm, _pp, n, flagged = q.benchmark_ratios(f)[None]
        assert (n, flagged) == (2, 1)
        assert pm == D("150.0")  # the 900% line is left out, not averaged in
