"""customer links v2: a purpose per portal link, sealed secrets, short codes; links masked in text

Revision ID: 5c1e7a2b9d40
Revises: 5d2c8e1f0a47
Create Date: 2026-12-01 20:40:00.000000

Existing links become the "staff_copy" link of their claim (none of their secrets is known, so
none is sealed). The data step masks every portal URL already stored in clear in any text column
of any table (message bodies, SMS logs, e-sign records, whatever a plugin kept), the same way
``bayline.portal.links.mask_links`` does; it is not reversed on downgrade (the secrets are gone).
"""
import re

import sqlalchemy as sa
from alembic import op

revision = "5c1e7a2b9d40"
down_revision = "5d2c8e1f0a47"
branch_labels = None
depends_on = None

MASK = "…/c/•••• (link sent)"
LINK_RE = re.compile(r"(?:https?://[^\s<>\"']*?)?/c/(?!s/)([A-Za-z0-9_\-]{16,100})")


def upgrade() -> None:
    with op.batch_alter_table("portal_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purpose", sa.String(length=20), server_default="staff_copy",
                                      nullable=False))
        batch_op.add_column(sa.Column("sealed", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("short_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_portal_tokens_short_hash", ["short_hash"])
        batch_op.create_index("ix_portal_tokens_claim_purpose_state", ["claim_id", "purpose", "state"],
                              unique=False)
    mask_stored_links()


def mask_stored_links() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    for name in inspector.get_table_names():
        if name.startswith("alembic_version"):
            continue
        pk = inspector.get_pk_constraint(name).get("constrained_columns") or []
        texts = [c["name"] for c in inspector.get_columns(name)
                 if isinstance(c["type"], sa.String | sa.Text) and c["name"] not in pk]
        if not pk or not texts:
            continue
        table = sa.table(name, *(sa.column(c) for c in pk + texts))
        for column in texts:
            col = table.c[column]
            rows = bind.execute(sa.select(*(table.c[k] for k in pk), col).where(col.like("%/c/%"))).all()
            for row in rows:
                masked = LINK_RE.sub(MASK, row[-1])
                if masked != row[-1]:
                    bind.execute(table.update().where(*(table.c[k] == row[i] for i, k in enumerate(pk)))
                                 .values({column: masked}))


def downgrade() -> None:
    with op.batch_alter_table("portal_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_portal_tokens_claim_purpose_state")
        batch_op.drop_constraint("uq_portal_tokens_short_hash", type_="unique")
        batch_op.drop_column("short_hash")
        batch_op.drop_column("sealed")
        batch_op.drop_column("purpose")
