"""users.email_verified_at: an account works only once its address is proven

Sign-up now mails a signed link and creates the account only when it is
opened (advocate issue 15, account pre-hijacking). Accounts created before
this revision came through the old sign-up, an invitation, the CLI or the demo
seed; they are marked verified at their creation time so nobody is locked out.

Revision ID: 5eca0e000001
Revises: a7d1e5000005
Create Date: 2026-12-07 23:30:00

"""

import sqlalchemy as sa
from alembic import op

import advocate.db

revision = "5eca0e000001"
down_revision = "a7d1e5000005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_verified_at", advocate.db.UTCDateTime(), nullable=True)
        )
    op.execute("UPDATE users SET email_verified_at = created_at WHERE email_verified_at IS NULL")


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_verified_at")
