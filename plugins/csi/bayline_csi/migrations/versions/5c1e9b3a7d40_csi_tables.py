"""csi tables: surveys, responses, review invitations (audit log), follow-ups

Revision ID: 5c1e9b3a7d40
Revises:
Create Date: 2026-12-02 15:30:00
"""
import sqlalchemy as sa
from alembic import op

import bayline.plugin_api

revision = "5c1e9b3a7d40"
down_revision = None
branch_labels = ("csi",)
depends_on = None

DT = bayline.plugin_api.UTCDateTime(timezone=True)


def _tenant(table: str) -> list:
    return [sa.Column("tenant_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["tenant_id"], ["shops.id"], name=op.f(f"fk_{table}_tenant_id_shops"),
                                    ondelete="CASCADE")]


def _claim_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f(f"fk_{table}_claim_id_claims"),
                                   ondelete="CASCADE")


def _index(table: str, *cols: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for col in ("tenant_id", *cols):
            batch_op.create_index(batch_op.f(f"ix_{table}_{col}"), [col], unique=False)


def upgrade() -> None:
    op.create_table(
        "csi_surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("due_at", DT, nullable=False),
        sa.Column("closes_at", DT, nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("outbox_item_id", sa.Integer(), nullable=True),
        sa.Column("send_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        *_tenant("csi_surveys"),
        _claim_fk("csi_surveys"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csi_surveys")),
        sa.UniqueConstraint("tenant_id", "claim_id", name=op.f("uq_csi_surveys_tenant_id_claim_id")),
    )
    _index("csi_surveys", "claim_id")
    op.create_table(
        "csi_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("overall", sa.Integer(), nullable=False),
        sa.Column("communication", sa.Integer(), nullable=True),
        sa.Column("quality", sa.Integer(), nullable=True),
        sa.Column("on_time", sa.Integer(), nullable=True),
        sa.Column("cleanliness", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_at", DT, nullable=False),
        sa.Column("updated_at", DT, nullable=False),
        sa.Column("editable_until", DT, nullable=False),
        *_tenant("csi_responses"),
        _claim_fk("csi_responses"),
        sa.ForeignKeyConstraint(["survey_id"], ["csi_surveys.id"], name=op.f("fk_csi_responses_survey_id_csi_surveys"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csi_responses")),
        sa.UniqueConstraint("tenant_id", "survey_id", name=op.f("uq_csi_responses_tenant_id_survey_id")),
    )
    _index("csi_responses", "survey_id", "claim_id")
    op.create_table(
        "csi_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("delivery", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("outbox_item_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        *_tenant("csi_invitations"),
        _claim_fk("csi_invitations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csi_invitations")),
        sa.UniqueConstraint("tenant_id", "claim_id", name=op.f("uq_csi_invitations_tenant_id_claim_id")),
    )
    _index("csi_invitations", "claim_id")
    op.create_table(
        "csi_followups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("due_at", DT, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=300), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("closed_at", DT, nullable=True),
        *_tenant("csi_followups"),
        _claim_fk("csi_followups"),
        sa.ForeignKeyConstraint(["response_id"], ["csi_responses.id"],
                                name=op.f("fk_csi_followups_response_id_csi_responses"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_user_id"], ["users.id"], name=op.f("fk_csi_followups_owner_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csi_followups")),
        sa.UniqueConstraint("tenant_id", "response_id", name=op.f("uq_csi_followups_tenant_id_response_id")),
    )
    _index("csi_followups", "claim_id", "response_id")


def downgrade() -> None:
    for table in ("csi_followups", "csi_invitations", "csi_responses", "csi_surveys"):
        op.drop_table(table)
