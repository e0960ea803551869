"""Fail-closed tenant isolation, twice.

1. ORM: every SELECT/UPDATE/DELETE that touches a `TenantScoped` entity gets a
   `with_loader_criteria(tenant_id == current)`; with no tenant in scope it
   raises, unless the statement carries `all_tenants=True` (audited way out,
   for ops commands and webhooks that find their tenant first). New rows must
   belong to the tenant in scope.
2. PostgreSQL: row-level security policies read `app.tenant_id` (and
   `app.user_id`, `app.token_hash` for the few look-ups that happen before a
   tenant is known), set per transaction with `set_config(..., true)` so a
   pooled connection never carries one request's tenant into the next.
"""

from __future__ import annotations

from contextvars import ContextVar

from sqlalchemy import event, text
from sqlalchemy.orm import Mapper, Session, with_loader_criteria

from tenants import (
    TenantScoped,
    TenantScopeError,
    _current_tenant_id,
    _current_user_id,
)

_token_hash: ContextVar[str | None] = ContextVar("lookup_token_hash", default=None)
_tenant_slug: ContextVar[str | None] = ContextVar("lookup_tenant_slug", default=None)
_stripe_account: ContextVar[str | None] = ContextVar("lookup_stripe_account", default=None)
_email: ContextVar[str | None] = ContextVar("lookup_email", default=None)

_installed = False
_session_factory = None


def _touches_tenant_data(state) -> bool:
    for mapper in state.all_mappers:
        if issubclass(mapper.class_, TenantScoped):
            return True
    # Counts and subqueries name tenant tables without loading an entity.
    from sqlalchemy import Table
    from sqlalchemy.sql import visitors

    names = _tenant_tables()
    return any(isinstance(e, Table) and e.name in names for e in visitors.iterate(state.statement))


def _on_do_orm_execute(state) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("all_tenants"):
        return
    if not _touches_tenant_data(state):
        return
    tid = _current_tenant_id.get()
    if tid is None:
        raise TenantScopeError(
            "tenant-owned data queried with no tenant in scope "
            "(use tenant_scope() or execution_options(all_tenants=True))"
        )
    statement = state.statement
    if state.is_select:
        # Loader criteria cover ORM entities; a tenant table reached only as a
        # FROM (a count's select_from, a paginated query's subquery) is
        # filtered here, so no count ever includes another firm's rows.
        statement = _filter_bare_froms(statement, tid)
    state.statement = statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tid,
            include_aliases=True,
            track_closure_variables=True,
        )
    )


# The names of the tenant tables, recomputed after any new mapped class (the
# walk over every subclass cost more than some queries; models defined later,
# as tests do, invalidate it through the mapper event below).
_table_cache: frozenset[str] | None = None


def _forget_tenant_tables(*_args) -> None:
    global _table_cache
    _table_cache = None


event.listen(Mapper, "after_mapper_constructed", _forget_tenant_tables)


def _tenant_tables() -> frozenset[str]:
    global _table_cache
    names = _table_cache
    if names is None:
        names = frozenset(
            c.__table__.name
            for c in _all_subclasses(TenantScoped)
            if getattr(c, "__table__", None) is not None
        )
        _table_cache = names
    return names


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def _only_orm_entity_froms(statement) -> bool:
    """True when every FROM of the statement comes from its ORM columns or
    entities (``select(Case)``, ``select(Case.id, func.sum(...))``), with no
    explicit ``select_from``: the loader criteria then filter them all (and
    the ORM joins), so computing the final FROM list is not needed. That list
    rebuilds the statement's compile state and cost more than the query on
    busy pages, so it is kept for the statements that need it."""
    if statement._from_obj:
        return False
    for from_ in statement.columns_clause_froms:
        if "parententity" not in getattr(from_, "_annotations", {}):
            return False
    return True


# Statement shape (SQLAlchemy cache key) -> the tenant tables of its final
# FROM list. Two statements with one cache key compile to the same SQL, so
# they have the same FROMs; only the parameter values differ, and the tenant
# id is applied fresh below. Bounded: cleared when full.
_bare_from_cache: dict = {}
_BARE_FROM_CACHE_SIZE = 2000


def _bare_tenant_froms(statement) -> tuple:
    from sqlalchemy import Table

    names = _tenant_tables()
    key = statement._generate_cache_key()
    if key is not None:
        # The tenant table set is part of the key: a model defined later
        # (tests) cannot be missed by an entry computed before it existed.
        cache_key = (key.key, names)
        found = _bare_from_cache.get(cache_key)
        if found is not None:
            return found
    tables = tuple(
        t for t in statement.get_final_froms() if isinstance(t, Table) and t.name in names
    )
    if key is not None:
        if len(_bare_from_cache) >= _BARE_FROM_CACHE_SIZE:
            _bare_from_cache.clear()
        _bare_from_cache[cache_key] = tables
    return tables


def _filter_bare_froms(statement, tid: int):
    """Filter tenant tables named directly in the top-level FROM (a count's
    select_from, a Core table), which loader criteria do not reach.

    Computing the final FROM list builds the statement's compile state (a few
    ms on a busy page, on every call); its answer is cached per statement
    shape (`_bare_tenant_froms`)."""
    if _only_orm_entity_froms(statement):
        return statement
    extra = [t.c.tenant_id == tid for t in _bare_tenant_froms(statement)]
    return statement.where(*extra) if extra else statement


def _tenant_paginate_count(self) -> int:
    """Flask-SQLAlchemy counts a page's total through a subquery, which the
    ORM's loader criteria do not reach: add the tenant filter to it."""
    import sqlalchemy as sa

    select = self._query_args["select"]
    tid = _current_tenant_id.get()
    for desc in select.column_descriptions:
        entity = desc.get("entity")
        if isinstance(entity, type) and issubclass(entity, TenantScoped):
            if tid is None:
                raise TenantScopeError("tenant-owned data counted with no tenant in scope")
            select = select.where(entity.tenant_id == tid)
    sub = select.order_by(None).subquery()
    return self._query_args["session"].execute(sa.select(sa.func.count()).select_from(sub)).scalar()


def _on_before_flush(session: Session, flush_context, instances) -> None:
    tid = _current_tenant_id.get()
    for obj in session.new:
        if isinstance(obj, TenantScoped):
            obj_tid = obj.tenant_id
            if obj_tid is None:
                if tid is None:
                    raise TenantScopeError(f"new {type(obj).__name__} with no tenant in scope")
                obj.tenant_id = tid
            elif tid is not None and obj_tid != tid:
                raise TenantScopeError(
                    f"new {type(obj).__name__} for tenant {obj_tid} while tenant {tid} is in scope"
                )
    for obj in session.dirty:
        if isinstance(obj, TenantScoped) and tid is not None and obj.tenant_id != tid:
            raise TenantScopeError(f"{type(obj).__name__} of another tenant changed")


def _settings() -> dict[str, str]:
    tid = _current_tenant_id.get()
    uid = _current_user_id.get()
    return {
        "app.tenant_id": "" if tid is None else str(tid),
        "app.user_id": "" if uid is None else str(uid),
        "app.token_hash": _token_hash.get() or "",
        "app.tenant_slug": _tenant_slug.get() or "",
        "app.stripe_account": _stripe_account.get() or "",
        "app.email": _email.get() or "",
    }


def _apply(connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    s = _settings()
    connection.execute(
        text(
            "SELECT set_config('app.tenant_id', :t, true), "
            "set_config('app.user_id', :u, true), "
            "set_config('app.token_hash', :h, true), "
            "set_config('app.tenant_slug', :s, true), "
            "set_config('app.stripe_account', :a, true), "
            "set_config('app.email', :e, true)"
        ),
        {
            "t": s["app.tenant_id"],
            "u": s["app.user_id"],
            "h": s["app.token_hash"],
            "s": s["app.tenant_slug"],
            "a": s["app.stripe_account"],
            "e": s["app.email"],
        },
    )


def _on_after_begin(session: Session, transaction, connection) -> None:
    # A transaction that has just begun holds no transaction-local setting,
    # and the policies read unset and '' alike (NULLIF(current_setting(..., true), '')):
    # with nothing in scope there is nothing to send (the first transaction of
    # every web request, before the session is loaded, saves a round trip).
    if not any(_settings().values()):
        return
    _apply(connection)


def sync_session_settings() -> None:
    """Re-apply the settings inside the current transaction, if one is open
    (the tenant is often learned after the first query of a request)."""
    if _session_factory is None:
        return
    session = _session_factory()
    if session.in_transaction():
        _apply(session.connection())


class lookup_token:  # noqa: N801 - used as a context manager
    """Let RLS reveal the one row whose token hash matches (API tokens,
    invitations) before any tenant is known."""

    def __init__(self, token_hash: str):
        self.token_hash = token_hash

    def __enter__(self):
        self._tok = _token_hash.set(self.token_hash)
        sync_session_settings()
        return self

    def __exit__(self, *exc):
        _token_hash.reset(self._tok)
        sync_session_settings()
        return False


class _lookup:
    """Reveal, for a block, the one firm row a narrow setting names."""

    var: ContextVar

    def __init__(self, value: str):
        self.value = value

    def __enter__(self):
        self._tok = self.var.set(self.value)
        sync_session_settings()
        return self

    def __exit__(self, *exc):
        self.var.reset(self._tok)
        sync_session_settings()
        return False


class lookup_tenant_slug(_lookup):  # noqa: N801 - used as a context manager
    """Let RLS reveal the firm with this slug before any tenant is known
    (sign-up's check that a slug is free, and the new firm's own insert)."""

    var = _tenant_slug


class lookup_stripe_account(_lookup):  # noqa: N801 - used as a context manager
    """Let RLS reveal the firm with this Stripe connected account (webhooks)."""

    var = _stripe_account


class lookup_email(_lookup):  # noqa: N801 - used as a context manager
    """Let RLS reveal the account with this e-mail address before anyone is
    signed in (log-in, password reset, sign-up, accepting an invitation); a
    new account is inserted under its own address."""

    var = _email

    def __init__(self, email: str):
        super().__init__((email or "").strip().lower())


def tenant_directory(slug: str | None = None) -> list[tuple[int, str, bool]]:
    """Every firm as (id, slug, is_active), or the one with `slug`: for ops
    commands that run for each firm. On PostgreSQL the app role cannot list
    firms (RLS): it asks the owner's advocate_tenant_directory() function."""
    from sqlalchemy import select

    from tenants.models import Tenant

    session = _session_factory()
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT id, slug, is_active FROM advocate_tenant_directory()")
        ).all()
    else:
        rows = session.execute(
            select(Tenant.id, Tenant.slug, Tenant.is_active).order_by(Tenant.id)
        ).all()
    out = [(int(r[0]), r[1], bool(r[2])) for r in rows]
    if slug is not None:
        out = [r for r in out if r[1] == slug]
    return out


def install(db) -> None:
    """Attach the listeners once to the Flask-SQLAlchemy session class."""
    global _installed, _session_factory
    _session_factory = db.session
    if _installed:
        return
    event.listen(Session, "do_orm_execute", _on_do_orm_execute)
    event.listen(Session, "before_flush", _on_before_flush)
    event.listen(Session, "after_begin", _on_after_begin)
    from flask_sqlalchemy.pagination import SelectPagination

    SelectPagination._query_count = _tenant_paginate_count
    _installed = True
