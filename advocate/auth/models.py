"""People, their log-in sessions, two-factor recovery codes and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocate.db import IdType, TimestampMixin
from advocate.extensions import db
from tenants import TenantScoped


def token_hash(token: str) -> str:
    """Tokens are 256-bit random values, so a plain SHA-256 is the right hash
    (a slow hash is for low-entropy passwords)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None]
    totp_secret_enc: Mapped[str | None] = mapped_column(String(255))
    is_totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # None until the person proved they read mail at `email` (a sign-up link,
    # an invitation link): an unverified account cannot log in, receives no
    # password reset and is never matched by an invitation.
    email_verified_at: Mapped[datetime | None]

    memberships = relationship("Membership", back_populates="user", lazy="select")

    # Set by the session loader for the request at hand; never persisted.
    auth_session = None
    membership = None

    def get_id(self) -> str | None:
        # Flask-Login keeps this in the cookie: the server-side session's
        # token, not the user id, so revoking the row ends the session.
        return getattr(self, "_session_token", None)

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def display_name(self) -> str:
        return self.name or self.email


class AuthSession(db.Model):
    """A server-side log-in session. The cookie holds a random token; this row
    holds its hash and the clocks that end it (idle and absolute timeouts)."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    membership_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))

    user: Mapped[User] = relationship()


class RecoveryCode(db.Model):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class ApiToken(TenantScoped, TimestampMixin, db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    use_count: Mapped[int] = mapped_column(Integer, default=0)

    membership = relationship("Membership", lazy="joined")
