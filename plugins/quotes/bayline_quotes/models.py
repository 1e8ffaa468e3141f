"""Quotes tables (prefix ``quotes_``), all tenant-scoped. Money and quantities are stored as exact
decimal strings (``DecimalText``) so SQLite and PostgreSQL keep the same digits."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from bayline.plugin_api import Base, TenantScoped, UTCDateTime, utcnow


class DecimalText(TypeDecorator):
    """A Decimal kept as its exact string (no float anywhere, the same on every database)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


def _dec(default: str = "0") -> Any:
    return mapped_column(DecimalText(), default=Decimal(default))


class QuoteEstimate(TenantScoped, Base):
    """One estimate of a claim as the estimating system knows it (its document id), with versions."""

    __tablename__ = "quotes_estimates"
    __table_args__ = (UniqueConstraint("tenant_id", "claim_id", "source_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # bms | csv | json
    source_ref: Mapped[str] = mapped_column(String(120))  # the estimating system's estimate id
    estimator: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[QuoteVersion]] = relationship(
        back_populates="estimate", order_by="QuoteVersion.number", lazy="selectin")


class QuoteVersion(TenantScoped, Base):
    """Original (number 0) or supplement N of an estimate. Lines are never edited once decided."""

    __tablename__ = "quotes_versions"
    __table_args__ = (UniqueConstraint("estimate_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    estimate_id: Mapped[int] = mapped_column(ForeignKey("quotes_estimates.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | superseded | withdrawn
    approval: Mapped[str] = mapped_column(String(20), default="pending")  # pending|approved|partly|declined
    content_hash: Mapped[str] = mapped_column(String(64))
    deductible: Mapped[Decimal] = _dec()
    file_totals: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    mismatches: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    saves: Mapped[int] = mapped_column(Integer, default=1)  # how many identical re-saves arrived
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # Signed approval (setting quotes.signed_approval): the customer's approval of signature_line_ids
    # counts only once the signing plugin reports document.signed for signature_package.
    # signature_status: pending | signed | declined | lapsed (version closed first) | cancelled (staff)
    signature_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    signature_package: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    signature_url: Mapped[str | None] = mapped_column(String(300), nullable=True)
    signature_line_ids: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    signature_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                           nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    estimate: Mapped[QuoteEstimate] = relationship(back_populates="versions")
    lines: Mapped[list[QuoteLine]] = relationship(
        back_populates="version", order_by="QuoteLine.line_no", lazy="selectin", cascade="all, delete-orphan")

    @property
    def label(self) -> str:
        return "Original estimate" if self.number == 0 else f"Supplement {self.number}"


class QuoteLine(TenantScoped, Base):
    """One estimate line: operation, part, labour, paint/materials, sublet, payer, customer decision."""

    __tablename__ = "quotes_lines"
    __table_args__ = (UniqueConstraint("version_id", "line_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("quotes_versions.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    line_ref: Mapped[str] = mapped_column(String(60))  # the file's stable line id: matches across versions
    operation: Mapped[str] = mapped_column(String(40), default="")
    description: Mapped[str] = mapped_column(String(300))
    part_number: Mapped[str | None] = mapped_column(String(60), nullable=True)
    part_type: Mapped[str | None] = mapped_column(String(20), nullable=True)  # oem|aftermarket|used|reconditioned
    quantity: Mapped[Decimal] = _dec("1")
    unit_price: Mapped[Decimal] = _dec()
    labor_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    labor_hours: Mapped[Decimal] = _dec()
    labor_rate: Mapped[Decimal] = _dec()
    paint_materials: Mapped[Decimal] = _dec()
    sublet: Mapped[Decimal] = _dec()
    taxable: Mapped[bool] = mapped_column(Boolean, default=True)
    payer: Mapped[str] = mapped_column(String(20), default="insurer")  # insurer | customer | warranty
    betterment_pct: Mapped[Decimal] = _dec()
    shop_only: Mapped[bool] = mapped_column(Boolean, default=False)  # never shown to the customer
    internal_note: Mapped[str | None] = mapped_column(String(500), nullable=True)  # never shown to the customer
    decision: Mapped[str] = mapped_column(String(20), default="pending")  # pending | approved | declined
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    version: Mapped[QuoteVersion] = relationship(back_populates="lines")


class QuoteDecision(TenantScoped, Base):
    """The approval history: who decided what, when, from which address and device."""

    __tablename__ = "quotes_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("quotes_versions.id", ondelete="CASCADE"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    line_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    action: Mapped[str] = mapped_column(String(20))  # approve | decline | reverse
    reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reason_text: Mapped[str | None] = mapped_column(String(500), nullable=True)
    actor: Mapped[str] = mapped_column(String(20))  # customer | staff
    actor_name: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuotePayment(TenantScoped, Base):
    """A payment or refund recorded against a claim (by staff, or by a provider's verified webhook)."""

    __tablename__ = "quotes_payments"
    __table_args__ = (UniqueConstraint("tenant_id", "provider", "provider_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # payment | refund
    payer: Mapped[str] = mapped_column(String(20))  # insurer | deductible | customer
    method: Mapped[str] = mapped_column(String(20))  # card | cash | check | ach | insurer_check | points | other
    reference: Mapped[str | None] = mapped_column(String(120), nullable=True)
    amount: Mapped[Decimal] = _dec()
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(20), default="manual")
    provider_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QuoteCheckout(TenantScoped, Base):
    """A payment started with a provider for the customer's part (a Stripe Checkout Session)."""

    __tablename__ = "quotes_checkouts"
    __table_args__ = (UniqueConstraint("provider", "session_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    session_ref: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = _dec()
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | paid
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


__all__ = ["DecimalText", "QuoteCheckout", "QuoteDecision", "QuoteEstimate", "QuoteLine", "QuotePayment",
           "QuoteVersion"]
