"""imports: provider-level adjustments (PLB) per remittance, the file's encoding,
wrapping width, PLB total and warnings; identifier aliases (payer ids, payee NPIs
and TINs added from the unmatched list)

Revision ID: eaa835000001
Revises: a7d1e5000005
Create Date: 2026-12-07 23:30:00

"""
import sqlalchemy as sa
from alembic import op

import advocate.db  # noqa: F401  (custom column types)
from tenants import rls

revision = "eaa835000001"
down_revision = "a7d1e5000005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("remittances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("encoding", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("wrapped_width", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "plb_total", sa.Numeric(precision=12, scale=2), nullable=False, server_default="0"
            )
        )
        batch_op.add_column(sa.Column("warnings", sa.JSON(), nullable=True))

    op.create_table(
        "remittance_adjustments",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("remittance_id", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("segment_no", sa.Integer(), nullable=False),
        sa.Column("provider_identifier", sa.String(length=80), nullable=False),
        sa.Column("fiscal_period_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=4), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=True),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"],
            name=op.f("fk_remittance_adjustments_tenant_id_tenants"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["remittance_id"], ["remittances.id"],
            name=op.f("fk_remittance_adjustments_remittance_id_remittances"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"], ["remittance_transactions.id"],
            name=op.f("fk_remittance_adjustments_transaction_id_remittance_transactions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"],
            name=op.f("fk_remittance_adjustments_case_id_cases"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"],
            name=op.f("fk_remittance_adjustments_payment_id_payments"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remittance_adjustments")),
    )  # fmt: skip
    with op.batch_alter_table("remittance_adjustments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_remittance_adjustments_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "ix_remittance_adjustments_tenant_remittance",
            ["tenant_id", "remittance_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_remittance_adjustments_transaction_id"), ["transaction_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_remittance_adjustments_case_id"), ["case_id"], unique=False
        )
    op.create_table(
        "import_identifier_aliases",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=80), nullable=False),
        sa.Column("payer_id", sa.BigInteger(), nullable=True),
        sa.Column("practice_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", advocate.db.UTCDateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.Column("updated_at", advocate.db.UTCDateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_import_identifier_aliases_tenant_id_tenants"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["payer_id"], ["payers.id"], name=op.f("fk_import_identifier_aliases_payer_id_payers"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"], name=op.f("fk_import_identifier_aliases_practice_id_practices"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_import_identifier_aliases_created_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_identifier_aliases")),
        sa.UniqueConstraint("tenant_id", "kind", "value", name=op.f("uq_import_identifier_aliases_tenant_id_kind_value")),
    )  # fmt: skip
    with op.batch_alter_table("import_identifier_aliases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_identifier_aliases_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_identifier_aliases_payer_id"), ["payer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_import_identifier_aliases_practice_id"), ["practice_id"], unique=False)
    for table in ("remittance_adjustments", "import_identifier_aliases"):
        rls.run(op, rls.enable_statements(table))
    rls.grant_app_role(op)


def downgrade():
    op.drop_table("import_identifier_aliases")
    op.drop_table("remittance_adjustments")
    with op.batch_alter_table("remittances", schema=None) as batch_op:
        batch_op.drop_column("warnings")
        batch_op.drop_column("plb_total")
        batch_op.drop_column("wrapped_width")
        batch_op.drop_column("encoding")
