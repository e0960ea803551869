"""Firm sign-up, invitations and staff changes. Services flush, never commit."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from flask import current_app, url_for
from sqlalchemy import func, select

from advocate.audit.services import audit
from advocate.auth.models import User, new_token, token_hash
from advocate.auth.passwords import hash_password, password_problems
from advocate.auth.sessions import revoke_membership_sessions
from advocate.db import utcnow
from advocate.extensions import db
from advocate.mail import send_mail
from tenants import set_current_tenant, set_db_user
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


def _slug_taken(slug: str) -> bool:
    # RLS shows a firm only to itself; the slug setting reveals this one row.
    with lookup_tenant_slug(slug):
        return bool(db.session.scalar(select(func.count()).select_from(Tenant).where(Tenant.slug == slug)))


def create_firm(
    *, firm_name: str, owner_name: str, email: str, password: str, slug: str | None = None
) -> tuple[Tenant, User, Membership]:
    email = email.strip().lower()
    problems = password_problems(password, email=email)
    if problems:
        raise OnboardingError("password", " ".join(problems))
    with lookup_email(email):  # RLS: the one account this address names
        if db.session.scalar(select(User).where(User.email == email)) is not None:
            raise OnboardingError("email", "An account with this email already exists. Log in instead.")
    if slug is not None:
        if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?", slug):
            raise OnboardingError("slug", "Use lowercase letters, digits and hyphens.")
        if _slug_taken(slug):
            raise OnboardingError("slug", f"The slug '{slug}' is taken.")
    tenant = Tenant(name=firm_name.strip(), slug=slug or unique_slug(firm_name), letterhead_name=firm_name.strip())
    user = User(email=email, name=owner_name.strip(), password_hash=hash_password(password), password_changed_at=utcnow())
    db.session.add_all([tenant, user])
    # The new firm is inserted under its own slug (the only firm row RLS lets
    # a request with no firm insert), then the request is in its scope.
    with lookup_tenant_slug(tenant.slug), lookup_email(email):
        db.session.flush()
    set_current_tenant(tenant.id)
    set_db_user(user.id)
    membership = Membership(tenant_id=tenant.id, user_id=user.id, role=OWNER)
    db.session.add(membership)
    db.session.flush()
    audit("tenant.created", tenant, tenant_id=tenant.id, user_id=user.id)
    return tenant, user, membership


def invite(
    *, tenant: Tenant, actor: User, actor_role: str, email: str, role: str, name: str | None = None,
    practice_id: int | None = None, actor_practice_id: int | None = None, practice_name: str | None = None,
) -> tuple[Invitation, str]:
    email = email.strip().lower()
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
        raise OnboardingError("role", "A practice admin can invite practice users of their own practice only.")
    with lookup_email(email):  # RLS: an account of this address, in any firm
        existing_user = db.session.scalar(select(User).where(User.email == email))
    if existing_user is not None:
        set_db_user(existing_user.id)
        already = db.session.scalar(
            select(Membership).where(Membership.tenant_id == tenant.id, Membership.user_id == existing_user.id)
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
        name=(name or "").strip() or None,
        role=role,
        practice_id=practice_id,
        token_hash=token_hash(raw),
        invited_by_id=actor.id,
        expires_at=utcnow() + timedelta(days=current_app.config["INVITATION_DAYS"]),
    )
    db.session.add(inv)
    db.session.flush()
    link = url_for("onboarding.accept", token=raw, _external=True)
    send_mail(
        email,
        f"{actor.name} invited you to {tenant.name} on Advocate",
        f"Hello{(' ' + inv.name) if inv.name else ''},\n\n{actor.name} invited you to join "
        f"{tenant.name} on Advocate as {ROLE_LABELS[role]}"
        f"{(' of ' + practice_name) if practice_name else ''}.\n\nAccept within "
        f"{current_app.config['INVITATION_DAYS']} days:\n{link}\n",
        tenant_id=tenant.id,
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


def accept_invitation(inv: Invitation, *, name: str | None, password: str) -> tuple[User, Membership]:
    """Create (or attach) the account and its membership; flushes."""
    if inv.status != "pending":
        raise OnboardingError(None, f"This invitation is {inv.status}.")
    set_current_tenant(inv.tenant_id)
    with lookup_email(inv.email):  # RLS: the account of the invited address, if any
        return _accept(inv, name=name, password=password)


def _accept(inv: Invitation, *, name: str | None, password: str) -> tuple[User, Membership]:
    user = db.session.scalar(select(User).where(User.email == inv.email))
    if user is None:
        problems = password_problems(password, email=inv.email)
        if problems:
            raise OnboardingError("password", " ".join(problems))
        user = User(email=inv.email, name=(name or inv.name or inv.email).strip(), password_hash=hash_password(password),
                    password_changed_at=utcnow())
        db.session.add(user)
        db.session.flush()
    else:
        from advocate.auth.passwords import verify_password

        if not verify_password(user.password_hash, password):
            raise OnboardingError("password", "That is not the password of your existing account.")
    set_db_user(user.id)
    membership = Membership(tenant_id=inv.tenant_id, user_id=user.id, role=inv.role, practice_id=inv.practice_id)
    db.session.add(membership)
    inv.accepted_at = utcnow()
    db.session.flush()
    audit("invitation.accepted", inv, user_id=user.id)
    return user, membership


def _owner_count(tenant_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Membership).where(
            Membership.tenant_id == tenant_id, Membership.role == OWNER, Membership.is_active.is_(True)
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
            None, f"You can only {verb} people below your own role ({ROLE_LABELS[actor_membership.role]})."
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
        raise OnboardingError("role", f"You can only give roles below your own ({ROLE_LABELS[actor_membership.role]}).")
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
    audit("membership.deactivated", membership, details={"sessions_ended": ended, "tokens_revoked": tokens})
    return ended


def reactivate(membership: Membership, *, actor_membership: Membership) -> None:
    _check_may_change(membership, actor_membership, "reactivate")
    by = membership.deactivated_by_role
    if not _may_undo(actor_membership.role, by):
        raise OnboardingError(
            None, f"{ROLE_LABELS.get(by, by)} deactivated this person: only they (or above) can reactivate them."
        )
    membership.is_active = True
    membership.deactivated_at = None
    membership.deactivated_by_role = None
    audit("membership.reactivated", membership)
