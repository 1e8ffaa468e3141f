"""Outbox rows, the consent ledger with its history, and the suppression list (all tenant-owned)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bayline.db import Base, UTCDateTime, utcnow
from bayline.tenancy import TenantScoped

PURPOSES = ("conversational", "transactional", "marketing")
STATES = ("draft", "queued", "held", "sending", "sent", "delivered", "failed", "cancelled")
FINAL_STATES = frozenset({"delivered", "failed", "cancelled"})
# Allowed moves of the state machine; ``report_state`` and the service refuse anything else.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"queued", "cancelled"}),
    "queued": frozenset({"held", "sending", "failed", "cancelled"}),
    "held": frozenset({"queued", "sending", "failed", "cancelled"}),
    "sending": frozenset({"sent", "delivered", "failed", "held", "queued"}),
    "sent": frozenset({"delivered", "failed"}),
    "delivered": frozenset(),
    "failed": frozenset({"queued"}),  # a staff retry
    "cancelled": frozenset(),
}


class OutboxItem(TenantScoped, Base):
    """One outbound message on any channel. A send is a state change of this row.

    ``body`` is stored with customer links masked; ``{portal_link}`` is substituted only in the
    provider request (``bayline.messaging.links.provider_body``)."""

    __tablename__ = "outbox_items"
    __table_args__ = (UniqueConstraint("tenant_id", "idempotency_key", name="uq_outbox_items_tenant_key"),
                      Index("ix_outbox_items_due", "state", "due_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), nullable=True,
                                                 index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)
    channel: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="manual")  # manual | automatic | help | requested
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    recipient_timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(200), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    # channel-specific request details the channel plugin reads (e.g. SMS: media_urls, photo_ids)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default="queued")
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                           nullable=True)
    queued_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                          nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ConsentRecord(TenantScoped, Base):
    """Current consent of one contact on one channel for one purpose class (``granted``/``revoked``)."""

    __tablename__ = "consent_records"
    __table_args__ = (UniqueConstraint("tenant_id", "contact", "channel", "purpose",
                                       name="uq_consent_records_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contact: Mapped[str] = mapped_column(String(254), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(20))  # transactional | marketing
    status: Mapped[str] = mapped_column(String(10))  # granted | revoked
    source: Mapped[str] = mapped_column(String(40))
    wording_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentEvent(TenantScoped, Base):
    """History of the ledger: every grant or revocation, with how it was given."""

    __tablename__ = "consent_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("consent_records.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(40))
    wording_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    wording: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[str | None] = mapped_column(String(300), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Suppression(TenantScoped, Base):
    """A contact that must get nothing on a channel (opted out: STOP, carrier block, unsubscribe)."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("tenant_id", "contact", "channel", name="uq_suppressions_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contact: Mapped[str] = mapped_column(String(254), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
