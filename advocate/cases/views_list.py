"""Caseload pages: the case list with filters, my caseload, the team board,
saved filters, CSV export and bulk assignment."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from flask import (
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from markupsafe import Markup
from sqlalchemy import func, select, union_all
from werkzeug.datastructures import MultiDict

from advocate.audit.services import audit
from advocate.auth.access import STAFF, WORKERS, roles, safe_next
from advocate.auth.models import User
from advocate.cases import bp, services, workflow
from advocate.cases.models import Case, SavedFilter
from advocate.cases.queries import (
    EXPORT_COLUMNS,
    FILTER_PARAMS,
    PER_PAGE_CHOICES,
    SORTS,
    CaseFilter,
    FilterError,
    case_conditions,
    count_cases,
    export_rows,
    filter_query_string,
    open_statuses,
    page_of_cases,
    parse_case_filter,
    status_rank,
    tenant_tz,
    with_changes,
)
from advocate.extensions import db
from advocate.ownership import ForeignIdError, require_member
from advocate.spreadsheets import CsvWriter
from tenants import tenant_scope
from tenants.models import WORKER_ROLES, Membership

SECTION_LIMIT = 20  # rows per "my caseload" section; the section links to the full list
BOARD_TOP = 8  # cases per board column
MAX_BULK = 500
MAX_SAVED_FILTERS = 50


# --------------------------------------------------------------------------- helpers


def _filter(args=None, **kw) -> tuple[CaseFilter, list[FilterError]]:
    return parse_case_filter(
        request.args if args is None else args, user_id=g.actor.id, tenant=g.tenant, **kw
    )


def _payers() -> list:
    from advocate.payers.models import Payer

    return db.session.execute(select(Payer.id, Payer.name).order_by(Payer.name, Payer.id)).all()


def _practices() -> list:
    from advocate.practices.models import Practice

    return db.session.execute(
        select(Practice.id, Practice.name).order_by(Practice.name, Practice.id)
    ).all()


def workers() -> list:
    """The firm's active people who may work cases: (user id, name)."""
    return db.session.execute(
        select(User.id, User.name)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.tenant_id == g.membership.tenant_id,
            Membership.is_active.is_(True),
            Membership.role.in_(WORKER_ROLES),
        )
        .order_by(User.name, User.id)
    ).all()


def _saved_filters() -> list[SavedFilter]:
    return list(
        db.session.scalars(
            select(SavedFilter)
            .where(SavedFilter.user_id == g.actor.id)
            .order_by(SavedFilter.name, SavedFilter.id)
        )
    )


def _filter_bar(f: CaseFilter, errors: list[FilterError]) -> dict:
    """What templates/cases/_filters.html reads (four queries)."""
    return {
        "f": f,
        "errors": errors,
        "payers": _payers(),
        "practices": _practices(),
        "assignees": workers(),
        "saved_filters": _saved_filters(),
        "statuses": list(workflow.STATES.items()),
        "sorts": SORTS,
        "per_page_choices": PER_PAGE_CHOICES,
        "current_query": filter_query_string(request.args),
        "can_work": g.membership.role in WORKERS,
    }


def detail_url(case: Case) -> str:
    return url_for("cases.detail", case_id=case.id)


@bp.app_template_global("caseload_case_url")
def _case_url(case) -> str:
    # Called for every row: build the rule once per request, then add the id.
    prefix = g.get("_case_url_prefix")
    if prefix is None:
        prefix = g._case_url_prefix = url_for("cases.detail", case_id=0).removesuffix("0")
    return f"{prefix}{int(case.id)}"


@bp.app_template_global("caseload_day")
def firm_day(moment: datetime | None, tz: str | None = None) -> date | None:
    """The firm's calendar day of a UTC timestamp (what opened_from/opened_to filter on)."""
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(tz or tenant_tz(g.get("tenant")))).date()


# Python twins of macros/ui.html's `date` and `money` and of the caseload's
# deadline cell: a case table calls them for every row, and a Jinja macro call
# costs more than the cell (the tables of "my caseload" are ~90 rows). Same
# output as the macros (tests/cases/test_list_render.py compares them).


@bp.app_template_filter("caseload_date")
def _cell_date(value) -> str:
    if value is None or value == "":
        return "—"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d")
    return value


@bp.app_template_filter("caseload_money")
def _cell_money(value) -> str:
    if value is None or value == "":
        return "—"
    s = f"{float(value) if isinstance(value, str) else value:,.2f}"
    if s == "-0.00":
        return "$0.00"
    if s.startswith("-"):
        return f"-${s[1:]}"
    return f"${s}"


_NO_DEADLINE = Markup('<span class="muted">—</span>')
_OVERDUE = Markup(' <span class="badge badge-danger">Overdue</span>')
_THIS_WEEK = Markup(' <span class="badge badge-warning">This week</span>')
_DEADLINE = Markup('<span class="nowrap">{}{}</span>')


@bp.app_template_global("caseload_deadline")
def _cell_deadline(c, today: date) -> Markup:
    due = c.next_deadline_on
    if due is None:
        return _NO_DEADLINE
    badge = ""
    if c.is_open and due < today:
        badge = _OVERDUE
    elif c.is_open and (due - today).days <= 7:
        badge = _THIS_WEEK
    return _DEADLINE.format(due.strftime("%Y-%m-%d"), badge)


# --------------------------------------------------------------------------- the list


@bp.route("/")
@roles(STAFF)
def index():
    """List the firm's cases with filters, sorting and pagination."""
    f, errors = _filter()
    page = None
    if not errors:
        page = page_of_cases(f)
        audit(
            "case.list",
            object_type="case",
            is_phi=True,
            details={"view": "list", "rows": len(page.items), "total": page.total, "page": f.page},
        )
    html = render_template("cases/list.html", page=page, **_filter_bar(f, errors))
    db.session.commit()  # after rendering: a commit expires the loaded rows
    return html, (400 if errors else 200)


@bp.route("/export.csv")
@roles(STAFF)
def export_csv():
    """Download the filtered case list as CSV (audited: it carries PHI)."""
    f, errors = _filter()
    if errors:
        return Response("\n".join(errors) + "\n", status=400, mimetype="text/plain")
    total = count_cases(f)
    audit(
        "case.export",
        object_type="case",
        is_phi=True,
        details={"rows": total, "filters": sorted(k for k in FILTER_PARAMS if request.args.get(k))},
    )
    db.session.commit()
    stmt = export_rows(f)
    tenant_id = g.membership.tenant_id
    stamp = f.today.isoformat()

    def generate() -> Iterator[str]:
        # The request's tenant scope may be gone by the time the body streams:
        # the rows are read in the firm's own scope, explicitly.
        with tenant_scope(tenant_id):
            yield from csv_lines(
                db.session.execute(stmt.execution_options(yield_per=1000)), tz=f.tz
            )
        db.session.commit()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=cases-{stamp}.csv"},
    )


def _money(v) -> str:
    return "" if v is None else f"{Decimal(v):.2f}"


def _text(v) -> str:
    return "" if v is None else str(v)


def csv_lines(rows: Iterable, *, tz: str = "UTC") -> Iterator[str]:
    # The shared writer quotes any cell a spreadsheet would run as a formula.
    w = CsvWriter()
    w.writerow(EXPORT_COLUMNS)
    yield w.drain()
    for n, r in enumerate(rows, start=1):
        status = workflow.STATES.get(r.status, r.status)
        if r.status == workflow.APPEAL and r.appeal_level:
            status += f" (level {r.appeal_level})"
        w.writerow(
            [
                f"C-{r.number:06d}",
                _text(r.patient_last_name),
                _text(r.patient_first_name),
                _text(r.practice),
                _text(r.payer),
                r.plan_type,
                _text(r.payer_claim_number),
                _text(r.patient_control_number),
                r.service_from.isoformat(),
                r.service_to.isoformat(),
                status,
                _text(r.assignee),
                firm_day(r.opened_at, tz).isoformat() if r.opened_at else "",
                _money(r.billed_total),
                _money(r.allowed_total),
                _money(r.total_paid),
                _money(r.amount_at_stake),
                r.next_deadline_on.isoformat() if r.next_deadline_on else "",
                r.next_follow_up_on.isoformat() if r.next_follow_up_on else "",
                {True: "yes", False: "no"}.get(r.is_nsa_eligible, ""),
            ]
        )
        if n % 500 == 0:
            yield w.drain()
    yield w.drain()


# --------------------------------------------------------------------------- my caseload


@bp.route("/mine")
@roles(STAFF)
def mine():
    """Show what needs me today: overdue, due this week, follow-ups, my open cases."""
    args = MultiDict(
        [
            (k, v)
            for k, v in request.args.items(multi=True)
            if k in ("page", "per_page", "sort", "dir")
        ]
    )
    args.setlist("assignee_id", ["me"])
    args.setlist("status", ["open"])
    if "sort" not in args:
        args["sort"] = "deadline"
    f, errors = _filter(args, per_page=25)
    from advocate.deadlines import case_services as deadline_services

    today, me = f.today, g.actor.id
    # The Deadlines page's items and window (10 business days), counted the same way:
    # the two pages never disagree about what is overdue or due soon.
    week_end = deadline_services.due_horizon(g.membership.tenant_id, today)
    base = [Case.assignee_id == me, Case.status.in_(open_statuses())]
    mine = deadline_services.due_summary(today=today, until=week_end, assignee=me)
    n_overdue = sum(r["overdue"] for r in mine)
    n_due = sum(r["due_soon"] for r in mine)
    is_overdue = Case.id.in_(
        deadline_services.due_case_ids(today=today, until=week_end, assignee=me, overdue=True)
    )
    is_due_week = Case.id.in_(
        deadline_services.due_case_ids(today=today, until=week_end, assignee=me, overdue=False)
    )
    is_follow_up = Case.next_follow_up_on <= today
    follow_ups = db.session.scalar(
        select(func.count()).select_from(Case).where(*base, is_follow_up)
    )
    counts = (n_overdue, n_due, follow_ups)

    def section(cond, *order) -> list[Case]:
        return list(
            db.session.scalars(
                select(Case).where(*base, cond).order_by(*order, Case.id).limit(SECTION_LIMIT)
            )
        )

    sections = [
        (
            "overdue",
            "Overdue",
            "Deadlines that have passed (counted as on the Deadlines page).",
            counts[0],
            section(is_overdue, Case.next_deadline_on) if counts[0] else [],
            url_for("cases.index", assignee_id="me", overdue=1, sort="deadline"),
        ),
        (
            "due_week",
            "Due soon",
            f"Deadlines from today to {week_end.isoformat()} (the next 10 business days, "
            "as on the Deadlines page).",
            counts[1],
            section(is_due_week, Case.next_deadline_on) if counts[1] else [],
            None,
        ),
        (
            "follow_ups",
            "Follow-ups due",
            "Calls and letters to chase today or earlier.",
            counts[2],
            section(is_follow_up, Case.next_follow_up_on) if counts[2] else [],
            None,
        ),
    ]
    page = None
    if not errors:
        page = page_of_cases(f)
    shown = sum(len(s[4]) for s in sections) + (len(page.items) if page else 0)
    audit(
        "case.list",
        object_type="case",
        is_phi=True,
        details={"view": "mine", "rows": shown, "total": page.total if page else 0},
    )
    html = render_template(
        "cases/mine.html",
        f=f,
        errors=errors,
        sections=sections,
        page=page,
        today=today,
        section_limit=SECTION_LIMIT,
        sorts=SORTS,
    )
    db.session.commit()  # after rendering: a commit expires the loaded rows
    return html, (400 if errors else 200)


# --------------------------------------------------------------------------- the team board


@bp.route("/board")
@roles(STAFF)
def board():
    """Show the team's open cases by status: counts, and the largest cases in each."""
    f, errors = _filter()
    f = with_changes(f, statuses=())  # the board's columns are the statuses
    columns, closed = [], []
    if not errors:
        conds = case_conditions(f)
        totals = {
            s: (n, amount or Decimal("0"))
            for s, n, amount in db.session.execute(
                select(Case.status, func.count(Case.id), func.sum(Case.amount_at_stake))
                .where(*conds)
                .group_by(Case.status)
            )
        }
        # One statement for every column's top cases: a LIMIT per status
        # (each walks the amount index until it has enough), not a ranking of
        # every open case.
        branches = []
        for s in open_statuses():
            col = (
                select(Case.id)
                .where(*conds, Case.status == s)
                .order_by(Case.amount_at_stake.desc(), Case.id)
                .limit(BOARD_TOP)
                .subquery()
            )
            branches.append(select(col.c.id))
        top_ids = union_all(*branches).subquery()
        top: dict[str, list[Case]] = {}
        for c in db.session.scalars(
            select(Case)
            .where(Case.id.in_(select(top_ids.c.id)))
            .order_by(status_rank(), Case.amount_at_stake.desc(), Case.id)
        ):
            top.setdefault(c.status, []).append(c)
        # Each column links to the list with the board's filters and its status.
        kept = [
            (k, v)
            for k, v in request.args.items(multi=True)
            if k in FILTER_PARAMS and k != "status"
        ]

        def list_query(status: str) -> str:
            return filter_query_string(MultiDict([*kept, ("status", status)]), keep_view=False)

        for s in open_statuses():
            n, amount = totals.get(s, (0, Decimal("0")))
            columns.append(
                {
                    "status": s,
                    "label": workflow.STATES[s],
                    "count": n,
                    "amount": amount,
                    "cases": top.get(s, []),
                    "query": list_query(s),
                }
            )
        for s in sorted(workflow.CLOSED, key=list(workflow.STATES).index):
            n, _amount = totals.get(s, (0, Decimal("0")))
            closed.append(
                {"status": s, "label": workflow.STATES[s], "count": n, "query": list_query(s)}
            )
    html = render_template(
        "cases/board.html",
        columns=columns,
        closed=closed,
        board_top=BOARD_TOP,
        **_filter_bar(f, errors),
    )
    db.session.commit()
    return html, (400 if errors else 200)


# --------------------------------------------------------------------------- assignment


class AssignError(ValueError):
    pass


def resolve_assignee(raw: str | None) -> User | None:
    """The user a case goes to: an active owner, admin or advocate of this
    firm (the shared check, advocate.ownership). "none" unassigns. Raises
    AssignError with the reason."""
    raw = (raw or "").strip()
    if raw == "":
        raise AssignError("Choose who to assign the cases to.")
    if raw.lower() == "none":
        return None
    try:
        return require_member(raw, field="assignee_id", roles=WORKER_ROLES, required=True)
    except ForeignIdError as err:
        raise AssignError(f"{err.field}: {err.message}.") from None


def assign_cases(cases: Iterable[Case], assignee: User | None, *, actor_id: int | None) -> int:
    """Assign each case (flush, no commit). Each change is audited and put on
    the case's timeline; cases already with that person are left alone."""
    new_id = assignee.id if assignee else None
    changed = 0
    for case in cases:
        old_id = case.assignee_id
        if old_id == new_id:
            continue
        old_name = case.assignee.name if case.assignee is not None else None
        case.assignee_id = new_id
        case.assignee = assignee
        if assignee is None:
            summary = f"Unassigned (was {old_name})" if old_name else "Unassigned"
        elif old_name:
            summary = f"Reassigned from {old_name} to {assignee.name}"
        else:
            summary = f"Assigned to {assignee.name}"
        services.event(
            case, "assignment", summary, actor_id=actor_id, data={"from": old_id, "to": new_id}
        )
        audit("case.assigned", case, details={"from": old_id, "to": new_id})
        changed += 1
    db.session.flush()
    return changed


def _assigned_message(changed: int, total: int, assignee: User | None) -> str:
    who = assignee.name if assignee else "nobody"
    msg = f"{changed} case{'s' if changed != 1 else ''} assigned to {who}."
    if changed < total:
        msg += f" {total - changed} already were."
    return msg


@bp.route("/assign", methods=["POST"])
@roles(WORKERS)
def assign_bulk():
    """Assign the ticked cases to one person (or to nobody)."""
    back = safe_next(request.form.get("next"), "cases.index")
    raw_ids = request.form.getlist("case_id")
    bad = [v for v in raw_ids if not (v.isascii() and v.isdigit()) or len(v) > 18]
    ids = list(dict.fromkeys(int(v) for v in raw_ids if v not in bad))
    if bad:
        flash(f"case_id: '{bad[0][:40]}' is not a case id.", "danger")
        return redirect(back)
    if not ids:
        flash("Tick at least one case to assign.", "warning")
        return redirect(back)
    if len(ids) > MAX_BULK:
        flash(f"Assign at most {MAX_BULK} cases at a time.", "danger")
        return redirect(back)
    cases = list(db.session.scalars(select(Case).where(Case.id.in_(ids))))
    if len(cases) != len(ids):
        abort(404)  # a case of another firm, or gone: nothing is changed
    try:
        assignee = resolve_assignee(request.form.get("assignee_id"))
    except AssignError as e:
        flash(str(e), "danger")
        return redirect(back)
    changed = assign_cases(cases, assignee, actor_id=g.actor.id)
    db.session.commit()
    flash(_assigned_message(changed, len(cases), assignee), "success")
    return redirect(back)


@bp.route("/<int:case_id>/assign", methods=["POST"])
@roles(WORKERS)
def assign_one(case_id: int):
    """Assign one case to a person (or to nobody)."""
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    back = safe_next(request.form.get("next"), "cases.index")
    if not request.form.get("next"):
        back = detail_url(case)
    try:
        assignee = resolve_assignee(request.form.get("assignee_id"))
    except AssignError as e:
        flash(str(e), "danger")
        return redirect(back)
    changed = assign_cases([case], assignee, actor_id=g.actor.id)
    db.session.commit()
    if changed:
        flash(f"{case.reference} assigned to {assignee.name if assignee else 'nobody'}.", "success")
    else:
        flash(f"{case.reference} already was.", "info")
    return redirect(back)


# --------------------------------------------------------------------------- saved filters


@bp.route("/filters", methods=["POST"])
@roles(STAFF)
def save_filter():
    """Save the list's current filter under a name (mine only)."""
    name = (request.form.get("name") or "").strip()
    raw = request.form.get("query") or ""
    args = MultiDict(parse_qsl(raw.lstrip("?"), keep_blank_values=False))
    query = filter_query_string(args)
    problems = []
    if not name:
        problems.append("name: give the filter a name")
    elif len(name) > 100:
        problems.append("name: is longer than 100 characters")
    if len(query) > 2000:
        problems.append("query: the filter is too long to save")
    _f, errors = _filter(args)
    problems += errors
    existing = None
    if not problems:
        existing = db.session.scalar(
            select(SavedFilter).where(SavedFilter.user_id == g.actor.id, SavedFilter.name == name)
        )
        if existing is None:
            n = db.session.scalar(
                select(func.count(SavedFilter.id)).where(SavedFilter.user_id == g.actor.id)
            )
            if n >= MAX_SAVED_FILTERS:
                problems.append(
                    f"name: you have {MAX_SAVED_FILTERS} saved filters; delete one first"
                )
    if problems:
        for p in problems:
            flash(f"Filter not saved. {p}", "danger")
        return redirect(url_for("cases.index") + (f"?{query}" if query else ""))
    if existing is None:
        sf = SavedFilter(user_id=g.actor.id, name=name, query=query)
        db.session.add(sf)
        db.session.flush()
        audit(
            "saved_filter.created", sf, details={"params": sorted({k for k, _ in parse_qsl(query)})}
        )
    else:
        sf = existing
        sf.query = query
        audit(
            "saved_filter.updated", sf, details={"params": sorted({k for k, _ in parse_qsl(query)})}
        )
    db.session.commit()
    flash(f"Filter “{name}” saved.", "success")
    return redirect(url_for("cases.index") + (f"?{query}" if query else ""))


@bp.route("/filters/<int:filter_id>/delete", methods=["POST"])
@roles(STAFF)
def delete_filter(filter_id: int):
    """Delete one of my saved filters."""
    sf = db.session.scalar(
        select(SavedFilter).where(SavedFilter.id == filter_id, SavedFilter.user_id == g.actor.id)
    )
    if sf is None:
        abort(404)
    name = sf.name
    audit("saved_filter.deleted", sf)
    db.session.delete(sf)
    db.session.commit()
    flash(f"Filter “{name}” deleted.", "success")
    return redirect(safe_next(request.form.get("next"), "cases.index"))
