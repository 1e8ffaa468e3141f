"""csi links: signed one-use survey links (hashed tokens)

Revision ID: 6a2f0c8d1b57
Revises: 5c1e9b3a7d40
Create Date: 2026-12-03 08:30:00
"""
import sqlalchemy as sa
from alembic import op

import bayline.plugin_api

revision = "6a2f0c8d1b57"
down_revision = "5c1e9b3a7d40"
branch_labels = None
depends_on = None

DT = bayline.plugin_api.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "csi_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("outbox_item_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", DT, nullable=False),
        sa.Column("used_at", DT, nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["shops.id"], name=op.f("fk_csi_links_tenant_id_shops"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_csi_links_claim_id_claims"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["survey_id"], ["csi_surveys.id"], name=op.f("fk_csi_links_survey_id_csi_surveys"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csi_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_csi_links_token_hash")),
    )
    with op.batch_alter_table("csi_links", schema=None) as batch_op:
        for col in ("tenant_id", "survey_id", "claim_id"):
            batch_op.create_index(batch_op.f(f"ix_csi_links_{col}"), [col], unique=False)


def downgrade() -> None:
    op.drop_table("csi_links")
