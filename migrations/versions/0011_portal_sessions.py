"""portal_sessions: each verified portal session, ended by "sign out on this device"

Revision ID: 5c1e8f0a2d47
Revises: 3436e963a366
Create Date: 2026-12-02 14:40:00.000000
"""
import sqlalchemy as sa
from alembic import op

import bayline.db

revision = '5c1e8f0a2d47'
down_revision = '3436e963a366'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'portal_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_id', sa.Integer(), nullable=False),
        sa.Column('claim_id', sa.Integer(), nullable=False),
        sa.Column('created_at', bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', bayline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_portal_sessions_claim_id_claims'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['shops.id'], name=op.f('fk_portal_sessions_tenant_id_shops'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['token_id'], ['portal_tokens.id'],
                                name=op.f('fk_portal_sessions_token_id_portal_tokens'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_sessions')),
    )
    with op.batch_alter_table('portal_sessions') as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_sessions_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_sessions_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_sessions_token_id'), ['token_id'], unique=False)


def downgrade() -> None:
    op.drop_table('portal_sessions')
