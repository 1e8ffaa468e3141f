"""Tables of the SMS plugin (prefix ``sms_``, all tenant-owned)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bayline.plugin_api import Base, TenantScoped, UTCDateTime, utcnow


class SmsNumber(TenantScoped, Base):
    """The shop's sending/receiving number. A number belongs to at most one shop on the platform."""

    __tablename__ = "sms_numbers"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone_number: Mapped[str] = mapped_column(String(20), unique=True)
    messaging_profile_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[str] = mapped_column(String(20), default="assigned")  # assigned | ordered
    telnyx_order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsOutbound(TenantScoped, Base):
    """One outbound text, keyed by its idempotency key (a retry or double click finds this row)."""

    __tablename__ = "sms_outbound"
    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_sms_outbound_idempotency_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(100))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), nullable=True,
                                                 index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)
    from_number: Mapped[str] = mapped_column(String(20))
    to_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    media_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    # MMS from claim photos: ids of customer-visible photos; their short-lived signed URLs are made
    # when the send task runs (so a retried or held send never carries an expired link).
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    portal_link_token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    purpose: Mapped[str] = mapped_column(String(20), default="transactional")  # transactional | marketing
    kind: Mapped[str] = mapped_column(String(20), default="manual")  # manual | automatic | help | requested
    status: Mapped[str] = mapped_column(String(20), default="queued")
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    telnyx_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SmsConsent(TenantScoped, Base):
    """Consent ledger: one row per (shop number, customer number); ``history`` keeps every change."""

    __tablename__ = "sms_consent"
    __table_args__ = (UniqueConstraint("shop_number", "customer_number", name="uq_sms_consent_pair"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_number: Mapped[str] = mapped_column(String(20))
    customer_number: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(20), default="opted_in")  # opted_in | opted_out
    source: Mapped[str] = mapped_column(String(40), default="claim_intake")
    purposes: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["transactional"])
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class SmsWebhookEvent(TenantScoped, Base):
    """A verified Telnyx webhook event, stored once per event id (Telnyx retries deliveries)."""

    __tablename__ = "sms_webhook_events"
    __table_args__ = (UniqueConstraint("event_id", name="uq_sms_webhook_events_event_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)


class SmsInbound(TenantScoped, Base):
    """An inbound text. ``claim_id`` None = in the shop inbox; ``needs_refile`` = several open claims matched."""

    __tablename__ = "sms_inbound"
    id: Mapped[int] = mapped_column(primary_key=True)
    telnyx_id: Mapped[str] = mapped_column(String(64), index=True)
    from_number: Mapped[str] = mapped_column(String(20), index=True)
    to_number: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="SET NULL"), nullable=True,
                                                 index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)
    needs_refile: Mapped[bool] = mapped_column(Boolean, default=False)
    keyword: Mapped[str | None] = mapped_column(String(20), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Inbound MMS media: ``media`` keeps Telnyx's list; ``media_files`` what became of each item
    # ({url, content_type, status: pending|held|stored|failed|refused, error, key, photo_id, attachment_id}).
    media_files: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    media_attempts: Mapped[int] = mapped_column(Integer, default=0)
    media_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)


class SmsStageNotice(TenantScoped, Base):
    """Last automatic stage notification per (claim, stage), for the shop's cool-down."""

    __tablename__ = "sms_stage_notices"
    __table_args__ = (UniqueConstraint("claim_id", "stage_id", name="uq_sms_stage_notices_claim_stage"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
