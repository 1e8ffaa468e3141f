"""claims.archive_reason: why a claim was closed from the console

Revision ID: 7a41c2d9e0b3
Revises: 7a3f0c9e2b61
Create Date: 2026-12-02 02:50:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '7a41c2d9e0b3'
down_revision = "7a3f0c9e2b61"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('claims') as batch_op:
        batch_op.add_column(sa.Column('archive_reason', sa.String(length=200), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy would drop and recreate
    # ``claims``, and SQLite's ON DELETE CASCADE would take every message and photo with it.
    op.drop_column('claims', 'archive_reason')
