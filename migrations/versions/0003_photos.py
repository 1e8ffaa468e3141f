"""photos, attachments (customer uploads, documents) and their audit trail

Revision ID: 9b7f55e037a4
Revises: 39f896e9825d
Create Date: 2026-11-25 13:29:02.541140
"""
import sqlalchemy as sa
from alembic import op

import bayline.db

revision = '9b7f55e037a4'
down_revision = '39f896e9825d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('tag', sa.String(length=30), nullable=False),
    sa.Column('visibility', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('caption', sa.String(length=300), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('original_filename', sa.String(length=255), nullable=True),
    sa.Column('original_content_type', sa.String(length=60), nullable=False),
    sa.Column('original_size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bayline.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ready_at', bayline.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('published_at', bayline.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', bayline.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_by_user_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_photos_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['deleted_by_user_id'], ['users.id'], name=op.f('fk_photos_deleted_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['shops.id'], name=op.f('fk_photos_tenant_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['users.id'], name=op.f('fk_photos_uploaded_by_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photos')),
    sa.UniqueConstraint('key', name=op.f('uq_photos_key'))
    )
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photos_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_photos_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=60), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('portal_token_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bayline.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', bayline.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_by_user_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_attachments_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['deleted_by_user_id'], ['users.id'], name=op.f('fk_attachments_deleted_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['portal_token_id'], ['portal_tokens.id'], name=op.f('fk_attachments_portal_token_id_portal_tokens'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['shops.id'], name=op.f('fk_attachments_tenant_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['users.id'], name=op.f('fk_attachments_uploaded_by_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('key', name=op.f('uq_attachments_key'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('file_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=True),
    sa.Column('attachment_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=10), nullable=False),
    sa.Column('at', bayline.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_file_audit_attachment_id_attachments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_file_audit_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_file_audit_photo_id_photos'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['shops.id'], name=op.f('fk_file_audit_tenant_id_shops'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_file_audit_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_file_audit'))
    )
    with op.batch_alter_table('file_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_file_audit_attachment_id'), ['attachment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_file_audit_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_file_audit_photo_id'), ['photo_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_file_audit_tenant_id'), ['tenant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('file_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_file_audit_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_file_audit_photo_id'))
        batch_op.drop_index(batch_op.f('ix_file_audit_claim_id'))
        batch_op.drop_index(batch_op.f('ix_file_audit_attachment_id'))

    op.drop_table('file_audit')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_attachments_created_at'))
        batch_op.drop_index(batch_op.f('ix_attachments_claim_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photos_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_photos_claim_id'))

    op.drop_table('photos')
