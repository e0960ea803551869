"""Case deadlines and the NSA track: the ``nsa`` blueprint.

* ``GET /deadlines/``: what is due in the next 10 business days, by advocate,
  overdue first; ``GET /deadlines/calendar?month=YYYY-MM``: the month grid.
* ``GET|POST /cases/<case_id>/nsa``: one case's No Surprises Act track
  (eligibility, open negotiation, IDR, the timeline with each rule).
* ``POST /cases/<case_id>/deadlines[...]``: deadlines added by hand, done marks,
  a recompute.
* CLI ``flask deadlines digest`` (daily email per advocate; cron) and
  ``flask deadlines recompute``.

Registered without a URL prefix so the case pages stay under /cases/ without
touching the cases feature's blueprint.
"""

from __future__ import annotations

import contextvars
from datetime import date

import click
from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError

from advocate.audit.services import audited
from advocate.auth.access import STAFF, WORKERS, has_role, roles
from advocate.cases import workflow
from advocate.cases.forms import SERVICE_TYPE_LABELS
from advocate.cases.models import Case, Offer
from advocate.deadlines import case_services as svc
from advocate.deadlines import nsa
from advocate.deadlines.case_forms import FORMS, ManualDeadlineForm, apply_errors
from advocate.deadlines.case_models import (
    IDR_KINDS,
    NOTICE_METHODS,
    PREVAILING_PARTIES,
    CaseDeadline,
)
from advocate.deadlines.case_services import NsaError
from advocate.deadlines.eligibility import ELIGIBLE, NOT_ELIGIBLE
from advocate.extensions import db
from advocate.payers.defaults import PLAN_TYPES
from advocate.practices.services import tenant_today
from advocate.web import register_nav
from tenants.models import WORKER_ROLES, Membership

bp = Blueprint("nsa", __name__, cli_group="deadlines")

register_nav(35, "Work", "Deadlines", "nsa.deadline_list", STAFF)

LIST_PAGE = 50
APPROACH_WARN_DAYS = 5


# --------------------------------------------------------------------------- helpers


def _today() -> date:
    return tenant_today(g.tenant)


def _url_or_none(endpoint: str, **values) -> str | None:
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _case_or_404(case_id: int, *, lock: bool = False) -> Case:
    q = (
        select(Case)
        .where(Case.id == case_id)
        .options(selectinload(Case.lines), selectinload(Case.payments))
    )
    if lock:
        q = q.with_for_update(of=Case)
    case = db.session.scalar(q)
    if case is None:
        abort(404)
    m = g.membership
    if m.is_practice and (m.practice_id is None or case.practice_id != m.practice_id):
        abort(404)
    return case


def _advocates() -> list[tuple[int, str]]:
    # Memberships are not ORM-scoped: the tenant filter is explicit.
    rows = db.session.scalars(
        select(Membership).where(
            Membership.tenant_id == g.tenant.id,
            Membership.is_active.is_(True),
            Membership.role.in_(WORKER_ROLES),
        )
    ).all()
    return sorted(
        ((m.user_id, m.user.name or m.user.email) for m in rows), key=lambda p: p[1].lower()
    )


def _assignee_arg() -> tuple[object, str]:
    """The advocate filter: (value for the service, value for the form)."""
    raw = (request.args.get("advocate") or "").strip()
    if raw == "me":
        return g.actor.id, str(g.actor.id)
    if raw == "none":
        return "none", "none"
    if raw.isascii() and raw.isdigit():
        return int(raw), raw
    return None, ""


def _advocate_choices(selected: str):
    return [
        ("", "Everyone"),
        ("none", "Unassigned"),
        *((str(uid), name) for uid, name in _advocates()),
    ], selected


# --------------------------------------------------------------------------- the deadline list


@bp.route("/deadlines/")
@roles(STAFF)
def deadline_list():
    """List what is due in the next 10 business days, overdue first, by advocate."""
    today = _today()
    tid = g.membership.tenant_id
    until = svc.due_horizon(tid, today)
    assignee, selected = _assignee_arg()
    on = None
    raw_on = (request.args.get("due") or "").strip()
    if raw_on:
        try:
            on = date.fromisoformat(raw_on)
        except ValueError:
            abort(400)
    q = svc.due_items(today=today, until=None if on else until, on=on, assignee=assignee)
    summary = svc.due_summary(today=today, until=until, assignee=assignee)
    if on is None:
        # The summary counts exactly the list's rows (same terms): no second
        # count over the join of deadlines and cases.
        page = db.paginate(q, per_page=LIST_PAGE, error_out=False, count=False)
        page.total = sum(r["total"] for r in summary)
    else:
        page = db.paginate(q, per_page=LIST_PAGE, error_out=False)
    info = svc.case_info(d.case_id for d in page.items)
    for d in page.items:
        d.today = today
    options, selected = _advocate_choices(selected)
    html = render_template(
        "deadlines/deadline_list.html",
        page=page,
        info=info,
        today=today,
        until=until,
        on=on,
        summary=summary,
        advocate_options=options,
        selected=selected,
        business_days=svc.DUE_SOON_BUSINESS_DAYS,
        calendar=svc.calendar_for(tid),
    )
    db.session.commit()  # after rendering: a commit expires the rows the page shows
    return html


@bp.route("/deadlines/calendar")
@roles(STAFF)
def deadline_calendar():
    """Show the firm's deadlines on a month grid."""
    today = _today()
    raw = (request.args.get("month") or "").strip()
    month = today.replace(day=1)
    if raw:
        try:
            year, mon = raw.split("-")
            month = date(int(year), int(mon), 1)
        except ValueError:
            abort(400)
        if not 2000 <= month.year <= 2100:
            abort(400)
    assignee, selected = _assignee_arg()
    grid = svc.calendar_month(g.membership.tenant_id, month, today=today, assignee=assignee)
    options, selected = _advocate_choices(selected)
    html = render_template(
        "deadlines/deadline_calendar.html",
        grid=grid,
        today=today,
        advocate_options=options,
        selected=selected,
    )
    db.session.commit()
    return html


# --------------------------------------------------------------------------- one case's NSA track


def _approaching(timeline, dispute, today: date, cal) -> list[dict]:
    """The NSA dates still ahead of the advocate (or just missed), with business days to go."""
    if timeline is None:
        return []
    d = dispute
    steps = []
    if d is None or d.notice_sent_on is None:
        steps.append(("Send the open negotiation notice by", timeline.notice_deadline, True))
    elif d.idr_initiated_on is None:
        steps.append(("Open negotiation ends", timeline.negotiation_ends, False))
        steps.append(("IDR initiation window opens", timeline.idr_window_start, False))
        steps.append(("IDR initiation window closes", timeline.idr_window_end, True))
    else:
        if d.idre_selected_on is None:
            steps.append(("IDR entity selection due", timeline.idre_selection_due, True))
        elif d.offers_submitted_on is None:
            steps.append(("IDR offers due", timeline.offers_due, True))
        if d.idre_selected_on is not None and d.determined_on is None:
            steps.append(("Determination due", timeline.determination_due, False))
        if d.determined_on is not None and d.payment_received_on is None:
            steps.append(("Payment of the award due", timeline.payment_due, True))
    out = []
    for label, when, actionable in steps:
        if when is None:
            continue
        days = cal.business_days_between(today, when)
        if days < 0:
            kind = "danger" if actionable else "muted"
        elif days <= APPROACH_WARN_DAYS:
            kind = "warning"
        else:
            kind = "info"
        out.append({"label": label, "date": when, "days": days, "kind": kind})
    return out


def _steps(timeline, dispute) -> list[dict]:
    """The timeline table: each step's date, whether it is done, and its rule."""
    d = dispute
    rows = [
        ("Initial payment or denial received", timeline.received, None, None),
        (
            "Open negotiation notice due",
            timeline.notice_deadline,
            "notice_deadline",
            d.notice_sent_on if d else None,
        ),
        ("Open negotiation notice sent", timeline.notice_sent, None, None),
        ("Open negotiation period ends", timeline.negotiation_ends, "negotiation_ends", None),
        ("IDR initiation window opens", timeline.idr_window_start, "idr_window_start", None),
        (
            "IDR initiation window closes",
            timeline.idr_window_end,
            "idr_window_end",
            d.idr_initiated_on if d else None,
        ),
        ("IDR initiated", timeline.initiated, None, None),
        (
            "IDR entity selection due",
            timeline.idre_selection_due,
            "idre_selection_due",
            d.idre_selected_on if d else None,
        ),
        ("IDR entity selected", timeline.selected, None, None),
        ("Offers due", timeline.offers_due, "offers_due", d.offers_submitted_on if d else None),
        (
            "Determination due",
            timeline.determination_due,
            "determination_due",
            d.determined_on if d else None,
        ),
        ("Determination made", timeline.determined, None, None),
        (
            "Payment of the award due",
            timeline.payment_due,
            "payment_due",
            d.payment_received_on if d else None,
        ),
        ("Cooling-off period ends", timeline.cooling_off_ends, "cooling_off_ends", None),
        (
            "Held-back items may be filed through",
            timeline.cooling_off_filing_ends,
            "cooling_off_filing_ends",
            None,
        ),
    ]
    rules = timeline.explain()
    return [
        {
            "label": label,
            "date": when,
            "key": key,
            "met_on": met,
            "rule": rules.get(key) if key else ("Recorded." if when else "Not recorded yet."),
            "is_input": key is None,
        }
        for label, when, key, met in rows
    ]


def _prefill(forms: dict, case: Case, dispute, today: date) -> None:
    def put(form_key, name, value):
        form = forms[form_key]
        if form_key in forms.get("_posted", ()):
            return
        field = getattr(form, name)
        field.data = (
            "" if value is None else (value.isoformat() if isinstance(value, date) else str(value))
        )

    put("eligibility", "service_type", case.service_type or "other")
    put("eligibility", "state", case.state or "")
    put(
        "eligibility",
        "facility_in_network",
        {True: "yes", False: "no"}.get(case.facility_in_network, ""),
    )
    put("received", "received_on", case.initial_payment_received_on or today)
    d = dispute
    put("notice", "notice_sent_on", (d.notice_sent_on if d else None) or today)
    put("notice", "qpa", d.qpa if d else None)
    put("notice", "offer", d.notice_offer if d else None)
    put("notice", "method", (d.notice_method if d else None) or "")
    put("offer", "offered_on", today)
    put("offer", "party", "payer")
    put("initiate", "initiated_on", (d.idr_initiated_on if d else None) or today)
    put("initiate", "idr_reference", d.idr_reference if d else None)
    put("initiate", "idr_kind", (d.idr_kind if d else None) or "single")
    put("response", "response_on", (d.response_on if d else None) or today)
    put("response", "response_note", d.response_note if d else None)
    put("idre", "idre_name", d.idre_name if d else None)
    put("idre", "selected_on", (d.idre_selected_on if d else None) or today)
    put("idr_offers", "our_offer", d.our_offer if d else None)
    put("idr_offers", "their_offer", d.their_offer if d else None)
    put("idr_offers", "offers_submitted_on", (d.offers_submitted_on if d else None) or today)
    put("idr_offers", "offer_basis", d.offer_basis if d else None)
    put("fees", "admin_fee_paid_on", d.admin_fee_paid_on if d else None)
    put("fees", "idre_fee", d.idre_fee if d else None)
    put("fees", "idre_fee_paid_on", d.idre_fee_paid_on if d else None)
    put("determination", "determined_on", (d.determined_on if d else None) or today)
    put("determination", "prevailing_party", (d.prevailing_party if d else None) or "")
    put("determination", "prevailing_amount", d.prevailing_amount if d else None)
    put("payment", "payment_received_on", (d.payment_received_on if d else None) or today)
    put("payment", "payment_amount", d.payment_amount if d else None)


def _forms(posted: dict | None = None) -> dict:
    posted = posted or {}
    forms: dict = {"_posted": tuple(posted)}
    for action, (cls, prefix) in FORMS.items():
        form = posted.get(action) or cls(formdata=None, prefix=prefix)
        form.action.data = action
        forms[action] = form
    return forms


def _render(
    case: Case, *, status: int = 200, posted: dict | None = None, errors: list[str] | None = None
):
    today = _today()
    tid = case.tenant_id
    cal = svc.calendar_for(tid)
    dispute = svc.dispute_for(case)
    eligibility, eligibility_notes = svc.eligibility_for(case)
    deadlines = svc.case_deadlines(case, today=today, refresh=status == 200)
    timeline = svc.nsa_timeline_of(case, dispute)
    offers = list(
        db.session.scalars(
            select(Offer)
            .where(Offer.case_id == case.id)
            .order_by(Offer.offered_on.desc(), Offer.id.desc())
        )
    )
    forms = _forms(posted)
    _prefill(forms, case, dispute, today)
    can_work = has_role(*WORKERS) and case.is_open
    admin_fee_preview = None
    if dispute is None or dispute.idr_initiated_on is None:
        try:
            admin_fee_preview = nsa.admin_fee_on(today)
        except ValueError:
            admin_fee_preview = None
    kind = (dispute.idr_kind if dispute else None) or "single"
    ctx = {
        "case": case,
        "dispute": dispute,
        "today": today,
        "eligibility": eligibility,
        "eligibility_notes": eligibility_notes,
        "eligible_words": {ELIGIBLE: "Eligible", NOT_ELIGIBLE: "Not eligible"}.get(
            eligibility.status, "Unknown"
        ),
        "stored_words": {True: "Eligible", False: "Not eligible"}.get(
            case.is_nsa_eligible, "Unknown"
        ),
        "timeline": timeline,
        "steps": _steps(timeline, dispute) if timeline else [],
        "warnings": svc.timeline_warnings(timeline) if timeline else [],
        # Dates to act on only where the case's one NSA answer says the track applies.
        "approaching": (
            _approaching(timeline, dispute, today, cal)
            if svc.nsa_track_applies(case, dispute)
            else []
        ),
        "deadlines": deadlines.deadlines,
        "deadline_notes": deadlines.notes,
        "offers": offers,
        "forms": forms,
        "can_work": can_work,
        "errors": errors or [],
        "batch": svc.batch_candidates(case) if case.is_nsa_eligible else [],
        "admin_fee_preview": admin_fee_preview,
        "idre_range": nsa.IDRE_FEE_RANGES[kind],
        "idr_kinds": IDR_KINDS,
        "notice_methods": NOTICE_METHODS,
        "parties": PREVAILING_PARTIES,
        "plan_type_label": PLAN_TYPES.get(case.plan_type, case.plan_type),
        "service_type_label": SERVICE_TYPE_LABELS.get(case.service_type, case.service_type),
        "cases_url": _url_or_none("cases.index"),
        "case_url": _url_or_none("cases.detail", case_id=case.id),
        "status_label": workflow.STATES.get(case.status, case.status),
    }
    return render_template("deadlines/case_nsa.html", **ctx), status


@bp.route("/cases/<int:case_id>/nsa")
@roles(STAFF)
@audited("case.nsa_view", "case", "case_id")
def case_nsa(case_id: int):
    """Show a case's No Surprises Act track: eligibility, negotiation, IDR, timeline."""
    case = _case_or_404(case_id)
    page = _render(case)
    db.session.commit()  # the refreshed deadlines (derived data)
    return page


MESSAGES = {
    "eligibility": "NSA eligibility checked.",
    "received": "Date the initial payment or denial was received recorded.",
    "notice": "Open negotiation notice recorded.",
    "offer": "Offer recorded in the negotiation.",
    "initiate": "IDR initiation recorded.",
    "response": "The other party's response recorded.",
    "idre": "IDR entity selection recorded.",
    "idr_offers": "IDR offers recorded.",
    "fees": "IDR fees recorded.",
    "determination": "Determination recorded.",
    "payment": "Award payment recorded.",
}

ACTIONS = {
    "received": svc.record_received,
    "notice": svc.record_notice,
    "initiate": svc.record_idr_initiated,
    "response": svc.record_response,
    "idre": svc.record_idre,
    "idr_offers": svc.record_idr_offers,
    "fees": svc.record_fees,
    "determination": svc.record_determination,
    "payment": svc.record_payment,
}


@bp.route("/cases/<int:case_id>/nsa", methods=["POST"])
@roles(WORKERS)
def case_nsa_post(case_id: int):
    """Record one step of the case's NSA track."""
    case = _case_or_404(case_id, lock=True)
    action = (request.form.get("action") or "").strip()
    if action not in FORMS:
        abort(400)
    cls, prefix = FORMS[action]
    form = cls(prefix=prefix)
    data = form.service_data()
    actor_id = g.actor.id
    today = _today()
    if not case.is_open and action != "payment":
        db.session.rollback()
        flash("The case is closed: reopen it on the case page first.", "danger")
        return _render(case, status=409)
    try:
        if action == "eligibility":
            result, _notes = svc.record_eligibility(case, actor_id=actor_id, data=data)
            warnings = []
            words = {ELIGIBLE: "eligible", NOT_ELIGIBLE: "not eligible"}.get(
                result.status, "unknown"
            )
            message = f"NSA eligibility: {words}."
        elif action == "offer":
            svc.record_negotiation_offer(case, actor_id=actor_id, data=data)
            svc.recompute_deadlines(case)
            warnings, message = [], MESSAGES[action]
        else:
            warnings = ACTIONS[action](case, actor_id=actor_id, data=data, today=today)
            message = MESSAGES[action]
    except NsaError as err:
        db.session.rollback()
        case = _case_or_404(case_id)
        posted_form = cls(prefix=prefix)
        loose = apply_errors(posted_form, err.errors)
        return _render(case, status=422, posted={action: posted_form}, errors=loose)
    db.session.commit()
    flash(message, "success")
    for w in warnings:
        flash(w, "warning")
    return redirect(url_for("nsa.case_nsa", case_id=case.id, _anchor=f"nsa-{action}"), code=303)


@bp.route("/cases/<int:case_id>/nsa/notice.json")
@roles(STAFF)
@audited("case.nsa_notice_data", "case", "case_id")
def notice_json(case_id: int):
    """Return the open negotiation notice's data (for letters), as JSON."""
    case = _case_or_404(case_id)
    sent_on = None
    raw = (request.args.get("sent_on") or "").strip()
    if raw:
        try:
            sent_on = date.fromisoformat(raw)
        except ValueError:
            abort(400)
    data = svc.notice_data(case, sent_on=sent_on)
    db.session.commit()
    return jsonify(_jsonable(data))


def _jsonable(value):
    from decimal import Decimal

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------- deadlines by hand, done marks


def _back(case: Case):
    target = request.form.get("next") or ""
    if target == "case" and _url_or_none("cases.detail", case_id=case.id):
        return redirect(url_for("cases.detail", case_id=case.id, _anchor="deadlines"), code=303)
    return redirect(url_for("nsa.case_nsa", case_id=case.id, _anchor="deadlines"), code=303)


@bp.route("/cases/<int:case_id>/deadlines", methods=["POST"])
@roles(WORKERS)
def add_deadline(case_id: int):
    """Add a deadline by hand to a case."""
    case = _case_or_404(case_id, lock=True)
    form = ManualDeadlineForm(prefix="manual")
    try:
        svc.add_manual_deadline(case, actor_id=g.actor.id, data=form.service_data())
    except NsaError as err:
        db.session.rollback()
        case = _case_or_404(case_id)
        labels = {"label": "What is due", "due_on": "Due on", "note": "Note"}
        loose = [f"{labels.get(name, name)}: {message}" for name, message in err.errors]
        return _render(case, status=422, errors=loose)
    db.session.commit()
    flash("Deadline added.", "success")
    return _back(case)


@bp.route("/cases/<int:case_id>/deadlines/<int:deadline_id>/done", methods=["POST"])
@roles(WORKERS)
def deadline_done(case_id: int, deadline_id: int):
    """Mark one of a case's deadlines done (or open again with done=0)."""
    case = _case_or_404(case_id, lock=True)
    deadline = db.session.scalar(
        select(CaseDeadline).where(CaseDeadline.id == deadline_id, CaseDeadline.case_id == case.id)
    )
    if deadline is None:
        abort(404)
    done = request.form.get("done", "1") != "0"
    svc.mark_deadline_done(case, deadline, actor_id=g.actor.id, done=done)
    db.session.commit()
    flash(f"{deadline.label}: {'done' if deadline.is_done else 'open'}.", "success")
    return _back(case)


@bp.route("/cases/<int:case_id>/deadlines/recompute", methods=["POST"])
@roles(WORKERS)
def recompute(case_id: int):
    """Recompute a case's deadlines from its facts now."""
    case = _case_or_404(case_id, lock=True)
    svc.recompute_deadlines(case, actor_id=g.actor.id)
    db.session.commit()
    flash("Deadlines recomputed.", "success")
    return _back(case)


# --------------------------------------------------------------------------- CLI


def _tenants(slug: str | None):
    from tenants.scoping import tenant_directory

    # The app role cannot list firms (RLS on tenants): the directory can.
    tenants = tenant_directory(slug) if slug else [t for t in tenant_directory() if t[2]]
    if slug and not tenants:
        raise click.ClickException(f"No firm with slug '{slug}'.")
    return [(tid, tslug) for tid, tslug, _active in tenants]


@bp.cli.command("digest")
@click.option(
    "--tenant", "slug", default=None, help="Only this firm (slug); default: every active firm."
)
@click.option(
    "--date",
    "on",
    default=None,
    help="The day to report on (YYYY-MM-DD); default: each firm's today.",
)
@click.option(
    "--no-refresh", is_flag=True, help="Skip recomputing the open cases' deadlines first."
)
def digest_command(slug, on, no_refresh):
    """Email each advocate their overdue and due-soon deadlines (run daily from cron).

    One RQ job per firm when Redis is configured; inline otherwise. At most
    one email per person per day.
    """
    from advocate import jobs
    from advocate.deadlines.tasks import send_firm_digest

    if on:
        try:
            date.fromisoformat(on)
        except ValueError:
            raise click.ClickException(f"--date: '{on}' is not YYYY-MM-DD") from None
    for tenant_id, tenant_slug in _tenants(slug):

        def run(tid=tenant_id, s=tenant_slug):
            if jobs.is_inline():
                n = send_firm_digest(tid, on, not no_refresh)
                click.echo(f"{s}: {n} digest{'s' if n != 1 else ''} sent.")
            else:
                job = jobs.enqueue(send_firm_digest, tid, on, not no_refresh)
                click.echo(f"{s}: queued job {job.id}.")

        # A copied context: the tenant a job sets stays inside it.
        contextvars.copy_context().run(run)


@bp.cli.command("recompute")
@click.option(
    "--tenant", "slug", default=None, help="Only this firm (slug); default: every active firm."
)
def recompute_command(slug):
    """Recompute the deadlines of every open case (e.g. after a policy change)."""
    from tenants import tenant_scope

    for tenant_id, tenant_slug in _tenants(slug):

        def run(tid=tenant_id, s=tenant_slug):
            with tenant_scope(tid):
                n = svc.refresh_open_cases(tid)
                db.session.commit()
            click.echo(f"{s}: {n} open case{'s' if n != 1 else ''} recomputed.")

        contextvars.copy_context().run(run)
