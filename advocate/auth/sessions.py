"""Server-side log-in sessions.

The cookie carries a random token; the `auth_sessions` row decides whether it
still works. That is what lets an idle (30 min) or absolute (12 h) timeout,
a deactivation or a password change end a session at once, on every web
process, whatever the browser still holds.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, has_request_context, request
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from advocate.auth.models import AuthSession, User, new_token, token_hash
from advocate.db import utcnow
from advocate.extensions import db
from tenants import set_db_user
from tenants.models import Membership
from tenants.scoping import lookup_token

# Writing last_seen on every request would turn each page view into a write.
TOUCH_EVERY = timedelta(seconds=60)


def create_session(user: User, membership: Membership) -> str:
    set_db_user(user.id)  # RLS: a session is created by (and for) its own user
    token = new_token()
    now = utcnow()
    db.session.add(
        AuthSession(
            token_hash=token_hash(token),
            user_id=user.id,
            membership_id=membership.id,
            created_at=now,
            last_seen_at=now,
            ip=request.remote_addr if has_request_context() else None,
            user_agent=(request.user_agent.string or "")[:255] if has_request_context() else None,
        )
    )
    membership.last_login_at = now
    user._session_token = token
    return token


def load_session(token: str) -> User | None:
    """The user behind a session token, or None if the session has ended."""
    if not token:
        return None
    h = token_hash(token)
    # RLS shows a session to the request whose cookie names it (the token
    # hash), until the user is known.
    with lookup_token(h):
        return _load_session(h, token)


def _load_session(h: str, token: str) -> User | None:
    # The user comes in the same round trip: every page view pays for this.
    row = db.session.scalar(
        select(AuthSession).options(joinedload(AuthSession.user)).where(AuthSession.token_hash == h)
    )
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    cfg = current_app.config
    reason = None
    if now - row.last_seen_at > cfg["SESSION_IDLE_TIMEOUT"]:
        reason = "idle_timeout"
    elif now - row.created_at > cfg["SESSION_ABSOLUTE_TIMEOUT"]:
        reason = "absolute_timeout"
    user = row.user
    if reason is None and not user.is_active:
        reason = "user_deactivated"
    membership = None
    if reason is None:
        set_db_user(user.id)
        membership = db.session.get(Membership, row.membership_id)
        if membership is None or not membership.is_active:
            reason = "membership_deactivated"
    if reason is not None:
        row.revoked_at = now
        row.revoked_reason = reason
        db.session.commit()
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
        # The commit ended the transaction; the next one re-applies the settings.
    user._session_token = token
    user.auth_session = row
    user.membership = membership
    return user


def revoke_session(token: str, reason: str = "logout") -> None:
    db.session.execute(
        update(AuthSession)
        .where(AuthSession.token_hash == token_hash(token), AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


def revoke_user_sessions(user_id: int, reason: str, *, keep_token: str | None = None) -> int:
    stmt = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if keep_token:
        stmt = stmt.where(AuthSession.token_hash != token_hash(keep_token))
    return db.session.execute(stmt.values(revoked_at=utcnow(), revoked_reason=reason)).rowcount


def revoke_membership_sessions(membership_id: int, reason: str) -> int:
    stmt = update(AuthSession).where(
        AuthSession.membership_id == membership_id, AuthSession.revoked_at.is_(None)
    )
    return db.session.execute(stmt.values(revoked_at=utcnow(), revoked_reason=reason)).rowcount


def active_sessions(user_id: int) -> list[AuthSession]:
    cutoff = utcnow() - current_app.config["SESSION_IDLE_TIMEOUT"]
    return list(
        db.session.scalars(
            select(AuthSession)
            .where(
                AuthSession.user_id == user_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.last_seen_at > cutoff,
            )
            .order_by(AuthSession.last_seen_at.desc())
            .limit(50)
        )
    )
