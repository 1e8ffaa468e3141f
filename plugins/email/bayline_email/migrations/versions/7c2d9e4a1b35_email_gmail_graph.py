"""email gmail and graph: the provider sync cursor (historyId / delta link), the push channel (Gmail
watch, Graph subscription: id, expiry, clientState hash) and each message's provider thread

Revision ID: 7c2d9e4a1b35
Revises: 4e54f747789e
Create Date: 2026-12-03 15:10:00.000000
"""
import sqlalchemy as sa
from alembic import op

import bayline.plugin_api

revision = '7c2d9e4a1b35'
down_revision = '4e54f747789e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # online-safety: two indexes on the email tables, which have never shipped in a release (the plugin
    # lands with this revision), so no deployment has rows in them yet
    with op.batch_alter_table('email_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sync_cursor', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('push_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('push_secret_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('push_expires_at', bayline.plugin_api.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_email_connections_push_id'), ['push_id'], unique=False)
    with op.batch_alter_table('email_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_thread', sa.String(length=300), nullable=True))
        batch_op.create_index(batch_op.f('ix_email_messages_provider_thread'), ['provider_thread'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('email_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_messages_provider_thread'))
        batch_op.drop_column('provider_thread')
    with op.batch_alter_table('email_connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_connections_push_id'))
        batch_op.drop_column('push_expires_at')
        batch_op.drop_column('push_secret_hash')
        batch_op.drop_column('push_id')
        batch_op.drop_column('sync_cursor')
