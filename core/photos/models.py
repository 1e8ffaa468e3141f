"""Photo (bay photos, processed for the portal), Attachment (customer uploads and documents), FileAudit."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bayline.db import Base, UTCDateTime, utcnow
from bayline.tenancy import TenantScoped

PHOTO_TAGS = ("before", "during", "after")
VISIBILITIES = ("customer", "internal")
PHOTO_STATES = ("processing", "ready", "failed")


class Photo(TenantScoped, Base):
    """A photo of a claim. ``key`` is the storage prefix: ``<key>/original`` (staff only),
    ``<key>/display.jpg`` and ``<key>/thumb.webp`` (re-encoded, no metadata) once ready."""

    __tablename__ = "photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    tag: Mapped[str] = mapped_column(String(30), default="during")
    visibility: Mapped[str] = mapped_column(String(10), default="customer")
    status: Mapped[str] = mapped_column(String(12), default="processing")
    error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    caption: Mapped[str | None] = mapped_column(String(300), nullable=True)
    source: Mapped[str] = mapped_column(String(10), default="staff")
    original_filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    original_content_type: Mapped[str] = mapped_column(String(60))
    original_size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    @property
    def customer_visible(self) -> bool:
        return (self.visibility == "customer" and not self.hidden and self.deleted_at is None
                and self.status == "ready")


class Attachment(TenantScoped, Base):
    """A file on a claim: a customer's upload from the portal (image or PDF) or a staff document.
    Stored as received (after the magic-byte and parse checks) under ``key``; staff only."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(10), default="customer")
    note: Mapped[str | None] = mapped_column(String(300), nullable=True)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    portal_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("portal_tokens.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class FileAudit(TenantScoped, Base):
    """Who did what to a photo or attachment (upload, retag, hide, delete ...)."""

    __tablename__ = "file_audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    photo_id: Mapped[int | None] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), nullable=True,
                                                 index=True)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id", ondelete="CASCADE"),
                                                      nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    actor: Mapped[str] = mapped_column(String(10), default="staff")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    photo: Mapped[Photo | None] = relationship()
    attachment: Mapped[Attachment | None] = relationship()
