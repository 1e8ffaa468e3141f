"""PortalToken and PortalAttempt."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bayline.db import Base, UTCDateTime, utcnow
from bayline.tenancy import TenantScoped

TOKEN_STATES = ("active", "rotated", "revoked")
# What a link is for: a printed document or a sending channel. A claim has at most one active link
# per purpose; replacing one never touches the others. ``account``: the link a customer account opens
# a repair of its verified contact through (plugin accounts).
PURPOSES = ("work_order", "hang_tag", "receipt", "qr_sticker", "sms", "email", "esign_sms", "staff_copy", "account")


class PortalToken(TenantScoped, Base):
    """A customer link to one claim, for one purpose. Only the SHA-256 of the secret is stored, plus
    (for purposes that print or send again) the secret sealed with a key derived from the app's
    secret key (:mod:`bayline.portal.sealing`)."""

    __tablename__ = "portal_tokens"
    __table_args__ = (Index("ix_portal_tokens_claim_purpose_state", "claim_id", "purpose", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="active")
    purpose: Mapped[str] = mapped_column(String(20), default="staff_copy", server_default="staff_copy")
    sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    # SHA-256 of the short code printed under a document's QR (typed by hand: ``/c/K7QXM-2PD9F``).
    short_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PortalAttempt(TenantScoped, Base):
    """One verification attempt on a portal link (for the lockout and for staff to see)."""

    __tablename__ = "portal_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("portal_tokens.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PortalSession(TenantScoped, Base):
    """One browser's verified portal session, opened through one link. The signed cookie names this
    row; "sign out on this device" ends it, so a copy of the cookie stops opening the portal. A
    session also ends with its link's revocation, the claim's expiry or archiving (checked on load)."""

    __tablename__ = "portal_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("portal_tokens.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
