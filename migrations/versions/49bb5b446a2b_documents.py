"""documents: stored files attached to practices, payers, policies, associations, cases

Revision ID: 49bb5b446a2b
Revises: d08b9fc721ba
Create Date: 2026-11-27 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import advocate.db  # noqa: F401  (custom column types)
from tenants import rls

# revision identifiers, used by Alembic.
revision = '49bb5b446a2b'
down_revision = 'd08b9fc721ba'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('documents',
    sa.Column('tenant_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('owner_type', sa.String(length=20), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('category', sa.String(length=30), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=255), nullable=False),
    sa.Column('duplicate_of_id', sa.BigInteger(), nullable=True),
    sa.Column('uploaded_by_id', sa.BigInteger(), nullable=True),
    sa.Column('deleted_at', advocate.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_by_id', sa.BigInteger(), nullable=True),
    sa.Column('is_missing', sa.Boolean(), nullable=False),
    sa.Column('missing_since', advocate.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('updated_at', advocate.db.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_documents_deleted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['documents.id'], name=op.f('fk_documents_duplicate_of_id_documents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_documents_tenant_id_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_documents_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('tenant_id', 'storage_key', name=op.f('uq_documents_tenant_id_storage_key'))
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_documents_tenant_owner', ['tenant_id', 'owner_type', 'owner_id'], unique=False)
        batch_op.create_index('ix_documents_tenant_sha256', ['tenant_id', 'sha256'], unique=False)

    rls.run(op, rls.enable_statements("documents"))
    rls.grant_app_role(op)


def downgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_tenant_sha256')
        batch_op.drop_index('ix_documents_tenant_owner')
        batch_op.drop_index(batch_op.f('ix_documents_tenant_id'))

    op.drop_table('documents')
