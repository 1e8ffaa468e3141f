"""CSI tables (prefix ``csi_``), all tenant-scoped: one survey per claim, its response, the review
invitation audit log (every invitation with the rule that sent it) and service-recovery tasks."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bayline.plugin_api import Base, TenantScoped, UTCDateTime, utcnow


class CsiSurvey(TenantScoped, Base):
    """The survey of a delivered claim: due a shop-set delay after delivery, open until ``closes_at``."""

    __tablename__ = "csi_surveys"
    __table_args__ = (UniqueConstraint("tenant_id", "claim_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str | None] = mapped_column(String(10), nullable=True)
    outbox_item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    send_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CsiResponse(TenantScoped, Base):
    """The customer's answers: ``overall`` 1–5 (``scale`` "five", or None before NPS existed) or 0–10
    (``scale`` "nps"); the built-in questions 1–5; the shop's own questions in ``extra`` as
    ``{question text: score}``; ``comment`` free text. Editable until ``editable_until``."""

    __tablename__ = "csi_responses"
    __table_args__ = (UniqueConstraint("tenant_id", "survey_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("csi_surveys.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    overall: Mapped[int] = mapped_column(Integer)
    communication: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    on_time: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cleanliness: Mapped[int | None] = mapped_column(Integer, nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    scale: Mapped[str | None] = mapped_column(String(10), nullable=True)  # five | nps
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    editable_until: Mapped[datetime] = mapped_column(UTCDateTime)


class CsiInvitation(TenantScoped, Base):
    """Audit log of review invitations: one per claim, with the rule that sent it (never a score),
    the exact body, and whether it was sent (marketing consent) or shown on the portal only."""

    __tablename__ = "csi_invitations"
    __table_args__ = (UniqueConstraint("tenant_id", "claim_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(40))  # responded | window_closed
    delivery: Mapped[str] = mapped_column(String(20))  # sent | portal_only
    channel: Mapped[str | None] = mapped_column(String(10), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    outbox_item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CsiFollowUp(TenantScoped, Base):
    """Service recovery: a low score opens a task for the shop with an owner, an SLA due time, notes
    and the outcome."""

    __tablename__ = "csi_followups"
    __table_args__ = (UniqueConstraint("tenant_id", "response_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("csi_responses.id", ondelete="CASCADE"), index=True)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | resolved | unresolved
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CsiLink(TenantScoped, Base):
    """A signed one-use survey link of the plugin's own (not the portal link): minted when the survey
    message leaves (hook ``link_fields``), the secret from ``secrets`` and only its SHA-256 stored;
    it opens the claim's survey until ``expires_at`` and is spent by the answer it sends."""

    __tablename__ = "csi_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("csi_surveys.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    outbox_item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CsiSupplement(TenantScoped, Base):
    """A supplement of a claim's estimate, as the quotes plugin announced it (event ``quote.imported``
    with ``version_number`` ≥ 1): the scorecard's supplement count, without importing that plugin."""

    __tablename__ = "csi_supplements"
    __table_args__ = (UniqueConstraint("tenant_id", "claim_id", "version_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CsiDaily(TenantScoped, Base):
    """The stored daily scorecard: one row per shop-local delivery day and group (``dimension``
    location / insurer / estimator, ``name``) holding sums and counts, so any period adds up exactly.
    Written by the daily beat task and on demand; never on a page view."""

    __tablename__ = "csi_daily"
    __table_args__ = (UniqueConstraint("tenant_id", "day", "dimension", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    dimension: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    surveys: Mapped[int] = mapped_column(Integer, default=0)
    responses: Mapped[int] = mapped_column(Integer, default=0)
    csi_sum: Mapped[int] = mapped_column(Integer, default=0)
    csi_n: Mapped[int] = mapped_column(Integer, default=0)
    nps_n: Mapped[int] = mapped_column(Integer, default=0)
    promoters: Mapped[int] = mapped_column(Integer, default=0)
    detractors: Mapped[int] = mapped_column(Integer, default=0)
    keys_hours_sum: Mapped[float] = mapped_column(Float, default=0.0)
    keys_days_sum: Mapped[int] = mapped_column(Integer, default=0)
    production_sum: Mapped[float] = mapped_column(Float, default=0.0)
    production_n: Mapped[int] = mapped_column(Integer, default=0)
    promised_n: Mapped[int] = mapped_column(Integer, default=0)
    on_time_n: Mapped[int] = mapped_column(Integer, default=0)
    supplements_sum: Mapped[int | None] = mapped_column(Integer, nullable=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
