"""Multi-tenancy: which firm a unit of work belongs to, and the mixin that
marks a table as belonging to one firm.

Reviewable as security code: the current tenant is a ContextVar (so it behaves
the same in requests, RQ jobs and CLI commands), every tenant-owned model uses
`TenantScoped`, and `tenants.scoping` makes the ORM and PostgreSQL refuse to
read or write across firms.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

_current_tenant_id: ContextVar[int | None] = ContextVar("current_tenant_id", default=None)
_current_user_id: ContextVar[int | None] = ContextVar("current_user_id", default=None)


class TenantScopeError(RuntimeError):
    """Raised when tenant-owned data is touched with no tenant in scope."""


def current_tenant_id() -> int | None:
    return _current_tenant_id.get()


def require_tenant_id() -> int:
    tid = _current_tenant_id.get()
    if tid is None:
        raise TenantScopeError("no tenant in scope")
    return tid


def current_db_user_id() -> int | None:
    return _current_user_id.get()


def set_current_tenant(tenant_id: int | None):
    """Set the tenant for the rest of this context; returns a token for reset."""
    token = _current_tenant_id.set(tenant_id)
    _sync_db()
    return token


def reset_current_tenant(token) -> None:
    _current_tenant_id.reset(token)
    _sync_db()


def set_db_user(user_id: int | None):
    token = _current_user_id.set(user_id)
    _sync_db()
    return token


def _sync_db() -> None:
    # Imported lazily: tenants must not import the app at module load.
    from tenants.scoping import sync_session_settings

    sync_session_settings()


@contextmanager
def tenant_scope(tenant_id: int) -> Iterator[int]:
    """Run a block as tenant `tenant_id` (RQ jobs, CLI commands, tests)."""
    if tenant_id is None:
        raise TenantScopeError("tenant_scope() needs a tenant id")
    token = set_current_tenant(int(tenant_id))
    try:
        yield int(tenant_id)
    finally:
        reset_current_tenant(token)


@contextmanager
def user_scope(user_id: int) -> Iterator[int]:
    """Run a block as user `user_id` for row-level security (their own
    memberships and sessions): ops commands and tests."""
    token = set_db_user(int(user_id))
    try:
        yield int(user_id)
    finally:
        _current_user_id.reset(token)
        _sync_db()


def _default_tenant_id() -> int:
    return require_tenant_id()


class TenantScoped:
    """Mixin for every tenant-owned table: a NOT NULL, indexed tenant_id that
    defaults to the tenant in scope (and fails when there is none)."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(
            BigInteger,
            ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
            default=_default_tenant_id,
            sort_order=-10,
        )
