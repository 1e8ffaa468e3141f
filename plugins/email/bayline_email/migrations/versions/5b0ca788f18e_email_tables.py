"""email tables: connections (sealed secret, IMAP cursor, health), messages (once per shop by
Message-ID and provider id, claim + audience + match reason), links (what re-linking taught)

Revision ID: 5b0ca788f18e
Revises:
Create Date: 2026-12-03 08:08:30.167495
"""
import sqlalchemy as sa
from alembic import op

import bayline.plugin_api

revision = '5b0ca788f18e'
down_revision = None
branch_labels = ('email',)
depends_on = None


def upgrade() -> None:
    op.create_table('email_connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=True),
    sa.Column('imap_host', sa.String(length=200), nullable=True),
    sa.Column('imap_port', sa.Integer(), nullable=True),
    sa.Column('imap_ssl', sa.Boolean(), nullable=False),
    sa.Column('smtp_host', sa.String(length=200), nullable=True),
    sa.Column('smtp_port', sa.Integer(), nullable=True),
    sa.Column('smtp_security', sa.String(length=10), nullable=False),
    sa.Column('username', sa.String(length=254), nullable=True),
    sa.Column('secret_sealed', sa.Text(), nullable=True),
    sa.Column('folder', sa.String(length=200), nullable=False),
    sa.Column('uidvalidity', sa.Integer(), nullable=True),
    sa.Column('last_uid', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('last_received_at', bayline.plugin_api.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_synced_at', bayline.plugin_api.UTCDateTime(timezone=True), nullable=True),
    sa.Column('owner_notified_at', bayline.plugin_api.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', bayline.plugin_api.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['shops.id'], name=op.f('fk_email_connections_tenant_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_connections')),
    sa.UniqueConstraint('tenant_id', 'address', name=op.f('uq_email_connections_tenant_id_address'))
    )
    with op.batch_alter_table('email_connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_connections_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('email_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=600), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=10), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bayline.plugin_api.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_email_links_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_email_links_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['shops.id'], name=op.f('fk_email_links_tenant_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_links')),
    sa.UniqueConstraint('tenant_id', 'kind', 'key', name=op.f('uq_email_links_tenant_id_kind_key'))
    )
    with op.batch_alter_table('email_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_links_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_links_created_by_user_id'), ['created_by_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_links_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('email_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=True),
    sa.Column('provider_id', sa.String(length=300), nullable=True),
    sa.Column('message_id', sa.String(length=300), nullable=False),
    sa.Column('in_reply_to', sa.String(length=300), nullable=True),
    sa.Column('references_hdr', sa.Text(), nullable=True),
    sa.Column('thread_root', sa.String(length=300), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('audience', sa.String(length=10), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=True),
    sa.Column('match_signal', sa.String(length=30), nullable=True),
    sa.Column('match_reason', sa.String(length=300), nullable=True),
    sa.Column('from_addr', sa.String(length=254), nullable=False),
    sa.Column('from_name', sa.String(length=200), nullable=True),
    sa.Column('to_addrs', sa.JSON(), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('sent_at', bayline.plugin_api.UTCDateTime(timezone=True), nullable=True),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('quoted_text', sa.Text(), nullable=True),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('attachment_ids', sa.JSON(), nullable=False),
    sa.Column('raw_key', sa.String(length=200), nullable=True),
    sa.Column('core_message_id', sa.Integer(), nullable=True),
    sa.Column('outbox_item_id', sa.Integer(), nullable=True),
    sa.Column('delivery_state', sa.String(length=20), nullable=False),
    sa.Column('created_at', bayline.plugin_api.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_email_messages_claim_id_claims'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['connection_id'], ['email_connections.id'], name=op.f('fk_email_messages_connection_id_email_connections'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['core_message_id'], ['messages.id'], name=op.f('fk_email_messages_core_message_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['outbox_item_id'], ['outbox_items.id'], name=op.f('fk_email_messages_outbox_item_id_outbox_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['shops.id'], name=op.f('fk_email_messages_tenant_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_messages')),
    sa.UniqueConstraint('tenant_id', 'message_id', name=op.f('uq_email_messages_tenant_id_message_id')),
    sa.UniqueConstraint('tenant_id', 'provider_id', name=op.f('uq_email_messages_tenant_id_provider_id'))
    )
    with op.batch_alter_table('email_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_messages_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_messages_connection_id'), ['connection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_messages_core_message_id'), ['core_message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_messages_outbox_item_id'), ['outbox_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_messages_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_messages_thread_root'), ['thread_root'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('email_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_messages_thread_root'))
        batch_op.drop_index(batch_op.f('ix_email_messages_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_email_messages_outbox_item_id'))
        batch_op.drop_index(batch_op.f('ix_email_messages_core_message_id'))
        batch_op.drop_index(batch_op.f('ix_email_messages_connection_id'))
        batch_op.drop_index(batch_op.f('ix_email_messages_claim_id'))

    op.drop_table('email_messages')
    with op.batch_alter_table('email_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_links_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_email_links_created_by_user_id'))
        batch_op.drop_index(batch_op.f('ix_email_links_claim_id'))

    op.drop_table('email_links')
    with op.batch_alter_table('email_connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_connections_tenant_id'))

    op.drop_table('email_connections')
