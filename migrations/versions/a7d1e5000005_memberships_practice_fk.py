"""memberships.practice_id: a foreign key to practices

A practice user's membership names the one practice they may see; until now
nothing in the database held that id to an existing practice.  NO ACTION (the
default), not RESTRICT: deleting a firm cascades to its practices and its
memberships in the same statement, and NO ACTION is checked after both.

Revision ID: a7d1e5000005
Revises: a7d1e5000004
Create Date: 2026-11-27 05:10:00

"""
from alembic import op

import advocate.db  # noqa: F401  (custom column types)

revision = "a7d1e5000005"
down_revision = "a7d1e5000004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_memberships_practice_id_practices", "practices", ["practice_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_constraint("fk_memberships_practice_id_practices", type_="foreignkey")
