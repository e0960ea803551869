"""scale: indexes for the caseload filters and for foreign keys to cases

Revision ID: 5ca1e0000001
Revises: e835a0000001, cd5e0a000001, 6e739a2b0b31
Create Date: 2026-11-27 00:40:00

Filters (tenant_id leads, as in every key of the schema):
- cases (tenant_id, status, amount_at_stake): open cases largest first and the
  board's per-status columns, without filtering the at-stake index.
- cases (tenant_id, service_from): the service-date range filter.

Foreign keys to cases.id whose column leads no index (case_events,
unmatched_claims, case_deadlines, letters, nsa_disputes): the existing
(tenant_id, case_id, ...) indexes serve reads, but the referential action of a
case delete (ON DELETE CASCADE / SET NULL) looks rows up by case_id alone, and
PostgreSQL 15 cannot skip the leading tenant_id, so each deleted case scanned
the whole child table. These are lookup indexes, not keys; under a
distribution by tenant the foreign keys become (tenant_id, case_id) and the
tenant-led indexes serve them (docs/scaling.md).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '5ca1e0000001'
down_revision = ('e835a0000001', 'cd5e0a000001', '6e739a2b0b31')
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_cases_tenant_status_at_stake", "cases", ["tenant_id", "status", "amount_at_stake"]),
    ("ix_cases_tenant_service_from", "cases", ["tenant_id", "service_from"]),
    ("ix_case_events_case_at", "case_events", ["case_id", "at"]),
    ("ix_unmatched_claims_case_id", "unmatched_claims", ["case_id"]),
    ("ix_case_deadlines_case_id", "case_deadlines", ["case_id"]),
    ("ix_letters_case_id", "letters", ["case_id"]),
    ("ix_nsa_disputes_case_id", "nsa_disputes", ["case_id"]),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
