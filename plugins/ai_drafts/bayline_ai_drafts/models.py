"""AI drafts tables (prefix ``ai_drafts_``), tenant-scoped: one row per draft with what the provider
wrote, the grounding check, what staff finally sent and the edit distance between the two."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bayline.plugin_api import Base, TenantScoped, UTCDateTime, utcnow

STATES = ("drafted", "failed", "sent", "discarded")


class AiDraft(TenantScoped, Base):
    """A drafted message. ``outbox_item_id`` is its outbox row in ``draft`` state (texts and emails);
    only a staff action (``outbox.queue_draft``) sends it. ``unsupported`` lists what the grounding
    check could not find in the facts (``[{"kind", "text", "start", "end"}]``)."""

    __tablename__ = "ai_drafts_drafts"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    outbox_item_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_items.id", ondelete="SET NULL"),
                                                       nullable=True)
    reply_to_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"),
                                                            nullable=True)
    feature: Mapped[str] = mapped_column(String(30))
    mode: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(40))
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    intent: Mapped[str | None] = mapped_column(String(30), nullable=True)
    language: Mapped[str] = mapped_column(String(8), default="en")
    state: Mapped[str] = mapped_column(String(20), default="drafted")
    draft_text: Mapped[str] = mapped_column(Text, default="")
    pending_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    final_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    edit_distance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    unsupported: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    fields_sent: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    confirmed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                             nullable=True)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                           nullable=True)
    sent_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                        nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
