"""Wire the plugin registry into the app: registration hooks, blueprints, per-request gating."""
from __future__ import annotations

import logging
from typing import Any

import flask_smorest
from flask import Flask, abort, g, request

from bayline.config import Settings

from .manager import PluginRegistry
from .types import Feature, SettingDef

log = logging.getLogger(__name__)

# Features the core itself provides (no plugin behind them), so plans can list them.
CORE_FEATURES = [
    Feature("portal", "Customer portal", "Token QR portal with live timeline"),
    Feature("messages", "Portal message thread", "Two-way messages on the portal"),
]


class _Registry(PluginRegistry):
    def finish(self, app: Flask) -> None:
        """Mount blueprints and commands of every working plugin, then announce the app.

        flask-smorest blueprints (``plugin_api.api_blueprint``) are registered with the core's
        ``Api``, so their resources appear in ``/api/v1/openapi.json``.

        Blueprints from ``register_blueprints`` are gated by the plugin's feature; those from
        ``register_public_blueprints`` are not (their views authenticate the caller themselves)."""
        blueprint_features: dict[str, str] = app.extensions["bayline.blueprint_features"]
        plugin_blueprints: dict[str, list[Any]] = app.extensions["bayline.plugin_blueprints"]
        for info in self.working:
            plugin = self.pm.get_plugin(info.name)
            try:
                for hook, gated in (("register_blueprints", True), ("register_public_blueprints", False)):
                    for blueprints in self.hook_of(hook, info.name)(app=app):
                        for bp in blueprints or []:
                            if isinstance(bp, flask_smorest.Blueprint):  # joins /api/v1 and its OpenAPI
                                app.extensions["bayline.api"].register_blueprint(bp)
                            else:
                                app.register_blueprint(bp)
                            plugin_blueprints.setdefault(info.name, []).append(bp)
                            if gated and not info.core:
                                blueprint_features[bp.name] = info.name
                self.hook_of("register_commands", info.name)(cli=app.cli)
            except Exception:
                log.exception("plugin %s failed to register its routes; marking it broken", info.name)
                self.unregister(info.name)
                self._mark_broken(info.name, plugin, "register_blueprints failed", None)
        self.pm.hook.app_configured.call_historic(kwargs={"app": app})


def init_plugins(app: Flask, settings: Settings, extra: list[tuple[str, object]]) -> PluginRegistry:
    registry = _Registry(allow=settings.plugins_allow, deny=settings.plugins_deny)
    from bayline import default_plugins

    for name, module in default_plugins.CORE_PLUGINS:
        registry.register(module, name, core=True)
    registry.load_entry_points()
    for name, module in extra:
        registry.register(module, name)
    if registry.plugins and not settings.production:
        broken = [p.name for p in registry.plugins.values() if p.state == "broken"]
        if broken:
            log.warning("broken plugins: %s", ", ".join(broken))
    app.extensions["bayline.plugins"] = registry
    app.extensions["bayline.blueprint_features"] = {}
    app.extensions["bayline.plugin_blueprints"] = {}
    app.extensions["bayline.shop_resolvers"] = []
    _collect_registrations(app, registry)
    return registry


def _collect_registrations(app: Flask, registry: PluginRegistry) -> None:
    from bayline.auth.roles import CORE_PERMISSIONS
    from bayline.events import CORE_EVENT_TYPES
    from bayline.settings_registry import CORE_SETTINGS

    features: dict[str, Feature] = {f.key: f for f in CORE_FEATURES}
    for feature in registry.call_collect(registry.hook.register_features()):
        features[feature.key] = feature
    permissions: dict[str, list[str]] = {k: list(v) for k, v in CORE_PERMISSIONS.items()}
    for table in registry.hook.register_permissions():
        for perm, roles in (table or {}).items():
            permissions.setdefault(perm, [])
            permissions[perm] = sorted(set(permissions[perm]) | set(roles))
    event_types = set(CORE_EVENT_TYPES) | set(registry.call_collect(registry.hook.register_event_types()))
    settings: dict[str, SettingDef] = {d.key: d for d in CORE_SETTINGS}
    for defn in registry.call_collect(registry.hook.register_tenant_settings()):
        settings[defn.key] = defn
    app.extensions["bayline.features"] = features
    app.extensions["bayline.permissions"] = permissions
    app.extensions["bayline.event_types"] = frozenset(event_types)
    app.extensions["bayline.settings_defs"] = settings


def bind_shop(shop: Any) -> None:
    """Make ``shop`` the request's shop: its active features and the matching hook subset."""
    from flask import current_app

    from bayline.tenants.entitlements import active_features

    g.shop = shop
    g.features = active_features(shop)
    g.hooks = current_app.extensions["bayline.plugins"].hooks_for(g.features)


def gate_plugin_blueprint() -> None:
    """404 on the portal, 403 ``feature_not_in_plan`` elsewhere, for an inactive plugin's routes."""
    from flask import current_app

    from bayline.errors import Refused

    feature = current_app.extensions["bayline.blueprint_features"].get(request.blueprint or "")
    if feature is None:
        return
    if feature in g.get("features", frozenset()):
        return
    if request.path.startswith("/c/"):
        abort(404)
    if g.get("shop") is None:
        raise Refused(401, "unauthorized", "Log in or send an API key.")
    raise Refused(403, "feature_not_in_plan", f"The {feature!r} feature is not on this shop's plan.")
