"""Which features are active for a shop: plan ∪ add-ons, minus what the shop switched off, and only
features some installed plugin (or the core) registers: a plan row for a plugin that is not installed
grants nothing and is never shown as on.

The answer is cached per process keyed by ``(database, shop.id, shop.entitlements_version)``
(the database is part of the key because one process may serve several apps, e.g. tests);
every change bumps the version in the database, so all processes see it on
their next request without a restart.
"""
from __future__ import annotations

from collections import OrderedDict
from threading import Lock

from flask import current_app
from sqlalchemy import select

from bayline.db import get_session
from bayline.tenancy import tenant_scope

from .models import PlanFeature, Shop, ShopAddon, ShopFeatureToggle

_CACHE: OrderedDict[tuple[str, int, int], frozenset[str]] = OrderedDict()
_CACHE_MAX = 4096
_LOCK = Lock()


def installed_features() -> frozenset[str]:
    """Feature keys registered by the core's default plugins and the installed plugins."""
    return frozenset(current_app.extensions["bayline.features"])


def _granted(shop: Shop) -> frozenset[str]:
    """Plan rows plus add-on rows, installed or not."""
    session = get_session()
    plan = set(session.scalars(select(PlanFeature.feature).where(PlanFeature.plan_key == shop.plan_key)))
    with tenant_scope([shop.id]):
        addons = set(session.scalars(select(ShopAddon.feature)))
    return frozenset(plan | addons)


def entitled_features(shop: Shop) -> frozenset[str]:
    """Installed features the plan or an add-on grants (before the shop's own switches)."""
    return _granted(shop) & installed_features()


def active_features(shop: Shop) -> frozenset[str]:
    """Installed features active for ``shop`` now (the database part cached per entitlements version)."""
    key = (str(get_session().get_bind().url), shop.id, shop.entitlements_version)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
    if hit is None:
        with tenant_scope([shop.id]):
            off = set(get_session().scalars(
                select(ShopFeatureToggle.feature).where(ShopFeatureToggle.enabled.is_(False))))
        hit = frozenset(_granted(shop) - off)
        with _LOCK:
            _CACHE[key] = hit
            while len(_CACHE) > _CACHE_MAX:
                _CACHE.popitem(last=False)
    return hit & installed_features()


def is_feature_active(shop: Shop, feature: str) -> bool:
    """Is ``feature`` active for ``shop`` (entitled by plan or add-on, and not switched off)?"""
    return feature in active_features(shop)


def bump(shop: Shop) -> None:
    """Mark the shop's entitlements changed (every process re-reads on next request)."""
    shop.entitlements_version = (shop.entitlements_version or 0) + 1
