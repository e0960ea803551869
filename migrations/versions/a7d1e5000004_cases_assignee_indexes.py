"""cases: one advocate's cases by next deadline and by follow-up date

"My caseload" shows an advocate's overdue cases, those due this week and the
follow-ups due, each the first few by date, with counts.  The index on
(tenant, advocate, status) made each of those read all of the advocate's
open cases (~5,000 in the 100,000-case bench firm) and sort them.  These two
give them in date order (the status, nearly always open, is checked on the
way), and the first carries status and follow-up date so the counts read the
index alone on PostgreSQL.  The old index is superseded by the first.

Revision ID: a7d1e5000004
Revises: a7d1e5000003
Create Date: 2026-11-27 04:40:00

"""
from alembic import op

import advocate.db  # noqa: F401  (custom column types)

revision = "a7d1e5000004"
down_revision = "a7d1e5000003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_cases_tenant_assignee_deadline",
        "cases",
        ["tenant_id", "assignee_id", "next_deadline_on"],
        postgresql_include=["status", "next_follow_up_on"],
    )
    op.create_index(
        "ix_cases_tenant_assignee_follow_up", "cases", ["tenant_id", "assignee_id", "next_follow_up_on"]
    )
    op.drop_index("ix_cases_tenant_assignee_status", table_name="cases")


def downgrade():
    op.create_index(
        "ix_cases_tenant_assignee_status", "cases", ["tenant_id", "assignee_id", "status"]
    )
    op.drop_index("ix_cases_tenant_assignee_follow_up", table_name="cases")
    op.drop_index("ix_cases_tenant_assignee_deadline", table_name="cases")
