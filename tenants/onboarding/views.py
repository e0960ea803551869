"""Firm sign-up, the people page, invitations and the email outbox."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from advocate.audit.services import audit
from advocate.auth import throttle
from advocate.auth.access import MANAGERS, public, roles
from advocate.auth.sessions import revoke_session
from advocate.auth.views import complete_login, start_pending
from advocate.db import utcnow
from advocate.extensions import db, limiter
from advocate.mail import OutboxMessage
from tenants.models import OWNER, STAFF_ROLES, Membership
from tenants.onboarding import bp, services
from tenants.onboarding.forms import (
    AcceptForm,
    ConfirmSignupForm,
    InviteForm,
    JoinForm,
    RoleForm,
    SignupForm,
)
from tenants.onboarding.models import Invitation
from tenants.onboarding.services import OnboardingError


def _field_error(form, err: OnboardingError) -> None:
    field = getattr(form, err.field, None) if err.field else None
    if field is not None:
        field.errors = list(field.errors) + [err.message]
    else:
        flash(err.message, "danger")


@bp.route("/signup", methods=["GET", "POST"])
@public
@limiter.limit("20 per hour", methods=["POST"])
def signup():
    """Sign a firm up: mail the address a link that creates it."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            services.request_signup(
                firm_name=form.firm_name.data,
                owner_name=form.name.data,
                email=form.email.data,
                password=form.password.data,
            )
        except OnboardingError as err:
            db.session.rollback()
            _field_error(form, err)
        else:
            db.session.commit()
            # The same answer whether or not the address has an account: the
            # mailbox learns which, the person at the form does not.
            return redirect(url_for("onboarding.signup_sent"))
    return render_template("onboarding/signup.html", form=form), (422 if form.errors else 200)


@bp.route("/signup/sent")
@public
def signup_sent():
    """Tell the person to open the link we mailed."""
    return render_template(
        "onboarding/signup_sent.html", outbox_only=not current_app.config.get("SMTP_HOST")
    )


@bp.route("/signup/confirm/<token>", methods=["GET", "POST"])
@public
@limiter.limit("30 per hour", methods=["POST"])
def confirm_signup(token: str):
    """Create the firm from a mailed sign-up link and the password chosen."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    try:
        signup = services.read_signup_token(token)
    except services.SignupLinkError as err:
        if not err.expired:
            abort(404)
        return render_template("onboarding/signup_closed.html", expired=True), 410
    existing = services.find_user(signup.email)
    if existing is not None and existing.is_verified:
        # Single use: the link's account exists (or the address got one since).
        return render_template("onboarding/signup_closed.html", expired=False), 410
    form = ConfirmSignupForm()
    if form.validate_on_submit():
        if throttle.account_locked(signup.email):
            flash("Too many failed attempts for this address. Try again later.", "danger")
            return render_template("onboarding/confirm_signup.html", form=form, signup=signup), 429
        try:
            tenant, user, membership = services.confirm_signup(signup, form.password.data)
        except OnboardingError as err:
            db.session.rollback()
            if err.field == "password":
                throttle.record_failure(signup.email)
            _field_error(form, err)
        else:
            db.session.commit()
            flash(
                f"Welcome to Advocate. {tenant.name} is ready; secure your account next.", "success"
            )
            return start_pending(user, membership)
    return render_template("onboarding/confirm_signup.html", form=form, signup=signup), (
        422 if form.errors else 200
    )


def _staff_query():
    return (
        select(Membership)
        .where(Membership.tenant_id == g.membership.tenant_id, Membership.role.in_(STAFF_ROLES))
        .order_by(Membership.is_active.desc(), Membership.role, Membership.id)
    )


def _people_rules() -> dict:
    """What the people page may offer this actor: only the roles they may
    give, and actions only on people they may change (an admin is not offered
    the owner role, nor actions on an owner's row)."""
    actor = g.membership
    form = RoleForm()
    allowed = set(services.assignable_roles(actor.role))
    return {
        "role_form": form,
        "role_choices": [c for c in form.role.choices if c.value in allowed],
    }


@bp.app_template_global("may_change_member")
def _may_change_member(m: Membership) -> bool:
    """Whether the signed-in person may change this person's role or access."""
    actor = g.get("membership")
    return actor is not None and services.may_change(actor, m)


def _invite_form(form: InviteForm | None = None) -> InviteForm:
    form = form or InviteForm()
    if g.membership.role != OWNER:  # only an owner invites an owner
        form.role.choices = [c for c in form.role.choices if c.value != OWNER]
    return form


@bp.route("/people")
@roles(MANAGERS)
def staff():
    """List the firm's staff and open invitations."""
    page = db.paginate(_staff_query(), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    invitations = db.session.scalars(
        select(Invitation)
        .where(
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.role.in_(STAFF_ROLES),
        )
        .order_by(Invitation.created_at.desc())
        .limit(100)
    ).all()
    return render_template(
        "onboarding/staff.html",
        page=page,
        invitations=invitations,
        form=_invite_form(),
        **_people_rules(),
    )


@bp.route("/people/invite", methods=["POST"])
@roles(MANAGERS)
def invite():
    """Invite someone to the firm by email."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            inv, _raw = services.invite(
                tenant=g.tenant,
                actor=g.actor,
                actor_role=g.membership.role,
                email=form.email.data,
                role=form.role.data,
                name=form.name.data,
            )
        except OnboardingError as err:
            db.session.rollback()
            _field_error(form, err)
        else:
            db.session.commit()
            msg = f"Invitation sent to {inv.email}."
            if not current_app.config.get("SMTP_HOST"):
                msg += (
                    " No mail server is configured: the message is in the instance outbox folder."
                )
            flash(msg, "success")
            return redirect(url_for("onboarding.staff"))
    page = db.paginate(_staff_query(), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    invitations = db.session.scalars(
        select(Invitation)
        .where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .limit(100)
    ).all()
    return render_template(
        "onboarding/staff.html",
        page=page,
        invitations=invitations,
        form=_invite_form(form),
        **_people_rules(),
    ), 422


def _membership_or_404(membership_id: int) -> Membership:
    m = db.session.scalar(
        select(Membership).where(
            Membership.id == membership_id, Membership.tenant_id == g.membership.tenant_id
        )
    )
    if m is None or not m.is_staff:
        abort(404)
    return m


@bp.route("/people/<int:membership_id>/role", methods=["POST"])
@roles(MANAGERS)
def change_role(membership_id: int):
    """Change a staff member's role."""
    m = _membership_or_404(membership_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            services.change_role(m, form.role.data, actor_membership=g.membership)
        except OnboardingError as err:
            db.session.rollback()
            flash(err.message, "danger")
        else:
            db.session.commit()
            flash(f"{m.user.name} is now {m.role_label}.", "success")
    else:
        flash("Choose a valid role.", "danger")
    return redirect(url_for("onboarding.staff"))


@bp.route("/people/<int:membership_id>/deactivate", methods=["POST"])
@roles(MANAGERS)
def deactivate(membership_id: int):
    """Deactivate a person: their sessions end at once."""
    m = _membership_or_404(membership_id)
    try:
        ended = services.deactivate(m, actor_membership=g.membership)
    except OnboardingError as err:
        db.session.rollback()
        flash(err.message, "danger")
    else:
        db.session.commit()
        flash(f"{m.user.name} is deactivated; {ended} session(s) ended.", "success")
    return redirect(url_for("onboarding.staff"))


@bp.route("/people/<int:membership_id>/reactivate", methods=["POST"])
@roles(MANAGERS)
def reactivate(membership_id: int):
    """Let a deactivated person log in again."""
    m = _membership_or_404(membership_id)
    try:
        services.reactivate(m, actor_membership=g.membership)
    except OnboardingError as err:
        db.session.rollback()
        flash(err.message, "danger")
    else:
        db.session.commit()
        flash(f"{m.user.name} can log in again.", "success")
    return redirect(url_for("onboarding.staff"))


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@roles(MANAGERS)
def revoke_invitation(invitation_id: int):
    """Withdraw an invitation that has not been accepted."""
    inv = db.session.get(Invitation, invitation_id)
    if inv is None:
        abort(404)
    if inv.accepted_at is None and inv.revoked_at is None:
        inv.revoked_at = utcnow()
        audit("invitation.revoked", inv)
        db.session.commit()
    flash(f"Invitation to {inv.email} withdrawn.", "success")
    return redirect(url_for("onboarding.staff"))


@bp.route("/invitations/accept/<token>", methods=["GET", "POST"])
@public
@limiter.limit("30 per hour", methods=["POST"])
def accept(token: str):
    """Accept an invitation: a new account sets a name and password; an
    existing account logs in as usual (throttle, second factor) and joins."""
    inv = services.find_invitation(token)
    if inv is None:
        abort(404)
    if inv.status != "pending":
        return render_template("onboarding/invitation_closed.html", invitation=inv), 410
    account = services.invitation_account(inv)
    if account is not None:
        return _join(inv, account, token)
    if current_user.is_authenticated:
        return render_template(
            "onboarding/accept_existing.html", invitation=inv, form=None, wrong_account=True
        ), 403
    form = AcceptForm()
    if request.method == "GET" and inv.name:
        form.name.data = inv.name
    if form.validate_on_submit():
        try:
            user, membership = services.accept_invitation(
                inv, name=form.name.data, password=form.password.data
            )
        except OnboardingError as err:
            db.session.rollback()
            inv = services.find_invitation(
                token
            )  # the rollback expired it; RLS shows it by its token
            _field_error(form, err)
        else:
            db.session.commit()
            flash(f"Welcome to {inv.tenant.name}.", "success")
            return start_pending(user, membership)
    return render_template("onboarding/accept.html", form=form, invitation=inv), (
        422 if form.errors else 200
    )


def _join(inv, account, token: str):
    """The invited address has an account: it accepts while logged in as itself."""
    if not current_user.is_authenticated:
        return render_template(
            "onboarding/accept_existing.html",
            invitation=inv,
            form=None,
            wrong_account=False,
            login_url=url_for("auth.login", next=request.path),
        )
    if current_user.id != account.id:
        return render_template(
            "onboarding/accept_existing.html", invitation=inv, form=None, wrong_account=True
        ), 403
    form = JoinForm()
    if form.validate_on_submit():
        try:
            membership = services.join_invitation(inv, current_user._get_current_object())
        except OnboardingError as err:
            db.session.rollback()
            inv = services.find_invitation(token)
            flash(err.message, "danger")
        else:
            # Work in the firm just joined: this session ends, a new one
            # starts for the new membership (the person is already logged in).
            revoke_session(current_user.get_id(), "switched_firm")
            name = inv.tenant.name
            response = complete_login(account, membership, then=url_for("main.index"))
            flash(f"Welcome to {name}.", "success")
            return response
    return render_template(
        "onboarding/accept_existing.html", invitation=inv, form=form, wrong_account=False
    )


@bp.route("/outbox")
@roles(MANAGERS)
def outbox():
    """Show the firm's outgoing email (the demo's mailbox when no SMTP is set)."""
    q = (
        select(OutboxMessage)
        .where(OutboxMessage.tenant_id == g.membership.tenant_id)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    )
    page = db.paginate(q, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("onboarding/outbox.html", page=page)
