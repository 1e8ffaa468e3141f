"""plan_changes: audit of plan and add-on changes

Revision ID: eec493493a02
Revises: 5c1e8f0a2d47
Create Date: 2026-12-03 14:46:36.622676
"""
import sqlalchemy as sa
from alembic import op

import bayline.db

revision = 'eec493493a02'
down_revision = '5c1e8f0a2d47'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('before', sa.String(length=60), nullable=True),
    sa.Column('after', sa.String(length=60), nullable=True),
    sa.Column('actor', sa.String(length=300), nullable=False),
    sa.Column('actor_user_id', sa.Integer(), nullable=True),
    sa.Column('at', bayline.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_plan_changes_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_changes'))
    )
    with op.batch_alter_table('plan_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_changes_shop_id'), ['shop_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('plan_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_changes_shop_id'))

    op.drop_table('plan_changes')
