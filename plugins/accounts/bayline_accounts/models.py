"""Accounts tables (prefix ``accounts_``), all tenant-scoped (the shop where the account was claimed).

An account has verified contacts (a mobile in E.164 or a lower-cased email); it lists every claim
of those contacts. One-time codes keep only an HMAC of the code; passkeys keep the public key."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bayline.plugin_api import Base, TenantScoped, UTCDateTime, utcnow


class AccountsAccount(TenantScoped, Base):
    """A customer's account at a shop (``tenant_id``: the shop where it was claimed)."""

    __tablename__ = "accounts_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccountsContact(TenantScoped, Base):
    """A contact the customer proved they hold (a code sent to it was entered)."""

    __tablename__ = "accounts_contacts"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts_accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # mobile | email
    value: Mapped[str] = mapped_column(String(254))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountsCode(TenantScoped, Base):
    """A one-time code sent to a contact of a claim: only its HMAC is kept; 10 minutes, 5 tries."""

    __tablename__ = "accounts_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(254))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outbox_item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AccountsSession(TenantScoped, Base):
    """One browser signed in to an account; "sign out everywhere" ends every row of the account."""

    __tablename__ = "accounts_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts_accounts.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(10))  # code | passkey
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccountsPasskey(TenantScoped, Base):
    """A WebAuthn credential of an account (public key only, COSE-encoded)."""

    __tablename__ = "accounts_passkeys"
    __table_args__ = (UniqueConstraint("credential_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts_accounts.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[str] = mapped_column(String(400))  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(60), default="Passkey")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
