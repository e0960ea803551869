"""Log in (password, then two-factor), log out, account security, password
reset and API tokens."""

from __future__ import annotations

import time

from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from advocate.audit.services import audit
from advocate.auth import bp, throttle, twofactor
from advocate.auth.access import ANY, STAFF, pending, public, roles, safe_next
from advocate.auth.forms import (
    ChangePasswordForm,
    CodeForm,
    EnrollForm,
    ForgotForm,
    LoginForm,
    NewPasswordForm,
    RecoveryCodesForm,
    TokenForm,
)
from advocate.auth.models import ApiToken, AuthSession, User, new_token, token_hash
from advocate.auth.passwords import hash_password, password_problems, verify_password
from advocate.auth.sessions import (
    active_sessions,
    create_session,
    revoke_session,
    revoke_user_sessions,
)
from advocate.db import utcnow
from advocate.extensions import db, limiter
from advocate.links import external_url
from advocate.mail import send_mail
from tenants import set_current_tenant, set_db_user
from tenants.models import Membership
from tenants.scoping import lookup_email

PENDING_MAX_AGE = 600  # seconds between the password and the second factor
GENERIC_LOGIN_ERROR = "Invalid email or password."


def _ip_limit() -> str:
    return current_app.config["LOGIN_ATTEMPTS_PER_IP"]


def normalise_email(value: str) -> str:
    return (value or "").strip().lower()


def active_memberships(user: User) -> list[Membership]:
    set_db_user(user.id)
    return list(
        db.session.scalars(
            select(Membership)
            .where(Membership.user_id == user.id, Membership.is_active.is_(True))
            .order_by(Membership.last_login_at.desc().nulls_last(), Membership.id)
        )
    )


def start_pending(user: User, membership: Membership, next_url: str | None = None):
    """Password accepted: remember who is half-way through logging in."""
    session.clear()
    session["pending_auth"] = {
        "uid": user.id,
        "mid": membership.id,
        "ts": int(time.time()),
        "next": next_url if next_url else None,
    }
    if user.is_totp_enabled:
        return redirect(url_for("auth.two_factor"))
    if membership.is_staff:
        return redirect(url_for("auth.two_factor_setup"))
    return complete_login(user, membership)


def _pending() -> tuple[User, Membership, dict] | None:
    data = session.get("pending_auth")
    if not data or int(time.time()) - int(data.get("ts", 0)) > PENDING_MAX_AGE:
        return None
    if not isinstance(data.get("uid"), int):
        return None
    set_db_user(data["uid"])  # RLS: the account half-way through logging in
    user = db.session.get(User, data["uid"])
    if user is None or not user.is_active:
        return None
    membership = db.session.get(Membership, data["mid"])
    if membership is None or not membership.is_active or membership.user_id != user.id:
        return None
    return user, membership, data


def complete_login(user: User, membership: Membership, *, then: str | None = None):
    next_url = (session.get("pending_auth") or {}).get("next")
    session.clear()  # a fresh session at every log-in (no fixation)
    create_session(user, membership)
    login_user(user)
    set_current_tenant(membership.tenant_id)
    audit("auth.login", tenant_id=membership.tenant_id, user_id=user.id)
    db.session.commit()
    return redirect(then or safe_next(next_url))


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_ip_limit, methods=["POST"])
def login():
    """Check the password; hand over to the second factor."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        if throttle.account_locked(email):
            audit("auth.login_throttled", details={"reason": "account"})
            db.session.commit()
            flash("Too many failed attempts for this account. Try again later.", "danger")
            return render_template("auth/login.html", form=form), 429
        with lookup_email(email):  # RLS: the one account this address names
            user = db.session.scalar(select(User).where(User.email == email))
        ok = verify_password(user.password_hash if user else None, form.password.data)
        # An account whose address nobody proved cannot log in (see sign-up).
        memberships = active_memberships(user) if ok and user.is_active and user.is_verified else []
        if not memberships:
            throttle.record_failure(email)
            reason = (
                "credentials" if not ok else ("unverified" if not user.is_verified else "inactive")
            )
            audit(
                "auth.login_failed", user_id=user.id if user else None, details={"reason": reason}
            )
            db.session.commit()
            flash(GENERIC_LOGIN_ERROR, "danger")
            return render_template("auth/login.html", form=form), 200
        return start_pending(user, memberships[0], request.args.get("next"))
    return render_template("auth/login.html", form=form)


@bp.route("/login/two-factor", methods=["GET", "POST"])
@pending
@limiter.limit(_ip_limit, methods=["POST"])
def two_factor():
    """Ask for the authenticator code (or a recovery code)."""
    found = _pending()
    if found is None:
        session.pop("pending_auth", None)
        flash("Please log in again.", "info")
        return redirect(url_for("auth.login"))
    user, membership, _ = found
    if not user.is_totp_enabled:
        return redirect(url_for("auth.two_factor_setup"))
    form = CodeForm()
    if form.validate_on_submit():
        # Wrong codes count against the account like wrong passwords, and a
        # locked account gets no more guesses in a session already half-open.
        if throttle.account_locked(user.email):
            set_current_tenant(membership.tenant_id)
            audit(
                "auth.login_throttled",
                user_id=user.id,
                tenant_id=membership.tenant_id,
                details={"reason": "account", "step": "two_factor"},
            )
            db.session.commit()
            session.pop("pending_auth", None)
            flash("Too many failed attempts for this account. Try again later.", "danger")
            return render_template("auth/two_factor.html", form=form), 429
        code = form.code.data
        result = twofactor.verify_user_code(user, code)
        if result == twofactor.CODE_OK:
            return complete_login(user, membership)
        if len(code.strip()) > 6 and twofactor.use_recovery_code(user, code):
            remaining = twofactor.remaining_recovery_codes(user)
            flash(
                f"Recovery code used. {remaining} left; generate new ones in your account.",
                "warning",
            )
            return complete_login(user, membership)
        throttle.record_failure(user.email)
        set_current_tenant(membership.tenant_id)  # the firm's log records its members' failures
        audit(
            "auth.two_factor_failed",
            user_id=user.id,
            tenant_id=membership.tenant_id,
            details={"reason": result},
        )
        db.session.commit()
        if result == twofactor.CODE_REUSED:
            form.code.errors.append(
                "That code was already used. Wait for your app to show the next code and enter that one."
            )
        else:
            form.code.errors.append(
                "That code is not valid. Check your device's clock and try again."
            )
    return render_template("auth/two_factor.html", form=form)


def _enroll_secret() -> str:
    blob = session.get("totp_enroll")
    secret = twofactor.decrypt_secret(blob) if blob else None
    if secret is None:
        secret = twofactor.new_secret()
        session["totp_enroll"] = twofactor.encrypt_secret(secret)
    return secret


@bp.route("/login/two-factor/setup", methods=["GET", "POST"])
@pending
def two_factor_setup():
    """Enroll an authenticator app: scan, confirm a code, keep recovery codes."""
    if current_user.is_authenticated:
        user, membership = current_user, g.membership
    else:
        found = _pending()
        if found is None:
            flash("Please log in again.", "info")
            return redirect(url_for("auth.login"))
        user, membership, _ = found
    if user.is_totp_enabled:
        return redirect(
            url_for("auth.account" if current_user.is_authenticated else "auth.two_factor")
        )
    secret = _enroll_secret()
    form = EnrollForm()
    if form.validate_on_submit():
        step = twofactor.check_code(secret, form.code.data, None)
        if step is not None:
            user.totp_secret_enc = twofactor.encrypt_secret(secret)
            user.is_totp_enabled = True
            user.totp_last_step = step
            codes = twofactor.issue_recovery_codes(user)
            session.pop("totp_enroll", None)
            audit("auth.two_factor_enrolled", user_id=user.id, tenant_id=membership.tenant_id)
            if current_user.is_authenticated:
                db.session.commit()
            else:
                complete_login(user, membership)
            return render_template("auth/recovery_codes.html", codes=codes)
        form.code.errors.append("That code did not match. Scan again or check your device's clock.")
    uri = twofactor.provisioning_uri(secret, user.email)
    return render_template(
        "auth/two_factor_setup.html",
        form=form,
        secret=secret,
        qr=twofactor.qr_data_uri(uri),
        required=membership.is_staff,
    )


@bp.route("/logout", methods=["POST"])
@public
def logout():
    """End this session."""
    if current_user.is_authenticated:
        audit("auth.logout")
        revoke_session(current_user.get_id())
        db.session.commit()
        logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


def _account_page(form=None, recovery_form=None):
    return render_template(
        "auth/account.html",
        form=form or ChangePasswordForm(formdata=None),
        recovery_form=recovery_form or RecoveryCodesForm(formdata=None),
        sessions=active_sessions(current_user.id),
        current_session_id=current_user.auth_session.id,
        recovery_left=twofactor.remaining_recovery_codes(current_user),
    )


@bp.route("/account")
@roles(ANY)
def account():
    """Show the person's own security settings."""
    return _account_page()


@bp.route("/account/password", methods=["POST"])
@roles(ANY)
def change_password():
    """Change the password and end every other session."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current.data):
            form.current.errors.append("That is not your current password.")
        else:
            problems = password_problems(form.password.data, email=current_user.email)
            if problems:
                form.password.errors.extend(problems)
            else:
                current_user.password_hash = hash_password(form.password.data)
                current_user.password_changed_at = utcnow()
                ended = revoke_user_sessions(
                    current_user.id, "password_changed", keep_token=current_user.get_id()
                )
                audit("auth.password_changed", details={"sessions_ended": ended})
                db.session.commit()
                flash(f"Password changed. {ended} other session(s) ended.", "success")
                return redirect(url_for("auth.account"))
    return _account_page(form=form), 422


@bp.route("/account/sessions/<int:session_id>/revoke", methods=["POST"])
@roles(ANY)
def revoke_other_session(session_id: int):
    """End one of the person's own sessions."""
    row = db.session.scalar(
        select(AuthSession).where(
            AuthSession.id == session_id, AuthSession.user_id == current_user.id
        )
    )
    if row is None:
        abort(404)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        row.revoked_reason = "revoked_by_user"
        audit("auth.session_revoked", object_type="auth_session", object_id=row.id)
        db.session.commit()
    flash("Session ended.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/recovery-codes", methods=["POST"])
@roles(ANY)
def regenerate_recovery_codes():
    """Replace the recovery codes (the old ones stop working), after the
    password or a current code: a borrowed session alone cannot mint them."""
    if not current_user.is_totp_enabled:
        abort(400)
    form = RecoveryCodesForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if throttle.account_locked(user.email):
            form.proof.errors.append("Too many failed attempts for this account. Try again later.")
            return _account_page(recovery_form=form), 429
        proof = form.proof.data
        if (
            verify_password(user.password_hash, proof)
            or twofactor.verify_user_code(user, proof) == twofactor.CODE_OK
        ):
            codes = twofactor.issue_recovery_codes(user)
            audit("auth.recovery_codes_regenerated")
            db.session.commit()
            return render_template("auth/recovery_codes.html", codes=codes)
        throttle.record_failure(user.email)
        audit("auth.recovery_codes_refused")
        db.session.commit()
        form.proof.errors.append("That is neither your password nor a current code from your app.")
    return _account_page(recovery_form=form), 422


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def make_reset_token(user: User) -> str:
    # Binding the token to the current hash makes it single-use: once the
    # password changes, the fragment no longer matches.
    return _reset_serializer().dumps({"u": user.id, "p": user.password_hash[-16:]})


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit(_ip_limit, methods=["POST"])
def forgot_password():
    """Email a reset link (same answer whether or not the address exists)."""
    form = ForgotForm()
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        with lookup_email(email):  # RLS: the one account this address names
            user = db.session.scalar(select(User).where(User.email == email))
            if user is not None and user.is_active and user.is_verified:
                link = external_url("auth.reset_password", token=make_reset_token(user))
                send_mail(
                    user.email,
                    "Reset your Advocate password",
                    f"Hello {user.name},\n\nUse this link within one hour to choose a new password:\n"
                    f"{link}\n\nIf you did not ask for this, ignore this message.",
                    tenant_id=None,
                    private=[link],
                )
                audit("auth.password_reset_requested", user_id=user.id)
            db.session.commit()
        flash("If that address has an account, a reset link is on its way.", "info")
        if not current_app.config.get("SMTP_HOST"):
            flash(
                "No mail server is configured: messages are kept in the instance outbox folder.",
                "info",
            )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_ip_limit, methods=["POST"])
def reset_password(token: str):
    """Choose a new password from an emailed link."""
    try:
        data = _reset_serializer().loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except SignatureExpired:
        flash("That reset link has expired. Ask for a new one.", "warning")
        return redirect(url_for("auth.forgot_password"))
    except BadSignature:
        abort(404)
    uid = data.get("u")
    if not isinstance(uid, int):
        abort(404)
    set_db_user(uid)  # RLS: the account the signed link names
    user = db.session.get(User, uid)
    if user is None or not user.is_active or user.password_hash[-16:] != data.get("p"):
        flash("That reset link has already been used. Ask for a new one.", "warning")
        return redirect(url_for("auth.forgot_password"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        problems = password_problems(form.password.data, email=user.email)
        if problems:
            form.password.errors.extend(problems)
        else:
            user.password_hash = hash_password(form.password.data)
            user.password_changed_at = utcnow()
            revoke_user_sessions(user.id, "password_reset")
            audit("auth.password_reset", user_id=user.id)
            db.session.commit()
            flash("Password changed. Log in with your new password.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)


@bp.route("/account/tokens", methods=["GET", "POST"])
@roles(STAFF)
def tokens():
    """List API tokens and create one (shown once)."""
    form = TokenForm()
    created = None
    if form.validate_on_submit():
        raw = new_token("adv_")
        tok = ApiToken(
            membership_id=g.membership.id,
            name=form.name.data.strip(),
            token_prefix=raw[:8],
            token_hash=token_hash(raw),
        )
        db.session.add(tok)
        db.session.flush()
        audit("api_token.created", tok)
        db.session.commit()
        created = raw
        form = TokenForm(formdata=None)
    query = select(ApiToken).order_by(ApiToken.created_at.desc())
    if g.membership.role not in ("owner", "admin"):
        query = query.where(ApiToken.membership_id == g.membership.id)
    rows = db.paginate(query, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("auth/tokens.html", form=form, page=rows, created=created)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@roles(STAFF)
def revoke_token(token_id: int):
    """Revoke an API token at once."""
    tok = db.session.get(ApiToken, token_id)
    if tok is None:
        abort(404)
    if tok.membership_id != g.membership.id and g.membership.role not in ("owner", "admin"):
        abort(404)
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
        audit("api_token.revoked", tok)
        db.session.commit()
    flash(f"Token “{tok.name}” revoked.", "success")
    return redirect(url_for("auth.tokens"))
