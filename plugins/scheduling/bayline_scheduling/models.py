"""Scheduling tables (prefix ``scheduling_``), all tenant-scoped.

No double booking is the database's job, not a check in Python: every booking (an appointment or a
short reservation) holds one row per 15-minute **cell** of its blocked time (buffers included) on one
**capacity unit** of its resource, and ``scheduling_units`` is unique on (tenant, resource, unit,
cell). Two bookings that overlap on the same unit cannot both commit, on SQLite and PostgreSQL alike;
the service tries each unit in turn inside a savepoint and never checks before inserting. Drop-offs
also hold cells of the day's intake resource (``intake``: one unit per car, or per labour hour), so the
daily intake capacity is the same constraint. On PostgreSQL the appointments table carries, in addition,
an ``EXCLUDE USING gist`` over (tenant, resource, unit, time range) of live appointments (migration only: see there).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bayline.plugin_api import Base, TenantScoped, UTCDateTime, utcnow

STATUSES = ("pending", "confirmed", "declined", "cancelled")
LIVE = ("pending", "confirmed")


class SchedulingType(TenantScoped, Base):
    """A shop's own settings for one appointment type (``inspection``, ``dropoff``, ``pickup`` or a
    shop-defined key); the built-in types apply with their defaults while no row exists."""

    __tablename__ = "scheduling_types"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_scheduling_types_tenant_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))  # inspection | dropoff | pickup | other
    resource: Mapped[str | None] = mapped_column(String(40), nullable=True)
    """The capacity pool it books (types sharing one, e.g. two inspection lengths, share its units);
    None: its own key."""
    duration_minutes: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    buffer_before: Mapped[int] = mapped_column(Integer, default=0)
    buffer_after: Mapped[int] = mapped_column(Integer, default=0)
    step_minutes: Mapped[int] = mapped_column(Integer, default=30)
    hours: Mapped[list | None] = mapped_column(JSON, nullable=True)
    """Weekly hours of this type, like ``Shop.hours``; None: the shop's hours."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SchedulingAppointment(TenantScoped, Base):
    """An appointment of a claim: ``starts_at``/``ends_at`` in UTC (shown in the shop's zone); the
    blocked time adds the type's buffers. ``uid`` and ``sequence`` are its calendar identity."""

    __tablename__ = "scheduling_appointments"
    __table_args__ = (UniqueConstraint("tenant_id", "uid", name="uq_scheduling_appointments_tenant_uid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    type_key: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(20))
    resource: Mapped[str] = mapped_column(String(40))
    unit: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    block_start: Mapped[datetime] = mapped_column(UTCDateTime)
    block_end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    source: Mapped[str] = mapped_column(String(20), default="portal")  # portal | public | staff | api
    uid: Mapped[str] = mapped_column(String(80))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    labour_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """A drop-off's labour hours (the intake units it holds when the shop counts labour hours)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SchedulingReservation(TenantScoped, Base):
    """A short hold on a slot while the customer confirms: its cells block the slot until
    ``expires_at``; booking with it turns its cells into the appointment's."""

    __tablename__ = "scheduling_reservations"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    type_key: Mapped[str] = mapped_column(String(30))
    resource: Mapped[str] = mapped_column(String(40))
    unit: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchedulingUnit(TenantScoped, Base):
    """One 15-minute cell of one capacity unit held by an appointment or a reservation (or one day of
    the intake resource). The unique constraint is the no-double-booking rule."""

    __tablename__ = "scheduling_units"
    __table_args__ = (UniqueConstraint("tenant_id", "resource", "unit", "cell", name="uq_scheduling_units_cell"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    resource: Mapped[str] = mapped_column(String(40))
    unit: Mapped[int] = mapped_column(Integer)
    cell: Mapped[datetime] = mapped_column(UTCDateTime)
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("scheduling_appointments.id", ondelete="CASCADE"), nullable=True, index=True)
    reservation_id: Mapped[int | None] = mapped_column(
        ForeignKey("scheduling_reservations.id", ondelete="CASCADE"), nullable=True, index=True)


class SchedulingRequest(TenantScoped, Base):
    """An estimate request from the public landing page: the claim it created (state
    ``estimate_requested`` until staff take it on) and what the customer wrote."""

    __tablename__ = "scheduling_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(30), default="estimate_requested")
    damage: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchedulingFeed(TenantScoped, Base):
    """The location's private ICS feed: only the SHA-256 of its secret token is kept; revoking sets
    ``revoked_at`` (the URL stops working at once)."""

    __tablename__ = "scheduling_feeds"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_scheduling_feeds_token_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SchedulingBusy(TenantScoped, Base):
    """A busy period read from the shop's CalDAV calendar (blocks every unit of ``resource``, or of
    every resource when ``resource`` is ``*``); replaced on each sync."""

    __tablename__ = "scheduling_busy"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(40), default="*")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    summary: Mapped[str | None] = mapped_column(String(255), nullable=True)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
