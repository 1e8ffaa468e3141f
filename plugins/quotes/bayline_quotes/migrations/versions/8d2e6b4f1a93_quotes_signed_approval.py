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
    with op.batch_alter_table("quotes_versions") as batch:
        batch.add_column(sa.Column("signature_status", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("signature_package", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("signature_url", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("signature_line_ids", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("signature_requested_at", bayline.plugin_api.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("signed_at", bayline.plugin_api.UTCDateTime(timezone=True), nullable=True))
        batch.create_index("ix_quotes_versions_signature_package", ["signature_package"])


def downgrade() -> None:
    with op.batch_alter_table("quotes_versions") as batch:
        batch.drop_index("ix_quotes_versions_signature_package")
        for name in ("signed_at", "signature_requested_at", "signature_line_ids", "signature_url",
                     "signature_package", "signature_status"):
            batch.drop_column(name)
