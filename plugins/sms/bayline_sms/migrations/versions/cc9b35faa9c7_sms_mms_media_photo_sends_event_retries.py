"""sms mms media, photo sends, event retries

Revision ID: cc9b35faa9c7
Revises: ab97e9e6cca9
Create Date: 2026-11-25 14:34:10.715704
"""
import sqlalchemy as sa
from alembic import op

import bayline.plugin_api

revision = 'cc9b35faa9c7'
down_revision = 'ab97e9e6cca9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sms_inbound', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_files', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('media_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('media_retry_at', bayline.plugin_api.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_sms_inbound_media_retry_at'), ['media_retry_at'], unique=False)

    with op.batch_alter_table('sms_outbound', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photo_ids', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('portal_link_token_id', sa.Integer(), nullable=True))

    with op.batch_alter_table('sms_webhook_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_error', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('failed_at', bayline.plugin_api.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('retry_at', bayline.plugin_api.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_sms_webhook_events_retry_at'), ['retry_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sms_webhook_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_webhook_events_retry_at'))
        batch_op.drop_column('retry_at')
        batch_op.drop_column('failed_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('attempts')

    with op.batch_alter_table('sms_outbound', schema=None) as batch_op:
        batch_op.drop_column('portal_link_token_id')
        batch_op.drop_column('photo_ids')

    with op.batch_alter_table('sms_inbound', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_inbound_media_retry_at'))
        batch_op.drop_column('media_retry_at')
        batch_op.drop_column('media_attempts')
        batch_op.drop_column('media_files')

