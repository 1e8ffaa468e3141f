"""Email tables (prefix ``email_``), all tenant-scoped.

- ``email_connections``: a shop's mailbox (IMAP/SMTP server, Gmail's API, Microsoft Graph, or the
  forwarding address), its secret or OAuth tokens sealed at rest (``seal``), its sync cursor
  (IMAP: UIDVALIDITY + last UID; Gmail: the last historyId; Graph: the inbox's delta link), its push
  channel (Gmail watch / Graph subscription: id, expiry, the SHA-256 of Graph's clientState) and its
  health.
- ``email_messages``: every email stored once per shop: unique by ``message_id`` (the RFC 5322
  Message-ID, or a digest of the raw bytes when a message has none) and by ``provider_id`` (the
  mailbox's own id, e.g. ``imap:<connection>:<uidvalidity>:<uid>``, ``gmail:<connection>:<id>``,
  ``graph:<connection>:<id>``) and ``provider_thread`` (Gmail threadId, Graph conversationId).
  ``audience`` is ``customer`` (on the claim's one conversation and the portal) or ``adjuster``
  (staff only); ``claim_id`` is None for mail in the shop inbox; ``match_signal`` / ``match_reason``
  say why it is on its claim.
- ``email_links``: what re-linking teaches: a thread (root Message-ID) or a sender + normalised
  subject that belongs to a claim and audience; the resolver's third signal.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bayline.plugin_api import Base, TenantScoped, UTCDateTime, utcnow

KINDS = ("imap", "forward", "gmail", "graph")
AUDIENCES = ("customer", "adjuster")
STATUSES = ("ok", "failing", "reauthorize", "disconnected")


class EmailConnection(TenantScoped, Base):
    __tablename__ = "email_connections"
    __table_args__ = (UniqueConstraint("tenant_id", "address"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="imap")
    address: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    imap_host: Mapped[str | None] = mapped_column(String(200), nullable=True)
    imap_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    imap_ssl: Mapped[bool] = mapped_column(Boolean, default=True)
    smtp_host: Mapped[str | None] = mapped_column(String(200), nullable=True)
    smtp_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    smtp_security: Mapped[str] = mapped_column(String(10), default="starttls")  # ssl | starttls | none
    username: Mapped[str | None] = mapped_column(String(254), nullable=True)
    secret_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    # OAuth 2.0 (auth "oauth"): the tokens sealed, refreshed only near expiry, the rotated refresh token kept
    auth: Mapped[str] = mapped_column(String(10), default="password", server_default="password")
    oauth_provider: Mapped[str | None] = mapped_column(String(40), nullable=True)
    access_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    refresh_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Gmail: the historyId synced up to; Graph: the inbox's @odata.deltaLink (IMAP uses the two below)
    sync_cursor: Mapped[str | None] = mapped_column(Text, nullable=True)
    # push: Gmail watch (push_id None) or Graph subscription (push_id = subscription id)
    push_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    push_secret_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # SHA-256 of clientState
    push_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    uidvalidity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_uid: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="ok")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    owner_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailMessage(TenantScoped, Base):
    __tablename__ = "email_messages"
    __table_args__ = (UniqueConstraint("tenant_id", "message_id"), UniqueConstraint("tenant_id", "provider_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("email_connections.id", ondelete="SET NULL"),
                                                      nullable=True, index=True)
    provider_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    message_id: Mapped[str] = mapped_column(String(300))
    # the provider's conversation: Gmail threadId / Graph conversationId (resolver signal 3)
    provider_thread: Mapped[str | None] = mapped_column(String(300), nullable=True, index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(300), nullable=True)
    references_hdr: Mapped[str | None] = mapped_column(Text, nullable=True)
    thread_root: Mapped[str] = mapped_column(String(300), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    audience: Mapped[str] = mapped_column(String(10), default="customer")
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="SET NULL"), nullable=True,
                                                 index=True)
    match_signal: Mapped[str | None] = mapped_column(String(30), nullable=True)
    match_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    from_addr: Mapped[str] = mapped_column(String(254), default="")
    from_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    to_addrs: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(500), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    body_text: Mapped[str] = mapped_column(Text, default="")
    quoted_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    body_html: Mapped[str | None] = mapped_column(Text, nullable=True)  # sanitised (nh3), never raw
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)  # e.g. "attachment refused: too large"
    attachment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    raw_key: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the raw message in storage
    core_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"),
                                                        nullable=True, index=True)
    outbox_item_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_items.id", ondelete="SET NULL"),
                                                       nullable=True, index=True)
    delivery_state: Mapped[str] = mapped_column(String(20), default="received")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailLink(TenantScoped, Base):
    __tablename__ = "email_links"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # thread | sender_subject
    key: Mapped[str] = mapped_column(String(600))
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    audience: Mapped[str] = mapped_column(String(10), default="customer")
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                           nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
