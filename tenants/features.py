"""Platform administration of features: grant and revoke add-ons, change a shop's plan, list what a
shop has, and apply the plan tiers plugins suggest (``Feature.default_tiers``).

Every change goes through ``provisioning`` (which bumps the entitlements version and fires
``entitlements_changed``); the caller commits.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import select

from bayline.db import get_session
from bayline.plugins.types import Feature
from bayline.tenancy import tenant_scope

from . import provisioning
from .entitlements import active_features, installed_features
from .models import Plan, PlanChange, PlanDefaultApplied, PlanFeature, Shop, ShopAddon, ShopFeatureToggle

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureState:
    """One feature as a shop has it. ``active`` is never true for a feature nothing installed provides."""

    key: str
    name: str
    installed: bool
    in_plan: bool
    addon: bool
    switched_off: bool

    @property
    def active(self) -> bool:
        return self.installed and (self.in_plan or self.addon) and not self.switched_off

    def as_dict(self) -> dict[str, object]:
        return {"key": self.key, "name": self.name, "installed": self.installed, "in_plan": self.in_plan,
                "addon": self.addon, "switched_off": self.switched_off, "active": self.active}


def registered() -> dict[str, Feature]:
    return current_app.extensions["bayline.features"]


def find_shop(slug: str) -> Shop:
    shop = get_session().scalar(select(Shop).where(Shop.slug == slug))
    if shop is None:
        raise ValidationError({"shop": [f"no shop {slug!r}"]})
    return shop


def states(shop: Shop) -> list[FeatureState]:
    """Every installed feature, and every feature the shop's plan or add-ons name (installed or not)."""
    session = get_session()
    plan = set(session.scalars(select(PlanFeature.feature).where(PlanFeature.plan_key == shop.plan_key)))
    with tenant_scope([shop.id]):
        addons = set(session.scalars(select(ShopAddon.feature)))
        off = set(session.scalars(select(ShopFeatureToggle.feature).where(ShopFeatureToggle.enabled.is_(False))))
    features = registered()
    keys = sorted(set(features) | plan | addons)
    return [FeatureState(key, features[key].name if key in features else key, key in features, key in plan,
                         key in addons, key in off) for key in keys]


def grant(shop: Shop, key: str) -> None:
    """Grant ``key`` to ``shop`` as an add-on (on top of its plan)."""
    if key not in installed_features():
        raise ValidationError({"feature": [f"no installed plugin provides the feature {key!r}"]})
    provisioning.set_addon(shop, key, True)


def revoke(shop: Shop, key: str) -> None:
    """Take the add-on ``key`` away from ``shop``. A feature its plan includes stays (change the plan,
    or let the shop switch it off)."""
    with tenant_scope([shop.id]):
        has_addon = get_session().scalar(select(ShopAddon.id).where(ShopAddon.feature == key)) is not None
    if not has_addon:
        in_plan = get_session().scalar(select(PlanFeature.feature).where(
            PlanFeature.plan_key == shop.plan_key, PlanFeature.feature == key)) is not None
        reason = (f"{key!r} comes with the {shop.plan_key!r} plan, not an add-on: change the plan instead"
                  if in_plan else f"{key!r} is not an add-on of this shop")
        raise ValidationError({"feature": [reason]})
    provisioning.set_addon(shop, key, False)


def change_plan(shop: Shop, plan_key: str) -> None:
    provisioning.change_plan(shop, plan_key)


def changes(shop: Shop, limit: int = 100) -> list[PlanChange]:
    """The shop's plan and add-on changes, newest first (the audit log)."""
    return list(get_session().scalars(select(PlanChange).where(PlanChange.shop_id == shop.id)
                                      .order_by(PlanChange.at.desc(), PlanChange.id.desc()).limit(limit)))


def plans() -> list[Plan]:
    return list(get_session().scalars(select(Plan).order_by(Plan.position)))


def apply_default_tiers() -> list[tuple[str, str]]:
    """Add the plan rows plugins suggest with ``Feature(..., default_tiers=...)``, once per (tier, feature):
    a row an operator removed afterwards stays removed. Unknown tiers are logged and skipped.
    Returns the ``(plan, feature)`` rows added; the caller commits."""
    session = get_session()
    known_plans = set(session.scalars(select(Plan.key)))
    applied = {(p, f) for p, f in session.execute(select(PlanDefaultApplied.plan_key, PlanDefaultApplied.feature))}
    existing = {(p, f) for p, f in session.execute(select(PlanFeature.plan_key, PlanFeature.feature))}
    todo: list[tuple[str, str]] = []
    for feature in registered().values():
        for tier in feature.default_tiers:
            if tier not in known_plans:
                log.warning("feature %s suggests unknown plan tier %r; skipped", feature.key, tier)
            elif (tier, feature.key) not in applied:
                todo.append((tier, feature.key))
    added = [row for row in todo if row not in existing]
    shops = list(session.scalars(select(Shop).where(Shop.plan_key.in_({t for t, _ in added})))) if added else []
    before = {shop.id: active_features(shop) for shop in shops}
    for tier, key in todo:
        if (tier, key) in added:
            session.add(PlanFeature(plan_key=tier, feature=key))
        session.add(PlanDefaultApplied(plan_key=tier, feature=key))
    session.flush()
    for shop in shops:
        provisioning.announce(shop, before[shop.id])
    return added
