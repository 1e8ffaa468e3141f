"""Branding tables (prefix ``branding_``).

``branding_profiles`` is the shop's own brand (tenant-scoped, one per shop). The others are a
group's own rows (``group_id``, no ``tenant_id``): the group brand with its per-field override
flags, the custom hosts and the landing slugs (current and old ones, which redirect). Group rows
are always read with the group of the request's shop (``g.shop.group_id``), never a group named
by the request, or by host/slug lookups that resolve to a shop first.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bayline.plugin_api import Base, TenantScoped, UTCDateTime, utcnow

TOKEN_FIELDS = ("primary", "accent", "surface", "text_on_primary", "radius")
"""The design tokens: colours ``#rrggbb`` and the corner radius in px."""
BRAND_FIELDS = ("logo", "favicon", *TOKEN_FIELDS, "welcome", "sender_name", "review_url")
"""What a location inherits from its group brand, field by field (the group's ``overridable`` list
names those a location may set for itself)."""


class _BrandColumns:
    primary: Mapped[str | None] = mapped_column(String(7), nullable=True)
    accent: Mapped[str | None] = mapped_column(String(7), nullable=True)
    surface: Mapped[str | None] = mapped_column(String(7), nullable=True)
    text_on_primary: Mapped[str | None] = mapped_column(String(7), nullable=True)
    radius: Mapped[int | None] = mapped_column(Integer, nullable=True)
    logo_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    logo_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    favicon_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    favicon_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    welcome: Mapped[str | None] = mapped_column(String(300), nullable=True)
    sender_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    review_url: Mapped[str | None] = mapped_column(String(300), nullable=True)
    custom_css: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BrandingProfile(_BrandColumns, TenantScoped, Base):
    """A shop's own brand; on a group with a group brand only the fields it allows count."""

    __tablename__ = "branding_profiles"
    __table_args__ = (UniqueConstraint("tenant_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    place_id: Mapped[str | None] = mapped_column(String(200), nullable=True)  # Google Place ID (map, reviews)
    hide_powered_by: Mapped[bool] = mapped_column(Boolean, default=False)


class BrandingGroupBrand(_BrandColumns, Base):
    """A group's brand, inherited by every location; ``overridable`` lists the fields of
    :data:`BRAND_FIELDS` a location may set for itself (explicit, per field)."""

    __tablename__ = "branding_group_brands"
    __table_args__ = (UniqueConstraint("group_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    overridable: Mapped[list[Any]] = mapped_column(JSON, default=list)
    hide_powered_by: Mapped[bool] = mapped_column(Boolean, default=False)


class BrandingHost(Base):
    """A custom customer host of a group (``shop_id`` None: every location) or of one location."""

    __tablename__ = "branding_hosts"
    __table_args__ = (UniqueConstraint("host"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(253))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BrandingSlug(Base):
    """A landing slug: ``kind`` "p" (a shop, ``shop_id``) or "g" (a group). The ``current`` one is
    the page; old ones stay reserved and answer 301 to the current one."""

    __tablename__ = "branding_slugs"
    __table_args__ = (UniqueConstraint("kind", "slug"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(1))
    slug: Mapped[str] = mapped_column(String(80))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), nullable=True, index=True)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
