"""claims.estimator_id: the staff member who writes the claim's estimate (board filter)

Revision ID: 9a24ab30e44e
Revises: 7a41c2d9e0b3
Create Date: 2026-12-02 14:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '9a24ab30e44e'
down_revision = '7a41c2d9e0b3'
branch_labels = None
depends_on = None

FK = 'fk_claims_estimator_id_users'


def upgrade() -> None:
    # No batch copy of ``claims`` on SQLite (dropping the old table would cascade-delete every
    # message and photo): SQLite's ALTER TABLE ADD COLUMN takes the REFERENCES clause inline. No ON
    # DELETE action: staff users are deactivated, never deleted, and SQLite's reflection cannot read
    # an inline column's ON DELETE (the schema check would see a different constraint).
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE claims ADD COLUMN estimator_id INTEGER CONSTRAINT {FK} '
                   'REFERENCES users (id)')
    else:
        op.add_column('claims', sa.Column('estimator_id', sa.Integer(), nullable=True))
        # NOT VALID: a short lock, no scan; VALIDATE then scans without blocking writes.
        op.execute(f'ALTER TABLE claims ADD CONSTRAINT {FK} FOREIGN KEY (estimator_id) REFERENCES users (id) '
                   'NOT VALID')
        op.execute(f'ALTER TABLE claims VALIDATE CONSTRAINT {FK}')
    # online-safety: the index is on a new column that is NULL in every row (a shop has thousands of
    # claims, not millions): built in the same short lock as the column; reviewed for issue 16.
    op.create_index('ix_claims_estimator_id', 'claims', ['estimator_id'])


def downgrade() -> None:
    op.drop_index('ix_claims_estimator_id', table_name='claims')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(FK, 'claims', type_='foreignkey')
    op.drop_column('claims', 'estimator_id')
