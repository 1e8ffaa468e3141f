"""sms number releases: a released number is quarantined before another shop may take it

Revision ID: e7c3a9f1b254
Revises: d41e7a0c5b92
Create Date: 2026-12-02 14:10:00

A new, empty table: one row per number a shop gave up (issue 17, M4). Numbers released before
this revision left no trace, so they are not quarantined.
"""
import sqlalchemy as sa
from alembic import op

import bayline.plugin_api

revision = 'e7c3a9f1b254'
down_revision = 'd41e7a0c5b92'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sms_number_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone_number', sa.String(length=20), nullable=False),
    sa.Column('released_at', bayline.plugin_api.UTCDateTime(timezone=True), nullable=False),
    sa.Column('quarantined_until', bayline.plugin_api.UTCDateTime(timezone=True), nullable=False),
    sa.Column('released_by', sa.String(length=80), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['shops.id'], name=op.f('fk_sms_number_releases_tenant_id_shops'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_number_releases'))
    )
    with op.batch_alter_table('sms_number_releases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_number_releases_phone_number'), ['phone_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_number_releases_quarantined_until'), ['quarantined_until'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_sms_number_releases_tenant_id'), ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_table('sms_number_releases')  # its indexes go with it
