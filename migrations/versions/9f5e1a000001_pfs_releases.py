"""rates: the CMS release (A, B, C, D) of each loaded fee schedule year and
its effective date; the years already loaded become release A, effective
January 1 of their year.

Revision ID: 9f5e1a000001
Revises: x837a0000001, 5eca0e000001, a91d00000003, eaa835000001
Create Date: 2026-12-08 00:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "9f5e1a000001"
down_revision = ("x837a0000001", "5eca0e000001", "a91d00000003", "eaa835000001")
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("pfs_years") as batch:
        batch.add_column(sa.Column("release", sa.String(2), nullable=False, server_default="A"))
        batch.add_column(sa.Column("effective", sa.Date(), nullable=True))
    years = sa.table(
        "pfs_years", sa.column("year", sa.SmallInteger), sa.column("effective", sa.Date)
    )
    conn = op.get_bind()
    import datetime

    for (year,) in conn.execute(sa.select(years.c.year)).all():
        conn.execute(
            years.update().where(years.c.year == year).values(effective=datetime.date(year, 1, 1))
        )
    with op.batch_alter_table("pfs_years") as batch:
        batch.alter_column("effective", existing_type=sa.Date(), nullable=False)


def downgrade():
    with op.batch_alter_table("pfs_years") as batch:
        batch.drop_column("effective")
        batch.drop_column("release")
