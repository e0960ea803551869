"""The ORM's fail-closed tenant filter (on every backend)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from advocate.auth.models import ApiToken, new_token, token_hash
from advocate.extensions import db
from tenants import TenantScopeError, tenant_scope
from tests.factories import make_firm, make_user


def _token(person, name):
    raw = new_token()
    return ApiToken(
        membership_id=person.membership_id,
        name=name,
        token_prefix=raw[:8],
        token_hash=token_hash(raw),
    )


def test_query_without_a_tenant_raises(db_app):
    with pytest.raises(TenantScopeError):
        db.session.scalars(select(ApiToken)).all()


def test_queries_see_only_the_tenant_in_scope(db_app):
    a, b = make_firm("A"), make_firm("B")
    with tenant_scope(a.tenant.id):
        db.session.add(_token(a.owner, "a-token"))
        db.session.commit()
    with tenant_scope(b.tenant.id):
        db.session.add(_token(b.owner, "b-token"))
        db.session.commit()
        assert [t.name for t in db.session.scalars(select(ApiToken))] == ["b-token"]
    with tenant_scope(a.tenant.id):
        assert [t.name for t in db.session.scalars(select(ApiToken))] == ["a-token"]


def test_all_tenants_is_the_explicit_way_out(db_app):
    a, b = make_firm("A"), make_firm("B")
    for firm in (a, b):
        with tenant_scope(firm.tenant.id):
            db.session.add(_token(firm.owner, firm.tenant.name))
            db.session.commit()
    names = db.session.scalars(select(ApiToken.name).execution_options(all_tenants=True)).all()
    if db.engine.dialect.name == "postgresql":
        assert names == []  # the database still refuses without a tenant
    else:
        assert sorted(names) == ["A", "B"]


def test_new_rows_must_belong_to_the_tenant_in_scope(db_app):
    a, b = make_firm("A"), make_firm("B")
    with tenant_scope(a.tenant.id):
        tok = _token(a.owner, "x")
        tok.tenant_id = b.tenant.id
        db.session.add(tok)
        with pytest.raises(TenantScopeError):
            db.session.flush()
        db.session.rollback()


def test_tenant_id_defaults_to_the_scope_and_fails_without_one(db_app):
    a = make_firm("A")
    p = make_user(a.tenant, "advocate")
    db.session.add(_token(p, "orphan"))
    with pytest.raises(TenantScopeError):
        db.session.flush()
    db.session.rollback()
    with tenant_scope(a.tenant.id):
        tok = _token(p, "scoped")
        db.session.add(tok)
        db.session.flush()
        assert tok.tenant_id == a.tenant.id
        db.session.rollback()


def test_counts_and_paginated_totals_see_only_the_tenant_in_scope(db_app):
    from sqlalchemy import func

    a, b = make_firm("A"), make_firm("B")
    for firm in (a, b):
        with tenant_scope(firm.tenant.id):
            db.session.add(_token(firm.owner, firm.tenant.name))
            db.session.add(_token(firm.owner, firm.tenant.name + "2"))
            db.session.commit()
    with tenant_scope(a.tenant.id):
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 2
        page = db.paginate(select(ApiToken), per_page=1)
        assert page.total == 2 and len(page.items) == 1
    with pytest.raises(TenantScopeError):
        db.session.scalar(select(func.count()).select_from(ApiToken))


def _statement_shapes():
    """Ways code asks for tenant rows: entities, columns, aggregates, explicit
    FROMs, Core tables, joins and subqueries. Each must see one firm only."""
    from sqlalchemy import func

    from advocate.auth.models import ApiToken as T
    from tenants.models import Membership as M

    table = T.__table__
    sub = select(T.id).subquery()
    return {
        "entity": lambda: select(T),
        "column": lambda: select(T.id),
        "aggregate of a column": lambda: select(func.count(T.id)),
        "count select_from entity": lambda: select(func.count()).select_from(T),
        "count select_from table": lambda: select(func.count()).select_from(table),
        "core column": lambda: select(table.c.id),
        "core aggregate": lambda: select(func.count(table.c.id)),
        "entity joined": lambda: select(T).join(M, M.id == T.membership_id),
        "columns join_from": lambda: select(T.id, M.id).join_from(T, M, M.id == T.membership_id),
        "outer join keeps its rows": lambda: select(T.id).outerjoin(M, M.id == T.membership_id),
        "subquery": lambda: select(func.count()).select_from(select(T.id).subquery()),
        "aliased subquery column": lambda: select(sub.c.id),
    }


@pytest.mark.parametrize("shape", list(_statement_shapes()))
def test_every_statement_shape_sees_only_the_tenant_in_scope(db_app, shape):
    a, b = make_firm("A"), make_firm("B")
    for firm, n in ((a, 2), (b, 3)):
        with tenant_scope(firm.tenant.id):
            for i in range(n):
                db.session.add(_token(firm.owner, f"{firm.tenant.name}{i}"))
            db.session.commit()
    build = _statement_shapes()[shape]
    for firm, n in ((a, 2), (b, 3)):
        with tenant_scope(firm.tenant.id):
            rows = db.session.execute(build()).all()
        if shape.startswith(("count", "aggregate", "core aggregate", "subquery")):
            assert rows[0][0] == n, (shape, firm.tenant.name, rows)
        else:
            assert len(rows) == n, (shape, firm.tenant.name, rows)
    with pytest.raises(TenantScopeError):
        db.session.execute(build()).all()


def test_a_cached_statement_shape_still_filters_each_tenant(db_app):
    """The final-FROM answer is cached per statement shape; the tenant id is
    not part of it: the same shape run for two firms, twice, sees each firm's
    rows only, and a shape run with no tenant still refuses."""
    from sqlalchemy import func

    from tenants import scoping

    a, b = make_firm("A"), make_firm("B")
    for firm, n in ((a, 2), (b, 3)):
        with tenant_scope(firm.tenant.id):
            for i in range(n):
                db.session.add(_token(firm.owner, f"{firm.tenant.name}{i}"))
            db.session.commit()
    table = ApiToken.__table__
    scoping._bare_from_cache.clear()
    for _ in range(2):
        for firm, n in ((a, 2), (b, 3)):
            with tenant_scope(firm.tenant.id):
                assert db.session.scalar(select(func.count()).select_from(table)) == n
                assert db.session.scalar(select(func.count(table.c.id))) == n
    assert scoping._bare_from_cache  # the shapes were cached, and the answers above came from it
    with pytest.raises(TenantScopeError):
        db.session.scalar(select(func.count()).select_from(table))


def test_a_model_mapped_later_is_a_tenant_table():
    """The tenant table names are cached; mapping a new class forgets them."""
    from sqlalchemy import BigInteger, Column
    from sqlalchemy.orm import registry

    from tenants import TenantScoped, scoping

    before = scoping._tenant_tables()
    reg = registry()

    class Probe(TenantScoped):
        __tablename__ = "scoping_cache_probe"
        id = Column(BigInteger, primary_key=True)

    reg.map_declaratively(Probe)
    try:
        assert "scoping_cache_probe" not in before
        assert "scoping_cache_probe" in scoping._tenant_tables()
    finally:
        import gc

        reg.dispose()
        del Probe
        gc.collect()
        scoping._forget_tenant_tables()
