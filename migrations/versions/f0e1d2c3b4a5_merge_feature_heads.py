"""merge feature heads

Revision ID: f0e1d2c3b4a5
Revises: 5ca1e0000001, b111e0000001, be7c0a000001
Create Date: 2026-11-27 01:40:56.782381

"""
import sqlalchemy as sa
from alembic import op

import advocate.db  # noqa: F401  (custom column types)
from tenants import rls  # noqa: F401  (row-level security for new tenant tables)


# revision identifiers, used by Alembic.
revision = 'f0e1d2c3b4a5'
down_revision = ('5ca1e0000001', 'b111e0000001', 'be7c0a000001')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
