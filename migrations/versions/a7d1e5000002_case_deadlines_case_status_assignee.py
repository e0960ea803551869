"""case_deadlines: the case's status and advocate, kept by triggers

The firm-wide deadline list, its per-advocate counts, the calendar and the
digest filter open deadlines by the case's status and advocate.  Joining
every candidate deadline to its case for that cost ~60-90 ms on a firm with
100,000 cases (bench/RESULTS.md); the two columns, copied from the case by
triggers (on PostgreSQL and SQLite alike, so no code path can forget them),
let those queries read case_deadlines alone.

Revision ID: a7d1e5000002
Revises: f0e1d2c3b4a5
Create Date: 2026-11-27 03:40:00

"""
import sqlalchemy as sa
from alembic import op

import advocate.db  # noqa: F401  (custom column types)

revision = "a7d1e5000002"
down_revision = "f0e1d2c3b4a5"
branch_labels = None
depends_on = None

PG_TRIGGERS = [
    # A deadline takes its case's status and advocate when written.
    "CREATE OR REPLACE FUNCTION case_deadlines_from_case() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "SELECT c.status, c.assignee_id INTO NEW.case_status, NEW.assignee_id "
    "FROM cases c WHERE c.id = NEW.case_id; "
    "RETURN NEW; END $$",
    "CREATE TRIGGER case_deadlines_from_case BEFORE INSERT OR UPDATE OF case_id "
    "ON case_deadlines FOR EACH ROW EXECUTE FUNCTION case_deadlines_from_case()",
    # A case's new status or advocate reaches its deadlines.
    "CREATE OR REPLACE FUNCTION cases_to_case_deadlines() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "UPDATE case_deadlines SET case_status = NEW.status, assignee_id = NEW.assignee_id "
    "WHERE case_id = NEW.id; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER cases_to_case_deadlines AFTER UPDATE OF status, assignee_id ON cases "
    "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status "
    "OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id) "
    "EXECUTE FUNCTION cases_to_case_deadlines()",
]

SQLITE_TRIGGERS = [
    "CREATE TRIGGER case_deadlines_from_case AFTER INSERT ON case_deadlines FOR EACH ROW "
    "BEGIN UPDATE case_deadlines SET "
    "case_status = (SELECT status FROM cases WHERE id = NEW.case_id), "
    "assignee_id = (SELECT assignee_id FROM cases WHERE id = NEW.case_id) "
    "WHERE id = NEW.id; END",
    "CREATE TRIGGER case_deadlines_case_moved AFTER UPDATE OF case_id ON case_deadlines FOR EACH ROW "
    "BEGIN UPDATE case_deadlines SET "
    "case_status = (SELECT status FROM cases WHERE id = NEW.case_id), "
    "assignee_id = (SELECT assignee_id FROM cases WHERE id = NEW.case_id) "
    "WHERE id = NEW.id; END",
    "CREATE TRIGGER cases_to_case_deadlines AFTER UPDATE OF status, assignee_id ON cases "
    "FOR EACH ROW WHEN OLD.status IS NOT NEW.status OR OLD.assignee_id IS NOT NEW.assignee_id "
    "BEGIN UPDATE case_deadlines SET case_status = NEW.status, assignee_id = NEW.assignee_id "
    "WHERE case_id = NEW.id; END",
]

BACKFILL = (
    "UPDATE case_deadlines SET "
    "case_status = (SELECT c.status FROM cases c WHERE c.id = case_deadlines.case_id), "
    "assignee_id = (SELECT c.assignee_id FROM cases c WHERE c.id = case_deadlines.case_id)"
)


def upgrade():
    with op.batch_alter_table("case_deadlines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_status", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("assignee_id", sa.BigInteger(), nullable=True))
    op.execute(BACKFILL)
    # Open deadlines by date with what the list filters on, readable from the
    # index alone on PostgreSQL (INCLUDE is ignored elsewhere).
    op.create_index(
        "ix_case_deadlines_tenant_open_due",
        "case_deadlines",
        ["tenant_id", "is_done", "due_on"],
        postgresql_include=["case_status", "assignee_id", "kind"],
    )
    op.drop_index("ix_case_deadlines_tenant_done_due", table_name="case_deadlines")
    op.create_index(
        "ix_case_deadlines_tenant_assignee_due",
        "case_deadlines",
        ["tenant_id", "assignee_id", "is_done", "due_on"],
    )
    bind = op.get_bind()
    for stmt in PG_TRIGGERS if bind.dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(stmt)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS cases_to_case_deadlines ON cases")
        op.execute("DROP TRIGGER IF EXISTS case_deadlines_from_case ON case_deadlines")
        op.execute("DROP FUNCTION IF EXISTS cases_to_case_deadlines()")
        op.execute("DROP FUNCTION IF EXISTS case_deadlines_from_case()")
    else:
        for name in ("cases_to_case_deadlines", "case_deadlines_from_case", "case_deadlines_case_moved"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_case_deadlines_tenant_assignee_due", table_name="case_deadlines")
    op.create_index(
        "ix_case_deadlines_tenant_done_due", "case_deadlines", ["tenant_id", "is_done", "due_on"]
    )
    op.drop_index("ix_case_deadlines_tenant_open_due", table_name="case_deadlines")
    with op.batch_alter_table("case_deadlines", schema=None) as batch_op:
        batch_op.drop_column("assignee_id")
        batch_op.drop_column("case_status")
