"""quotes signed approval: the signature an approval waits for

Revision ID: 8d2e6b4f1a93
Revises: 3f1c9a7e5b21
Create Date: 2026-12-02 15:05:00
"""
import sqlalchemy as sa
from alembic import op

import bayline.plugin_api

revision = "8d2e6b4f1a93"
down_revision = "3f1c9a7e5b21"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs: on SQLite, batch mode would recreate quotes_versions, and dropping the old
    # table cascades to its lines and decisions (foreign keys are on).
    op.add_column("quotes_versions", sa.Column("signature_status", sa.String(length=20), nullable=True))
    op.add_column("quotes_versions", sa.Column("signature_package", sa.String(length=40), nullable=True))
    op.add_column("quotes_versions", sa.Column("signature_url", sa.String(length=300), nullable=True))
    op.add_column("quotes_versions", sa.Column("signature_line_ids", sa.JSON(), nullable=True))
    op.add_column("quotes_versions", sa.Column("signature_requested_at",
                                               bayline.plugin_api.UTCDateTime(timezone=True), nullable=True))
    op.add_column("quotes_versions", sa.Column("signed_at", bayline.plugin_api.UTCDateTime(timezone=True),
                                               nullable=True))
    # online-safety: the index is on a new column that is NULL in every row, and quotes_versions holds a
    # few rows per claim (thousands per shop, not millions): built in the same short lock as the column.
    op.create_index(op.f("ix_quotes_versions_signature_package"), "quotes_versions", ["signature_package"],
                    unique=False)


def downgrade() -> None:
    # In place as well (SQLite >= 3.35).
    op.drop_index(op.f("ix_quotes_versions_signature_package"), table_name="quotes_versions")
    for name in ("signed_at", "signature_requested_at", "signature_line_ids", "signature_url",
                 "signature_package", "signature_status"):
        op.drop_column("quotes_versions", name)
