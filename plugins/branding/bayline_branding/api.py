"""``/api/v1/plugins/branding``: the shop's brand, its group's brand, logo uploads, host and slugs.

Errors have the core's shape; codes: ``validation_error`` (422, every field's error in
``errors.json``, e.g. a colour that is not one, a contrast below 4.5:1 with the measured ratio and a
suggestion, custom CSS with ``url(...)``), ``branding_slug_taken`` / ``branding_host_taken`` (409),
``unsupported_file_type`` (415), ``image_too_large`` / ``branding_unsafe_svg`` / ``unreadable_image``
(422), ``file_too_large`` (413), ``feature_not_in_plan`` and ``permission_denied`` (403).
"""
from __future__ import annotations

from typing import Any

from flask import g, request
from flask.views import MethodView
from marshmallow import INCLUDE, Schema, fields

from bayline.plugin_api import Refused, api_blueprint, commit, require

from . import hosts, landing_slugs, service
from .models import BRAND_FIELDS
from .views import is_group_admin

api = api_blueprint("branding", description="The shop's brand, group brand, custom host and landing address")


class BrandInSchema(Schema):
    class Meta:
        unknown = INCLUDE

    primary = fields.String(metadata={"description": "#rrggbb: buttons, links, the header"})
    accent = fields.String(metadata={"description": "#rrggbb: the current stage"})
    surface = fields.String(metadata={"description": "#rrggbb: cards"})
    text_on_primary = fields.String(metadata={"description": "#rrggbb: text on primary (4.5:1)"})
    radius = fields.Integer(metadata={"description": "corner radius, 0-24 px"})
    display_name = fields.String()
    welcome = fields.String()
    sender_name = fields.String()
    review_url = fields.String()
    place_id = fields.String()
    custom_css = fields.String(metadata={"description": "Enterprise: checked and scoped on save"})
    hide_powered_by = fields.Boolean()
    overridable = fields.List(fields.String(),
                              metadata={"description": f"group only: any of {', '.join(BRAND_FIELDS)}"})


class BrandOutSchema(Schema):
    name = fields.String()
    values = fields.Dict()
    sources = fields.Dict(metadata={"description": "per field: shop, group or default"})
    powered_by = fields.Boolean()
    stylesheet_url = fields.String()
    logo_url = fields.String(allow_none=True)
    host = fields.String(allow_none=True)
    slugs = fields.Dict()


class ValueSchema(Schema):
    value = fields.String(required=True)
    scope = fields.String(load_default="shop", metadata={"description": "shop, or group (group admins)"})


def _report() -> dict[str, Any]:
    shop = g.shop
    eff = service.effective(shop)
    brand = service.brand(shop)
    values = {k: (list(v) if isinstance(v, tuple) else v) for k, v in eff.values.items()}
    values["logo"] = brand.logo_url
    values["favicon"] = brand.favicon_url
    return {"name": eff.name, "values": values, "sources": eff.sources, "powered_by": eff.powered_by,
            "stylesheet_url": brand.stylesheet_url, "logo_url": brand.logo_url, "host": hosts.host_of(shop),
            "slugs": landing_slugs.current(shop)}


def _group_only(scope: str) -> bool:
    if scope == "group" and not is_group_admin():
        raise Refused(403, "permission_denied", "Only group admins change the group brand.")
    return scope == "group"


@api.route("/brand")
class BrandResource(MethodView):
    @require("branding.manage")
    @api.response(200, BrandOutSchema)
    def get(self) -> dict[str, Any]:
        """What the shop shows now, each field with where it comes from."""
        return _report()

    @require("branding.manage")
    @api.arguments(BrandInSchema)
    @api.response(200, BrandOutSchema)
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Change the shop's own brand (fields left out stay)."""
        service.save_profile(g.shop, data)
        commit()
        return _report()


@api.route("/group")
class GroupBrandResource(MethodView):
    @require("branding.group")
    @api.arguments(BrandInSchema)
    @api.response(200, BrandOutSchema)
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Change the group brand and which fields locations may override (group admins)."""
        _group_only("group")
        service.save_group(g.shop, data)
        commit()
        return _report()


@api.route("/images/<any(logo, favicon):field>")
class ImageResource(MethodView):
    @require("branding.manage")
    @api.response(200, BrandOutSchema)
    def post(self, field: str) -> dict[str, Any]:
        """Upload the logo or favicon (multipart ``file``; ``scope=group`` for the group brand): SVG is
        rasterised, everything re-encoded as PNG; a refused file stores nothing."""
        upload = request.files.get("file")
        if upload is None:
            raise Refused(422, "validation_error", "Send the image as the multipart field 'file'.",
                          errors={"json": {"file": ["missing"]}})
        service.set_image(g.shop, field, upload.read(), upload.filename,
                          group=_group_only(request.form.get("scope", "shop")))
        commit()
        return _report()


@api.route("/host")
class HostResource(MethodView):
    @require("branding.manage")
    @api.arguments(ValueSchema)
    @api.response(200, BrandOutSchema)
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Set (or, with an empty value, remove) the custom portal host of the shop or its group."""
        hosts.set_host(g.shop, data["value"], group=_group_only(data["scope"]))
        commit()
        return _report()


@api.route("/slug")
class SlugResource(MethodView):
    @require("branding.manage")
    @api.arguments(ValueSchema)
    @api.response(200, BrandOutSchema)
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Change the landing address (/p/<slug>, or with scope group /g/<slug>); the old one redirects."""
        landing_slugs.change(g.shop, "g" if _group_only(data["scope"]) else "p", data["value"])
        commit()
        return _report()
