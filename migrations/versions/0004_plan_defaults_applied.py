"""plan tiers suggested by plugins (Feature.default_tiers) that were applied once

Revision ID: 5d2c8e1f0a47
Revises: 9b7f55e037a4
Create Date: 2026-12-01 20:50:00
"""
import sqlalchemy as sa
from alembic import op

import bayline.db

revision = '5d2c8e1f0a47'
down_revision = '9b7f55e037a4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_defaults_applied',
    sa.Column('plan_key', sa.String(length=40), nullable=False),
    sa.Column('feature', sa.String(length=60), nullable=False),
    sa.Column('applied_at', bayline.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['plan_key'], ['plans.key'], name=op.f('fk_plan_defaults_applied_plan_key_plans'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_key', 'feature', name=op.f('pk_plan_defaults_applied'))
    )


def downgrade() -> None:
    op.drop_table('plan_defaults_applied')
