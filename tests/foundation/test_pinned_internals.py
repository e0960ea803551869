"""The tenant filter (tenants/scoping.py) relies on internals of SQLAlchemy and
Flask-SQLAlchemy; pyproject.toml pins their versions and requirements.lock
locks them. This fails loudly, naming what moved, when an upgrade changes them."""

from __future__ import annotations

import inspect
import re
from importlib.metadata import version
from pathlib import Path

import flask_sqlalchemy.pagination as fsa_pagination
import sqlalchemy
from sqlalchemy import Integer, MetaData, String, event, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    with_loader_criteria,
)

ROOT = Path(__file__).resolve().parents[2]


def _locked(name: str) -> str:
    m = re.search(
        rf"^{re.escape(name)}==([^\s\\]+)", (ROOT / "requirements.lock").read_text(), re.M | re.I
    )
    assert m, f"{name} is not in requirements.lock"
    return m.group(1)


def test_installed_versions_are_the_locked_ones():
    for dist in ("SQLAlchemy", "Flask-SQLAlchemy"):
        assert version(dist) == _locked(dist), (
            f"{dist} {version(dist)} is installed but {_locked(dist)} is locked: the tenant filter "
            "was reviewed against the locked version; re-check tenants/scoping.py before moving the pin"
        )
    assert sqlalchemy.__version__.startswith("2.1."), sqlalchemy.__version__


def test_flask_sqlalchemy_pagination_still_counts_through_query_count():
    # scoping.install replaces SelectPagination._query_count, reading
    # self._query_args["select"] and ["session"]: both must still exist.
    cls = fsa_pagination.SelectPagination
    assert "_query_count" in vars(cls), "SelectPagination._query_count is gone"
    source = inspect.getsource(fsa_pagination.SelectPagination)
    assert '_query_args["select"]' in source and '_query_args["session"]' in source, (
        "SelectPagination no longer keeps select/session in _query_args: update tenants/scoping._tenant_paginate_count"
    )
    base = inspect.getsource(fsa_pagination.Pagination)
    assert "self._query_count()" in base, (
        "Pagination no longer computes its total through _query_count()"
    )


def test_orm_execute_state_and_loader_criteria_behave_as_the_filter_expects():
    for attr in (
        "is_select",
        "is_update",
        "is_delete",
        "execution_options",
        "statement",
        "all_mappers",
    ):
        assert hasattr(ORMExecuteState, attr), f"ORMExecuteState.{attr} is gone"
    for name in ("do_orm_execute", "before_flush", "after_begin"):
        assert hasattr(sqlalchemy.orm.SessionEvents, name), f"SessionEvents.{name} is gone"

    class Base(DeclarativeBase):
        metadata = MetaData()

    class Row(Base):
        __tablename__ = "rows"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        tenant_id: Mapped[int] = mapped_column(Integer)
        name: Mapped[str] = mapped_column(String(20))

    engine = sqlalchemy.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    seen = []

    def add_criteria(state: ORMExecuteState):
        if state.is_select and not state.execution_options.get("all_tenants"):
            seen.append([m.class_ for m in state.all_mappers])
            state.statement = state.statement.options(
                with_loader_criteria(Row, lambda cls: cls.tenant_id == 1, include_aliases=True)
            )

    with Session(engine) as session:
        event.listen(session, "do_orm_execute", add_criteria)
        session.add_all([Row(tenant_id=1, name="mine"), Row(tenant_id=2, name="theirs")])
        session.flush()
        assert session.scalars(select(Row.name)).all() == ["mine"]
        assert [r.name for r in session.scalars(select(Row))] == ["mine"]
        assert sorted(session.scalars(select(Row.name).execution_options(all_tenants=True))) == [
            "mine",
            "theirs",
        ]
        assert seen and seen[0] == [Row]
