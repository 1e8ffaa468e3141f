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


class SmsNumberRelease(TenantScoped, Base):
    """A number a shop gave up (``tenant_id`` = that shop), quarantined until ``quarantined_until``.

    Its customers keep texting it for a while, so during the quarantine no other shop may take it
    (``bayline_sms.numbers``); the releasing shop may take it back. One row per release (history)."""

    __tablename__ = "sms_number_releases"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone_number: Mapped[str] = mapped_column(String(20), index=True)
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    quarantined_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    released_by: Mapped[str] = mapped_column(String(80))  # "user 12", "platform (cli)", "replaced"
