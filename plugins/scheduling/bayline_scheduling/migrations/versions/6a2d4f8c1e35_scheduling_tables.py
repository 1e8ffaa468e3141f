"""scheduling tables: types, appointments, reservations, slot units, estimate requests, ICS feeds, busy

Revision ID: 6a2d4f8c1e35
Revises:
Create Date: 2026-12-03 08:20:00

Constraint names are written out in full (never ``op.f`` on a name the naming convention would build
differently), so SQLite and PostgreSQL get the same names as the models. On PostgreSQL only, the
``btree_gist`` extension and an ``EXCLUDE USING gist`` over (tenant, resource, unit, blocked time) of
live appointments back the unit cells' unique constraint with the database's own range check.
"""
import sqlalchemy as sa
from alembic import op

import bayline.plugin_api

revision = "6a2d4f8c1e35"
down_revision = None
branch_labels = ("scheduling",)
depends_on = None

DT = bayline.plugin_api.UTCDateTime(timezone=True)


def _tenant(table: str) -> list:
    return [sa.Column("tenant_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["tenant_id"], ["shops.id"], name=f"fk_{table}_tenant_id_shops",
                                    ondelete="CASCADE")]


def _claim_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=f"fk_{table}_claim_id_claims",
                                   ondelete="CASCADE")


def _index(table: str, *cols: str) -> None:
    for col in ("tenant_id", *cols):
        op.create_index(f"ix_{table}_{col}", table, [col], unique=False)


def upgrade() -> None:
    op.create_table(
        "scheduling_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("buffer_before", sa.Integer(), nullable=False),
        sa.Column("buffer_after", sa.Integer(), nullable=False),
        sa.Column("step_minutes", sa.Integer(), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_tenant("scheduling_types"),
        sa.PrimaryKeyConstraint("id", name="pk_scheduling_types"),
        sa.UniqueConstraint("tenant_id", "key", name="uq_scheduling_types_tenant_key"),
    )
    _index("scheduling_types")
    op.create_table(
        "scheduling_appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("type_key", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.Integer(), nullable=False),
        sa.Column("starts_at", DT, nullable=False),
        sa.Column("ends_at", DT, nullable=False),
        sa.Column("block_start", DT, nullable=False),
        sa.Column("block_end", DT, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("uid", sa.String(length=80), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("updated_at", DT, nullable=False),
        sa.Column("confirmed_at", DT, nullable=True),
        sa.Column("cancelled_at", DT, nullable=True),
        *_tenant("scheduling_appointments"),
        _claim_fk("scheduling_appointments"),
        sa.PrimaryKeyConstraint("id", name="pk_scheduling_appointments"),
        sa.UniqueConstraint("tenant_id", "uid", name="uq_scheduling_appointments_tenant_uid"),
    )
    _index("scheduling_appointments", "claim_id", "starts_at")
    op.create_table(
        "scheduling_reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("type_key", sa.String(length=30), nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.Integer(), nullable=False),
        sa.Column("starts_at", DT, nullable=False),
        sa.Column("ends_at", DT, nullable=False),
        sa.Column("expires_at", DT, nullable=False),
        sa.Column("created_at", DT, nullable=False),
        *_tenant("scheduling_reservations"),
        _claim_fk("scheduling_reservations"),
        sa.PrimaryKeyConstraint("id", name="pk_scheduling_reservations"),
    )
    _index("scheduling_reservations", "claim_id", "expires_at")
    op.create_table(
        "scheduling_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.Integer(), nullable=False),
        sa.Column("cell", DT, nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("reservation_id", sa.Integer(), nullable=True),
        *_tenant("scheduling_units"),
        sa.ForeignKeyConstraint(["appointment_id"], ["scheduling_appointments.id"],
                                name="fk_scheduling_units_appointment_id_scheduling_appointments", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reservation_id"], ["scheduling_reservations.id"],
                                name="fk_scheduling_units_reservation_id_scheduling_reservations", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_scheduling_units"),
        sa.UniqueConstraint("tenant_id", "resource", "unit", "cell", name="uq_scheduling_units_cell"),
    )
    _index("scheduling_units", "appointment_id", "reservation_id")
    op.create_table(
        "scheduling_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("damage", sa.Text(), nullable=True),
        sa.Column("created_at", DT, nullable=False),
        *_tenant("scheduling_requests"),
        _claim_fk("scheduling_requests"),
        sa.PrimaryKeyConstraint("id", name="pk_scheduling_requests"),
    )
    _index("scheduling_requests", "claim_id")
    op.create_table(
        "scheduling_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", DT, nullable=False),
        sa.Column("revoked_at", DT, nullable=True),
        *_tenant("scheduling_feeds"),
        sa.PrimaryKeyConstraint("id", name="pk_scheduling_feeds"),
        sa.UniqueConstraint("token_hash", name="uq_scheduling_feeds_token_hash"),
    )
    _index("scheduling_feeds")
    op.create_table(
        "scheduling_busy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=40), nullable=False),
        sa.Column("starts_at", DT, nullable=False),
        sa.Column("ends_at", DT, nullable=False),
        sa.Column("summary", sa.String(length=255), nullable=True),
        sa.Column("synced_at", DT, nullable=False),
        *_tenant("scheduling_busy"),
        sa.PrimaryKeyConstraint("id", name="pk_scheduling_busy"),
    )
    _index("scheduling_busy", "starts_at")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE scheduling_appointments ADD CONSTRAINT xc_scheduling_appointments_no_overlap "
            "EXCLUDE USING gist (tenant_id WITH =, resource WITH =, unit WITH =, "
            "tstzrange(block_start, block_end, '[)') WITH &&) WHERE (status IN ('pending', 'confirmed'))")


def downgrade() -> None:
    for table in ("scheduling_busy", "scheduling_feeds", "scheduling_requests", "scheduling_units",
                  "scheduling_reservations", "scheduling_appointments", "scheduling_types"):
        op.drop_table(table)
