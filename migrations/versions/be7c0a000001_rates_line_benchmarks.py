"""rates: line_benchmarks (what each service line is worth)

One row per service line of a firm's cases: the Medicare amount, the firm's
commercial percentiles, the payer policy and SCA amounts and the expected
payment, as computed by advocate.rates.benchmark. Tenant-owned: forced RLS.

Revision ID: be7c0a000001
Revises: c0a5e5000001, 8bc85031cdb2
Create Date: 2026-11-27 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import advocate.db  # noqa: F401  (custom column types)
from tenants import rls

# revision identifiers, used by Alembic.
revision = 'be7c0a000001'
down_revision = ('c0a5e5000001', '8bc85031cdb2')  # cases (service lines) and rates
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_MONEY = sa.Numeric(precision=12, scale=2)


def upgrade():
    op.create_table(
        'line_benchmarks',
        sa.Column('tenant_id', sa.BigInteger(), nullable=False),
        sa.Column('id', _ID, nullable=False),
        sa.Column('case_id', _ID, nullable=False),
        sa.Column('line_id', _ID, nullable=False),
        sa.Column('line_no', sa.Integer(), nullable=False),
        sa.Column('fee_year', sa.SmallInteger(), nullable=True),
        sa.Column('locality', sa.String(length=8), nullable=True),
        sa.Column('medicare', _MONEY, nullable=True),
        sa.Column('medicare_reason', sa.String(length=500), nullable=True),
        sa.Column('medicare_steps', sa.JSON(), nullable=True),
        sa.Column('zip3', sa.String(length=3), nullable=True),
        sa.Column('percentile_year', sa.SmallInteger(), nullable=True),
        *(sa.Column(f'p{p}', _MONEY, nullable=True) for p in (50, 60, 70, 75, 80, 85, 90, 95)),
        sa.Column('percentile_reason', sa.String(length=300), nullable=True),
        sa.Column('policy', _MONEY, nullable=True),
        sa.Column('policy_basis', sa.String(length=200), nullable=True),
        sa.Column('policy_reason', sa.String(length=300), nullable=True),
        sa.Column('sca', _MONEY, nullable=True),
        sa.Column('sca_reason', sa.String(length=300), nullable=True),
        sa.Column('expected', _MONEY, nullable=True),
        sa.Column('expected_basis', sa.String(length=20), nullable=True),
        sa.Column('expected_reason', sa.String(length=300), nullable=False),
        sa.Column('computed_at', advocate.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_line_benchmarks_case_id_cases'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['line_id'], ['service_lines.id'], name=op.f('fk_line_benchmarks_line_id_service_lines'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_line_benchmarks_tenant_id_tenants'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_line_benchmarks')),
        sa.UniqueConstraint('tenant_id', 'line_id', name=op.f('uq_line_benchmarks_tenant_id_line_id')),
    )
    with op.batch_alter_table('line_benchmarks', schema=None) as batch_op:
        batch_op.create_index('ix_line_benchmarks_tenant_case', ['tenant_id', 'case_id', 'line_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_line_benchmarks_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_line_benchmarks_case', ['case_id'], unique=False)
        batch_op.create_index('ix_line_benchmarks_line', ['line_id'], unique=False)

    rls.run(op, rls.enable_statements("line_benchmarks"))
    rls.grant_app_role(op)


def downgrade():
    with op.batch_alter_table('line_benchmarks', schema=None) as batch_op:
        batch_op.drop_index('ix_line_benchmarks_line')
        batch_op.drop_index('ix_line_benchmarks_case')
        batch_op.drop_index(batch_op.f('ix_line_benchmarks_tenant_id'))
        batch_op.drop_index('ix_line_benchmarks_tenant_case')
    op.drop_table('line_benchmarks')
