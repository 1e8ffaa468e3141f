"""Landing page addresses: ``/p/<shop slug>`` and ``/g/<group slug>``, unique, changeable; an old
slug stays reserved and answers 301 to the current one.

Until a shop (or group) chooses one, its landing slug is its Bayline slug (``Shop.slug`` /
``Group.slug``); after a change that one redirects too.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from bayline.plugin_api import Group, Refused, Shop, get_session, unscoped

from .models import BrandingSlug

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")


def _target(kind: str, shop: Shop) -> dict[str, Any]:
    return {"group_id": shop.group_id, "shop_id": shop.id if kind == "p" else None}


def _rows(kind: str, shop: Shop) -> list[BrandingSlug]:
    session = get_session()
    with unscoped(session):
        stmt = select(BrandingSlug).where(BrandingSlug.kind == kind, BrandingSlug.group_id == shop.group_id)
        stmt = stmt.where(BrandingSlug.shop_id == shop.id if kind == "p" else BrandingSlug.shop_id.is_(None))
        return list(session.scalars(stmt))


def current(shop: Shop) -> dict[str, str]:
    """The shop's and its group's landing slugs now."""
    session = get_session()
    with unscoped(session):
        group = session.get(Group, shop.group_id)
    out = {}
    for kind, default in (("p", shop.slug), ("g", group.slug if group else "")):
        out[kind] = next((r.slug for r in _rows(kind, shop) if r.current), default)
    return out


def find(kind: str, slug: str) -> tuple[Shop | Group | None, str | None]:
    """(the shop or group, None) for its current slug; (it, its current slug) for an old one (301)."""
    session = get_session()
    with unscoped(session):
        row = session.scalar(select(BrandingSlug).where(BrandingSlug.kind == kind, BrandingSlug.slug == slug))
        if row is not None:
            target: Shop | Group | None = session.get(Shop, row.shop_id) if kind == "p" else \
                session.get(Group, row.group_id)
        else:
            model = Shop if kind == "p" else Group
            target = session.scalar(select(model).where(model.slug == slug))
        if target is None:
            return None, None
        shop_id = target.id if kind == "p" else None
        group_id = target.group_id if kind == "p" else target.id  # type: ignore[union-attr]
        live = session.scalar(select(BrandingSlug).where(
            BrandingSlug.kind == kind, BrandingSlug.group_id == group_id, BrandingSlug.current.is_(True),
            BrandingSlug.shop_id == shop_id if shop_id is not None else BrandingSlug.shop_id.is_(None)))
    if live is None:
        return (target, None) if row is None else (target, target.slug)
    return (target, None) if live.slug == slug else (target, live.slug)


def _taken(kind: str, slug: str, shop: Shop) -> bool:
    session = get_session()
    with unscoped(session):
        row = session.scalar(select(BrandingSlug).where(BrandingSlug.kind == kind, BrandingSlug.slug == slug))
        if row is not None:
            return not (row.group_id == shop.group_id and row.shop_id == (shop.id if kind == "p" else None))
        if kind == "p":
            other = session.scalar(select(Shop.id).where(Shop.slug == slug))
            return other is not None and other != shop.id
        other = session.scalar(select(Group.id).where(Group.slug == slug))
        return other is not None and other != shop.group_id


def change(shop: Shop, kind: str, slug: str) -> None:
    """Make ``slug`` the landing address (``kind`` "p": the shop's, "g": its group's); the previous
    one keeps answering with a 301. A slug in use (now or before) by another shop or group is refused."""
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise Refused(422, "validation_error", "That address cannot be used.",
                      errors={"json": {"slug": ["lowercase letters, digits and dashes (2 to 80), "
                                                "like harbor-collision"]}})
    if _taken(kind, slug, shop):
        raise Refused(409, "branding_slug_taken", "That address is already used.",
                      errors={"json": {"slug": [f"/{kind}/{slug} is already used by another "
                                                f"{'shop' if kind == 'p' else 'group'}"]}})
    session = get_session()
    rows = _rows(kind, shop)
    before = current(shop)[kind]
    for row in rows:
        row.current = row.slug == slug
    if not any(r.slug == slug for r in rows):
        session.add(BrandingSlug(kind=kind, slug=slug, current=True, **_target(kind, shop)))
    if before != slug and not any(r.slug == before for r in rows):
        session.add(BrandingSlug(kind=kind, slug=before, current=False, **_target(kind, shop)))
    session.flush()
