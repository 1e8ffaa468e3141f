"""Loyalty tables (prefix ``loyalty_``), all tenant-scoped.

``loyalty_members`` holds one row per customer contact (mobile in E.164, else the lower-cased email)
with the **balance row** that redemptions lock (a conditional ``UPDATE ... WHERE balance >= n``);
``loyalty_entries`` is the append-only ledger (the balance is always the sum of its entries), one
entry per source event through a unique idempotency key; ``loyalty_payments`` records what the
customer paid (the earning basis: customer-paid amounts only); ``loyalty_referrals`` is the source of a
referred claim."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bayline.plugin_api import Base, TenantScoped, UTCDateTime, utcnow

ENTRY_KINDS = ("earn", "clawback", "redeem", "adjust", "expire", "referral", "referral_clawback")


class LoyaltyMember(TenantScoped, Base):
    __tablename__ = "loyalty_members"
    __table_args__ = (UniqueConstraint("tenant_id", "contact"), UniqueConstraint("referral_code"))
    id: Mapped[int] = mapped_column(primary_key=True)
    contact: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120), default="")
    balance: Mapped[int] = mapped_column(Integer, default=0)
    referral_code: Mapped[str] = mapped_column(String(12))
    account_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The customer account (plugin accounts, told through its ``account.opened`` event) or None."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoyaltyEntry(TenantScoped, Base):
    """One ledger line: never updated, never deleted."""

    __tablename__ = "loyalty_entries"
    __table_args__ = (UniqueConstraint("tenant_id", "idempotency_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("loyalty_members.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(300), default="")
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id", ondelete="SET NULL"), nullable=True,
                                                 index=True)
    amount: Mapped[str | None] = mapped_column(String(20), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(120))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LoyaltyPayment(TenantScoped, Base):
    """A customer-side payment or refund seen (from a payment event, or entered by staff)."""

    __tablename__ = "loyalty_payments"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(10))  # payments | staff
    ref: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))  # payment | refund
    amount: Mapped[str] = mapped_column(String(20))
    balance: Mapped[str | None] = mapped_column(String(20), nullable=True)
    """The customer's balance after it, as the payment event said (None: entered by staff)."""
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoyaltyReferral(TenantScoped, Base):
    __tablename__ = "loyalty_referrals"
    __table_args__ = (UniqueConstraint("tenant_id", "claim_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("loyalty_members.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    contact: Mapped[str] = mapped_column(String(254), index=True)
    source: Mapped[str] = mapped_column(String(10))  # intake | api
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending | rewarded | clawed_back
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    rewarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    clawed_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
