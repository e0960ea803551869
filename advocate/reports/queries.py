"""The reports' SQL: every figure is a GROUP BY in the database, one statement
per kind of figure whatever the number of payers, practices, advocates or
months. Each function takes the shared `ReportFilter` and the keys to group
by, and returns `{key: row}` (key: a value, a tuple for several keys, or None
for a single total row).

Group keys: "payer", "practice", "assignee", "status", "month" (the month of
the figure's own date: a payment's date, the day a case was opened or
closed, an appeal's decision). Months are the firm's calendar months on
PostgreSQL; SQLite (tests, development) has no time zones and uses UTC for
timestamps.

Which date the range applies to, per figure:
  recoveries       payments after the initial one (recoupments count
                   negative), by payment date
  opened           cases by the day they were opened
  closed           closed cases by the day they were closed; won = closed
                   won or partly won, lost = closed lost (withdrawn cases
                   are counted apart and left out of the win rate)
  paid cohort      cases whose first recovery payment falls in the range:
                   median days from the date of service to that payment, share settled
                   under a single case agreement or through federal IDR
  appeals          appeals decided in the range (a pending or withdrawn
                   appeal is not decided); won = overturned or partly
  open, overdue    today's open cases, deadlines and follow-ups (no range)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Date, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

from advocate.cases import workflow
from advocate.cases.models import Appeal, Case, Communication, Payment
from advocate.deadlines.case_models import MILESTONES, CaseDeadline, NsaDispute
from advocate.extensions import db
from advocate.reports import sources
from advocate.reports.filters import ReportFilter

WON = (workflow.CLOSED_WON, workflow.CLOSED_PARTIAL)
LOST = (workflow.CLOSED_LOST,)
DECIDED_APPEAL = ("upheld", "overturned", "partially_overturned")
WON_APPEAL = ("overturned", "partially_overturned")
AT_RISK_DAYS = 7  # "this week": today and the six days after it

CENT = Decimal("0.01")
TENTH = Decimal("0.1")


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def month_of_date(col):
    if _dialect() == "postgresql":
        return func.to_char(col, "YYYY-MM")
    return func.strftime("%Y-%m", col)


def month_of_timestamp(col, tz: str):
    if _dialect() == "postgresql":
        return func.to_char(func.timezone(tz, col), "YYYY-MM")
    return func.strftime("%Y-%m", col)


def day_of_timestamp(col, tz: str):
    if _dialect() == "postgresql":
        return cast(func.timezone(tz, col), Date)
    return func.date(col)


def days_between(later_date, earlier_timestamp, tz: str):
    """Whole days from a timestamp's (firm) day to a date."""
    if _dialect() == "postgresql":
        return later_date - day_of_timestamp(earlier_timestamp, tz)
    return cast(
        func.julianday(later_date) - func.julianday(func.date(earlier_timestamp)), db.Integer
    )


def _days_from_service(paid_on):
    """Whole days from the case's first date of service to a payment date, never negative."""
    if _dialect() == "postgresql":
        days = paid_on - Case.service_from
    else:
        days = cast(func.julianday(paid_on) - func.julianday(Case.service_from), db.Integer)
    return case((days < 0, literal(0)), else_=days)


KEY_COLUMNS = {
    "payer": Case.payer_id,
    "practice": Case.practice_id,
    "assignee": Case.assignee_id,
    "status": Case.status,
}


def _keys(keys: Sequence[str], month_expr) -> list:
    cols = []
    for i, k in enumerate(keys):
        col = month_expr if k == "month" else KEY_COLUMNS[k]
        cols.append(col.label(f"k{i}"))
    return cols


def _collect(rows, n: int) -> dict:
    out = {}
    for r in rows:
        key = None if n == 0 else (r[0] if n == 1 else tuple(r[:n]))
        out[key] = tuple(r[n:])
    return out


def _count_if(cond):
    """SUM of 1 for each row where `cond` holds (0 when none does)."""
    return func.sum(case((cond, literal(1)), else_=0))


def _money_sums(stmt, n: int) -> dict:
    """{key: amount} of a grouped statement with `n` key columns and one sum."""
    return {k: money(v[0]) for k, v in _collect(db.session.execute(stmt), n).items()}


def _int_counts(stmt, n: int) -> dict:
    """{key: (count, ...)} of a grouped statement with `n` key columns; NULL sums count 0."""
    return {
        k: tuple(int(x or 0) for x in v) for k, v in _collect(db.session.execute(stmt), n).items()
    }


def case_terms(f: ReportFilter) -> list:
    """Practice, payer and advocate: WHERE terms on `cases` columns."""
    terms = [Case.tenant_id == f.tenant_id]
    if f.practice_ids:
        terms.append(Case.practice_id.in_(f.practice_ids))
    if f.payer_ids:
        terms.append(Case.payer_id.in_(f.payer_ids))
    if f.unassigned:
        terms.append(Case.assignee_id.is_(None))
    elif f.assignee_id is not None:
        terms.append(Case.assignee_id == f.assignee_id)
    return terms


def money(v) -> Decimal:
    return Decimal(v if v is not None else 0).quantize(CENT, rounding=ROUND_HALF_UP)


def tenth(v) -> Decimal | None:
    if v is None:
        return None
    return Decimal(str(v)).quantize(TENTH, rounding=ROUND_HALF_UP)


def percent(part, whole) -> Decimal | None:
    """part/whole as a percent to one decimal; None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part or 0) * 100 / Decimal(whole)).quantize(TENTH, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- figures


def recoveries(f: ReportFilter, keys: Sequence[str] = ()) -> dict:
    """{key: (amount recovered, cases with a recovery payment)} in the range."""
    cols = _keys(keys, month_of_date(Payment.paid_on))
    stmt = (
        select(*cols, func.sum(Payment.amount), func.count(func.distinct(Payment.case_id)))
        .select_from(Payment)
        .join(Case, Case.id == Payment.case_id)
        .where(
            Payment.tenant_id == f.tenant_id,
            Payment.is_initial.is_(False),
            Payment.paid_on >= f.date_from,
            Payment.paid_on <= f.date_to,
            *case_terms(f),
        )
        .group_by(*cols)
    )
    return {
        k: (money(a), int(n or 0))
        for k, (a, n) in _collect(db.session.execute(stmt), len(keys)).items()
    }


def opened(f: ReportFilter, keys: Sequence[str] = ()) -> dict:
    """{key: cases opened in the range}."""
    cols = _keys(keys, month_of_timestamp(Case.opened_at, f.tz))
    stmt = (
        select(*cols, func.count(Case.id))
        .where(Case.opened_at >= f.ts_from, Case.opened_at < f.ts_to, *case_terms(f))
        .group_by(*cols)
    )
    return {k: int(v[0]) for k, v in _collect(db.session.execute(stmt), len(keys)).items()}


def closed(f: ReportFilter, keys: Sequence[str] = ()) -> dict:
    """{key: (closed, won, lost, withdrawn)} for cases closed in the range."""
    cols = _keys(keys, month_of_timestamp(Case.closed_at, f.tz))
    stmt = (
        select(
            *cols,
            func.count(Case.id),
            _count_if(Case.status.in_(WON)),
            _count_if(Case.status.in_(LOST)),
            _count_if(Case.status == workflow.WITHDRAWN),
        )
        .where(
            Case.status.in_(workflow.CLOSED),
            Case.closed_at >= f.ts_from,
            Case.closed_at < f.ts_to,
            *case_terms(f),
        )
        .group_by(*cols)
    )
    return _int_counts(stmt, len(keys))


def open_now(f: ReportFilter, keys: Sequence[str] = ()) -> dict:
    """{key: (open cases, amount at stake)} today, whatever the range."""
    cols = _keys(keys, None)
    stmt = (
        select(*cols, func.count(Case.id), func.sum(Case.amount_at_stake))
        .where(Case.status.in_(workflow.OPEN), *case_terms(f))
        .group_by(*cols)
    )
    return {
        k: (int(n), money(s)) for k, (n, s) in _collect(db.session.execute(stmt), len(keys)).items()
    }


def deadlines(f: ReportFilter, keys: Sequence[str] = ()) -> dict:
    """{key: (overdue, due this week)}: open deadlines of open cases today
    (milestones are dates to know, not tasks, and are left out)."""
    cols = _keys(keys, None)
    week_end = f.today + timedelta(days=AT_RISK_DAYS - 1)
    stmt = (
        select(
            *cols,
            _count_if(CaseDeadline.due_on < f.today),
            _count_if(CaseDeadline.due_on >= f.today),
        )
        .select_from(CaseDeadline)
        .join(Case, Case.id == CaseDeadline.case_id)
        .where(
            CaseDeadline.tenant_id == f.tenant_id,
            CaseDeadline.is_done.is_(False),
            CaseDeadline.kind.not_in(MILESTONES),
            CaseDeadline.due_on <= week_end,
            Case.status.in_(workflow.OPEN),
            *case_terms(f),
        )
        .group_by(*cols)
    )
    return _int_counts(stmt, len(keys))


def follow_ups_overdue(f: ReportFilter, keys: Sequence[str] = ()) -> dict:
    """{key: follow-ups with the payer promised before today and not done}, open cases."""
    cols = _keys(keys, None)
    stmt = (
        select(*cols, func.count(Communication.id))
        .select_from(Communication)
        .join(Case, Case.id == Communication.case_id)
        .where(
            Communication.tenant_id == f.tenant_id,
            Communication.follow_up_on < f.today,
            Communication.follow_up_done_at.is_(None),
            Case.status.in_(workflow.OPEN),
            *case_terms(f),
        )
        .group_by(*cols)
    )
    return {k: int(v[0]) for k, v in _collect(db.session.execute(stmt), len(keys)).items()}


def paid_cohort(f: ReportFilter, keys: Sequence[str] = ()) -> dict:
    """{key: (cases, median days date of service -> first recovery, via SCA, via IDR)}
    for the cases whose first recovery payment falls in the range. The median
    is computed in SQL with window functions (portable to SQLite)."""
    # Recovery payments in the range (an indexed range scan), less the cases
    # that had one before it: far cheaper than a MIN over every payment.
    earlier = aliased(Payment)
    first = (
        select(Payment.case_id.label("case_id"), func.min(Payment.paid_on).label("first_paid"))
        .where(
            Payment.tenant_id == f.tenant_id,
            Payment.is_initial.is_(False),
            Payment.amount > 0,
            Payment.paid_on >= f.date_from,
            Payment.paid_on <= f.date_to,
            ~exists(
                select(earlier.id).where(
                    earlier.tenant_id == f.tenant_id,
                    earlier.case_id == Payment.case_id,
                    earlier.is_initial.is_(False),
                    earlier.amount > 0,
                    earlier.paid_on < f.date_from,
                )
            ),
        )
        .group_by(Payment.case_id)
        .subquery("first_recovery")
    )
    idr = exists(
        select(NsaDispute.id).where(
            NsaDispute.tenant_id == f.tenant_id,
            NsaDispute.case_id == Case.id,
            NsaDispute.idr_initiated_on.is_not(None),
        )
    )
    cols = _keys(keys, month_of_date(first.c.first_paid))
    base = (
        select(
            *cols,
            # From the date of service (the label says so): a case opened after
            # its payment (imported, or entered late) never gives negative days.
            _days_from_service(first.c.first_paid).label("days"),
            case((Case.sca_id.is_not(None), literal(1)), else_=0).label("sca"),
            case((idr, literal(1)), else_=0).label("idr"),
        )
        .select_from(first)
        .join(Case, Case.id == first.c.case_id)
        .where(*case_terms(f))
        .subquery("cohort")
    )
    kc = [base.c[f"k{i}"] for i in range(len(keys))]
    ranked = select(
        *kc,
        base.c.days,
        base.c.sca,
        base.c.idr,
        func.row_number().over(partition_by=kc or None, order_by=base.c.days).label("rn"),
        func.count().over(partition_by=kc or None).label("n"),
    ).subquery("ranked")
    rk = [ranked.c[f"k{i}"] for i in range(len(keys))]
    middle = or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
    stmt = select(
        *rk,
        func.count(),
        func.avg(case((middle, ranked.c.days), else_=None)),
        func.sum(ranked.c.sca),
        func.sum(ranked.c.idr),
    ).group_by(*rk)
    return {
        k: (int(n), tenth(med), int(s or 0), int(i or 0))
        for k, (n, med, s, i) in _collect(db.session.execute(stmt), len(keys)).items()
    }


def appeals(f: ReportFilter, keys: Sequence[str] = ()) -> dict:
    """{key + (level,): (decided, won, partly won)} for appeals decided in the range."""
    cols = _keys(keys, month_of_date(Appeal.decision_on))
    level = Appeal.level.label(f"k{len(keys)}")
    stmt = (
        select(
            *cols,
            level,
            func.count(Appeal.id),
            _count_if(Appeal.outcome.in_(WON_APPEAL)),
            _count_if(Appeal.outcome == "partially_overturned"),
        )
        .select_from(Appeal)
        .join(Case, Case.id == Appeal.case_id)
        .where(
            Appeal.tenant_id == f.tenant_id,
            Appeal.outcome.in_(DECIDED_APPEAL),
            Appeal.decision_on >= f.date_from,
            Appeal.decision_on <= f.date_to,
            *case_terms(f),
        )
        .group_by(*cols, level)
    )
    out = {}
    for r in db.session.execute(stmt):
        key = tuple(r[: len(keys) + 1])
        out[key] = tuple(int(x or 0) for x in r[len(keys) + 1 :])
    return out


def drilldown_terms(f: ReportFilter, figure: str) -> list:
    """WHERE terms for the cases behind a figure (the drill-down list)."""
    if figure == "recovered":
        return [
            *case_terms(f),
            exists(
                select(Payment.id).where(
                    Payment.tenant_id == f.tenant_id,
                    Payment.case_id == Case.id,
                    Payment.is_initial.is_(False),
                    Payment.paid_on >= f.date_from,
                    Payment.paid_on <= f.date_to,
                )
            ),
        ]
    statuses = {"closed": workflow.CLOSED, "won": WON, "lost": LOST}[figure]
    return [
        *case_terms(f),
        Case.status.in_(tuple(statuses)),
        Case.closed_at >= f.ts_from,
        Case.closed_at < f.ts_to,
    ]


def recovered_in_range(f: ReportFilter):
    """A correlated sum: what a case recovered in the range (drill-down column)."""
    return (
        select(func.coalesce(func.sum(Payment.amount), 0))
        .where(
            Payment.tenant_id == f.tenant_id,
            Payment.case_id == Case.id,
            Payment.is_initial.is_(False),
            Payment.paid_on >= f.date_from,
            Payment.paid_on <= f.date_to,
        )
        .correlate(Case)
        .scalar_subquery()
    )


def names(model, ids) -> dict[int, str]:
    """{id: name} for the given ids of a named model, one query."""
    ids = sorted({i for i in ids if i is not None})
    if not ids:
        return {}
    return dict(db.session.execute(select(model.id, model.name).where(model.id.in_(ids))).all())


# --------------------------------------------------------------------------- other features' data


def fees_earned(f: ReportFilter, keys: Sequence[str] = ()) -> dict | None:
    """{key: fees earned} from the fee ledger, by entry date (accruals,
    reversals, adjustments, write-offs: signed); None while there is no ledger."""
    models = sources.fee_models()
    if models is None:
        return None
    entry = models[0]
    cols = _keys(keys, month_of_date(entry.effective_on))
    stmt = (
        select(*cols, func.sum(entry.amount))
        .select_from(entry)
        .join(Case, Case.id == entry.case_id)
        .where(
            entry.tenant_id == f.tenant_id,
            entry.effective_on >= f.date_from,
            entry.effective_on <= f.date_to,
            *case_terms(f),
        )
        .group_by(*cols)
    )
    return _money_sums(stmt, len(keys))


def fees_collected(f: ReportFilter, keys: Sequence[str] = ()) -> dict | None:
    """{key: fees collected}: paid invoices by the day they were paid (keys:
    practice, month). None while there are no invoices, or when the filter
    names a payer or an advocate (an invoice is per practice, not per case)."""
    models = sources.fee_models()
    if models is None or f.payer_ids or f.assignee_id is not None or f.unassigned:
        return None
    invoice = models[1]
    cols = []
    for i, k in enumerate(keys):
        col = {"practice": invoice.practice_id, "month": month_of_timestamp(invoice.paid_at, f.tz)}[
            k
        ]
        cols.append(col.label(f"k{i}"))
    terms = [
        invoice.tenant_id == f.tenant_id,
        invoice.status == "paid",
        invoice.paid_at >= f.ts_from,
        invoice.paid_at < f.ts_to,
    ]
    if f.practice_ids:
        terms.append(invoice.practice_id.in_(f.practice_ids))
    stmt = select(*cols, func.sum(invoice.amount_paid)).where(*terms).group_by(*cols)
    return _money_sums(stmt, len(keys))


PLAUSIBLE_PCT_OF_MEDICARE = 400


def benchmark_ratios(f: ReportFilter, keys: Sequence[str] = ()) -> dict | None:
    """{key: (paid % of Medicare, paid % of the 80th percentile, lines, lines to
    check)}: the
    payer's own payment on each service line against the line's stored
    benchmark, summed over the lines that have one, for cases whose dates of
    service start in the range. None while no benchmarks are stored."""
    bench = sources.benchmark_model()
    if bench is None:
        return None
    from advocate.cases.models import ServiceLine

    cols = _keys(keys, month_of_date(Case.service_from))
    # A line paid above PLAUSIBLE_PCT_OF_MEDICARE of its Medicare amount says more
    # about its benchmark (a wrong code, units, locality or year) than about the
    # payer: it is left out of the percent and counted, to be checked.
    implausible = and_(
        bench.medicare.is_not(None),
        ServiceLine.paid * 100 > bench.medicare * PLAUSIBLE_PCT_OF_MEDICARE,
    )
    has_m = and_(bench.medicare.is_not(None), ~implausible)
    has_p = bench.p80.is_not(None)
    stmt = (
        select(
            *cols,
            func.sum(case((has_m, ServiceLine.paid), else_=None)),
            func.sum(case((has_m, bench.medicare), else_=None)),
            func.sum(case((has_p, ServiceLine.paid), else_=None)),
            func.sum(bench.p80),
            func.count(bench.id),
            func.sum(case((implausible, 1), else_=0)),
        )
        .select_from(bench)
        .join(ServiceLine, ServiceLine.id == bench.line_id)
        .join(Case, Case.id == bench.case_id)
        .where(
            bench.tenant_id == f.tenant_id,
            Case.service_from >= f.date_from,
            Case.service_from <= f.date_to,
            *case_terms(f),
        )
        .group_by(*cols)
    )
    return {
        k: (percent(pm, m), percent(pp, p), int(n or 0), int(flagged or 0))
        for k, (pm, m, pp, p, n, flagged) in _collect(db.session.execute(stmt), len(keys)).items()
    }
