"""rates: Medicare fee schedule reference tables, commercial percentiles

The pfs_* tables are shared reference data (CMS files, no tenant_id, no RLS);
the app role writes them (flask rates import-pfs). percentile_imports and
commercial_percentiles belong to a firm: forced RLS with the tenant policy.

Revision ID: 8bc85031cdb2
Revises: d08b9fc721ba
Create Date: 2026-11-26 21:17:10.594078

"""
import sqlalchemy as sa
from alembic import op

import advocate.db  # noqa: F401  (custom column types)
from tenants import rls


# revision identifiers, used by Alembic.
revision = '8bc85031cdb2'
down_revision = 'd08b9fc721ba'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pfs_years',
    sa.Column('year', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('rvu_file', sa.String(length=255), nullable=False),
    sa.Column('gpci_file', sa.String(length=255), nullable=False),
    sa.Column('zip_file', sa.String(length=255), nullable=False),
    sa.Column('anes_file', sa.String(length=255), nullable=True),
    sa.Column('conversion_factor', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('anes_national_cf', sa.Numeric(precision=12, scale=4), nullable=True),
    sa.Column('zip_year_quarter', sa.String(length=5), nullable=False),
    sa.Column('rvu_rows', sa.Integer(), nullable=False),
    sa.Column('gpci_rows', sa.Integer(), nullable=False),
    sa.Column('zip_rows', sa.Integer(), nullable=False),
    sa.Column('anes_rows', sa.Integer(), nullable=False),
    sa.Column('imported_at', advocate.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_pfs_years'))
    )
    op.create_table('percentile_imports',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('years', sa.String(length=100), nullable=False),
    sa.Column('inserted_count', sa.Integer(), nullable=True),
    sa.Column('updated_count', sa.Integer(), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('applied_at', advocate.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_percentile_imports_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_percentile_imports_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_percentile_imports'))
    )
    with op.batch_alter_table('percentile_imports', schema=None) as batch_op:
        batch_op.create_index('ix_percentile_imports_tenant_created', ['tenant_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_percentile_imports_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('pfs_anes_cfs',
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('carrier', sa.String(length=5), nullable=False),
    sa.Column('locality', sa.String(length=2), nullable=False),
    sa.Column('anes_cf', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['year'], ['pfs_years.year'], name=op.f('fk_pfs_anes_cfs_year_pfs_years'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('year', 'carrier', 'locality', name=op.f('pk_pfs_anes_cfs'))
    )
    op.create_table('pfs_gpcis',
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('carrier', sa.String(length=5), nullable=False),
    sa.Column('locality', sa.String(length=2), nullable=False),
    sa.Column('state', sa.String(length=2), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('pw', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('pe', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('mp', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['year'], ['pfs_years.year'], name=op.f('fk_pfs_gpcis_year_pfs_years'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('year', 'carrier', 'locality', name=op.f('pk_pfs_gpcis'))
    )
    op.create_table('pfs_rvus',
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('hcpcs', sa.String(length=5), nullable=False),
    sa.Column('modifier', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=1), nullable=False),
    sa.Column('work_rvu', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('nonfac_pe_rvu', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('fac_pe_rvu', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('mp_rvu', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('is_nonfac_na', sa.Boolean(), nullable=False),
    sa.Column('is_fac_na', sa.Boolean(), nullable=False),
    sa.Column('is_not_used_for_medicare', sa.Boolean(), nullable=False),
    sa.Column('pctc', sa.String(length=1), nullable=False),
    sa.Column('global_days', sa.String(length=3), nullable=False),
    sa.Column('mult_proc', sa.String(length=1), nullable=False),
    sa.Column('bilat_surg', sa.String(length=1), nullable=False),
    sa.Column('asst_surg', sa.String(length=1), nullable=False),
    sa.Column('co_surg', sa.String(length=1), nullable=False),
    sa.Column('team_surg', sa.String(length=1), nullable=False),
    sa.Column('endo_base', sa.String(length=5), nullable=False),
    sa.Column('conv_factor', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('opps_nonfac_pe_rvu', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('opps_fac_pe_rvu', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('opps_mp_rvu', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['year'], ['pfs_years.year'], name=op.f('fk_pfs_rvus_year_pfs_years'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('year', 'hcpcs', 'modifier', name=op.f('pk_pfs_rvus'))
    )
    op.create_table('pfs_zip_localities',
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('zip', sa.String(length=5), nullable=False),
    sa.Column('state', sa.String(length=2), nullable=False),
    sa.Column('carrier', sa.String(length=5), nullable=False),
    sa.Column('locality', sa.String(length=2), nullable=False),
    sa.Column('rural', sa.String(length=1), nullable=False),
    sa.Column('is_plus_four', sa.Boolean(), nullable=False),
    sa.Column('year_quarter', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['year'], ['pfs_years.year'], name=op.f('fk_pfs_zip_localities_year_pfs_years'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('year', 'zip', name=op.f('pk_pfs_zip_localities'))
    )
    op.create_table('commercial_percentiles',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.SmallInteger(), nullable=False),
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('modifier', sa.String(length=2), nullable=False),
    sa.Column('zip3', sa.String(length=3), nullable=False),
    sa.Column('p50', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('p60', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('p70', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('p75', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('p80', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('p85', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('p90', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('p95', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('import_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['percentile_imports.id'], name=op.f('fk_commercial_percentiles_import_id_percentile_imports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_commercial_percentiles_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commercial_percentiles')),
    sa.UniqueConstraint('tenant_id', 'year', 'code', 'modifier', 'zip3', name=op.f('uq_commercial_percentiles_tenant_id_year_code_modifier_zip3'))
    )
    with op.batch_alter_table('commercial_percentiles', schema=None) as batch_op:
        batch_op.create_index('ix_commercial_percentiles_tenant_code_zip3', ['tenant_id', 'code', 'zip3'], unique=False)
        batch_op.create_index(batch_op.f('ix_commercial_percentiles_tenant_id'), ['tenant_id'], unique=False)

    rls.run(op, rls.enable_statements("percentile_imports"))
    rls.run(op, rls.enable_statements("commercial_percentiles"))
    rls.grant_app_role(op)


def downgrade():
    with op.batch_alter_table('commercial_percentiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commercial_percentiles_tenant_id'))
        batch_op.drop_index('ix_commercial_percentiles_tenant_code_zip3')

    op.drop_table('commercial_percentiles')
    op.drop_table('pfs_zip_localities')
    op.drop_table('pfs_rvus')
    op.drop_table('pfs_gpcis')
    op.drop_table('pfs_anes_cfs')
    with op.batch_alter_table('percentile_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_percentile_imports_tenant_id'))
        batch_op.drop_index('ix_percentile_imports_tenant_created')

    op.drop_table('percentile_imports')
    op.drop_table('pfs_years')
