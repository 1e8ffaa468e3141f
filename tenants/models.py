"""Groups, shops, staff memberships, plans, add-ons and per-shop settings."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bayline.db import Base, UTCDateTime, utcnow
from bayline.tenancy import TenantScoped

GROUP_KINDS = ("single", "enterprise")


class Group(Base):
    """An owner of one or many shops (an MSO for enterprise groups)."""

    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="single")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    shops: Mapped[list[Shop]] = relationship(back_populates="group", order_by="Shop.id")


class Plan(Base):
    """A plan tier; its features are rows of :class:`PlanFeature` (data, not code)."""

    __tablename__ = "plans"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    price_cents: Mapped[int | None] = mapped_column(Integer, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    features: Mapped[list[PlanFeature]] = relationship(cascade="all, delete-orphan")

    @property
    def feature_keys(self) -> set[str]:
        return {f.feature for f in self.features}


class PlanFeature(Base):
    __tablename__ = "plan_features"
    plan_key: Mapped[str] = mapped_column(ForeignKey("plans.key", ondelete="CASCADE"), primary_key=True)
    feature: Mapped[str] = mapped_column(String(60), primary_key=True)


class Shop(Base):
    """A location: the tenant of every tenant-owned row."""

    __tablename__ = "shops"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    address_line1: Mapped[str | None] = mapped_column(String(200), nullable=True)
    address_line2: Mapped[str | None] = mapped_column(String(200), nullable=True)
    city: Mapped[str | None] = mapped_column(String(100), nullable=True)
    region: Mapped[str | None] = mapped_column(String(100), nullable=True)
    postal_code: Mapped[str | None] = mapped_column(String(20), nullable=True)
    country: Mapped[str] = mapped_column(String(2), default="US")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    hours: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    closures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    """Dates the shop is closed besides its weekly hours: ``[{"date": "2026-12-25", "label": "Christmas"}]``
    (sorted; see ``bayline.tenants.hours``)."""
    plan_key: Mapped[str] = mapped_column(ForeignKey("plans.key"), default="starter")
    entitlements_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    group: Mapped[Group] = relationship(back_populates="shops")
    plan: Mapped[Plan] = relationship(lazy="joined")

    @property
    def address(self) -> str:
        parts = [self.address_line1, self.address_line2, self.city, " ".join(
            p for p in (self.region, self.postal_code) if p)]
        return ", ".join(p for p in parts if p)


class ShopAddon(TenantScoped, Base):
    """A single feature granted to a shop on top of its plan."""

    __tablename__ = "shop_addons"
    __table_args__ = (UniqueConstraint("tenant_id", "feature"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    feature: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ShopFeatureToggle(TenantScoped, Base):
    """A shop admin's on/off switch for a feature the shop is entitled to."""

    __tablename__ = "shop_feature_toggles"
    __table_args__ = (UniqueConstraint("tenant_id", "feature"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    feature: Mapped[str] = mapped_column(String(60))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class ShopSetting(TenantScoped, Base):
    """One per-shop setting value; definitions (schema, default, roles) are registered in code."""

    __tablename__ = "shop_settings"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120))
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Membership(TenantScoped, Base):
    """A staff user's role at one shop."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User", lazy="joined")


class GroupMembership(Base):
    """A group-level role (group admin) across every shop of a group."""

    __tablename__ = "group_memberships"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(40), default="group_admin")


class StageTemplate(Base):
    """A named, ordered stage set shops start from (seeded by migration)."""

    __tablename__ = "stage_templates"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)


class PlanDefaultApplied(Base):
    """A plugin's suggested plan tier (``Feature.default_tiers``) that the data step applied once.

    Remembered so that an operator who later removes the plan row keeps it removed."""

    __tablename__ = "plan_defaults_applied"
    plan_key: Mapped[str] = mapped_column(ForeignKey("plans.key", ondelete="CASCADE"), primary_key=True)
    feature: Mapped[str] = mapped_column(String(60), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanChange(Base):
    """Audit log of a shop's plan and add-on changes: who, when, from, to (``kind`` "plan": plan keys;
    "addon": ``before``/``after`` are the feature key or None, granted or revoked). Written in the
    changing transaction by :mod:`bayline.tenants.provisioning`."""

    __tablename__ = "plan_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    before: Mapped[str | None] = mapped_column(String(60), nullable=True)
    after: Mapped[str | None] = mapped_column(String(60), nullable=True)
    actor: Mapped[str] = mapped_column(String(300))
    """Who: a staff user's email, ``api key <name>``, or ``cli`` / ``system``."""
    actor_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
