"""Bayline branding: the shop's (or its group's) logo, design tokens and welcome line on the portal,
the e-sign pages, customer mails and printed documents; custom portal hosts; public landing pages
``/p/<shop-slug>`` and ``/g/<group-slug>`` with "Find my repair".

One name everywhere: distribution ``bayline-branding`` · package ``bayline_branding`` · entry point
``branding`` · features ``branding`` (Professional, Elite, Enterprise), ``group_branding`` (group
brand with per-field override flags), ``branding_host`` (custom host) and ``branding_css`` (custom
CSS), the last three on Enterprise · blueprints ``plugin_branding`` (``/plugins/branding``),
``plugin_branding_public`` (brand assets), ``plugin_branding_landing`` (``/p/``, ``/g/``),
``plugin_branding_api`` (``/api/v1/plugins/branding``) · Alembic branch ``branding`` · tables
``branding_*`` · settings ``branding.*``.
"""
from __future__ import annotations

from typing import Any

from flask import Flask

from bayline.plugin_api import (
    Brand,
    Feature,
    LandingLink,
    MenuItem,
    Permission,
    Shop,
    ShopArchiveRules,
    TenantHost,
    User,
    hookimpl,
)

from . import (
    models,  # noqa: F401  (register the tables on the shared metadata)
    tasks,  # noqa: F401  (register the Find my repair task)
)

__version__ = "0.1.0"
NAME = "branding"
_PAID = ("professional", "elite", "enterprise")
_ENTERPRISE = ("enterprise",)


@hookimpl
def register_features() -> list[Feature]:
    return [
        Feature(NAME, "Branding", "Your logo, colours and contact on the customer page, mails and printed documents; "
                "the public landing page with Find my repair", default_tiers=_PAID),
        Feature("group_branding", "Group brand", "One brand across the group's locations; each location keeps "
                "its contact and hours and overrides only what the group allows", default_tiers=_ENTERPRISE),
        Feature("branding_host", "Custom portal host", "Customer links on your own host name "
                "(status.example-group.com)", default_tiers=_ENTERPRISE),
        Feature("branding_css", "Custom portal CSS", "Extra style rules for the customer page (checked and "
                "scoped on save)", default_tiers=_ENTERPRISE),
    ]


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission("branding.manage", ("owner", "admin"), (), "Change the shop's brand, landing page and host"),
            Permission("branding.group", (), (), "Change the group brand (group admins)")]


@hookimpl
def register_blueprints(app: Flask) -> list[Any]:
    from .api import api
    from .views import staff

    return [staff, api]


@hookimpl
def register_public_blueprints(app: Flask) -> list[Any]:
    from .landing import bp as landing
    from .views import public

    return [public, landing]


@hookimpl
def menu_items(user: User, shop: Shop) -> list[MenuItem]:
    return [MenuItem("Brand", "/plugins/branding/", order=80)]


@hookimpl
def branding(shop: Shop) -> Brand | None:
    from . import service

    return service.brand(shop)


@hookimpl
def landing_links(shop: Shop) -> list[LandingLink]:
    from . import landing

    return landing.own_links(shop)


@hookimpl
def resolve_host(host: str) -> TenantHost | None:
    from . import hosts

    return hosts.resolve(host)


@hookimpl
def tenant_host(shop: Shop) -> str | None:
    from . import hosts

    return hosts.host_of(shop)


@hookimpl
def shop_archive_rules() -> ShopArchiveRules:
    # hosts and landing slugs are unique across the deployment: a shop moved elsewhere sets them again
    return ShopArchiveRules(skip_tables=("branding_hosts", "branding_slugs"),
                            storage_keys=("branding_profiles.logo_key", "branding_profiles.favicon_key"))
