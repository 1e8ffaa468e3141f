"""esign provided documents: packages asked for by another plugin (hook request_signature)

Revision ID: c4d81f2a6e07
Revises: b7e3c1f05a92
Create Date: 2026-12-02 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'c4d81f2a6e07'
down_revision = 'b7e3c1f05a92'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('esign_packages') as batch:
        batch.add_column(sa.Column('source', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('reference', sa.String(length=100), nullable=True))
    with op.batch_alter_table('esign_documents') as batch:
        batch.alter_column('template_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM esign_packages WHERE source IS NOT NULL")
    with op.batch_alter_table('esign_documents') as batch:
        batch.alter_column('template_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('esign_packages') as batch:
        batch.drop_column('reference')
        batch.drop_column('source')
