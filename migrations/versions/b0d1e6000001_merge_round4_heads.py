"""merge this round's heads (tenancy RLS and the merged feature revisions)

Revision ID: b0d1e6000001
Revises: 5ecda7a00001, 9f5e1a000001
Create Date: 2026-12-08 00:50:00

"""

revision = "b0d1e6000001"
down_revision = ("5ecda7a00001", "9f5e1a000001")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
