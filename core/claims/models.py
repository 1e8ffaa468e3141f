"""Claim, Stage, StageHistory, EtaHistory."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bayline.db import Base, UTCDateTime, utcnow
from bayline.tenancy import TenantScoped

CLAIM_TYPES = ("insurance", "customer_pay")


class Stage(TenantScoped, Base):
    """One stage of a shop's ordered stage set. Archived, never deleted, once used."""

    __tablename__ = "stages"
    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(80))
    customer_label: Mapped[str] = mapped_column(String(80))
    customer_description: Mapped[str | None] = mapped_column(Text, nullable=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    terminal: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Claim(TenantScoped, Base):
    """A repair job: customer, vehicle, insurer, stage and ETA."""

    __tablename__ = "claims"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    claim_type: Mapped[str] = mapped_column(String(20), default="insurance")
    customer_first_name: Mapped[str] = mapped_column(String(100))
    customer_last_name: Mapped[str] = mapped_column(String(100))
    customer_mobile: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    customer_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    vehicle_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    vehicle_make: Mapped[str | None] = mapped_column(String(60), nullable=True)
    vehicle_model: Mapped[str | None] = mapped_column(String(60), nullable=True)
    vehicle_color: Mapped[str | None] = mapped_column(String(40), nullable=True)
    vin: Mapped[str | None] = mapped_column(String(17), nullable=True)
    plate: Mapped[str | None] = mapped_column(String(15), nullable=True)
    insurer: Mapped[str | None] = mapped_column(String(120), nullable=True)
    insurer_claim_number: Mapped[str | None] = mapped_column(String(60), nullable=True)
    adjuster_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    adjuster_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    adjuster_phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"), index=True)
    stage_entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    eta: Mapped[date | None] = mapped_column(Date, nullable=True)
    eta_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    internal_notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    archive_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    estimator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    """The staff member writing the estimate (users are deactivated, never deleted)."""

    stage: Mapped[Stage] = relationship(lazy="joined")
    estimator = relationship("User", lazy="selectin", viewonly=True)
    """The staff member writing the estimate (``estimator_id``), or None."""

    @property
    def customer_name(self) -> str:
        return f"{self.customer_first_name} {self.customer_last_name}".strip()

    @property
    def vehicle(self) -> str:
        parts = [str(self.vehicle_year) if self.vehicle_year else None, self.vehicle_make, self.vehicle_model]
        return " ".join(p for p in parts if p)


class StageHistory(TenantScoped, Base):
    """One stage move of a claim (``from_stage_id`` None for the first), with who and when (``at``)."""

    __tablename__ = "stage_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    from_stage_id: Mapped[int | None] = mapped_column(ForeignKey("stages.id"), nullable=True)
    to_stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    from_stage: Mapped[Stage | None] = relationship(foreign_keys=[from_stage_id], lazy="joined")
    to_stage: Mapped[Stage] = relationship(foreign_keys=[to_stage_id], lazy="joined")


class EtaHistory(TenantScoped, Base):
    """One change of a claim's ETA (``old_eta`` → ``new_eta``), with the reason, who and when (``at``)."""

    __tablename__ = "eta_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    old_eta: Mapped[date | None] = mapped_column(Date, nullable=True)
    new_eta: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
