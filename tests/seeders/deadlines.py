"""Isolation seed for deadlines: one closure day and one specified state law per firm."""

from __future__ import annotations

from datetime import date

from advocate.deadlines.models import ClosureDay, SpecifiedStateLaw
from advocate.extensions import db
from tenants import tenant_scope
from tests.isolation import Seeded, seeder


@seeder
def _deadlines(s: Seeded) -> None:
    with tenant_scope(s.firm.tenant.id):
        closure = ClosureDay(day=date(2024, 12, 24), reason=f"{s.marker} executive order")
        law = SpecifiedStateLaw(state="NY", citation=f"{s.marker} surprise bill law")
        db.session.add_all([closure, law])
        db.session.flush()
        s.add("closure_id", closure.id)
        s.add("state_law_id", law.id)
        db.session.commit()
