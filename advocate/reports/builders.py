"""Each report as tables and charts, from the grouped queries in
`advocate.reports.queries`. A builder runs a fixed number of statements
whatever the size of the firm; the page, the CSV and the XLSX all render
its `Report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import url_for
from werkzeug.routing import BuildError

from advocate.cases import workflow
from advocate.reports import queries as q
from advocate.reports import sources
from advocate.reports.charts import Chart, Series, month_label
from advocate.reports.filters import ReportFilter
from advocate.reports.tables import Column, Table

TOP_N = 15  # names per bar chart (the tables list all)
TOP_LINES = 5  # payers per line chart


@dataclass
class Report:
    key: str
    title: str
    subtitle: str
    f: ReportFilter
    figures: Table
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)

    @property
    def all_tables(self) -> list[Table]:
        return [self.figures, *self.tables]


def _figures() -> Table:
    return Table(
        "figures", "Figures", [Column("figure", "Figure"), Column("value", "Value", "auto")]
    )


def _fig(
    t: Table, label: str, value, kind: str, link: str | None = None, key: str | None = None
) -> None:
    t.add(
        {"figure": label, "value": value, "_kind": kind, "_key": key or label},
        {"value": link} if link else None,
    )


def _month_bounds(key: str, f: ReportFilter) -> tuple[date, date]:
    y, m = (int(x) for x in key.split("-"))
    start = date(y, m, 1)
    end = (date(y + (m == 12), m % 12 + 1, 1)) - timedelta(days=1)
    return max(start, f.date_from), min(end, f.date_to)


def _status_label(s: str) -> str:
    return workflow.STATES.get(s, s)


class Links:
    """Drill-down URLs: the list behind each figure. Practice users get none
    (the caseload and deadline lists are staff pages)."""

    def __init__(self, f: ReportFilter, enabled: bool):
        self.f = f
        self.enabled = enabled

    def cases(self, *, opened: bool = False, **extra) -> str | None:
        if not self.enabled:
            return None
        return url_for("cases.index", **self.f.caseload_params(opened=opened, **extra))

    def drill(self, figure: str, f: ReportFilter | None = None) -> str | None:
        if not self.enabled:
            return None
        f = f or self.f
        params: dict = {}
        for k, v in f.params():
            params.setdefault(k, []).append(v)
        return url_for("reports.cases", figure=figure, **params)

    def fees(self) -> str | None:
        """The billing feature's fee report, when this build has it."""
        if not self.enabled:
            return None
        try:
            return url_for("billing.report")
        except BuildError:
            return None

    def deadlines(self, assignee: str | None = None) -> str | None:
        if not self.enabled:
            return None
        if assignee is None and (self.f.assignee_id is not None or self.f.unassigned):
            assignee = "none" if self.f.unassigned else str(self.f.assignee_id)
        return (
            url_for("nsa.deadline_list", advocate=assignee)
            if assignee
            else url_for("nsa.deadline_list")
        )


# --------------------------------------------------------------------------- shared parts


def _open_by_status(title: str, by_status: dict, L: Links) -> tuple[Table, int, object]:
    """Today's open cases and amount at stake by status (workflow order,
    statuses with no case left out), with the totals."""
    t = Table(
        "open_by_status",
        title,
        [
            Column("status", "Status"),
            Column("cases", "Open cases", "int"),
            Column("at_stake", "At stake", "money"),
        ],
        note="Today's open cases, whatever the date range.",
    )
    open_cases, at_stake = 0, q.money(0)
    for s in sorted(workflow.OPEN, key=list(workflow.STATES).index):
        n, amount = by_status.get(s, (0, q.money(0)))
        open_cases += n
        at_stake += amount
        if n:
            t.add(
                {"status": _status_label(s), "cases": n, "at_stake": amount},
                {"cases": L.cases(status=s)},
            )
    return t, open_cases, at_stake


def _open_figures(figs: Table, L: Links, open_cases: int, at_stake) -> None:
    _fig(figs, "Open cases", open_cases, "int", L.cases(status="open"), "open_cases")
    _fig(
        figs,
        "Open value at stake",
        at_stake,
        "money",
        L.cases(status="open", sort="at_stake"),
        "at_stake",
    )


def _recovered_figures(figs: Table, L: Links, amount, cases: int) -> None:
    _fig(figs, "Recovered", amount, "money", L.drill("recovered"), "recovered")
    _fig(figs, "Cases with a recovery", cases, "int", L.drill("recovered"), "recovered_cases")


def _win_rate_figure(figs: Table, L: Links, won: int, lost: int) -> None:
    _fig(figs, "Win rate", q.percent(won, won + lost), "percent", L.drill("closed"), "win_rate")


def _opened_closed(
    months: list[str], opened_month: dict, closed_month: dict
) -> tuple[list[tuple[str, dict]], dict]:
    """Per month, the cases opened, closed, won and lost; and their totals."""
    per_month = []
    totals = {"opened": 0, "closed": 0, "won": 0, "lost": 0}
    for m in months:
        c, w, lo, _wd = closed_month.get(m, (0, 0, 0, 0))
        counts = {"opened": opened_month.get(m, 0), "closed": c, "won": w, "lost": lo}
        for k, v in counts.items():
            totals[k] += v
        per_month.append((m, counts))
    return per_month, totals


def _sum_figure(
    figs: Table, label: str, rows: list[tuple], col: str, kind: str, link: str | None = None
) -> None:
    """A figure that totals column `col` over `(id, row)` pairs (key: `col`)."""
    start = q.money(0) if kind == "money" else 0
    _fig(figs, label, sum((r[col] for _id, r in rows), start), kind, link, col)


def _closed_columns() -> list[Column]:
    return [
        Column("closed", "Closed", "int"),
        Column("won", "Won", "int"),
        Column("lost", "Lost", "int"),
    ]


def _bench_columns() -> list[Column]:
    return [
        Column("pct_medicare", "Paid % of Medicare", "percent"),
        Column("pct_p80", "Paid % of 80th percentile", "percent"),
    ]


def _recovered_by_month_chart(title: str, description: str, labels: list[str], rows) -> Chart:
    return Chart(
        "recovered_by_month",
        title,
        description,
        labels,
        [Series("Recovered", [r["recovered"] for r in rows])],
        label_heading="Month",
    )


def _cases_by_month_chart(description: str, labels: list[str], rows) -> Chart:
    return Chart(
        "cases_by_month",
        "Cases opened and closed by month",
        description,
        labels,
        [
            Series("Opened", [r["opened"] for r in rows]),
            Series("Closed", [r["closed"] for r in rows]),
        ],
        kind="line",
        value_kind="int",
        label_heading="Month",
    )


def _recovered_by_chart(noun: str, description: str, rows) -> Chart:
    """A horizontal bar per row (named by its `noun` column) of its amount recovered."""
    return Chart(
        f"recovered_by_{noun}",
        f"Recovered by {noun}",
        description,
        [r[noun] for r in rows],
        [Series("Recovered", [r["recovered"] for r in rows])],
        horizontal=True,
        label_heading=noun.capitalize(),
    )


# --------------------------------------------------------------------------- dashboard


def dashboard(f: ReportFilter, *, links: bool = True) -> Report:
    """The firm's figures: recovered by month, open value by status, cases
    opened and closed, win rate, deadlines at risk this week, fees."""
    L = Links(f, links)
    rec_month = q.recoveries(f, ["month"])
    rec_total = q.recoveries(f).get(None, (q.money(0), 0))
    opened_month = q.opened(f, ["month"])
    closed_month = q.closed(f, ["month"])
    by_status = q.open_now(f, ["status"])
    overdue, due_week = q.deadlines(f).get(None, (0, 0))

    months = f.months
    recovered = Table(
        "recovered_by_month",
        "Recovered by month",
        [
            Column("month", "Month", "month"),
            Column("recovered", "Recovered", "money"),
            Column("cases", "Cases", "int"),
        ],
        note="Payments after the initial one, by payment date; recoupments count negative.",
    )
    for m in months:
        amount, n = rec_month.get(m, (q.money(0), 0))
        a, b = _month_bounds(m, f)
        recovered.add(
            {"month": m, "recovered": amount, "cases": n},
            {"recovered": L.drill("recovered", f.with_changes(date_from=a, date_to=b))}
            if n
            else None,
        )

    by_month = Table(
        "cases_by_month",
        "Cases opened and closed by month",
        [
            Column("month", "Month", "month"),
            Column("opened", "Opened", "int"),
            *_closed_columns(),
            Column("win_rate", "Win rate", "percent"),
        ],
        note="Won: closed won or partly won. Win rate: won ÷ (won + lost); withdrawn cases are left out.",
    )
    per_month, totals = _opened_closed(months, opened_month, closed_month)
    for m, counts in per_month:
        by_month.add(
            {
                "month": m,
                **counts,
                "win_rate": q.percent(counts["won"], counts["won"] + counts["lost"]),
            }
        )

    status_t, open_cases, at_stake = _open_by_status("Open value at stake by status", by_status, L)

    figs = _figures()
    _recovered_figures(figs, L, *rec_total)
    _open_figures(figs, L, open_cases, at_stake)
    _fig(figs, "Cases opened", totals["opened"], "int", L.cases(opened=True), "opened")
    _fig(figs, "Cases closed", totals["closed"], "int", L.drill("closed"), "closed")
    _fig(figs, "Won", totals["won"], "int", L.drill("won"), "won")
    _fig(figs, "Lost", totals["lost"], "int", L.drill("lost"), "lost")
    _win_rate_figure(figs, L, totals["won"], totals["lost"])
    _fig(figs, "Deadlines overdue", overdue, "int", L.deadlines(), "deadlines_overdue")
    _fig(figs, "Deadlines due this week", due_week, "int", L.deadlines(), "deadlines_week")

    labels = [month_label(m) for m in months]
    charts = [
        _recovered_by_month_chart(
            "Money recovered by month",
            f"Bar chart of the amount recovered each month from {months[0]} to {months[-1]}; "
            f"{len(months)} months, {q.money(rec_total[0])} in all.",
            labels,
            recovered.rows,
        ),
        _cases_by_month_chart(
            f"Line chart of the cases opened ({totals['opened']}) and closed ({totals['closed']}) each month.",
            labels,
            by_month.rows,
        ),
        Chart(
            "open_by_status",
            "Open value at stake by status",
            f"Bar chart of the amount at stake in today's {open_cases} open cases, by status.",
            [r["status"] for r in status_t.rows],
            [Series("At stake", [r["at_stake"] for r in status_t.rows])],
            horizontal=True,
            label_heading="Status",
        ),
    ]
    rep = Report(
        "dashboard",
        "Firm dashboard",
        "What the firm recovered, what is at stake, and what is due.",
        f,
        figs,
        [recovered, by_month, status_t],
        charts,
    )
    _fee_figures(rep, f, L)
    return rep


FEES_COLLECTED_SPLIT = (
    "Fees collected are per invoice, and an invoice covers a practice's cases: "
    "they are not split by payer or advocate."
)


def _fee_figures(rep: Report, f: ReportFilter, links: Links | None = None) -> None:
    """Fees earned and collected in the range, or a visible gap while the
    fee ledger does not exist."""
    earned = q.fees_earned(f)
    if earned is None:
        rep.gaps.append(sources.FEES_GAP)
        return
    link = links.fees() if links else None
    _fig(rep.figures, "Fees earned", earned.get(None, q.money(0)), "money", link, "fees_earned")
    collected = q.fees_collected(f)
    if collected is None:
        rep.gaps.append(FEES_COLLECTED_SPLIT)
        _fig(rep.figures, "Fees collected", None, "money", key="fees_collected")
    else:
        _fig(
            rep.figures,
            "Fees collected",
            collected.get(None, q.money(0)),
            "money",
            link,
            "fees_collected",
        )


# --------------------------------------------------------------------------- payers


def payer_scorecards(f: ReportFilter, payer_names: dict[int, str], *, links: bool = True) -> Report:
    """Per payer: recoveries, days from intake to payment, settlement routes,
    appeal success by level; recoveries over time for the biggest payers."""
    L = Links(f, links)
    opened = q.opened(f, ["payer"])
    open_now = q.open_now(f, ["payer"])
    rec = q.recoveries(f, ["payer"])
    cohort = q.paid_cohort(f, ["payer"])
    appeals = q.appeals(f, ["payer"])
    rec_month = q.recoveries(f, ["payer", "month"])
    bench = q.benchmark_ratios(f, ["payer"])

    ids = set(opened) | set(open_now) | set(rec) | set(cohort) | {k[0] for k in appeals}
    ids |= set(bench or ())
    payers = Table(
        "payers",
        "Payers",
        _payer_columns(include_name=True, benchmarks=bench is not None),
        note=_COHORT_NOTE + (_BENCH_NOTE if bench is not None else ""),
    )
    rows = []
    for pid in ids:
        row = _payer_row(pid, payer_names, opened, open_now, rec, cohort, appeals)
        if bench is not None:
            row["pct_medicare"], row["pct_p80"], _n, _flagged = bench.get(pid, (None, None, 0, 0))
        rows.append((pid, row))
    rows.sort(key=lambda r: (-r[1]["recovered"], r[1]["payer"].casefold(), r[0]))
    for pid, row in rows:
        payers.add(row, _row_links("payer", pid, f, L))

    levels = _appeal_table(appeals, payer_names, with_payer=True)

    top = [r for _pid, r in rows][:TOP_N]
    by_days = sorted(
        (r for _pid, r in rows if r["median_days"] is not None), key=lambda r: -r["median_days"]
    )[:TOP_N]
    by_paid = sorted((r for _pid, r in rows if r["paid_cases"]), key=lambda r: -r["paid_cases"])[
        :TOP_N
    ]
    line_ids = [pid for pid, r in rows if r["recovered"]][:TOP_LINES]
    months = f.months
    charts = [
        _recovered_by_chart(
            "payer",
            f"Bar chart of the amount recovered from each of the {len(top)} payers that paid the most.",
            top,
        ),
        Chart(
            "median_days_by_payer",
            "Median days from intake to payment",
            "Bar chart of the median number of days from the date of service to the payer's first recovery payment, "
            "slowest payers first.",
            [r["payer"] for r in by_days],
            [Series("Median days", [r["median_days"] for r in by_days])],
            value_kind="days",
            horizontal=True,
            label_heading="Payer",
        ),
        Chart(
            "settlement_routes",
            "How paid cases were settled",
            "Stacked bar chart per payer of the cases paid in the range: under a single case agreement, "
            "through federal IDR, or otherwise negotiated.",
            [r["payer"] for r in by_paid],
            [
                Series("SCA", [r["_sca"] for r in by_paid]),
                Series("IDR", [r["_idr"] for r in by_paid]),
                Series("Negotiated", [r["paid_cases"] - r["_sca"] - r["_idr"] for r in by_paid]),
            ],
            kind="stacked",
            value_kind="int",
            horizontal=True,
            label_heading="Payer",
        ),
        Chart(
            "recovered_over_time",
            "Recovered by month, biggest payers",
            f"Line chart of the amount recovered each month from the {len(line_ids)} payers that paid the most.",
            [month_label(m) for m in months],
            [
                Series(
                    payer_names.get(pid, f"Payer {pid}"),
                    [rec_month.get((pid, m), (q.money(0),))[0] for m in months],
                )
                for pid in line_ids
            ],
            kind="line",
            label_heading="Month",
        ),
    ]
    figs = _figures()
    total_rec = sum((r["recovered"] for _p, r in rows), q.money(0))
    total_paid = sum(r["paid_cases"] for _p, r in rows)
    _fig(figs, "Payers with activity", len(rows), "int", key="payers")
    _fig(figs, "Recovered", total_rec, "money", L.drill("recovered"), "recovered")
    _fig(figs, "Cases paid", total_paid, "int", key="paid_cases")
    rep = Report(
        "payers",
        "Payer scorecards",
        "How each payer pays out-of-network claims: how much, how fast, by which route, and on appeal.",
        f,
        figs,
        [payers, levels],
        charts,
        gaps=[] if bench is not None else [sources.BENCHMARKS_GAP],
    )
    if bench is not None:
        priced = [r for _p, r in rows if r["pct_medicare"] is not None][:TOP_N]
        rep.charts.insert(
            1,
            Chart(
                "paid_vs_benchmarks",
                "Paid as a percent of Medicare and of the 80th percentile",
                "Bar chart per payer of its own payment on service lines as a percent of the "
                "lines' Medicare amount and of their 80th-percentile charge.",
                [r["payer"] for r in priced],
                [
                    Series("% of Medicare", [r["pct_medicare"] for r in priced]),
                    Series("% of 80th percentile", [r["pct_p80"] for r in priced]),
                ],
                value_kind="percent",
                horizontal=True,
                label_heading="Payer",
            ),
        )
    return rep


_BENCH_NOTE = (
    " Paid % of Medicare / of the 80th percentile: the payer's own payment on each service line "
    "÷ the line's stored benchmark, over lines that have one, for cases whose service starts in the range."
    " A line paid above 400% of its Medicare amount is left out of the percent and counted apart: "
    "check its benchmark."
)

_COHORT_NOTE = (
    "Cases paid: cases whose first recovery payment falls in the range; median days run from the case's "
    "first date of service to that payment. SCA: settled under a single case agreement; IDR: went to federal IDR."
)


def _param_dict(f: ReportFilter, *, payer: bool = True, practice: bool = True) -> dict:
    out: dict = {}
    for k, v in f.params():
        if (k == "payer_id" and not payer) or (k == "practice_id" and not practice):
            continue
        out.setdefault(k, []).append(v)
    return out


def _row_links(noun: str, pid: int, f: ReportFilter, L: Links) -> dict:
    """A payer's or practice's row: its own report (under the other filters)
    and its open and opened cases."""
    key = f"{noun}_id"
    return {
        noun: url_for(f"reports.{noun}", **{key: pid}, **_param_dict(f, **{noun: False})),
        "open_cases": L.cases(status="open", **{key: pid}),
        "opened": L.cases(opened=True, **{key: pid}),
    }


def _payer_columns(include_name: bool, benchmarks: bool = False) -> list[Column]:
    cols = [Column("payer", "Payer")] if include_name else []
    if benchmarks:
        cols += _bench_columns()
    return cols + [
        Column("opened", "Opened", "int"),
        Column("open_cases", "Open", "int"),
        Column("at_stake", "At stake", "money"),
        Column("recovered", "Recovered", "money"),
        Column("paid_cases", "Cases paid", "int"),
        Column("median_days", "Median days to payment", "days"),
        Column("sca_share", "Via SCA", "percent"),
        Column("idr_share", "Via IDR", "percent"),
        Column("appeals_decided", "Appeals decided", "int"),
        Column("appeal_success", "Appeal success", "percent"),
    ]


def _payer_row(pid, payer_names, opened, open_now, rec, cohort, appeals) -> dict:
    n_open, stake = open_now.get(pid, (0, q.money(0)))
    amount, _n = rec.get(pid, (q.money(0), 0))
    paid, med, sca, idr = cohort.get(pid, (0, None, 0, 0))
    decided = sum(v[0] for k, v in appeals.items() if k[0] == pid)
    won = sum(v[1] for k, v in appeals.items() if k[0] == pid)
    return {
        "payer": payer_names.get(pid, f"Payer {pid}"),
        "opened": opened.get(pid, 0),
        "open_cases": n_open,
        "at_stake": stake,
        "recovered": amount,
        "paid_cases": paid,
        "median_days": med,
        "sca_share": q.percent(sca, paid),
        "idr_share": q.percent(idr, paid),
        "appeals_decided": decided,
        "appeal_success": q.percent(won, decided),
        "_sca": sca,
        "_idr": idr,
    }


def _appeal_table(appeals: dict, payer_names: dict[int, str], *, with_payer: bool) -> Table:
    cols = [Column("payer", "Payer")] if with_payer else []
    cols += [
        Column("level", "Level", "int"),
        Column("decided", "Decided", "int"),
        Column("won", "Overturned", "int"),
        Column("partly", "of which partly", "int"),
        Column("success", "Success", "percent"),
    ]
    t = Table(
        "appeals_by_level",
        "Appeal success by level",
        cols,
        note="Appeals decided in the range; success: overturned or partly overturned ÷ decided.",
    )
    keys = sorted(
        appeals, key=lambda k: ((payer_names.get(k[0], "") or "").casefold(), k[0] or 0, k[-1] or 0)
    )
    for k in keys:
        decided, won, partly = appeals[k]
        row = {
            "level": k[-1],
            "decided": decided,
            "won": won,
            "partly": partly,
            "success": q.percent(won, decided),
        }
        if with_payer:
            row = {"payer": payer_names.get(k[0], f"Payer {k[0]}"), **row}
        t.add(row)
    return t


def payer_scorecard(
    f: ReportFilter, payer_id: int, payer_name: str, *, links: bool = True
) -> Report:
    """One payer's scorecard, with its figures over time."""
    f = f.with_changes(payer_ids=(payer_id,))
    L = Links(f, links)
    rec_month = q.recoveries(f, ["month"])
    cohort_month = q.paid_cohort(f, ["month"])
    opened_month = q.opened(f, ["month"])
    closed_month = q.closed(f, ["month"])
    appeals = q.appeals(f)
    rec_total = q.recoveries(f).get(None, (q.money(0), 0))
    cohort = q.paid_cohort(f).get(None, (0, None, 0, 0))
    n_open, stake = q.open_now(f).get(None, (0, q.money(0)))
    bench_month = q.benchmark_ratios(f, ["month"])
    bench_total = q.benchmark_ratios(f) if bench_month is not None else None

    months = f.months
    bench_cols = _bench_columns() if bench_month is not None else []
    t = Table(
        "by_month",
        "By month",
        [
            Column("month", "Month", "month"),
            Column("recovered", "Recovered", "money"),
            *bench_cols,
            Column("opened", "Opened", "int"),
            *_closed_columns(),
            Column("paid_cases", "Cases paid", "int"),
            Column("median_days", "Median days to payment", "days"),
            Column("sca", "Via SCA", "int"),
            Column("idr", "Via IDR", "int"),
        ],
        note=_COHORT_NOTE,
    )
    won_total = lost_total = 0
    for m in months:
        c, w, lo, _wd = closed_month.get(m, (0, 0, 0, 0))
        won_total += w
        lost_total += lo
        paid, med, sca, idr = cohort_month.get(m, (0, None, 0, 0))
        extra = {}
        if bench_month is not None:
            extra["pct_medicare"], extra["pct_p80"], _n, _flagged = bench_month.get(
                m, (None, None, 0, 0)
            )
        t.add(
            {
                **extra,
                "month": m,
                "recovered": rec_month.get(m, (q.money(0), 0))[0],
                "opened": opened_month.get(m, 0),
                "closed": c,
                "won": w,
                "lost": lo,
                "paid_cases": paid,
                "median_days": med,
                "sca": sca,
                "idr": idr,
            }
        )
    levels = _appeal_table({(None, k[-1]): v for k, v in appeals.items()}, {}, with_payer=False)

    paid, med, sca, idr = cohort
    decided = sum(v[0] for v in appeals.values())
    won_appeals = sum(v[1] for v in appeals.values())
    figs = _figures()
    _fig(figs, "Recovered", rec_total[0], "money", L.drill("recovered"), "recovered")
    _open_figures(figs, L, n_open, stake)
    _fig(figs, "Cases paid", paid, "int", key="paid_cases")
    _fig(figs, "Median days to payment", med, "days", key="median_days")
    _fig(figs, "Settled via SCA", q.percent(sca, paid), "percent", key="sca_share")
    _fig(figs, "Settled via IDR", q.percent(idr, paid), "percent", key="idr_share")
    _win_rate_figure(figs, L, won_total, lost_total)
    _fig(figs, "Appeal success", q.percent(won_appeals, decided), "percent", key="appeal_success")
    if bench_total is not None:
        pm, pp, _n, flagged = bench_total.get(None, (None, None, 0, 0))
        _fig(figs, "Paid % of Medicare", pm, "percent", key="pct_medicare")
        _fig(figs, "Paid % of 80th percentile", pp, "percent", key="pct_p80")
        if flagged:
            _fig(
                figs,
                f"Lines paid above {q.PLAUSIBLE_PCT_OF_MEDICARE}% of Medicare: check the benchmark",
                flagged,
                "int",
                key="pct_medicare_check",
            )

    labels = [month_label(m) for m in months]
    charts = [
        _recovered_by_month_chart(
            f"Recovered from {payer_name} by month",
            f"Bar chart of the amount recovered from {payer_name} each month.",
            labels,
            t.rows,
        ),
        Chart(
            "routes_by_month",
            "Cases paid by month and route",
            "Stacked bar chart of the cases first paid each month: via SCA, via IDR, or otherwise negotiated.",
            labels,
            [
                Series("SCA", [r["sca"] for r in t.rows]),
                Series("IDR", [r["idr"] for r in t.rows]),
                Series("Negotiated", [r["paid_cases"] - r["sca"] - r["idr"] for r in t.rows]),
            ],
            kind="stacked",
            value_kind="int",
            label_heading="Month",
        ),
        Chart(
            "median_days_by_month",
            "Median days from intake to payment, by month of payment",
            "Line chart of the median days from the date of service to the first recovery payment; "
            "months with no paid case are gaps.",
            labels,
            [Series("Median days", [r["median_days"] for r in t.rows])],
            kind="line",
            value_kind="days",
            label_heading="Month",
        ),
        Chart(
            "appeal_success_by_level",
            "Appeal success by level",
            "Bar chart of the percent of decided appeals overturned, by appeal level.",
            [f"Level {r['level']}" for r in levels.rows],
            [Series("Success", [r["success"] for r in levels.rows])],
            value_kind="percent",
            label_heading="Level",
        ),
    ]
    return Report(
        "payer",
        f"{payer_name}: scorecard",
        "How this payer pays out-of-network claims, over time.",
        f,
        figs,
        [t, levels],
        charts,
        gaps=[] if bench_total is not None else [sources.BENCHMARKS_GAP],
    )


def payer_summary(f: ReportFilter) -> dict:
    """The compact scorecard on the payer's own page (four statements)."""
    rec = q.recoveries(f).get(None, (q.money(0), 0))
    paid, med, sca, idr = q.paid_cohort(f).get(None, (0, None, 0, 0))
    appeals = q.appeals(f)
    decided = sum(v[0] for v in appeals.values())
    won = sum(v[1] for v in appeals.values())
    n_open, stake = q.open_now(f).get(None, (0, q.money(0)))
    bench = q.benchmark_ratios(f)
    pm, pp, _n, flagged = (bench or {}).get(None, (None, None, 0, 0))
    return {
        "benchmarks": bench is not None,
        "pct_medicare": pm,
        "pct_medicare_check": flagged,
        "pct_p80": pp,
        "recovered": rec[0],
        "paid_cases": paid,
        "median_days": med,
        "sca_share": q.percent(sca, paid),
        "idr_share": q.percent(idr, paid),
        "appeals_decided": decided,
        "appeal_success": q.percent(won, decided),
        "open_cases": n_open,
        "at_stake": stake,
    }


# --------------------------------------------------------------------------- advocates


def advocates(f: ReportFilter, user_names: dict[int, str], *, links: bool = True) -> Report:
    """Per advocate: open cases, overdue items, recoveries and results."""
    L = Links(f, links)
    open_now = q.open_now(f, ["assignee"])
    dl = q.deadlines(f, ["assignee"])
    fu = q.follow_ups_overdue(f, ["assignee"])
    rec = q.recoveries(f, ["assignee"])
    cl = q.closed(f, ["assignee"])
    ids = set(open_now) | set(dl) | set(fu) | set(rec) | set(cl)
    missing = [i for i in ids if i is not None and i not in user_names]
    if missing:
        from advocate.auth.models import User

        user_names = {**user_names, **q.names(User, missing)}

    t = Table(
        "advocates",
        "Workload and results by advocate",
        [
            Column("advocate", "Advocate"),
            Column("open_cases", "Open cases", "int"),
            Column("at_stake", "At stake", "money"),
            Column("deadlines_overdue", "Deadlines overdue", "int"),
            Column("deadlines_week", "Due this week", "int"),
            Column("follow_ups_overdue", "Follow-ups overdue", "int"),
            Column("recovered", "Recovered", "money"),
            *_closed_columns(),
            Column("win_rate", "Win rate", "percent"),
        ],
        note="Open cases, deadlines and follow-ups are today's; recoveries and closed cases are in the range.",
    )
    rows = []
    for uid in ids:
        n_open, stake = open_now.get(uid, (0, q.money(0)))
        od, wk = dl.get(uid, (0, 0))
        c, w, lo, _wd = cl.get(uid, (0, 0, 0, 0))
        row = {
            "advocate": "Unassigned" if uid is None else user_names.get(uid, f"User {uid}"),
            "open_cases": n_open,
            "at_stake": stake,
            "deadlines_overdue": od,
            "deadlines_week": wk,
            "follow_ups_overdue": fu.get(uid, 0),
            "recovered": rec.get(uid, (q.money(0), 0))[0],
            "closed": c,
            "won": w,
            "lost": lo,
            "win_rate": q.percent(w, w + lo),
        }
        rows.append((uid, row))
    rows.sort(key=lambda r: (r[0] is None, r[1]["advocate"].casefold(), r[0] or 0))
    for uid, row in rows:
        a = "none" if uid is None else str(uid)
        t.add(
            row,
            {
                "open_cases": L.cases(status="open", assignee_id=a) if links else None,
                "deadlines_overdue": L.deadlines(a),
                "deadlines_week": L.deadlines(a),
                "recovered": L.drill(
                    "recovered",
                    f.with_changes(assignee_id=uid, unassigned=uid is None, assignee_raw=a),
                ),
                "closed": L.drill(
                    "closed",
                    f.with_changes(assignee_id=uid, unassigned=uid is None, assignee_raw=a),
                ),
            },
        )
    names = [r["advocate"] for _u, r in rows][: TOP_N * 2]
    sl = [r for _u, r in rows][: TOP_N * 2]
    charts = [
        Chart(
            "open_by_advocate",
            "Open cases by advocate",
            "Bar chart of each advocate's open cases today.",
            names,
            [Series("Open cases", [r["open_cases"] for r in sl])],
            value_kind="int",
            horizontal=True,
            label_heading="Advocate",
        ),
        Chart(
            "overdue_by_advocate",
            "Overdue items by advocate",
            "Stacked bar chart of each advocate's overdue deadlines and overdue follow-ups today.",
            names,
            [
                Series("Deadlines", [r["deadlines_overdue"] for r in sl]),
                Series("Follow-ups", [r["follow_ups_overdue"] for r in sl]),
            ],
            kind="stacked",
            value_kind="int",
            horizontal=True,
            label_heading="Advocate",
        ),
        _recovered_by_chart(
            "advocate",
            "Bar chart of the amount recovered on each advocate's cases in the range.",
            sl,
        ),
    ]
    figs = _figures()
    _sum_figure(figs, "Open cases", rows, "open_cases", "int", L.cases(status="open"))
    _sum_figure(figs, "Deadlines overdue", rows, "deadlines_overdue", "int", L.deadlines())
    _sum_figure(figs, "Follow-ups overdue", rows, "follow_ups_overdue", "int")
    _sum_figure(figs, "Recovered", rows, "recovered", "money", L.drill("recovered"))
    return Report(
        "advocates",
        "Advocate workload and results",
        "Who carries which cases, what is overdue, and what each advocate recovered.",
        f,
        figs,
        [t],
        charts,
    )


# --------------------------------------------------------------------------- practices


def _fee_columns(earned, collected) -> list[Column]:
    if earned is None:
        return []
    cols = [Column("fees_earned", "Fees earned", "money")]
    if collected is not None:
        cols.append(Column("fees_collected", "Fees collected", "money"))
    return cols


def _fee_values(key, earned, collected) -> dict:
    out = {}
    if earned is not None:
        out["fees_earned"] = earned.get(key, q.money(0))
    if collected is not None:
        out["fees_collected"] = collected.get(key, q.money(0))
    return out


def practices(f: ReportFilter, practice_names: dict[int, str], *, links: bool = True) -> Report:
    """Per practice: cases, recoveries and results."""
    L = Links(f, links)
    opened = q.opened(f, ["practice"])
    open_now = q.open_now(f, ["practice"])
    rec = q.recoveries(f, ["practice"])
    cl = q.closed(f, ["practice"])
    earned = q.fees_earned(f, ["practice"])
    collected = q.fees_collected(f, ["practice"]) if earned is not None else None
    ids = set(opened) | set(open_now) | set(rec) | set(cl) | set(earned or ())
    t = Table(
        "practices",
        "Practices",
        [
            Column("practice", "Practice"),
            Column("opened", "Opened", "int"),
            Column("open_cases", "Open", "int"),
            Column("at_stake", "At stake", "money"),
            Column("recovered", "Recovered", "money"),
            *_closed_columns(),
            Column("win_rate", "Win rate", "percent"),
            *_fee_columns(earned, collected),
        ],
    )
    rows = []
    for pid in ids:
        n_open, stake = open_now.get(pid, (0, q.money(0)))
        c, w, lo, _wd = cl.get(pid, (0, 0, 0, 0))
        rows.append(
            (
                pid,
                {
                    "practice": practice_names.get(pid, f"Practice {pid}"),
                    "opened": opened.get(pid, 0),
                    "open_cases": n_open,
                    "at_stake": stake,
                    "recovered": rec.get(pid, (q.money(0), 0))[0],
                    "closed": c,
                    "won": w,
                    "lost": lo,
                    "win_rate": q.percent(w, w + lo),
                    **_fee_values(pid, earned, collected),
                },
            )
        )
    rows.sort(key=lambda r: (-r[1]["recovered"], r[1]["practice"].casefold(), r[0]))
    for pid, row in rows:
        t.add(row, _row_links("practice", pid, f, L))
    top = [r for _p, r in rows][:TOP_N]
    charts = [
        _recovered_by_chart(
            "practice",
            f"Bar chart of the amount recovered for each of the {len(top)} practices with the most recovered.",
            top,
        )
    ]
    figs = _figures()
    _fig(figs, "Practices with activity", len(rows), "int", key="practices")
    _sum_figure(figs, "Recovered", rows, "recovered", "money", L.drill("recovered"))
    _sum_figure(figs, "Open cases", rows, "open_cases", "int", L.cases(status="open"))
    rep = Report(
        "practices",
        "Practice reports",
        "Each client practice's cases, recoveries and results.",
        f,
        figs,
        [t],
        charts,
    )
    _fee_figures(rep, f, L)
    return rep


def practice(
    f: ReportFilter,
    practice_id: int,
    practice_name: str,
    payer_names: dict[int, str],
    *,
    links: bool,
) -> Report:
    """One practice's report: its cases, recoveries and fees over time (the
    practice portal shows the same, read only, without drill-down links)."""
    f = f.with_changes(practice_ids=(practice_id,))
    L = Links(f, links)
    rec_month = q.recoveries(f, ["month"])
    rec_total = q.recoveries(f).get(None, (q.money(0), 0))
    opened_month = q.opened(f, ["month"])
    closed_month = q.closed(f, ["month"])
    by_status = q.open_now(f, ["status"])
    rec_payer = q.recoveries(f, ["payer"])
    cohort_payer = q.paid_cohort(f, ["payer"])
    earned = q.fees_earned(f, ["month"])
    collected = q.fees_collected(f, ["month"]) if earned is not None else None

    months = f.months
    t = Table(
        "by_month",
        "By month",
        [
            Column("month", "Month", "month"),
            Column("recovered", "Recovered", "money"),
            Column("opened", "Opened", "int"),
            *_closed_columns(),
            *_fee_columns(earned, collected),
        ],
        note="Recovered: payments after the initial one, by payment date; recoupments count negative.",
    )
    per_month, tot = _opened_closed(months, opened_month, closed_month)
    for m, counts in per_month:
        t.add(
            {
                "month": m,
                "recovered": rec_month.get(m, (q.money(0), 0))[0],
                **counts,
                **_fee_values(m, earned, collected),
            }
        )

    status_t, n_open, stake = _open_by_status("Open cases by status", by_status, L)

    payer_t = Table(
        "by_payer",
        "By payer",
        [
            Column("payer", "Payer"),
            Column("recovered", "Recovered", "money"),
            Column("paid_cases", "Cases paid", "int"),
            Column("median_days", "Median days to payment", "days"),
        ],
        note="Cases paid: cases whose first recovery payment falls in the range; median days run "
        "from the case's first date of service to that payment.",
    )
    pids = set(rec_payer) | set(cohort_payer)
    prow = []
    for pid in pids:
        paid, med, _s, _i = cohort_payer.get(pid, (0, None, 0, 0))
        prow.append(
            {
                "payer": payer_names.get(pid, f"Payer {pid}"),
                "recovered": rec_payer.get(pid, (q.money(0), 0))[0],
                "paid_cases": paid,
                "median_days": med,
            }
        )
    prow.sort(key=lambda r: (-r["recovered"], r["payer"].casefold()))
    for r in prow:
        payer_t.add(r)

    figs = _figures()
    _recovered_figures(figs, L, *rec_total)
    _open_figures(figs, L, n_open, stake)
    _fig(figs, "Cases opened", tot["opened"], "int", L.cases(opened=True), "opened")
    _fig(figs, "Cases closed", tot["closed"], "int", L.drill("closed"), "closed")
    _win_rate_figure(figs, L, tot["won"], tot["lost"])
    labels = [month_label(m) for m in months]
    charts = [
        _recovered_by_month_chart(
            "Recovered by month",
            f"Bar chart of the amount recovered for {practice_name} each month.",
            labels,
            t.rows,
        ),
        _cases_by_month_chart(
            "Line chart of the practice's cases opened and closed each month.", labels, t.rows
        ),
        _recovered_by_chart(
            "payer",
            "Bar chart of the amount recovered from each payer.",
            payer_t.rows[:TOP_N],
        ),
    ]
    rep = Report(
        "practice",
        f"{practice_name}: report",
        "The practice's cases, recoveries and fees over time.",
        f,
        figs,
        [t, status_t, payer_t],
        charts,
    )
    _fee_figures(rep, f, L)
    return rep
