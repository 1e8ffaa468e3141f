"""Which features are active for a shop: plan ∪ add-ons, minus what the shop switched off.

The answer is cached per process keyed by ``(database, shop.id, shop.entitlements_version)``
(the database is part of the key because one process may serve several apps, e.g. tests);
every change bumps the version in the database, so all processes see it on
their next request without a restart.
"""
from __future__ import annotations

from collections import OrderedDict
from threading import Lock

from sqlalchemy import select

from bayline.db import get_session
from bayline.tenancy import tenant_scope

from .models import PlanFeature, Shop, ShopAddon, ShopFeatureToggle

_CACHE: OrderedDict[tuple[str, int, int], frozenset[str]] = OrderedDict()
_CACHE_MAX = 4096
_LOCK = Lock()


def entitled_features(shop: Shop) -> frozenset[str]:
    """Plan features plus add-ons (before the shop's own switches)."""
    session = get_session()
    plan = set(session.scalars(select(PlanFeature.feature).where(PlanFeature.plan_key == shop.plan_key)))
    with tenant_scope([shop.id]):
        addons = set(session.scalars(select(ShopAddon.feature)))
    return frozenset(plan | addons)


def active_features(shop: Shop) -> frozenset[str]:
    """Features active for ``shop`` now (cached per entitlements version)."""
    key = (str(get_session().get_bind().url), shop.id, shop.entitlements_version)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    entitled = entitled_features(shop)
    with tenant_scope([shop.id]):
        off = set(get_session().scalars(select(ShopFeatureToggle.feature).where(ShopFeatureToggle.enabled.is_(False))))
    result = frozenset(entitled - off)
    with _LOCK:
        _CACHE[key] = result
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
    return result


def is_feature_active(shop: Shop, feature: str) -> bool:
    """Is ``feature`` active for ``shop`` (entitled by plan or add-on, and not switched off)?"""
    return feature in active_features(shop)


def bump(shop: Shop) -> None:
    """Mark the shop's entitlements changed (every process re-reads on next request)."""
    shop.entitlements_version = (shop.entitlements_version or 0) + 1
