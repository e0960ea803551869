"""The practice portal: people at a client practice read their own practice's
data, and a practice admin manages which colleagues have access.

The practice is always the one of the logged-in membership, never an id from
the URL; any other object id that does not belong to it is a 404. Every page
is audited as ``portal.view``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import case as sql_case
from sqlalchemy import func, select

from advocate.audit.services import audit
from advocate.auth.access import PRACTICE, roles
from advocate.cases import workflow
from advocate.cases.models import Case
from advocate.db import utcnow
from advocate.extensions import db
from advocate.payers.models import Payer
from advocate.practices import activity, portal_bp, services
from advocate.practices.forms import ColleagueInviteForm, apply_errors
from advocate.practices.models import Practice
from advocate.practices.views import _detail_context
from tenants.models import PRACTICE_ADMIN, PRACTICE_USER
from tenants.onboarding.models import Invitation
from tenants.onboarding.services import OnboardingError

PRACTICE_ADMINS = frozenset({PRACTICE_ADMIN})


def own_practice() -> Practice:
    """The logged-in practice person's practice (404 if it is gone)."""
    practice_id = g.membership.practice_id
    if practice_id is None:
        abort(404)
    practice = db.session.scalar(select(Practice).where(Practice.id == practice_id))
    if practice is None:
        abort(404)
    return practice


def _viewed(practice: Practice, page: str, *, phi: bool = False) -> None:
    audit("portal.view", practice, is_phi=phi, details={"page": page})
    db.session.commit()


@portal_bp.route("/")
@roles(PRACTICE)
def home():
    """Show the practice's summary: agreement, authorization, recent activity."""
    practice = own_practice()
    ctx = _detail_context(practice)
    ctx["events"] = [
        (e, activity.describe(e))
        for e in db.session.scalars(activity.feed_query(practice.id).limit(5))
    ]
    ctx["case_summary"] = case_summary(practice.id)
    ctx["recent_cases"] = list(db.session.scalars(portal_cases_query(practice.id, {}).limit(5)))
    html = render_template("portal/home.html", tab="home", **ctx)
    _viewed(practice, "home")  # after rendering: the commit would expire the loaded rows
    return html


@portal_bp.route("/practice")
@roles(PRACTICE)
def practice():
    """Show the practice's details, read only."""
    practice = own_practice()
    ctx = _detail_context(practice)
    html = render_template("portal/practice.html", tab="practice", **ctx)
    # Document file names can name patients: listing them is a PHI read.
    _viewed(practice, "practice", phi=bool(ctx["documents"]))
    return html


@portal_bp.route("/activity")
@roles(PRACTICE)
def activity_feed():
    """List recent changes to the practice's records."""
    practice = own_practice()
    page = db.paginate(
        activity.feed_query(practice.id), per_page=current_app.config["PAGE_SIZE"], error_out=False
    )
    events = [(e, activity.describe(e)) for e in page.items]
    _viewed(practice, "activity")
    return render_template(
        "portal/activity.html", tab="activity", practice=practice, page=page, events=events
    )


def _people_context(practice: Practice) -> dict:
    return {
        "practice": practice,
        "members": services.practice_members(practice.id, tenant_id=g.membership.tenant_id),
        "invitations": list(
            db.session.scalars(
                select(Invitation)
                .where(
                    Invitation.practice_id == practice.id,
                    Invitation.accepted_at.is_(None),
                    Invitation.revoked_at.is_(None),
                )
                .order_by(Invitation.created_at.desc())
                .limit(50)
            )
        ),
        "tab": "people",
    }


@portal_bp.route("/people")
@roles(PRACTICE_ADMINS)
def people():
    """List the colleagues who can read the practice's data."""
    practice = own_practice()
    ctx = _people_context(practice)
    _viewed(practice, "people")
    return render_template("portal/people.html", form=ColleagueInviteForm(), **ctx)


@portal_bp.route("/people/invite", methods=["POST"])
@roles(PRACTICE_ADMINS)
def invite():
    """Invite a colleague to read the practice's data."""
    practice = own_practice()
    form = ColleagueInviteForm()
    if form.validate_on_submit():
        try:
            inv, _raw = services.invite_member(
                practice,
                tenant=g.tenant,
                actor=g.actor,
                actor_membership=g.membership,
                email=form.email.data,
                role=PRACTICE_USER,
                name=form.name.data,
            )
        except OnboardingError as err:
            db.session.rollback()
            apply_errors(
                form, [(err.field if err.field in ("email", "name") else "email", err.message)]
            )
        else:
            db.session.commit()
            flash(f"Invitation sent to {inv.email}.", "success")
            return redirect(url_for("portal.people"))
    return render_template("portal/people.html", form=form, **_people_context(practice)), 422


def _colleague_or_404(practice: Practice, membership_id: int):
    """A practice user of this practice other than oneself; else 404."""
    m = services.practice_member(practice.id, membership_id, tenant_id=g.membership.tenant_id)
    if m is None or m.role != PRACTICE_USER or m.id == g.membership.id:
        abort(404)
    return m


@portal_bp.route("/people/<int:membership_id>/remove", methods=["POST"])
@roles(PRACTICE_ADMINS)
def remove(membership_id: int):
    """Remove a colleague's access: their sessions end at once."""
    practice = own_practice()
    m = _colleague_or_404(practice, membership_id)
    try:
        ended = services.remove_member(practice, m, actor_membership=g.membership)
    except OnboardingError as err:
        db.session.rollback()
        flash(err.message, "danger")
    else:
        db.session.commit()
        flash(f"{m.user.name} no longer has access; {ended} session(s) ended.", "success")
    return redirect(url_for("portal.people"))


@portal_bp.route("/people/<int:membership_id>/restore", methods=["POST"])
@roles(PRACTICE_ADMINS)
def restore(membership_id: int):
    """Give a removed colleague their access back."""
    practice = own_practice()
    m = _colleague_or_404(practice, membership_id)
    try:
        services.restore_member(practice, m, actor_membership=g.membership)
    except OnboardingError as err:
        db.session.rollback()
        flash(err.message, "danger")
    else:
        db.session.commit()
        flash(f"{m.user.name} can log in again.", "success")
    return redirect(url_for("portal.people"))


@portal_bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@roles(PRACTICE_ADMINS)
def revoke_invitation(invitation_id: int):
    """Withdraw an invitation to a colleague that has not been accepted."""
    practice = own_practice()
    # Only the invitations a practice admin may send: colleagues of their own practice.
    inv = db.session.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id,
            Invitation.practice_id == practice.id,
            Invitation.role == PRACTICE_USER,
        )
    )
    if inv is None:
        abort(404)
    if inv.accepted_at is None and inv.revoked_at is None:
        inv.revoked_at = utcnow()
        audit("invitation.revoked", inv)
        db.session.commit()
    flash(f"Invitation to {inv.email} withdrawn.", "success")
    return redirect(url_for("portal.people"))


# --------------------------------------------------------------------------- cases (read only)

PORTAL_STATUS_GROUPS = {"open": "All open cases", "closed": "All closed cases"}


def _portal_case_filters(args) -> tuple[dict, list[str]]:
    """The case list's filters from the query string; what does not parse is
    named and ignored."""
    errors: list[str] = []
    f: dict = {"status": "", "payer_id": None, "date_from": None, "date_to": None}
    status = (args.get("status") or "").strip()
    if status in workflow.STATES or status in PORTAL_STATUS_GROUPS:
        f["status"] = status
    elif status:
        errors.append("Status: choose one from the list.")
    payer = (args.get("payer") or "").strip()
    if payer:
        if (payer.isascii() and payer.isdigit()) and len(payer) < 19:
            f["payer_id"] = int(payer)
        else:
            errors.append("Payer: choose one from the list.")
    for key, label in (("date_from", "Service from"), ("date_to", "Service to")):
        raw = (args.get(key) or "").strip()
        if raw:
            try:
                f[key] = date.fromisoformat(raw)
            except ValueError:
                errors.append(f"{label}: '{raw}' is not a date (YYYY-MM-DD).")
    if f["date_from"] and f["date_to"] and f["date_from"] > f["date_to"]:
        errors.append("Service to: is before Service from.")
        f["date_to"] = None
    return f, errors


def portal_cases_query(practice_id: int, f: dict):
    """The practice's cases, newest service first, filtered."""
    q = select(Case).where(Case.practice_id == practice_id)
    status = f.get("status")
    if status == "open":
        q = q.where(Case.status.in_(workflow.OPEN))
    elif status == "closed":
        q = q.where(Case.status.not_in(workflow.OPEN))
    elif status:
        q = q.where(Case.status == status)
    if f.get("payer_id"):
        q = q.where(Case.payer_id == f["payer_id"])
    if f.get("date_from"):
        q = q.where(Case.service_from >= f["date_from"])
    if f.get("date_to"):
        q = q.where(Case.service_from <= f["date_to"])
    return q.order_by(Case.service_from.desc(), Case.id.desc())


def _practice_payers(practice_id: int) -> list[tuple[int, str]]:
    """The payers of the practice's cases (for the filter), one query."""
    return [
        (r.id, r.name)
        for r in db.session.execute(
            select(Payer.id, Payer.name)
            .where(Payer.id.in_(select(Case.payer_id).where(Case.practice_id == practice_id)))
            .order_by(Payer.name)
        )
    ]


def case_summary(practice_id: int) -> dict:
    """Open cases, amount in dispute and money recovered, in one query."""
    is_open = Case.status.in_(workflow.OPEN)
    row = db.session.execute(
        select(
            func.count(Case.id),
            func.count(sql_case((is_open, 1))),
            func.coalesce(func.sum(sql_case((is_open, Case.amount_at_stake), else_=0)), 0),
            func.coalesce(func.sum(Case.total_paid - Case.initial_paid), 0),
        ).where(Case.practice_id == practice_id)
    ).one()
    return {
        "total": row[0],
        "open": row[1],
        "at_stake": Decimal(str(row[2])).quantize(Decimal("0.01")),
        "recovered": Decimal(str(row[3])).quantize(Decimal("0.01")),
    }


def open_cases_by_status(practice_id: int) -> list[tuple[str, int, Decimal]]:
    """(status, cases, amount at stake) of the practice's open cases, in
    workflow order, one grouped query."""
    rows = {
        status: (n, Decimal(str(stake)).quantize(Decimal("0.01")))
        for status, n, stake in db.session.execute(
            select(
                Case.status, func.count(Case.id), func.coalesce(func.sum(Case.amount_at_stake), 0)
            )
            .where(Case.practice_id == practice_id, Case.status.in_(workflow.OPEN))
            .group_by(Case.status)
        )
    }
    return [(s, *rows[s]) for s in workflow.STATES if s in rows]


@portal_bp.route("/cases")
@roles(PRACTICE)
def cases():
    """List the practice's cases, read only, with filters and pagination."""
    practice = own_practice()
    f, errors = _portal_case_filters(request.args)
    page = db.paginate(
        portal_cases_query(practice.id, f),
        per_page=current_app.config["PAGE_SIZE"],
        error_out=False,
    )
    # Patient names are on the page: a PHI read.
    audit(
        "portal.view",
        practice,
        is_phi=True,
        details={"page": "cases", "page_no": page.page, "shown": len(page.items)},
    )
    html = render_template(
        "portal/cases.html",
        tab="cases",
        practice=practice,
        page=page,
        f=f,
        errors=errors,
        statuses=workflow.STATES,
        status_groups=PORTAL_STATUS_GROUPS,
        payers=_practice_payers(practice.id),
        filtered=any(f.values()),
    )
    db.session.commit()  # after rendering: a commit would expire the loaded rows
    return html
