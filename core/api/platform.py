"""/api/v1/platform: the platform operator grants and revokes add-ons and moves shops between plans.

Only platform admins reach it: staff users with ``is_platform_admin`` (console session) and keys with
the ``platform`` scope (issued by ``flask bayline rotate-api-key --scope platform``). Everyone else,
shop and group admins included, gets 403 ``permission_denied``.

/api/v1/group/shops/<slug>/...: the same for a group admin, on the locations of their own group only
(any other shop is a 404). Every change is in the audit log (``.../plan-changes``: who, when, from, to)
and takes effect on the shop's next request in every process (the entitlements version).
"""
from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from bayline.auth.permissions import require
from bayline.errors import Refused
from bayline.events import commit
from bayline.tenants import features
from bayline.tenants.models import Plan, Shop

blp = Blueprint("api_platform", __name__, description="Platform administration: plans and add-ons of any shop")

SLUG = "<string(maxlength=80):shop_slug>"


class FeatureStateSchema(Schema):
    key = fields.String()
    name = fields.String()
    installed = fields.Boolean(metadata={"description": "Some installed plugin (or the core) provides it"})
    in_plan = fields.Boolean()
    addon = fields.Boolean()
    switched_off = fields.Boolean(metadata={"description": "The shop switched it off"})
    active = fields.Boolean(metadata={"description": "Installed, granted and not switched off"})


class ShopFeaturesSchema(Schema):
    shop = fields.String()
    plan = fields.String()
    features = fields.List(fields.Nested(FeatureStateSchema))


class PlanChangeSchema(Schema):
    plan = fields.String(required=True, validate=validate.Length(min=1, max=40))


class PlanChangeRowSchema(Schema):
    kind = fields.String(metadata={"description": "plan, or addon"})
    before = fields.String(allow_none=True, metadata={"description": "plan key, or the add-on revoked"})
    after = fields.String(allow_none=True, metadata={"description": "plan key, or the add-on granted"})
    actor = fields.String(metadata={"description": "who: a staff email, api key <name>, cli"})
    at = fields.DateTime()


class PlanSchema(Schema):
    key = fields.String()
    name = fields.String()
    position = fields.Integer()
    features = fields.Method("_features")

    def _features(self, plan: Plan) -> list[str]:
        return sorted(plan.feature_keys)


def _shop(slug: str) -> Shop:
    try:
        return features.find_shop(slug)
    except ValidationError:
        raise Refused(404, "not_found", f"No shop {slug!r}.") from None


def _report(shop: Shop) -> dict[str, Any]:
    return {"shop": shop.slug, "plan": shop.plan_key, "features": [s.as_dict() for s in features.states(shop)]}


@blp.route("/platform/plans")
class Plans(MethodView):
    @require("platform.manage")
    @blp.response(200, PlanSchema(many=True))
    def get(self) -> list[Plan]:
        """The plan tiers and the features each includes."""
        return features.plans()


@blp.route(f"/platform/shops/{SLUG}/features")
class ShopFeatureList(MethodView):
    @require("platform.manage")
    @blp.response(200, ShopFeaturesSchema)
    def get(self, shop_slug: str) -> dict[str, Any]:
        """Every feature of the shop: from its plan, an add-on, switched off, installed, active."""
        return _report(_shop(shop_slug))


@blp.route(f"/platform/shops/{SLUG}/features/<string(maxlength=60):key>")
class ShopFeatureGrant(MethodView):
    @require("platform.manage")
    @blp.response(200, ShopFeaturesSchema)
    def put(self, shop_slug: str, key: str) -> dict[str, Any]:
        """Grant the feature as an add-on (422 ``validation_error`` when nothing installed provides it)."""
        shop = _shop(shop_slug)
        features.grant(shop, key)
        commit()
        return _report(shop)

    @require("platform.manage")
    @blp.response(200, ShopFeaturesSchema)
    def delete(self, shop_slug: str, key: str) -> dict[str, Any]:
        """Take the add-on away (422 when it is not an add-on: a plan feature stays with the plan)."""
        shop = _shop(shop_slug)
        features.revoke(shop, key)
        commit()
        return _report(shop)


@blp.route(f"/platform/shops/{SLUG}/plan")
class ShopPlan(MethodView):
    @require("platform.manage")
    @blp.arguments(PlanChangeSchema)
    @blp.response(200, ShopFeaturesSchema)
    def put(self, data: dict[str, Any], shop_slug: str) -> dict[str, Any]:
        """Move the shop to another plan tier (422 for an unknown tier)."""
        shop = _shop(shop_slug)
        features.change_plan(shop, data["plan"])
        commit()
        return _report(shop)


@blp.route(f"/platform/shops/{SLUG}/plan-changes")
class ShopPlanChanges(MethodView):
    @require("platform.manage")
    @blp.response(200, PlanChangeRowSchema(many=True))
    def get(self, shop_slug: str) -> list[Any]:
        """The shop's plan and add-on changes, newest first (who, when, from, to)."""
        return features.changes(_shop(shop_slug))


def _group_shop(slug: str) -> Shop:
    """A location of the caller's group, for a group admin (404 for any other shop)."""
    principal = g.get("principal")
    if principal is None:
        raise Refused(401, "unauthorized", "Log in or send an API key.")
    if principal.role != "group_admin":
        raise Refused(403, "permission_denied", "Only group admins manage the plans of their locations.")
    shop = _shop(slug)
    if shop.group_id != principal.shop.group_id:
        raise Refused(404, "not_found", f"No shop {slug!r}.")
    return shop


@blp.route(f"/group/shops/{SLUG}/features")
class GroupShopFeatures(MethodView):
    @blp.response(200, ShopFeaturesSchema)
    def get(self, shop_slug: str) -> dict[str, Any]:
        """A location's plan and features (group admins, their own group's locations)."""
        return _report(_group_shop(shop_slug))


@blp.route(f"/group/shops/{SLUG}/plan")
class GroupShopPlan(MethodView):
    @blp.arguments(PlanChangeSchema)
    @blp.response(200, ShopFeaturesSchema)
    def put(self, data: dict[str, Any], shop_slug: str) -> dict[str, Any]:
        """Move one of the group's locations to another plan tier (group admins)."""
        shop = _group_shop(shop_slug)
        features.change_plan(shop, data["plan"])
        commit()
        return _report(shop)


@blp.route(f"/group/shops/{SLUG}/plan-changes")
class GroupShopPlanChanges(MethodView):
    @blp.response(200, PlanChangeRowSchema(many=True))
    def get(self, shop_slug: str) -> list[Any]:
        """A location's plan and add-on changes, newest first (group admins)."""
        return features.changes(_group_shop(shop_slug))
