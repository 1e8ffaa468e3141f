"""Staff users and per-shop API keys."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bayline.db import Base, UTCDateTime, utcnow
from bayline.tenancy import TenantScoped


class User(Base):
    """A staff person; their roles live in memberships (per shop) and group memberships."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    """Bumped by logging out: every login session (and remember cookie) made before ends, copied
    cookies included (sessions are signed cookies; this is the server-side part that revokes them)."""

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def credential_fingerprint(self) -> str:
        """Changes whenever the password does, or the user logs out (part of login sessions and of
        reset links)."""
        material = self.password_hash or ""
        if self.session_epoch:  # epoch 0 keeps the fingerprints (sessions) made before epochs existed
            material += f"|{self.session_epoch}"
        return hashlib.sha256(material.encode()).hexdigest()[:16]

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember cookie: with the fingerprint, a new
        password ends every session made with the old one."""
        return f"{self.id}:{self.credential_fingerprint()}"


class ApiKey(TenantScoped, Base):
    """A shop's key for the REST API; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    operator_issued: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Issued by the platform operator (CLI): holds its scopes. Any other key acts with its creator's
    current role and stops working without a creator."""
    created_by = relationship("User", lazy="joined")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StaffInvitation(TenantScoped, Base):
    """An invitation to join a shop's staff with a role: the invited person accepts it through the
    link mailed to them (setting their own password, or with their existing login). Only the
    SHA-256 of the link's secret is stored."""

    __tablename__ = "staff_invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def state(self) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= utcnow() else "pending"
