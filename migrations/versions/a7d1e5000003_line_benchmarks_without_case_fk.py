"""line_benchmarks: drop the foreign key to cases (and its index)

A row belongs to its service line (FOREIGN KEY line_id ... ON DELETE CASCADE),
and a line to its case (ON DELETE CASCADE too): a deleted case already takes
its rows through its lines.  The second foreign key only cost every insert a
lookup and a row lock on the case (the set-based re-benchmark inserts 100,000
rows on a firm's first run: bench/RESULTS-rates.md), and its index an entry.

Revision ID: a7d1e5000003
Revises: a7d1e5000002
Create Date: 2026-11-27 03:55:00

"""
from alembic import op

import advocate.db  # noqa: F401  (custom column types)

revision = "a7d1e5000003"
down_revision = "a7d1e5000002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("line_benchmarks", schema=None) as batch_op:
        batch_op.drop_constraint("fk_line_benchmarks_case_id_cases", type_="foreignkey")
        batch_op.drop_index("ix_line_benchmarks_case")


def downgrade():
    with op.batch_alter_table("line_benchmarks", schema=None) as batch_op:
        batch_op.create_index("ix_line_benchmarks_case", ["case_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_line_benchmarks_case_id_cases", "cases", ["case_id"], ["id"], ondelete="CASCADE"
        )
