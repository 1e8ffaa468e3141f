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
    # Plain ADD COLUMNs: on SQLite, batch mode would recreate esign_packages, and dropping the old
    # table cascades to every row pointing at it (foreign keys are on).
    op.add_column('esign_packages', sa.Column('source', sa.String(length=40), nullable=True))
    op.add_column('esign_packages', sa.Column('reference', sa.String(length=100), nullable=True))


def downgrade() -> None:
    # In place as well (SQLite >= 3.35). The provided packages stay, as ordinary packages.
    op.drop_column('esign_packages', 'reference')
    op.drop_column('esign_packages', 'source')
