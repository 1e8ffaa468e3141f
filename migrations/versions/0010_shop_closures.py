"""shops.closures: dates the shop is closed (holidays), each with an optional label

Revision ID: 3436e963a366
Revises: 9a24ab30e44e
Create Date: 2026-12-02 14:05:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '3436e963a366'
down_revision = '9a24ab30e44e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shops') as batch_op:
        batch_op.add_column(sa.Column('closures', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    op.drop_column('shops', 'closures')
