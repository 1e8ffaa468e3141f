"""scheduling labour hours: a drop-off's labour hours, for a daily intake counted in labour hours

Revision ID: 9c4e2a7d1b58
Revises: 6a2d4f8c1e35
Create Date: 2026-12-03 15:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "9c4e2a7d1b58"
down_revision = "6a2d4f8c1e35"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN, nullable (existing drop-offs keep the intake cells they hold): no rewrite, and
    # the code still running neither reads nor writes it.
    op.add_column("scheduling_appointments", sa.Column("labour_hours", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("scheduling_appointments", "labour_hours")  # in place (SQLite >= 3.35)
