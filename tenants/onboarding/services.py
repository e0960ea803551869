"""Firm sign-up, invitations and staff changes. Services flush, never commit."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import func, select

from advocate.audit.services import audit
from advocate.auth.models import RecoveryCode, User, new_token, token_hash
from advocate.auth.passwords import hash_password, password_problems, verify_password
from advocate.auth.sessions import revoke_membership_sessions, revoke_user_sessions
from advocate.db import utcnow
from advocate.extensions import db
from advocate.links import external_url
from advocate.mail import send_mail
from tenants import set_current_tenant, set_db_user, tenant_scope
from tenants.models import (
    ADMIN,
    ADVOCATE,
    OWNER,
    PRACTICE_ADMIN,
    PRACTICE_ROLES,
    PRACTICE_USER,
    ROLE_LABELS,
    STAFF_ROLES,
    VIEWER,
    Membership,
    Tenant,
)
from tenants.onboarding.models import Invitation
from tenants.scoping import lookup_email, lookup_tenant_slug, lookup_token


class OnboardingError(ValueError):
    """A rule refused the change; `field` names the form field at fault."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:50] or "firm"


def unique_slug(name: str) -> str:
    base = slugify(name)
    slug, n = base, 1
    while _slug_taken(slug):
        n += 1
        slug = f"{base}-{n}"
    return slug


# Zero-width (non-)joiners are part of how some scripts spell names; other
# format characters (bidi overrides, ...) only disguise text.
_JOINERS = frozenset("\u200c\u200d")


def clean_name(value: str | None, field: str, *, required: bool = True) -> str | None:
    """A firm's or person's name: one line of text. Control characters (CR, LF,
    NUL, ...) and line separators are refused: names go into mail headers."""
    text = (value or "").strip()
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c not in _JOINERS for c in text):
        raise OnboardingError(field, "Use one line of text: no line breaks or control characters.")
    if required and not text:
        raise OnboardingError(field, "This field is required.")
    return text or None


def find_user(email: str) -> User | None:
    with lookup_email(email):  # RLS: the one account this address names
        return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def supersede_unverified(user: User, *, name: str, password_hash: str) -> None:
    """The proven owner of an address takes over an account nobody proved:
    its password, name and second factor are replaced (the owner enrols their
    own), its sessions end, and the memberships it held are deactivated (they
    were granted to whoever knew its password, not to the mailbox)."""
    assert not user.is_verified
    # RLS: the users row is updated as its own user (app.user_id), set before
    # any change is flushed (the queries below autoflush).
    set_db_user(user.id)
    user.name = name
    user.password_hash = password_hash
    user.password_changed_at = utcnow()
    user.totp_secret_enc = None
    user.is_totp_enabled = False
    user.totp_last_step = None
    user.is_active = True
    db.session.query(RecoveryCode).filter(RecoveryCode.user_id == user.id).delete()
    revoke_user_sessions(user.id, "superseded")
    held = db.session.scalars(
        select(Membership).where(Membership.user_id == user.id, Membership.is_active.is_(True))
    ).all()
    for m in held:
        with tenant_scope(m.tenant_id):
            m.is_active = False
            m.deactivated_at = utcnow()
            audit(
                "membership.deactivated",
                m,
                tenant_id=m.tenant_id,
                user_id=user.id,
                details={"reason": "unverified_account_superseded"},
            )
            db.session.flush()  # written while RLS lets this firm's rows through
    user.email_verified_at = utcnow()
    db.session.flush()
    audit("auth.unverified_account_superseded", user_id=user.id)


def _slug_taken(slug: str) -> bool:
    # RLS shows a firm only to itself; the slug setting reveals this one row.
    with lookup_tenant_slug(slug):
        return bool(
            db.session.scalar(select(func.count()).select_from(Tenant).where(Tenant.slug == slug))
        )


def create_firm(
    *,
    firm_name: str,
    owner_name: str,
    email: str,
    password: str | None = None,
    password_hash: str | None = None,
    slug: str | None = None,
) -> tuple[Tenant, User, Membership]:
    """A firm and its owner, whose address counts as proven (the operator's
    CLI, or a sign-up confirmed from the mailbox). An unverified account with
    the address is superseded; a verified one is refused."""
    email = email.strip().lower()
    firm_name = clean_name(firm_name, "firm_name")
    owner_name = clean_name(owner_name, "name")
    if password_hash is None:
        problems = password_problems(password or "", email=email)
        if problems:
            raise OnboardingError("password", " ".join(problems))
        password_hash = hash_password(password)
    existing = find_user(email)
    if existing is not None and existing.is_verified:
        raise OnboardingError("email", "An account with this email already exists. Log in instead.")
    if slug is not None:
        if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?", slug):
            raise OnboardingError("slug", "Use lowercase letters, digits and hyphens.")
        if _slug_taken(slug):
            raise OnboardingError("slug", f"The slug '{slug}' is taken.")
    # The slug is chosen before anything is pending: its query autoflushes,
    # and a new account may only be flushed under its own address (RLS).
    slug = slug or unique_slug(firm_name)
    if existing is not None:
        supersede_unverified(existing, name=owner_name, password_hash=password_hash)
        user = existing
    else:
        user = User(
            email=email,
            name=owner_name,
            password_hash=password_hash,
            password_changed_at=utcnow(),
            email_verified_at=utcnow(),
        )
        db.session.add(user)
    tenant = Tenant(name=firm_name, slug=slug, letterhead_name=firm_name)
    db.session.add(tenant)
    # The new firm is inserted under its own slug (the only firm row RLS lets
    # a request with no firm insert), the new account under its own address.
    with lookup_tenant_slug(tenant.slug), lookup_email(email):
        db.session.flush()
    set_current_tenant(tenant.id)
    set_db_user(user.id)
    membership = Membership(tenant_id=tenant.id, user_id=user.id, role=OWNER)
    db.session.add(membership)
    db.session.flush()
    audit("tenant.created", tenant, tenant_id=tenant.id, user_id=user.id)
    return tenant, user, membership


# ---------------------------------------------------------------- sign-up by mail
#
# Sign-up creates nothing: it mails the address a link that carries the
# sign-up (encrypted and timestamped with a key derived from SECRET_KEY). The
# firm and its owner exist only once the link is opened and the password typed
# again, so nobody can hold an account for an address they cannot read, and the
# answer to the form is the same whether or not the address has an account.


@dataclass(frozen=True)
class Signup:
    email: str
    name: str
    firm_name: str
    password_hash: str
    issued_at: int


class SignupLinkError(ValueError):
    """The link is not one of ours (`expired` False) or is too old (True)."""

    def __init__(self, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _signup_fernet() -> Fernet:
    key = hashlib.sha256(b"advocate-signup:" + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def signup_token(*, email: str, name: str, firm_name: str, password_hash: str) -> str:
    payload = {"e": email, "n": name, "f": firm_name, "h": password_hash}
    return _signup_fernet().encrypt(json.dumps(payload).encode()).decode()


def read_signup_token(token: str) -> Signup:
    f = _signup_fernet()
    try:
        data = json.loads(f.decrypt(token.encode()))
        issued = f.extract_timestamp(token.encode())
    except (InvalidToken, ValueError, TypeError) as err:
        raise SignupLinkError(expired=False) from err
    if time.time() - issued > current_app.config["EMAIL_VERIFY_MAX_AGE"]:
        raise SignupLinkError(expired=True)
    return Signup(
        email=data["e"],
        name=data["n"],
        firm_name=data["f"],
        password_hash=data["h"],
        issued_at=issued,
    )


def request_signup(*, firm_name: str, owner_name: str, email: str, password: str) -> None:
    """Mail the address: a link to confirm the sign-up, or, when the address
    already has an account, a note saying so. The caller answers the same."""
    email = email.strip().lower()
    firm_name = clean_name(firm_name, "firm_name")
    owner_name = clean_name(owner_name, "name")
    problems = password_problems(password, email=email)
    if problems:
        raise OnboardingError("password", " ".join(problems))
    # Hashed whatever happens next, so both answers take the same time.
    password_hash = hash_password(password)
    existing = find_user(email)
    if existing is not None and existing.is_verified:
        send_mail(
            email,
            "You already have an Advocate account",
            "Hello,\n\nSomeone (perhaps you) tried to sign up a firm on Advocate with this address, "
            "which already has an account. Nothing was created.\n\n"
            f"Log in: {external_url('auth.login')}\n"
            f"Forgot your password? {external_url('auth.forgot_password')}\n\n"
            "If this was not you, you can ignore this message.\n",
            tenant_id=None,
        )
        audit("auth.signup_existing_account", user_id=existing.id)
        return
    link = external_url(
        "onboarding.confirm_signup",
        token=signup_token(
            email=email, name=owner_name, firm_name=firm_name, password_hash=password_hash
        ),
    )
    hours = max(1, current_app.config["EMAIL_VERIFY_MAX_AGE"] // 3600)
    send_mail(
        email,
        "Confirm your email to create your firm on Advocate",
        f"Hello {owner_name},\n\nTo create {firm_name} on Advocate, open this link within {hours} hours "
        f"and enter the password you chose:\n{link}\n\n"
        "If you did not sign up, ignore this message: nothing is created without it.\n",
        tenant_id=None,
        private=[link],
    )
    audit("auth.signup_requested")


def confirm_signup(signup: Signup, password: str) -> tuple[Tenant, User, Membership]:
    """Create the firm of a sign-up link opened from the mailbox; flushes."""
    if not verify_password(signup.password_hash, password):
        raise OnboardingError("password", "That is not the password you chose when signing up.")
    return create_firm(
        firm_name=signup.firm_name,
        owner_name=signup.name,
        email=signup.email,
        password_hash=signup.password_hash,
    )


def invite(
    *,
    tenant: Tenant,
    actor: User,
    actor_role: str,
    email: str,
    role: str,
    name: str | None = None,
    practice_id: int | None = None,
    actor_practice_id: int | None = None,
    practice_name: str | None = None,
) -> tuple[Invitation, str]:
    email = email.strip().lower()
    name = clean_name(name, "name", required=False)
    if role not in ROLE_LABELS:
        raise OnboardingError("role", "Choose a role.")
    if role == OWNER and actor_role != OWNER:
        raise OnboardingError("role", "Only an owner can invite another owner.")
    if role in STAFF_ROLES and practice_id is not None:
        raise OnboardingError("role", "Staff are not tied to a practice.")
    if role in PRACTICE_ROLES and practice_id is None:
        raise OnboardingError("role", "Practice users belong to a practice: choose one.")
    # A practice admin invites colleagues of their own practice, as practice users only.
    if actor_role in PRACTICE_ROLES and (
        actor_role != PRACTICE_ADMIN or role != PRACTICE_USER or practice_id != actor_practice_id
    ):
        raise OnboardingError(
            "role", "A practice admin can invite practice users of their own practice only."
        )
    with lookup_email(email):  # RLS: an account of this address, in any firm
        existing_user = db.session.scalar(select(User).where(User.email == email))
    if existing_user is not None:
        set_db_user(existing_user.id)
        already = db.session.scalar(
            select(Membership).where(
                Membership.tenant_id == tenant.id, Membership.user_id == existing_user.id
            )
        )
        set_db_user(actor.id)
        if already is not None:
            raise OnboardingError("email", "This person already belongs to the firm.")
    pending = db.session.scalar(
        select(Invitation).where(
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
    )
    if pending is not None:
        pending.revoked_at = utcnow()  # a new invitation replaces the old link
    raw = new_token()
    inv = Invitation(
        email=email,
        name=name,
        role=role,
        practice_id=practice_id,
        token_hash=token_hash(raw),
        invited_by_id=actor.id,
        expires_at=utcnow() + timedelta(days=current_app.config["INVITATION_DAYS"]),
    )
    db.session.add(inv)
    db.session.flush()
    link = external_url("onboarding.accept", token=raw)
    send_mail(
        email,
        f"{actor.name} invited you to {tenant.name} on Advocate",
        f"Hello{(' ' + inv.name) if inv.name else ''},\n\n{actor.name} invited you to join "
        f"{tenant.name} on Advocate as {ROLE_LABELS[role]}"
        f"{(' of ' + practice_name) if practice_name else ''}.\n\nAccept within "
        f"{current_app.config['INVITATION_DAYS']} days:\n{link}\n",
        tenant_id=tenant.id,
        private=[link],  # the firm's outbox page shows the message without it
    )
    audit("invitation.created", inv, details={"role": role})
    return inv, raw


def find_invitation(raw: str) -> Invitation | None:
    h = token_hash(raw)
    with lookup_token(h):
        inv = db.session.scalar(
            select(Invitation).where(Invitation.token_hash == h).execution_options(all_tenants=True)
        )
        if inv is not None:
            _ = inv.tenant  # load while the token lets RLS show the row
            _ = inv.invited_by  # (and the inviter's name, for the accept page)
    return inv


def invitation_account(inv: Invitation) -> User | None:
    """The verified account an invitation goes to, if the address has one."""
    user = find_user(inv.email)
    return user if user is not None and user.is_verified else None


def _add_membership(inv: Invitation, user: User) -> Membership:
    if inv.status != "pending":
        raise OnboardingError(None, f"This invitation is {inv.status}.")
    set_current_tenant(inv.tenant_id)
    set_db_user(user.id)
    already = db.session.scalar(
        select(Membership).where(
            Membership.tenant_id == inv.tenant_id, Membership.user_id == user.id
        )
    )
    if already is not None:
        raise OnboardingError(None, "You already belong to this firm.")
    membership = Membership(
        tenant_id=inv.tenant_id, user_id=user.id, role=inv.role, practice_id=inv.practice_id
    )
    db.session.add(membership)
    inv.accepted_at = utcnow()
    db.session.flush()
    audit("invitation.accepted", inv, user_id=user.id)
    return membership


def accept_invitation(
    inv: Invitation, *, name: str | None, password: str
) -> tuple[User, Membership]:
    """A new account from an invitation (the link proves the mailbox); flushes.
    An address with a verified account accepts while logged in instead
    (`join_invitation`); an unverified account is superseded."""
    if inv.status != "pending":
        raise OnboardingError(None, f"This invitation is {inv.status}.")
    if invitation_account(inv) is not None:
        raise OnboardingError(None, "This address has an account: log in to accept the invitation.")
    name = clean_name(name or inv.name or inv.email, "name")
    problems = password_problems(password, email=inv.email)
    if problems:
        raise OnboardingError("password", " ".join(problems))
    set_current_tenant(inv.tenant_id)
    user = find_user(inv.email)
    if user is not None:
        supersede_unverified(user, name=name, password_hash=hash_password(password))
        set_current_tenant(inv.tenant_id)
    else:
        user = User(
            email=inv.email,
            name=name,
            password_hash=hash_password(password),
            password_changed_at=utcnow(),
            email_verified_at=utcnow(),
        )
        db.session.add(user)
        with lookup_email(inv.email):  # RLS: a new account is inserted under its own address
            db.session.flush()
    return user, _add_membership(inv, user)


def join_invitation(inv: Invitation, user: User) -> Membership:
    """The logged-in owner of the invited address joins the firm; flushes.
    Staff need a second factor: an account without one turns it on first
    (from its own account page, never from here)."""
    if user.email != inv.email or not user.is_verified:
        raise OnboardingError(None, "This invitation is for another address.")
    if inv.role in STAFF_ROLES and not user.is_totp_enabled:
        raise OnboardingError(
            None,
            "Staff accounts need two-factor authentication: turn it on in your account first, "
            "then open this invitation again.",
        )
    return _add_membership(inv, user)


def _owner_count(tenant_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(
            Membership.tenant_id == tenant_id,
            Membership.role == OWNER,
            Membership.is_active.is_(True),
        )
    )


# Who may change whom: a person changes only people below their own role
# (owners, the top of a firm, also change other owners; the last owner stays).
# The same rank decides who may undo a deactivation: a firm's deactivation of
# a practice user outranks that practice's admin.
RANK = {OWNER: 50, ADMIN: 40, ADVOCATE: 30, VIEWER: 20, PRACTICE_ADMIN: 10, PRACTICE_USER: 0}


def outranks(actor_role: str, role: str) -> bool:
    """True when `actor_role` may change a person of `role` (or give it)."""
    if actor_role == OWNER:
        return True
    return RANK.get(actor_role, -1) > RANK.get(role, 100)


def assignable_roles(actor_role: str, roles=STAFF_ROLES) -> list[str]:
    """The roles `actor_role` may give (what the role drop-downs offer)."""
    return [r for r in roles if outranks(actor_role, r)]


def may_change(actor_membership: Membership, membership: Membership) -> bool:
    """Whether the actor may change this person's role or access at all (the
    pages offer only what this allows)."""
    if membership.id == actor_membership.id or not actor_membership.is_active:
        return False
    if not outranks(actor_membership.role, membership.role):
        return False
    if not membership.is_active:
        return _may_undo(actor_membership.role, membership.deactivated_by_role)
    return True


def _may_undo(actor_role: str, deactivated_by_role: str | None) -> bool:
    """A deactivation is undone by someone of at least the rank of whoever did it."""
    if not deactivated_by_role:
        return True
    return RANK.get(actor_role, -1) >= RANK.get(deactivated_by_role, 100)


def _check_may_change(membership: Membership, actor_membership: Membership, verb: str) -> None:
    if membership.id == actor_membership.id:
        raise OnboardingError(None, f"You cannot {verb} yourself.")
    if not outranks(actor_membership.role, membership.role):
        if membership.role == OWNER:
            raise OnboardingError(None, f"Only an owner can {verb} an owner.")
        raise OnboardingError(
            None,
            f"You can only {verb} people below your own role ({ROLE_LABELS[actor_membership.role]}).",
        )


def change_role(membership: Membership, role: str, *, actor_membership: Membership) -> None:
    if role not in STAFF_ROLES or not membership.is_staff:
        raise OnboardingError("role", "Choose a staff role.")
    if OWNER in (role, membership.role) and actor_membership.role != OWNER:
        raise OnboardingError("role", "Only an owner can grant or remove the owner role.")
    if role == membership.role:
        return
    try:
        _check_may_change(membership, actor_membership, "change the role of")
    except OnboardingError as err:
        raise OnboardingError("role", err.message) from None
    if not outranks(actor_membership.role, role):
        raise OnboardingError(
            "role",
            f"You can only give roles below your own ({ROLE_LABELS[actor_membership.role]}).",
        )
    if membership.role == OWNER and role != OWNER and _owner_count(membership.tenant_id) <= 1:
        raise OnboardingError("role", "The firm needs at least one owner.")
    old = membership.role
    membership.role = role
    # A new role takes effect now: the person logs in again with it.
    revoke_membership_sessions(membership.id, "role_changed")
    audit("membership.role_changed", membership, details={"from": old, "to": role})


def revoke_membership_tokens(membership_id: int) -> int:
    """Revoke every live API token of a membership, for good (reactivation
    does not bring them back: the person makes new ones)."""
    from sqlalchemy import update

    from advocate.auth.models import ApiToken

    return db.session.execute(
        update(ApiToken)
        .where(ApiToken.membership_id == membership_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    ).rowcount


def deactivate(membership: Membership, *, actor_membership: Membership) -> int:
    _check_may_change(membership, actor_membership, "deactivate")
    if membership.role == OWNER and _owner_count(membership.tenant_id) <= 1:
        raise OnboardingError(None, "The firm needs at least one owner.")
    membership.is_active = False
    membership.deactivated_at = utcnow()
    # Who deactivated decides who may undo it (the firm outranks a practice admin).
    membership.deactivated_by_role = actor_membership.role
    ended = revoke_membership_sessions(membership.id, "deactivated")
    tokens = revoke_membership_tokens(membership.id)
    audit(
        "membership.deactivated",
        membership,
        details={"sessions_ended": ended, "tokens_revoked": tokens},
    )
    return ended


def reactivate(membership: Membership, *, actor_membership: Membership) -> None:
    _check_may_change(membership, actor_membership, "reactivate")
    by = membership.deactivated_by_role
    if not _may_undo(actor_membership.role, by):
        raise OnboardingError(
            None,
            f"{ROLE_LABELS.get(by, by)} deactivated this person: only they (or above) can reactivate them.",
        )
    membership.is_active = True
    membership.deactivated_at = None
    membership.deactivated_by_role = None
    audit("membership.reactivated", membership)
