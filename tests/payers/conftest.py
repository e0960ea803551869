"""Payer test helpers: a firm with a logged-in person, payers and policies
built through the services, API tokens, and counts read inside the firm's scope."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from advocate.audit.models import AuditEvent
from advocate.auth.models import ApiToken, new_token, token_hash
from advocate.extensions import db
from advocate.payers import services
from tenants import tenant_scope
from tests.factories import login, make_firm, make_user

TODAY = date(2026, 1, 15)


def policy_data(**overrides) -> dict:
    data = {
        "plan_type": "erisa_self_funded",
        "effective_date": "2024-01-01",
        "pricing_method": "medicare_percent",
        "pricing_percent": "140",
        "timely_filing_days": 90,
        "appeal_levels": [{"name": "Level 1 appeal", "window_days": 180}],
    }
    data.update(overrides)
    return data


def add_payer(firm, name="Northstar Health Plan", **fields) -> int:
    with tenant_scope(firm.tenant.id):
        payer = services.create_payer(
            tenant_id=firm.tenant.id, actor_id=firm.owner.user.id, data={"name": name, **fields}
        )
        db.session.commit()
        return payer.id


def add_policy(firm, payer_id, **overrides) -> int:
    from advocate.payers.models import Payer

    with tenant_scope(firm.tenant.id):
        payer = db.session.get(Payer, payer_id)
        policy = services.create_policy(
            payer, actor_id=firm.owner.user.id, data=policy_data(**overrides), today=TODAY
        )
        db.session.commit()
        return policy.id


def count(firm, model, *where) -> int:
    with tenant_scope(firm.tenant.id):
        # Explicit tenant filter: a bare count(*) is not scoped automatically.
        q = select(func.count()).select_from(model).where(model.tenant_id == firm.tenant.id)
        for w in where:
            q = q.where(w)
        return db.session.scalar(q)


def audit_actions(firm) -> list[str]:
    with tenant_scope(firm.tenant.id):
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.tenant_id == firm.tenant.id)
                .order_by(AuditEvent.id)
            )
        )


def bearer(person) -> dict:
    raw = new_token("adv_")
    with tenant_scope(person.tenant_id):
        db.session.add(
            ApiToken(
                membership_id=person.membership_id,
                name="payers test",
                token_prefix=raw[:8],
                token_hash=token_hash(raw),
            )
        )
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture()
def firm(db_app):
    return make_firm("Fairpay")


@pytest.fixture()
def owner_browser(firm, make_browser):
    b = make_browser("10.1.0.1")
    login(b, firm.owner)
    return b


@pytest.fixture()
def person_browser(firm, make_browser):
    """Log a new person of `role` into the firm: person_browser('viewer')."""

    def make(role: str):
        person = make_user(firm.tenant, role)
        firm.people[role] = person
        b = make_browser(f"10.1.0.{len(firm.people) + 10}")
        login(b, person)
        return b

    return make
