"""quotes tables: estimates, versions, lines, decisions, payments, checkouts

Revision ID: 3f1c9a7e5b21
Revises:
Create Date: 2026-12-02 02:30:00
"""
import sqlalchemy as sa
from alembic import op

import bayline.plugin_api

revision = "3f1c9a7e5b21"
down_revision = None
branch_labels = ("quotes",)
depends_on = None

DEC = sa.String(length=40)  # bayline_quotes.models.DecimalText: exact decimal strings


def _tenant(table: str) -> list:
    return [sa.Column("tenant_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["tenant_id"], ["shops.id"], name=op.f(f"fk_{table}_tenant_id_shops"),
                                    ondelete="CASCADE")]


def _index(table: str, *cols: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for col in ("tenant_id", *cols):
            batch_op.create_index(batch_op.f(f"ix_{table}_{col}"), [col], unique=False)


def upgrade() -> None:
    op.create_table(
        "quotes_estimates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_ref", sa.String(length=120), nullable=False),
        sa.Column("estimator", sa.String(length=200), nullable=True),
        sa.Column("created_at", bayline.plugin_api.UTCDateTime(timezone=True), nullable=False),
        *_tenant("quotes_estimates"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_quotes_estimates_claim_id_claims"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes_estimates")),
        sa.UniqueConstraint("tenant_id", "claim_id", "source_ref",
                            name=op.f("uq_quotes_estimates_tenant_id_claim_id_source_ref")),
    )
    _index("quotes_estimates", "claim_id")
    op.create_table(
        "quotes_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("estimate_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("approval", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("deductible", DEC, nullable=False),
        sa.Column("file_totals", sa.JSON(), nullable=True),
        sa.Column("mismatches", sa.JSON(), nullable=True),
        sa.Column("saves", sa.Integer(), nullable=False),
        sa.Column("expires_at", bayline.plugin_api.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_reason", sa.String(length=300), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bayline.plugin_api.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bayline.plugin_api.UTCDateTime(timezone=True), nullable=False),
        *_tenant("quotes_versions"),
        sa.ForeignKeyConstraint(["estimate_id"], ["quotes_estimates.id"],
                                name=op.f("fk_quotes_versions_estimate_id_quotes_estimates"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_quotes_versions_claim_id_claims"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"],
                                name=op.f("fk_quotes_versions_created_by_user_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes_versions")),
        sa.UniqueConstraint("estimate_id", "number", name=op.f("uq_quotes_versions_estimate_id_number")),
    )
    _index("quotes_versions", "estimate_id", "claim_id")
    op.create_table(
        "quotes_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("line_ref", sa.String(length=60), nullable=False),
        sa.Column("operation", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("part_number", sa.String(length=60), nullable=True),
        sa.Column("part_type", sa.String(length=20), nullable=True),
        sa.Column("quantity", DEC, nullable=False),
        sa.Column("unit_price", DEC, nullable=False),
        sa.Column("labor_type", sa.String(length=20), nullable=True),
        sa.Column("labor_hours", DEC, nullable=False),
        sa.Column("labor_rate", DEC, nullable=False),
        sa.Column("paint_materials", DEC, nullable=False),
        sa.Column("sublet", DEC, nullable=False),
        sa.Column("taxable", sa.Boolean(), nullable=False),
        sa.Column("payer", sa.String(length=20), nullable=False),
        sa.Column("betterment_pct", DEC, nullable=False),
        sa.Column("shop_only", sa.Boolean(), nullable=False),
        sa.Column("internal_note", sa.String(length=500), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("decided_at", bayline.plugin_api.UTCDateTime(timezone=True), nullable=True),
        *_tenant("quotes_lines"),
        sa.ForeignKeyConstraint(["version_id"], ["quotes_versions.id"],
                                name=op.f("fk_quotes_lines_version_id_quotes_versions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes_lines")),
        sa.UniqueConstraint("version_id", "line_no", name=op.f("uq_quotes_lines_version_id_line_no")),
    )
    _index("quotes_lines", "version_id")
    op.create_table(
        "quotes_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("line_ids", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=True),
        sa.Column("reason_text", sa.String(length=500), nullable=True),
        sa.Column("actor", sa.String(length=20), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("created_at", bayline.plugin_api.UTCDateTime(timezone=True), nullable=False),
        *_tenant("quotes_decisions"),
        sa.ForeignKeyConstraint(["version_id"], ["quotes_versions.id"],
                                name=op.f("fk_quotes_decisions_version_id_quotes_versions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_quotes_decisions_claim_id_claims"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_quotes_decisions_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes_decisions")),
    )
    _index("quotes_decisions", "version_id", "claim_id")
    op.create_table(
        "quotes_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("payer", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=120), nullable=True),
        sa.Column("amount", DEC, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_ref", sa.String(length=120), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bayline.plugin_api.UTCDateTime(timezone=True), nullable=False),
        *_tenant("quotes_payments"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_quotes_payments_claim_id_claims"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_quotes_payments_user_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes_payments")),
        sa.UniqueConstraint("tenant_id", "provider", "provider_ref",
                            name=op.f("uq_quotes_payments_tenant_id_provider_provider_ref")),
    )
    _index("quotes_payments", "claim_id")
    op.create_table(
        "quotes_checkouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("session_ref", sa.String(length=200), nullable=False),
        sa.Column("amount", DEC, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", bayline.plugin_api.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paid_at", bayline.plugin_api.UTCDateTime(timezone=True), nullable=True),
        *_tenant("quotes_checkouts"),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_quotes_checkouts_claim_id_claims"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes_checkouts")),
        sa.UniqueConstraint("provider", "session_ref", name=op.f("uq_quotes_checkouts_provider_session_ref")),
    )
    _index("quotes_checkouts", "claim_id")


def downgrade() -> None:
    for table in ("quotes_checkouts", "quotes_payments", "quotes_decisions", "quotes_lines", "quotes_versions",
                  "quotes_estimates"):
        op.drop_table(table)
