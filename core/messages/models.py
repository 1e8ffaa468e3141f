"""Message: one entry of a claim's thread on any channel."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bayline.db import Base, UTCDateTime, utcnow
from bayline.tenancy import TenantScoped

DIRECTIONS = ("in", "out")
CHANNELS = ("portal", "sms", "email")
DELIVERY_STATES = ("received", "queued", "sent", "delivered", "failed")


class Message(TenantScoped, Base):
    """``direction`` "in" is from the customer, "out" from the shop."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(20), default="portal")
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    delivery_state: Mapped[str] = mapped_column(String(20), default="received")
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
