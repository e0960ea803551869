"""Shared set-up for the case deadline and NSA track tests (no tests here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import unescape

from sqlalchemy import select

from advocate.cases.models import Case
from advocate.deadlines.case_models import CaseDeadline, NsaDispute
from advocate.extensions import db
from advocate.payers.models import PayerAppealLevel, PayerPolicy
from tenants import tenant_scope
from tests.factories import Person, make_case, make_firm, make_payer, make_practice, make_user

# A fixed "today" for service calls: every date below is before it.
TODAY = date(2026, 11, 20)


@dataclass
class Shop:
    firm: object
    tenant_id: int
    practice_id: int
    payer_id: int
    advocate: Person

    @property
    def tenant(self):
        return self.firm.tenant


def make_shop(name: str = "Harbor Claims Advocacy") -> Shop:
    firm = make_firm(name)
    practice_id = make_practice(firm.tenant, name="Lakeside Emergency Physicians")
    payer_id = make_payer(firm.tenant, name="Keystone Health Plan")
    advocate = make_user(firm.tenant, "advocate", name="Arlo Advocate")
    return Shop(firm, firm.tenant.id, practice_id, payer_id, advocate)


def add_policy(
    shop: Shop,
    *,
    effective: date = date(2020, 1, 1),
    timely_filing_days: int = 90,
    levels=(("Level 1 appeal", 180), ("Level 2 appeal", 60)),
    payer_id: int | None = None,
    plan_type: str = "erisa_self_funded",
) -> int:
    with tenant_scope(shop.tenant_id):
        policy = PayerPolicy(
            payer_id=payer_id or shop.payer_id,
            plan_type=plan_type,
            effective_date=effective,
            pricing_method="medicare_percent",
            pricing_percent=Decimal("140"),
            timely_filing_days=timely_filing_days,
        )
        for i, (name, days) in enumerate(levels, start=1):
            policy.appeal_levels.append(PayerAppealLevel(level=i, name=name, window_days=days))
        db.session.add(policy)
        db.session.flush()
        pid = policy.id
        db.session.commit()
    return pid


def new_case(shop: Shop, **overrides) -> int:
    overrides.setdefault("assignee_id", shop.advocate.user.id)
    overrides.setdefault("service_type", "emergency")
    if "service_from" in overrides:
        overrides.setdefault("service_to", overrides["service_from"])
    practice_id = overrides.pop("practice_id", shop.practice_id)
    return make_case(
        shop.tenant, practice_id, shop.payer_id, actor_id=shop.advocate.user.id, **overrides
    )


def load_case(case_id: int) -> Case:
    db.session.expire_all()
    return db.session.get(Case, case_id)


def deadlines(shop: Shop, case_id: int) -> dict[str, CaseDeadline]:
    """The case's stored deadlines by kind (the first of each kind)."""
    with tenant_scope(shop.tenant_id):
        db.session.expire_all()
        rows = db.session.scalars(
            select(CaseDeadline)
            .where(CaseDeadline.case_id == case_id)
            .order_by(CaseDeadline.due_on)
        ).all()
    out: dict[str, CaseDeadline] = {}
    for row in rows:
        out.setdefault(row.kind, row)
    return out


def dispute(shop: Shop, case_id: int) -> NsaDispute | None:
    with tenant_scope(shop.tenant_id):
        db.session.expire_all()
        return db.session.scalar(select(NsaDispute).where(NsaDispute.case_id == case_id))


def text_of(response) -> str:
    html = response.get_data(as_text=True)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


class QueryCounter:
    """Counts the statements sent to the database while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _on(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._on)

    @property
    def count(self) -> int:
        return len(self.statements)
