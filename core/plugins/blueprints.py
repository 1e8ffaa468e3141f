"""Blueprints for plugin routes, named and mounted by the one-name rules.

=========================  ===========================  ==========================  ============
factory                    blueprint name               mounted at                  plan-gated
=========================  ===========================  ==========================  ============
``staff_blueprint(x)``     ``plugin_x``                 ``/plugins/x``              yes
``portal_blueprint(x)``    ``plugin_x_portal``          ``/c/s/x``                  yes (404)
``public_blueprint(x)``    ``plugin_x_public``          ``/plugins/x``              no
``api_blueprint(x)``       ``plugin_x_api``             ``/api/v1/plugins/x``       yes
``landing_blueprint(x)``   ``plugin_x_landing``         ``/p/...``, ``/g/...``      no
=========================  ===========================  ==========================  ============

Return staff, portal and API blueprints from ``register_blueprints`` and public ones from
``register_public_blueprints``. API blueprints (flask-smorest) join ``/api/v1/openapi.json`` and
Swagger UI with the core's error shape and authentication (API keys or a staff session).
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import flask_smorest
from flask import Blueprint

from bayline.extensions import csrf, limiter
from bayline.portal.current import current_portal_claim

F = TypeVar("F", bound=Callable[..., Any])
API_PREFIX = "/api/v1/plugins"


def _caller(depth: int = 2) -> str:
    return str(sys._getframe(depth).f_globals.get("__name__", "bayline_plugin"))


def staff_blueprint(name: str, import_name: str | None = None, **options: Any) -> Blueprint:
    """Staff routes of plugin ``name`` under ``/plugins/<name>`` (templates from the plugin's
    ``templates/`` folder). Gate each view with ``@require(permission)``."""
    options.setdefault("template_folder", "templates")
    return Blueprint(f"plugin_{name}", import_name or _caller(), url_prefix=f"/plugins/{name}", **options)


def portal_blueprint(name: str, import_name: str | None = None, **options: Any) -> Blueprint:
    """Customer routes of plugin ``name`` under ``/c/s/<name>``: every view runs with the verified
    portal session's shop bound and tenant set (:func:`current_portal_claim` is its claim); no
    session, or the plugin not active for the shop, is the portal's friendly 404."""
    options.setdefault("template_folder", "templates")
    bp = Blueprint(f"plugin_{name}_portal", import_name or _caller(), url_prefix=f"/c/s/{name}", **options)

    @bp.before_request
    def _portal_session() -> None:
        current_portal_claim()

    return bp


def public_blueprint(name: str, import_name: str | None = None, *, csrf_protect: bool = True,
                     **options: Any) -> Blueprint:
    """Routes of plugin ``name`` that belong to no shop (provider webhooks, a public verification
    page) under ``/plugins/<name>``; not plan-gated, so each view authenticates its caller.
    ``csrf_protect=False`` exempts the blueprint from CSRF (for requests signed by a provider)."""
    options.setdefault("template_folder", "templates")
    bp = Blueprint(f"plugin_{name}_public", import_name or _caller(), url_prefix=f"/plugins/{name}", **options)
    if not csrf_protect:
        csrf.exempt(bp)
    return bp


LANDING_PATHS = ("/p/", "/g/")


def landing_blueprint(name: str, import_name: str | None = None, **options: Any) -> Blueprint:
    """Public landing pages of shops and groups: routes under ``/p/<shop slug>`` and
    ``/g/<group slug>`` only (``check_plugin`` reports any other), from ``register_public_blueprints``.
    Not plan-gated and indexable: each view finds the shop or group itself, checks its feature is
    active (``for_shop``, ``is_feature_active``) and answers 404 otherwise. Form posts need a CSRF token."""
    options.setdefault("template_folder", "templates")
    return Blueprint(f"plugin_{name}_landing", import_name or _caller(), **options)


class PluginApiBlueprint(flask_smorest.Blueprint):
    """A flask-smorest blueprint of plugin resources under ``/api/v1/plugins/<name>``."""

    plugin_name: str = ""


def api_blueprint(name: str, import_name: str | None = None, *, description: str = "") -> PluginApiBlueprint:
    """REST resources of plugin ``name`` under ``/api/v1/plugins/<name>`` (flask-smorest: use
    ``@bp.route`` with ``MethodView``, ``@bp.arguments``, ``@bp.response``). Listed in the OpenAPI
    document and Swagger UI; errors have the core's shape; callers authenticate with an API key
    or a staff session, and ``@require(permission)`` checks them."""
    bp = PluginApiBlueprint(f"plugin_{name}_api", import_name or _caller(), url_prefix=f"{API_PREFIX}/{name}",
                            description=description or f"Plugin {name}")
    bp.plugin_name = name
    return bp


def rate_limit(limit: str, *, methods: list[str] | None = None, key: Callable[[], str] | None = None
               ) -> Callable[[F], F]:
    """View decorator: at most ``limit`` requests (``"20/minute"``) per client address (or per
    ``key()``), optionally only for ``methods``; over the limit the caller gets 429 ``rate_limited``."""
    decorator: Callable[[F], F] = limiter.limit(limit, methods=methods, key_func=key)
    return decorator
