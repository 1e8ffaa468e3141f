"""Custom portal hosts per group or location (feature ``branding_host``).

``resolve(host)`` answers the core's ``resolve_host`` hook: a group host serves every live location
of the group with the feature active, a location host only that location. ``host_of(shop)`` answers
``tenant_host``: the location's own host, else its group's, so every portal link, QR code, text and
mail issued for the shop carries it. The operator points the name at the deployment and terminates
TLS for it (README, "Custom portal hosts"); the app refuses every other unknown host.
"""
from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import select

from bayline.plugin_api import Refused, Shop, TenantHost, get_session, is_feature_active, unscoped

from .models import BrandingHost

FEATURE = "branding_host"
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalise(host: str) -> str:
    """A host name as stored: lower case, no scheme, port, path or trailing dot; ValueError otherwise."""
    text = (host or "").strip().lower().rstrip(".")
    if "://" in text or "/" in text or ":" in text or not text:
        raise ValueError("a host name only, like status.example-group.com (no https://, port or path)")
    labels = text.split(".")
    if len(text) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels) \
            or labels[-1].isdigit():
        raise ValueError("a host name only, like status.example-group.com")
    return text


def resolve(host: str) -> TenantHost | None:
    session = get_session()
    with unscoped(session):
        row = session.scalar(select(BrandingHost).where(BrandingHost.host == host))
        if row is None:
            return None
        stmt = select(Shop).where(Shop.group_id == row.group_id, Shop.archived_at.is_(None))
        if row.shop_id is not None:
            stmt = stmt.where(Shop.id == row.shop_id)
        shops = [shop for shop in session.scalars(stmt) if is_feature_active(shop, FEATURE)]
    if not shops:
        return None
    return TenantHost(row.host, frozenset(shop.id for shop in shops), "location" if row.shop_id else "group")


def host_of(shop: Shop) -> str | None:
    if not is_feature_active(shop, FEATURE):
        return None
    session = get_session()
    with unscoped(session):
        rows = list(session.scalars(select(BrandingHost).where(BrandingHost.group_id == shop.group_id)))
    own = [r for r in rows if r.shop_id == shop.id]
    group = [r for r in rows if r.shop_id is None]
    chosen = own or group
    return chosen[0].host if chosen else None


def hosts_of(shop: Shop) -> dict[str, str | None]:
    """The location's own host and its group's (for the console)."""
    session = get_session()
    with unscoped(session):
        rows = list(session.scalars(select(BrandingHost).where(BrandingHost.group_id == shop.group_id)))
    return {"shop": next((r.host for r in rows if r.shop_id == shop.id), None),
            "group": next((r.host for r in rows if r.shop_id is None), None)}


def set_host(shop: Shop, host: str | None, *, group: bool) -> None:
    """Give the location (or, ``group``, the whole group) a custom host; empty removes it."""
    if not is_feature_active(shop, FEATURE):
        raise Refused(403, "feature_not_in_plan", "Custom portal hosts come with the Enterprise plan.")
    session = get_session()
    with unscoped(session):
        current = session.scalar(select(BrandingHost).where(
            BrandingHost.group_id == shop.group_id,
            BrandingHost.shop_id.is_(None) if group else BrandingHost.shop_id == shop.id))
        if not (host or "").strip():
            if current is not None:
                session.delete(current)
                session.flush()
            return
        try:
            name = normalise(host or "")
        except ValueError as exc:
            raise Refused(422, "validation_error", "That host name cannot be used.",
                          errors={"json": {"host": [str(exc)]}}) from None
        if name in current_app.extensions["bayline.own_hosts"]:
            raise Refused(422, "validation_error", "That host name cannot be used.",
                          errors={"json": {"host": ["this is the deployment's own host"]}})
        taken = session.scalar(select(BrandingHost).where(BrandingHost.host == name))
        if taken is not None and taken is not current:
            raise Refused(409, "branding_host_taken", "That host name is already used.",
                          errors={"json": {"host": ["already used by another shop or group"]}})
        if current is None:
            current = BrandingHost(group_id=shop.group_id, shop_id=None if group else shop.id, host=name)
            session.add(current)
        current.host = name
        session.flush()
