"""Wire the plugin registry into the app: registration hooks, blueprints, per-request gating."""
from __future__ import annotations

import logging
from typing import Any

import flask_smorest
from flask import Flask, abort, g, request

from bayline.auth.roles import API_KEY_SCOPES, GRANTABLE_SCOPES
from bayline.config import Settings

from .manager import PluginRegistry
from .types import EventType, Feature, Permission, SettingDef

log = logging.getLogger(__name__)

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
    """Features, permissions, event types and settings of the core's default plugins and every plugin."""
    features: dict[str, Feature] = {}
    for feature in registry.call_collect(registry.hook.register_features()):
        features[feature.key] = feature
    roles, grants = _permissions(registry.hook.register_permissions())
    event_types: dict[str, EventType] = {}
    for item in registry.call_collect(registry.hook.register_event_types()):
        if isinstance(item, str):  # a bare name: no payload shape, not live
            item = EventType(item, dict, "")
        event_types[item.name] = item
    settings: dict[str, SettingDef] = {}
    for defn in registry.call_collect(registry.hook.register_tenant_settings()):
        settings[defn.key] = defn
    app.extensions["bayline.features"] = features
    app.extensions["bayline.permissions"] = roles
    app.extensions["bayline.scope_grants"] = grants
    app.extensions["bayline.event_types"] = event_types
    app.extensions["bayline.settings_defs"] = settings


def _permissions(results: list[Any]) -> tuple[dict[str, list[str]], dict[str, set[str]]]:
    """Roles per permission and permissions per API-key scope, from ``register_permissions`` results
    (lists of :class:`Permission`, or the older ``{name: [roles]}`` tables, which no scope but admin grants)."""
    roles: dict[str, set[str]] = {}
    grants: dict[str, set[str]] = {scope: set() for scope in API_KEY_SCOPES}
    for result in results:
        items = ([Permission(k, tuple(v)) for k, v in result.items()] if isinstance(result, dict)
                 else list(result or []))
        for perm in items:
            roles.setdefault(perm.name, set()).update(perm.roles)
            grants["admin"].add(perm.name)
            for scope in perm.scopes:
                if scope in GRANTABLE_SCOPES:
                    grants[scope].add(perm.name)
                else:  # a plugin's typo must not take the app down; the permission stays admin-only
                    log.error("permission %s names unknown API-key scope %r; ignored", perm.name, scope)
    grants["write"] |= grants["read"]
    return {k: sorted(v) for k, v in roles.items()}, grants


def bind_shop(shop: Any) -> None:
    """Make ``shop`` the request's shop: its active features and the matching hook subset. On a
    custom customer host that does not serve ``shop`` this is a 404 (:mod:`bayline.hosts`)."""
    from flask import current_app

    from bayline.hosts import check_shop
    from bayline.tenants.entitlements import active_features

    check_shop(shop)
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
