"""csi question sets and NPS: the response's scale and its answers to the shop's own questions

Revision ID: 7b3e1d9f2c68
Revises: 6a2f0c8d1b57
Create Date: 2026-12-03 08:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = "7b3e1d9f2c68"
down_revision = "6a2f0c8d1b57"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable columns: no rewrite, the running code neither reads nor needs them
    with op.batch_alter_table("csi_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scale", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("extra", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("csi_responses", schema=None) as batch_op:
        batch_op.drop_column("extra")
        batch_op.drop_column("scale")
