"""Report pages and their exports: the firm dashboard, payer scorecards,
advocate workload, practice reports (staff, and the practice portal read
only), and the drill-down list of the cases behind a figure.

Every page reads the shared filters (date range, practice, payer, advocate);
every export (CSV or XLSX, `?format=`) writes exactly the page's tables and
is audited. Reports show no patient data: figures, names of payers,
practices and advocates, case references.
"""

from __future__ import annotations

from flask import Response, abort, g, render_template, request, url_for
from sqlalchemy import func, select

from advocate.audit.services import audit
from advocate.auth.access import PRACTICE, READERS, STAFF, roles
from advocate.cases import workflow
from advocate.cases.models import Case
from advocate.cases.queries import CasePage
from advocate.extensions import db
from advocate.reports import bp, builders, exports, tables
from advocate.reports import cache as report_cache
from advocate.reports import queries as q
from advocate.reports.filters import ReportFilter, parse_report_filter

DRILL_FIGURES = {
    "recovered": "Cases with a recovery payment in the range",
    "closed": "Cases closed in the range",
    "won": "Cases closed won or partly won in the range",
    "lost": "Cases closed lost in the range",
}
DRILL_PAGE = 50
EXPORT_FORMATS = ("csv", "xlsx")


# --------------------------------------------------------------------------- helpers


def _is_practice() -> bool:
    return bool(g.membership.is_practice)


def _filter() -> tuple[ReportFilter, list]:
    f, errors = parse_report_filter(request.args, tenant=g.tenant, user_id=g.actor.id)
    if _is_practice():
        # A practice person's reports are their practice's, whatever was asked.
        f = f.with_changes(
            practice_ids=(g.membership.practice_id,),
            assignee_id=None,
            unassigned=False,
            assignee_raw=None,
        )
    return f, errors


def _payers() -> list:
    from advocate.payers.models import Payer

    stmt = select(Payer.id, Payer.name).order_by(Payer.name, Payer.id)
    if _is_practice():
        # Only the payers of the practice's own cases.
        stmt = stmt.where(
            Payer.id.in_(
                select(Case.payer_id).where(Case.practice_id == g.membership.practice_id).distinct()
            )
        )
    return db.session.execute(stmt).all()


def _practices() -> list:
    from advocate.practices.models import Practice

    if _is_practice():
        return []
    return db.session.execute(
        select(Practice.id, Practice.name).order_by(Practice.name, Practice.id)
    ).all()


def _advocates() -> list:
    if _is_practice():
        return []
    from advocate.cases.views_list import workers

    return workers()


def _options() -> dict:
    payers, practices, advocates = _payers(), _practices(), _advocates()
    return {
        "payers": payers,
        "practices": practices,
        "advocates": advocates,
        "payer_names": {p.id: p.name for p in payers},
        "practice_names": {p.id: p.name for p in practices},
        "advocate_names": {a.id: a.name for a in advocates},
    }


def _filter_labels(f: ReportFilter, opts: dict) -> list[tuple[str, str]]:
    """The filters in words, for the export header (names, not ids)."""
    out = []
    if f.practice_ids and not _is_practice():
        out.append(
            ("Practices", "; ".join(opts["practice_names"].get(i, f"#{i}") for i in f.practice_ids))
        )
    if f.payer_ids:
        out.append(("Payers", "; ".join(opts["payer_names"].get(i, f"#{i}") for i in f.payer_ids)))
    if f.unassigned:
        out.append(("Advocate", "Unassigned"))
    elif f.assignee_id is not None:
        out.append(("Advocate", opts["advocate_names"].get(f.assignee_id, f"#{f.assignee_id}")))
    return out


def _render(
    rep: builders.Report, f: ReportFilter, errors: list, opts: dict, export_url: str, **extra
):
    html = render_template(
        "reports/report.html",
        rep=rep,
        f=f,
        errors=errors,
        export_url=export_url,
        export_query=f.query_string(),
        is_practice=_is_practice(),
        **opts,
        **extra,
    )
    db.session.commit()
    return html, (400 if errors else 200)


def _export(rep: builders.Report, f: ReportFilter, opts: dict, obj=None):
    fmt = (request.args.get("format") or "csv").lower()
    if fmt not in EXPORT_FORMATS:
        abort(400)
    audit(
        "report.export",
        obj,
        object_type=None if obj is not None else "report",
        object_id=None if obj is not None else rep.key,
        details={
            "report": rep.key,
            "format": fmt,
            "from": f.date_from.isoformat(),
            "to": f.date_to.isoformat(),
            "filters": sorted({k for k, _v in f.params(dates=False)}),
        },
    )
    db.session.commit()
    labels = _filter_labels(f, opts)
    name = f"{rep.key}-{f.date_from.isoformat()}-{f.date_to.isoformat()}"
    if fmt == "csv":
        return Response(
            exports.to_csv(rep, labels),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename={name}.csv"},
        )
    return Response(
        exports.to_xlsx(rep, labels),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"},
    )


def _bad_export(errors) -> Response:
    return Response("\n".join(errors) + "\n", status=400, mimetype="text/plain")


def _render_one(noun: str, obj, rep: builders.Report, f: ReportFilter, errors: list, opts: dict):
    """One payer's or practice's report page: its filter fixed to it."""
    return _render(
        rep,
        f.with_changes(**{f"{noun}_ids": (obj.id,)}),
        errors,
        opts,
        url_for(f"reports.{noun}_export", **{f"{noun}_id": obj.id}),
        **{noun: obj},
        fixed=noun,
    )


def _show(build, export_endpoint: str):
    """A whole-firm report page: `build(f, opts)` under the request's filters."""
    f, errors = _filter()
    opts = _options()
    return _render(build(f, opts), f, errors, opts, url_for(export_endpoint))


def _download(build, obj=None):
    """An export of `build(f, opts)` (CSV or XLSX, audited against `obj` when
    it is one payer's or practice's), or the filter errors as a 400. The
    export's header reads the report's own filter (a one-payer or
    one-practice report narrows the request's)."""
    f, errors = _filter()
    if errors:
        return _bad_export(errors)
    opts = _options()
    rep = build(f, opts)
    return _export(rep, rep.f, opts, obj)


# --------------------------------------------------------------------------- dashboard


def dashboard_context() -> dict:
    """What the dashboard template reads; also the staff landing page's."""
    f, errors = _filter()
    opts = _options()
    # Six whole-firm aggregates: kept a minute per firm and filter (reports.cache).
    rep = report_cache.cached("dashboard", (f,), lambda: builders.dashboard(f))
    return {
        "rep": rep,
        "f": f,
        "errors": errors,
        "export_url": url_for("reports.dashboard_export"),
        "export_query": f.query_string(),
        "is_practice": False,
        **opts,
    }


@bp.route("/")
@roles(STAFF)
def dashboard():
    """Show the firm dashboard."""
    ctx = dashboard_context()
    html = render_template("reports/report.html", **ctx)
    db.session.commit()
    return html, (400 if ctx["errors"] else 200)


@bp.route("/export")
@roles(STAFF)
def dashboard_export():
    """Download the firm dashboard as CSV or XLSX (audited)."""
    return _download(lambda f, _opts: builders.dashboard(f))


# --------------------------------------------------------------------------- payers


@bp.route("/payers")
@roles(STAFF)
def payers():
    """Show every payer's scorecard side by side."""
    return _show(_build_payers, "reports.payers_export")


@bp.route("/payers/export")
@roles(STAFF)
def payers_export():
    """Download the payer scorecards as CSV or XLSX (audited)."""
    return _download(_build_payers)


def _build_payers(f: ReportFilter, opts: dict) -> builders.Report:
    return builders.payer_scorecards(f, opts["payer_names"])


def _payer_or_404(payer_id: int):
    from advocate.payers.models import Payer

    payer = db.session.get(Payer, payer_id)
    if payer is None:
        abort(404)
    return payer


@bp.route("/payers/<int:payer_id>")
@roles(STAFF)
def payer(payer_id: int):
    """Show one payer's scorecard over time."""
    p = _payer_or_404(payer_id)
    f, errors = _filter()
    opts = _options()
    rep = builders.payer_scorecard(f, p.id, p.name)
    return _render_one("payer", p, rep, f, errors, opts)


@bp.route("/payers/<int:payer_id>/export")
@roles(STAFF)
def payer_export(payer_id: int):
    """Download one payer's scorecard as CSV or XLSX (audited)."""
    p = _payer_or_404(payer_id)
    return _download(lambda f, _opts: builders.payer_scorecard(f, p.id, p.name), p)


@bp.app_template_global("payer_scorecard")
def payer_scorecard_summary(payer_id: int) -> dict:
    """The payer page's own scorecard: the last twelve months (four statements)."""
    f, _errors = parse_report_filter({}, tenant=g.tenant)
    f = f.with_changes(payer_ids=(payer_id,))
    return {
        "f": f,
        "figures": builders.payer_summary(f),
        "url": url_for("reports.payer", payer_id=payer_id),
    }


# --------------------------------------------------------------------------- advocates


@bp.route("/advocates")
@roles(STAFF)
def advocates():
    """Show each advocate's open cases, overdue items and results."""
    return _show(_build_advocates, "reports.advocates_export")


@bp.route("/advocates/export")
@roles(STAFF)
def advocates_export():
    """Download advocate workload and results as CSV or XLSX (audited)."""
    return _download(_build_advocates)


def _build_advocates(f: ReportFilter, opts: dict) -> builders.Report:
    return builders.advocates(f, opts["advocate_names"])


# --------------------------------------------------------------------------- practices


@bp.route("/practices")
@roles(STAFF)
def practices():
    """Show every practice's cases and recoveries side by side."""
    return _show(_build_practices, "reports.practices_export")


@bp.route("/practices/export")
@roles(STAFF)
def practices_export():
    """Download the practices report as CSV or XLSX (audited)."""
    return _download(_build_practices)


def _build_practices(f: ReportFilter, opts: dict) -> builders.Report:
    return builders.practices(f, opts["practice_names"])


def _practice_or_404(practice_id: int):
    """A practice of the firm; for a practice person, only their own (else 404)."""
    from advocate.practices.models import Practice

    if _is_practice() and practice_id != g.membership.practice_id:
        abort(404)
    practice = db.session.get(Practice, practice_id)
    if practice is None:
        abort(404)
    return practice


def _practice_report(practice_id: int):
    p = _practice_or_404(practice_id)
    f, errors = _filter()
    opts = _options()
    rep = builders.practice(f, p.id, p.name, opts["payer_names"], links=not _is_practice())
    if _is_practice():
        audit("portal.view", p, details={"page": "report"})
    return _render_one("practice", p, rep, f, errors, opts)


@bp.route("/practice")
@roles(PRACTICE)
def my_practice():
    """Show the practice's own report (practice portal, read only)."""
    if g.membership.practice_id is None:
        abort(404)
    return _practice_report(g.membership.practice_id)


@bp.route("/practices/<int:practice_id>")
@roles(READERS)
def practice(practice_id: int):
    """Show one practice's cases, recoveries and fees over time."""
    return _practice_report(practice_id)


@bp.route("/practices/<int:practice_id>/export")
@roles(READERS)
def practice_export(practice_id: int):
    """Download one practice's report as CSV or XLSX (audited)."""
    p = _practice_or_404(practice_id)
    return _download(
        lambda f, opts: builders.practice(f, p.id, p.name, opts["payer_names"], links=False), p
    )


# --------------------------------------------------------------------------- drill-down


@bp.route("/cases")
@roles(STAFF)
def cases():
    """List the cases behind a report figure (references, no patient data)."""
    figure = request.args.get("figure") or "recovered"
    if figure not in DRILL_FIGURES:
        abort(404)
    f, errors = _filter()
    page_no = request.args.get("page", "1")
    page_no = (
        int(page_no) if (page_no.isascii() and page_no.isdigit()) and 0 < len(page_no) < 8 else 1
    )
    terms = q.drilldown_terms(f, figure)
    recovered = q.recovered_in_range(f).label("recovered")
    order = (
        [Case.closed_at.desc(), Case.id.desc()] if figure != "recovered" else [Case.number.desc()]
    )
    rows = (
        []
        if errors
        else db.session.execute(
            select(Case, recovered)
            .where(*terms)
            .order_by(*order)
            .limit(DRILL_PAGE)
            .offset((page_no - 1) * DRILL_PAGE)
        ).all()
    )
    if errors:
        total = 0
    elif page_no == 1 and len(rows) < DRILL_PAGE:
        total = len(rows)
    else:
        total = db.session.scalar(select(func.count(Case.id)).where(*terms)) or 0
    page = CasePage(items=rows, total=total, page=page_no, per_page=DRILL_PAGE)
    opts = _options()
    params: dict = {}
    for k, v in f.params():
        params.setdefault(k, []).append(v)
    html = render_template(
        "reports/cases.html",
        back_url=url_for("reports.dashboard", **params),
        figure_urls={k: url_for("reports.cases", figure=k, **params) for k in DRILL_FIGURES},
        filter_action=url_for("reports.cases"),
        page=page,
        f=f,
        errors=errors,
        figure=figure,
        figure_label=DRILL_FIGURES[figure],
        figures=DRILL_FIGURES,
        states=workflow.STATES,
        **opts,
    )
    db.session.commit()
    return html, (400 if errors else 200)


@bp.app_template_filter("report_display")
def _display(value, kind: str) -> str:
    return tables.display(value, kind)


@bp.app_template_filter("report_raw")
def _raw(value, kind: str) -> str:
    return tables.raw(value, kind)
