"""memberships.practice_id is held to an existing practice by the database
(migration a7d1e5000005), and deleting a firm still removes its practices and
memberships together (NO ACTION is checked after the cascade)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from advocate.extensions import db
from tenants import tenant_scope
from tenants.models import Membership
from tests.conftest import IS_PG
from tests.factories import make_firm, make_practice, make_user

pytestmark = pytest.mark.skipif(not IS_PG, reason="SQLite here does not enforce foreign keys")


def test_a_membership_cannot_name_a_practice_that_does_not_exist(db_app):
    firm = make_firm("Keyed Firm")
    practice_id = make_practice(firm.tenant, name="Keyed Practice")
    person = make_user(firm.tenant, "practice_user", practice_id=practice_id)  # existing: fine
    with tenant_scope(firm.tenant.id):
        m = db.session.get(Membership, person.membership_id)
        m.practice_id = practice_id + 10_000
        with pytest.raises(IntegrityError, match="fk_memberships_practice_id_practices"):
            db.session.flush()
        db.session.rollback()
        assert db.session.get(Membership, person.membership_id).practice_id == practice_id


def test_deleting_a_firm_removes_its_practices_and_their_users_memberships(db_app):
    from sqlalchemy import create_engine, text

    firm = make_firm("Doomed Firm")
    practice_id = make_practice(firm.tenant, name="Doomed Practice")
    person = make_user(firm.tenant, "practice_user", practice_id=practice_id)
    owner = create_engine(db_app.config["MIGRATION_DATABASE_URL"])
    with owner.begin() as conn:
        conn.execute(text("DELETE FROM tenants WHERE id = :t"), {"t": firm.tenant.id})
        practices = conn.execute(
            text("SELECT count(*) FROM practices WHERE id = :p"), {"p": practice_id}
        ).scalar()
        left = conn.execute(
            text("SELECT count(*) FROM memberships WHERE id = :m"), {"m": person.membership_id}
        ).scalar()
    owner.dispose()
    assert (practices, left) == (0, 0)
