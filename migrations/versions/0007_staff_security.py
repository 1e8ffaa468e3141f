"""staff security: API keys act for their creator; staff invitations

Revision ID: 7a3f0c9e2b61
Revises: 6f3d1f75b14d
Create Date: 2026-12-02 02:20:00.000000

``api_keys.operator_issued``: keys without a creator were issued by the operator's CLI (or minted
through such a key) and keep their scopes; every other key acts with its creator's current role.
``staff_invitations``: adding someone to a shop's staff is an invitation they accept.
``users.session_epoch``: logging out ends every login session of the user made before.
"""
import sqlalchemy as sa
from alembic import op

import bayline.db

revision = "7a3f0c9e2b61"
down_revision = "6f3d1f75b14d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("operator_issued", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(sa.text("UPDATE api_keys SET operator_issued = :yes WHERE created_by_id IS NULL")
               .bindparams(yes=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", bayline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", bayline.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["invited_by_id"], ["users.id"], name=op.f("fk_staff_invitations_invited_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["tenant_id"], ["shops.id"], name=op.f("fk_staff_invitations_tenant_id_shops"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_invitations_token_hash")),
    )
    with op.batch_alter_table("staff_invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_invitations_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_staff_invitations_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_invitations_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_staff_invitations_email"))
    op.drop_table("staff_invitations")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy would drop and recreate
    # ``users``, and SQLite's ON DELETE CASCADE / SET NULL would change every row pointing at it.
    op.drop_column("users", "session_epoch")
    op.drop_column("api_keys", "operator_issued")
