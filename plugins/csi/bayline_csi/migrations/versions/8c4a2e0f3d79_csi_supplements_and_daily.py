"""csi supplements (from quotes events) and the stored daily scorecard

Revision ID: 8c4a2e0f3d79
Revises: 7b3e1d9f2c68
Create Date: 2026-12-03 09:00:00
"""
import sqlalchemy as sa
from alembic import op

import bayline.plugin_api

revision = "8c4a2e0f3d79"
down_revision = "7b3e1d9f2c68"
branch_labels = None
depends_on = None

DT = bayline.plugin_api.UTCDateTime(timezone=True)


def _tenant(table: str) -> list:
    return [sa.Column("tenant_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["tenant_id"], ["shops.id"], name=op.f(f"fk_{table}_tenant_id_shops"),
                                    ondelete="CASCADE")]


def upgrade() -> None:
    op.create_table(
        "csi_supplements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        *_tenant("csi_supplements"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_csi_supplements_claim_id_claims"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csi_supplements")),
        sa.UniqueConstraint("tenant_id", "claim_id", "version_number",
                            name=op.f("uq_csi_supplements_tenant_id_claim_id_version_number")),
    )
    with op.batch_alter_table("csi_supplements", schema=None) as batch_op:
        for col in ("tenant_id", "claim_id"):
            batch_op.create_index(batch_op.f(f"ix_csi_supplements_{col}"), [col], unique=False)
    counts = ("delivered", "surveys", "responses", "csi_sum", "csi_n", "nps_n", "promoters", "detractors")
    op.create_table(
        "csi_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        *[sa.Column(c, sa.Integer(), nullable=False) for c in counts],
        sa.Column("keys_hours_sum", sa.Float(), nullable=False),
        sa.Column("keys_days_sum", sa.Integer(), nullable=False),
        sa.Column("production_sum", sa.Float(), nullable=False),
        sa.Column("production_n", sa.Integer(), nullable=False),
        sa.Column("promised_n", sa.Integer(), nullable=False),
        sa.Column("on_time_n", sa.Integer(), nullable=False),
        sa.Column("supplements_sum", sa.Integer(), nullable=True),
        sa.Column("computed_at", DT, nullable=False),
        *_tenant("csi_daily"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csi_daily")),
        sa.UniqueConstraint("tenant_id", "day", "dimension", "name",
                            name=op.f("uq_csi_daily_tenant_id_day_dimension_name")),
    )
    with op.batch_alter_table("csi_daily", schema=None) as batch_op:
        for col in ("tenant_id", "day"):
            batch_op.create_index(batch_op.f(f"ix_csi_daily_{col}"), [col], unique=False)


def downgrade() -> None:
    op.drop_table("csi_daily")
    op.drop_table("csi_supplements")
