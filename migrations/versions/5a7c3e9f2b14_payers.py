"""payers: directory, contacts, OON policy versions with appeal levels; CSV import stashes

Revision ID: 5a7c3e9f2b14
Revises: d08b9fc721ba
Create Date: 2026-11-27 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import advocate.db  # noqa: F401  (custom column types)
from tenants import rls  # noqa: F401  (row-level security for new tenant tables)

# revision identifiers, used by Alembic.
revision = '5a7c3e9f2b14'
down_revision = 'd08b9fc721ba'
branch_labels = None
depends_on = None

TABLES = ("payers", "payer_contacts", "payer_policies", "payer_appeal_levels", "import_stashes")


def upgrade():
    op.create_table('payers',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('edi_payer_id', sa.String(length=40), nullable=True),
    sa.Column('plan_types', sa.JSON(), nullable=False),
    sa.Column('claims_address', sa.Text(), nullable=True),
    sa.Column('claims_fax', sa.String(length=40), nullable=True),
    sa.Column('appeals_address', sa.Text(), nullable=True),
    sa.Column('appeals_fax', sa.String(length=40), nullable=True),
    sa.Column('portal_url', sa.String(length=500), nullable=True),
    sa.Column('provider_phone', sa.String(length=40), nullable=True),
    sa.Column('appeals_phone', sa.String(length=40), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_payers_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payers')),
    sa.UniqueConstraint('tenant_id', 'name_key', name=op.f('uq_payers_tenant_id_name_key'))
    )
    with op.batch_alter_table('payers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payers_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('payer_contacts',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payer_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=120), nullable=True),
    sa.Column('direct_line', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['payer_id'], ['payers.id'], name=op.f('fk_payer_contacts_payer_id_payers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_payer_contacts_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payer_contacts'))
    )
    with op.batch_alter_table('payer_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payer_contacts_payer_id'), ['payer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payer_contacts_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('payer_policies',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payer_id', sa.BigInteger(), nullable=False),
    sa.Column('plan_type', sa.String(length=40), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('pricing_method', sa.String(length=40), nullable=False),
    sa.Column('pricing_percent', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('commercial_percentile', sa.Integer(), nullable=True),
    sa.Column('benchmark_name', sa.String(length=120), nullable=True),
    sa.Column('timely_filing_days', sa.Integer(), nullable=False),
    sa.Column('is_sca_available', sa.Boolean(), nullable=True),
    sa.Column('sca_how_to_request', sa.Text(), nullable=True),
    sa.Column('nsa_notes', sa.Text(), nullable=True),
    sa.Column('limitations', sa.Text(), nullable=True),
    sa.Column('source_document', sa.String(length=300), nullable=True),
    sa.Column('source_url', sa.String(length=500), nullable=True),
    sa.Column('source_rep_name', sa.String(length=200), nullable=True),
    sa.Column('source_rep_date', sa.Date(), nullable=True),
    sa.Column('source_reference', sa.String(length=100), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('updated_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_payer_policies_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['payer_id'], ['payers.id'], name=op.f('fk_payer_policies_payer_id_payers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_payer_policies_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_payer_policies_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payer_policies')),
    sa.UniqueConstraint('tenant_id', 'payer_id', 'plan_type', 'effective_date', name=op.f('uq_payer_policies_tenant_id_payer_id_plan_type_effective_date'))
    )
    with op.batch_alter_table('payer_policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payer_policies_payer_id'), ['payer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payer_policies_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('payer_appeal_levels',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('submit_to_address', sa.Text(), nullable=True),
    sa.Column('submit_to_fax', sa.String(length=40), nullable=True),
    sa.Column('submit_to_portal_url', sa.String(length=500), nullable=True),
    sa.Column('created_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['payer_policies.id'], name=op.f('fk_payer_appeal_levels_policy_id_payer_policies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_payer_appeal_levels_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payer_appeal_levels')),
    sa.UniqueConstraint('tenant_id', 'policy_id', 'level', name=op.f('uq_payer_appeal_levels_tenant_id_policy_id_level'))
    )
    with op.batch_alter_table('payer_appeal_levels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payer_appeal_levels_policy_id'), ['policy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payer_appeal_levels_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('import_stashes',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('expires_at', advocate.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_import_stashes_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_import_stashes_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_stashes')),
    sa.UniqueConstraint('token', name=op.f('uq_import_stashes_token'))
    )
    with op.batch_alter_table('import_stashes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_stashes_tenant_id'), ['tenant_id'], unique=False)

    for table in TABLES:
        rls.run(op, rls.enable_statements(table))
    rls.grant_app_role(op)


def downgrade():
    for table in reversed(TABLES):
        op.drop_table(table)
