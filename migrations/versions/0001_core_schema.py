"""core schema, plan catalogue and stage-set templates

Revision ID: 834b1df9ace5
Revises:
Create Date: 2026-11-25 13:11:53.021458
"""

import sqlalchemy as sa
from alembic import op

import bayline.db

revision = "834b1df9ace5"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("slug", name=op.f("uq_groups_slug")),
    )
    op.create_table(
        "plans",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_plans")),
    )
    op.create_table(
        "stage_templates",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_stage_templates")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_platform_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", bayline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", bayline.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "group_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_group_memberships_group_id_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_group_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_memberships")),
        sa.UniqueConstraint("group_id", "user_id", name=op.f("uq_group_memberships_group_id_user_id")),
    )
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_memberships_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_group_memberships_user_id"), ["user_id"], unique=False)

    op.create_table(
        "plan_features",
        sa.Column("plan_key", sa.String(length=40), nullable=False),
        sa.Column("feature", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_key"], ["plans.key"], name=op.f("fk_plan_features_plan_key_plans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("plan_key", "feature", name=op.f("pk_plan_features")),
    )
    op.create_table(
        "shops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address_line1", sa.String(length=200), nullable=True),
        sa.Column("address_line2", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("plan_key", sa.String(length=40), nullable=False),
        sa.Column("entitlements_version", sa.Integer(), nullable=False),
        sa.Column("created_at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_at", bayline.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_shops_group_id_groups"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["plan_key"], ["plans.key"], name=op.f("fk_shops_plan_key_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shops")),
        sa.UniqueConstraint("slug", name=op.f("uq_shops_slug")),
    )
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shops_group_id"), ["group_id"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", bayline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", bayline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_api_keys_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["shops.id"], name=op.f("fk_api_keys_tenant_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("created_at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["shops.id"], name=op.f("fk_memberships_tenant_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("tenant_id", "user_id", name=op.f("uq_memberships_tenant_id_user_id")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberships_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_memberships_user_id"), ["user_id"], unique=False)

    op.create_table(
        "shop_addons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feature", sa.String(length=60), nullable=False),
        sa.Column("created_at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["shops.id"], name=op.f("fk_shop_addons_tenant_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_addons")),
        sa.UniqueConstraint("tenant_id", "feature", name=op.f("uq_shop_addons_tenant_id_feature")),
    )
    with op.batch_alter_table("shop_addons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shop_addons_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "shop_feature_toggles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feature", sa.String(length=60), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["shops.id"], name=op.f("fk_shop_feature_toggles_tenant_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_feature_toggles")),
        sa.UniqueConstraint("tenant_id", "feature", name=op.f("uq_shop_feature_toggles_tenant_id_feature")),
    )
    with op.batch_alter_table("shop_feature_toggles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shop_feature_toggles_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "shop_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["shops.id"], name=op.f("fk_shop_settings_tenant_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_settings")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_shop_settings_tenant_id_key")),
    )
    with op.batch_alter_table("shop_settings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shop_settings_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "stages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("customer_label", sa.String(length=80), nullable=False),
        sa.Column("customer_description", sa.Text(), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("terminal", sa.Boolean(), nullable=False),
        sa.Column("archived_at", bayline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["shops.id"], name=op.f("fk_stages_tenant_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stages")),
    )
    with op.batch_alter_table("stages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stages_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("claim_type", sa.String(length=20), nullable=False),
        sa.Column("customer_first_name", sa.String(length=100), nullable=False),
        sa.Column("customer_last_name", sa.String(length=100), nullable=False),
        sa.Column("customer_mobile", sa.String(length=20), nullable=True),
        sa.Column("customer_email", sa.String(length=254), nullable=True),
        sa.Column("vehicle_year", sa.Integer(), nullable=True),
        sa.Column("vehicle_make", sa.String(length=60), nullable=True),
        sa.Column("vehicle_model", sa.String(length=60), nullable=True),
        sa.Column("vehicle_color", sa.String(length=40), nullable=True),
        sa.Column("vin", sa.String(length=17), nullable=True),
        sa.Column("plate", sa.String(length=15), nullable=True),
        sa.Column("insurer", sa.String(length=120), nullable=True),
        sa.Column("insurer_claim_number", sa.String(length=60), nullable=True),
        sa.Column("adjuster_name", sa.String(length=120), nullable=True),
        sa.Column("adjuster_email", sa.String(length=254), nullable=True),
        sa.Column("adjuster_phone", sa.String(length=20), nullable=True),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("stage_entered_at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("eta", sa.Date(), nullable=True),
        sa.Column("eta_updated_at", bayline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("internal_notes", sa.Text(), nullable=True),
        sa.Column("created_at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", bayline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("archived_at", bayline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["stage_id"], ["stages.id"], name=op.f("fk_claims_stage_id_stages")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["shops.id"], name=op.f("fk_claims_tenant_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_claims_tenant_id_number")),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claims_customer_mobile"), ["customer_mobile"], unique=False)
        batch_op.create_index(batch_op.f("ix_claims_stage_id"), ["stage_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claims_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claims_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "eta_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("old_eta", sa.Date(), nullable=True),
        sa.Column("new_eta", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_eta_history_claim_id_claims"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["shops.id"], name=op.f("fk_eta_history_tenant_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_eta_history_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eta_history")),
    )
    with op.batch_alter_table("eta_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eta_history_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_eta_history_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "stage_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("from_stage_id", sa.Integer(), nullable=True),
        sa.Column("to_stage_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", bayline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_stage_history_claim_id_claims"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["from_stage_id"], ["stages.id"], name=op.f("fk_stage_history_from_stage_id_stages")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["shops.id"], name=op.f("fk_stage_history_tenant_id_shops"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["to_stage_id"], ["stages.id"], name=op.f("fk_stage_history_to_stage_id_stages")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_stage_history_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_history")),
    )
    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stage_history_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stage_history_tenant_id"), ["tenant_id"], unique=False)

    seed_catalogue()


def downgrade() -> None:
    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stage_history_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_stage_history_claim_id"))

    op.drop_table("stage_history")
    with op.batch_alter_table("eta_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eta_history_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_eta_history_claim_id"))

    op.drop_table("eta_history")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claims_updated_at"))
        batch_op.drop_index(batch_op.f("ix_claims_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_claims_stage_id"))
        batch_op.drop_index(batch_op.f("ix_claims_customer_mobile"))

    op.drop_table("claims")
    with op.batch_alter_table("stages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stages_tenant_id"))

    op.drop_table("stages")
    with op.batch_alter_table("shop_settings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_settings_tenant_id"))

    op.drop_table("shop_settings")
    with op.batch_alter_table("shop_feature_toggles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_feature_toggles_tenant_id"))

    op.drop_table("shop_feature_toggles")
    with op.batch_alter_table("shop_addons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shop_addons_tenant_id"))

    op.drop_table("shop_addons")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_user_id"))
        batch_op.drop_index(batch_op.f("ix_memberships_tenant_id"))

    op.drop_table("memberships")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_tenant_id"))

    op.drop_table("api_keys")
    with op.batch_alter_table("shops", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shops_group_id"))

    op.drop_table("shops")
    op.drop_table("plan_features")
    with op.batch_alter_table("group_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_memberships_user_id"))
        batch_op.drop_index(batch_op.f("ix_group_memberships_group_id"))

    op.drop_table("group_memberships")
    op.drop_table("users")
    op.drop_table("stage_templates")
    op.drop_table("plans")
    op.drop_table("groups")


STARTER = [
    "portal",
    "messages",
    "qr",
    "photos",
    "uploads",
    "sms",
    "email",
    "esign",
    "scheduling",
    "csi",
    "reviews",
    "quotes",
    "payments",
]
PROFESSIONAL = [*STARTER, "branding", "landing", "customisation", "ai_drafts"]
ELITE = [*PROFESSIONAL, "loyalty", "referrals", "accounts", "reports"]
ENTERPRISE = [*ELITE, "group_branding", "group_admin", "group_reports", "api_quotas"]

PLANS = [
    ("starter", "Starter", 4900, 1, STARTER),
    ("professional", "Professional", 12900, 2, PROFESSIONAL),
    ("elite", "Elite", None, 3, ELITE),
    ("enterprise", "Enterprise", None, 4, ENTERPRISE),
]

DEFAULT_STAGES = [
    ("Pictures", "Photos taken", "We photographed the damage to document your claim."),
    ("Estimate", "Estimate", "We're writing the repair estimate."),
    ("Teardown", "Teardown", "We're taking damaged parts off to find hidden damage."),
    ("Supp Sent", "Supplement sent", "We found more damage and sent a supplement to your insurer."),
    ("Supp Appr", "Supplement approved", "Your insurer approved the extra repairs."),
    ("Started", "Repairs started", "Your car is being repaired."),
    ("Completed", "Repairs completed", "Repairs are done; we're cleaning and checking your car."),
    ("Delivered", "Delivered", "Your car is back with you. Thank you!"),
]
PRODUCTION_STAGES = [
    ("Intake", "Checked in", "We've received your vehicle."),
    ("Teardown", "Teardown", "We're taking damaged parts off to find hidden damage."),
    ("Parts on order", "Waiting for parts", "Parts are ordered; we'll start as soon as they arrive."),
    ("Body", "Body repair", "Body work is under way."),
    ("Paint", "Paint", "Your car is in the paint shop."),
    ("Reassembly", "Reassembly", "We're putting everything back together."),
    ("QC", "Quality check", "A final inspection of every repair."),
    ("Ready for pickup", "Ready for pickup", "Your car is ready. Come pick it up!"),
]


def _stages(rows):
    return [
        {
            "name": n,
            "customer_label": label,
            "customer_description": desc,
            "hidden": False,
            "terminal": i == len(rows) - 1,
        }
        for i, (n, label, desc) in enumerate(rows)
    ]


def seed_catalogue() -> None:
    plans = sa.table("plans", sa.column("key"), sa.column("name"), sa.column("price_cents"), sa.column("position"))
    features = sa.table("plan_features", sa.column("plan_key"), sa.column("feature"))
    templates = sa.table(
        "stage_templates", sa.column("key"), sa.column("name"), sa.column("description"), sa.column("stages", sa.JSON)
    )
    op.bulk_insert(plans, [{"key": k, "name": n, "price_cents": p, "position": pos} for k, n, p, pos, _ in PLANS])
    op.bulk_insert(features, [{"plan_key": k, "feature": f} for k, _, _, _, feats in PLANS for f in feats])
    op.bulk_insert(
        templates,
        [
            {
                "key": "default",
                "name": "Collision (insurance workflow)",
                "description": "Pictures to Delivered",
                "stages": _stages(DEFAULT_STAGES),
            },
            {
                "key": "production",
                "name": "Production floor",
                "description": "Intake to Ready for pickup",
                "stages": _stages(PRODUCTION_STAGES),
            },
        ],
    )
