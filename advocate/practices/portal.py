"""The practice portal: people at a client practice read their own practice's
data, and a practice admin manages which colleagues have access.

The practice is always the one of the logged-in membership, never an id from
the URL; any other object id that does not belong to it is a 404. Every page
is audited as ``portal.view``.
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, url_for
from sqlalchemy import select

from advocate.audit.services import audit
from advocate.auth.access import PRACTICE, roles
from advocate.db import utcnow
from advocate.extensions import db
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


def _viewed(practice: Practice, page: str) -> None:
    audit("portal.view", practice, details={"page": page})
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
    _viewed(practice, "home")
    return render_template("portal/home.html", tab="home", **ctx)


@portal_bp.route("/practice")
@roles(PRACTICE)
def practice():
    """Show the practice's details, read only."""
    practice = own_practice()
    ctx = _detail_context(practice)
    _viewed(practice, "practice")
    return render_template("portal/practice.html", tab="practice", **ctx)


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
    services.restore_member(practice, m)
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
