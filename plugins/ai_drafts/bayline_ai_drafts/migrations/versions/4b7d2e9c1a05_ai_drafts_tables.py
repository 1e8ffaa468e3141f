"""ai_drafts tables: drafted messages with their grounding check, final text and edit distance

Revision ID: 4b7d2e9c1a05
Revises:
Create Date: 2026-12-03 08:45:00
"""
import sqlalchemy as sa
from alembic import op

import bayline.plugin_api

revision = "4b7d2e9c1a05"
down_revision = None
branch_labels = ("ai_drafts",)
depends_on = None

DT = bayline.plugin_api.UTCDateTime(timezone=True)
T = "ai_drafts_drafts"


def _fk(col: str, table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([col], [f"{table}.id"], name=op.f(f"fk_{T}_{col}_{table}"), ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        T,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("outbox_item_id", sa.Integer(), nullable=True),
        sa.Column("reply_to_message_id", sa.Integer(), nullable=True),
        sa.Column("feature", sa.String(length=30), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("intent", sa.String(length=30), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("draft_text", sa.Text(), nullable=False),
        sa.Column("pending_text", sa.Text(), nullable=True),
        sa.Column("final_text", sa.Text(), nullable=True),
        sa.Column("edit_distance", sa.Integer(), nullable=True),
        sa.Column("unsupported", sa.JSON(), nullable=False),
        sa.Column("fields_sent", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("confirmed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("sent_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("sent_at", DT, nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        _fk("tenant_id", "shops", "CASCADE"),
        _fk("claim_id", "claims", "CASCADE"),
        _fk("outbox_item_id", "outbox_items", "SET NULL"),
        _fk("reply_to_message_id", "messages", "SET NULL"),
        _fk("confirmed_by_user_id", "users", "SET NULL"),
        _fk("created_by_user_id", "users", "SET NULL"),
        _fk("sent_by_user_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{T}")),
    )
    with op.batch_alter_table(T, schema=None) as batch_op:
        for col in ("tenant_id", "claim_id"):
            batch_op.create_index(batch_op.f(f"ix_{T}_{col}"), [col], unique=False)


def downgrade() -> None:
    op.drop_table(T)
