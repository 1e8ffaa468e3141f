"""/api/v1/shop, /shops, /group: the current shop, its features and settings; group-admin views."""
from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from bayline import settings_registry
from bayline.auth.context import staff_shops
from bayline.auth.permissions import require
from bayline.claims import service as claims_service
from bayline.claims.models import Claim
from bayline.db import get_session
from bayline.errors import Refused
from bayline.events import commit
from bayline.tenancy import tenant_scope
from bayline.tenants import provisioning
from bayline.tenants.entitlements import active_features, entitled_features
from bayline.tenants.models import Group, Shop

from .schemas import (
    ClaimQuerySchema,
    ClaimSchema,
    FeaturesSchema,
    GroupSchema,
    SettingsSchema,
    ShopPatchSchema,
    ShopSchema,
)

blp = Blueprint("api_shops", __name__, description="Shops, plans, settings and group views")


@blp.route("/shop")
class CurrentShop(MethodView):
    @require("claims.read")
    @blp.response(200, ShopSchema)
    def get(self) -> Shop:
        """The shop this request acts for."""
        return g.principal.shop

    @require("settings.manage")
    @blp.arguments(ShopPatchSchema)
    @blp.response(200, ShopSchema)
    def patch(self, data: dict[str, Any]) -> Shop:
        """Edit the location's name, contact details, hours and time zone."""
        shop = provisioning.update_profile(g.principal.shop, data)
        commit()
        return shop


@blp.route("/shop/features")
class ShopFeatures(MethodView):
    @require("claims.read")
    @blp.response(200, FeaturesSchema)
    def get(self) -> dict[str, Any]:
        """The plan, what it entitles and what is active now."""
        shop = g.principal.shop
        return {"plan": shop.plan_key, "entitled": sorted(entitled_features(shop)),
                "active": sorted(active_features(shop))}


def masked_settings(shop_id: int) -> dict[str, Any]:
    values = settings_registry.get_all(shop_id)
    defs = settings_registry.definitions()
    return {k: ("••••" if defs[k].secret and v else v) for k, v in values.items()}


@blp.route("/shop/settings")
class ShopSettings(MethodView):
    @require("claims.read")
    @blp.response(200, description="Setting key → value")
    def get(self) -> dict[str, Any]:
        """Every setting of this shop (secrets masked)."""
        return masked_settings(g.principal.shop.id)

    @require("settings.manage")
    @blp.arguments(SettingsSchema)
    @blp.response(200, description="Setting key → value")
    def patch(self, data: dict[str, Any]) -> dict[str, Any]:
        """Change settings; each is validated against its registered definition."""
        role = None if g.principal.can("*") else g.principal.role
        settings_registry.set_values(g.principal.shop.id, data, role)
        commit()
        return masked_settings(g.principal.shop.id)


@blp.route("/shops")
class MyShops(MethodView):
    @blp.response(200, ShopSchema(many=True))
    def get(self) -> list[Shop]:
        """Shops the logged-in staff user may switch to (an API key sees its own shop)."""
        principal = g.get("principal")
        if principal is None:
            raise Refused(401, "unauthorized", "Log in or send an API key.")
        if principal.user is None:
            return [principal.shop]
        return [shop for shop, _ in staff_shops(principal.user)]


def require_group_admin() -> tuple[Group, list[int]]:
    principal = g.get("principal")
    if principal is None:
        raise Refused(401, "unauthorized", "Log in or send an API key.")
    if principal.role != "group_admin" and not (principal.user and principal.user.is_platform_admin):
        raise Refused(403, "permission_denied", "Only group admins see across locations.")
    group = get_session().get(Group, principal.shop.group_id)
    return group, [s.id for s in group.shops]


@blp.route("/group")
class CurrentGroup(MethodView):
    @blp.response(200, GroupSchema)
    def get(self) -> Group:
        """The group of the current shop with all its locations (group admins)."""
        group, _ = require_group_admin()
        return group


@blp.route("/group/claims")
class GroupClaims(MethodView):
    @blp.arguments(ClaimQuerySchema, location="query")
    @blp.response(200, ClaimSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[Claim]:
        """Claims across every location of the group: the explicit cross-shop path."""
        _, shop_ids = require_group_admin()
        with tenant_scope(shop_ids):
            found = claims_service.search(args.get("q"), args.get("stage_id"), args["include_archived"],
                                          pagination_parameters.page, pagination_parameters.page_size,
                                          args.get("updated_since"))
        pagination_parameters.item_count = found.total
        return found.claims
