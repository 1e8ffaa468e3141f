"""example_notes table

Revision ID: example_0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

import bayline.plugin_api

revision = "example_0001"
down_revision = None
branch_labels = ("example",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "example_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.String(length=500), nullable=False),
        sa.Column("created_at", bayline.plugin_api.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_example_notes_claim_id_claims"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["shops.id"], name=op.f("fk_example_notes_tenant_id_shops"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_example_notes")),
    )
    with op.batch_alter_table("example_notes") as batch_op:
        batch_op.create_index(batch_op.f("ix_example_notes_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_example_notes_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    op.drop_table("example_notes")
