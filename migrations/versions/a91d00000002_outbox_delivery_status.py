"""outbox: delivery after commit (status, attempts) and the app role may record the outcome

Revision ID: a91d00000002
Revises: a91d00000001
Create Date: 2026-12-07 23:45:00

"""

import sqlalchemy as sa
from alembic import op

from tenants import rls

revision = "a91d00000002"
down_revision = "a91d00000001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        # Messages already there were sent (or failed) synchronously.
        batch_op.add_column(
            sa.Column("status", sa.String(length=10), server_default="sent", nullable=False)
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="1", nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        # Delivery updates its own firm's messages (status, attempts, error); rows stay
        # readable and insertable as before (rls.log_statements).
        rls.run(
            op,
            [
                "DROP POLICY IF EXISTS tenant_update ON outbox_messages",
                f"CREATE POLICY tenant_update ON outbox_messages FOR UPDATE "
                f"USING (tenant_id = {rls.CURRENT_TENANT}) WITH CHECK (tenant_id = {rls.CURRENT_TENANT})",
            ],
        )
    op.execute("UPDATE outbox_messages SET status = 'failed' WHERE error IS NOT NULL")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP POLICY IF EXISTS tenant_update ON outbox_messages")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("status")
