"""email oauth tokens: the connection's auth kind and its sealed access/refresh tokens with their expiry

Revision ID: 4e54f747789e
Revises: 5b0ca788f18e
Create Date: 2026-12-03 08:41:03.585190
"""
import sqlalchemy as sa
from alembic import op

import bayline.plugin_api

revision = '4e54f747789e'
down_revision = '5b0ca788f18e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('email_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth', sa.String(length=10), server_default='password', nullable=False))
        batch_op.add_column(sa.Column('oauth_provider', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('access_sealed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('refresh_sealed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('token_expires_at', bayline.plugin_api.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('email_connections', schema=None) as batch_op:
        batch_op.drop_column('token_expires_at')
        batch_op.drop_column('refresh_sealed')
        batch_op.drop_column('access_sealed')
        batch_op.drop_column('oauth_provider')
        batch_op.drop_column('auth')

