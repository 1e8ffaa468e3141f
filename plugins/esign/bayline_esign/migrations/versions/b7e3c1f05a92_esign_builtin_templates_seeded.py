"""esign built-in templates seeded for existing shops

Built-in templates used to be inserted on the first staff page view of a shop (a write on every GET,
issue 18). New shops get them when they get the feature (``tenant_provisioned`` /
``entitlements_changed``); this data step gives every shop that exists already version 1 of each
built-in template it does not have. Every shop, whatever its plan: a shop without e-signature today
has them ready when it is granted the feature, and they are invisible until then.

Revision ID: b7e3c1f05a92
Revises: a8380ba39b6f
Create Date: 2026-12-02 14:05:00
"""
import sqlalchemy as sa
from alembic import op
from bayline_esign.templating import BUILTIN

import bayline.plugin_api

revision = 'b7e3c1f05a92'
down_revision = 'a8380ba39b6f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    shops = sa.table("shops", sa.column("id", sa.Integer))
    templates = sa.table(
        "esign_templates", sa.column("tenant_id", sa.Integer), sa.column("key", sa.String),
        sa.column("kind", sa.String), sa.column("version", sa.Integer), sa.column("title", sa.String),
        sa.column("body", sa.Text), sa.column("requires_initials", sa.Boolean),
        sa.column("created_at", bayline.plugin_api.UTCDateTime(timezone=True)))
    have = {(t, k) for t, k in bind.execute(sa.select(templates.c.tenant_id, templates.c.key))}
    now = bayline.plugin_api.utcnow()
    rows = [{"tenant_id": shop_id, "key": kind, "kind": kind, "version": 1, "title": spec["title"],
             "body": spec["body"], "requires_initials": spec["requires_initials"], "created_at": now}
            for (shop_id,) in bind.execute(sa.select(shops.c.id)) for kind, spec in BUILTIN.items()
            if (shop_id, kind) not in have]
    if rows:
        bind.execute(templates.insert(), rows)


def downgrade() -> None:
    # Data only: the seeded templates stay (signed documents may name them); the old code reads them too.
    pass
