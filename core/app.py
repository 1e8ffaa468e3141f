"""The application factory."""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, g, request
from werkzeug.routing import IntegerConverter

from . import forking
from .config import Settings, load_settings
from .db import MAX_ID, Database, get_session
from .tenancy import TenantSession

log = logging.getLogger("bayline")


class IdConverter(IntegerConverter):
    """``<int:...>`` capped at :data:`MAX_ID`: a larger id does not match the route (404), instead
    of reaching the database as an out-of-range value (a 500)."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed)


def create_app(config: Mapping[str, Any] | None = None, *, environ: Mapping[str, str] | None = None,
               plugins: list[tuple[str, object]] | None = None) -> Flask:
    """Build the app. ``config`` overrides settings (``database_url=...``) or Flask config
    (upper-case keys); ``plugins`` registers extra (name, module) pairs in-process."""
    config = dict(config or {})
    flask_config = {k: config.pop(k) for k in list(config) if k.isupper()}
    settings = load_settings(environ, **config)

    app = Flask("bayline.web", instance_path=str(settings.instance_dir.resolve()))
    app.url_map.converters["int"] = IdConverter  # before any route is added
    _configure(app, settings)
    from .config import flask_env_config

    app.config.update(flask_env_config(os.environ if environ is None else environ))
    app.config.update(flask_config)
    from .ops import init_ops

    init_ops(app, settings)  # request ids and timing first; /-/health, /-/ready, /-/metrics
    from .hosts import init_hosts

    init_hosts(app)  # the request's Host: the deployment's, a plugin's custom customer host, or a 404
    from .plugins.config import ENV_EXTENSION, plugin_environ

    app.extensions[ENV_EXTENSION] = plugin_environ(os.environ if environ is None else environ)

    database = Database(settings.database_url, TenantSession, pool_size=settings.db_pool_size,
                        max_overflow=settings.db_max_overflow, pool_recycle=settings.db_pool_recycle)
    database.init_app(app)
    _track_generations(app, settings, database)

    from .plugins.setup import init_plugins

    registry = init_plugins(app, settings, extra=plugins or [])

    from .auth.setup import init_auth

    init_auth(app, settings)

    from .api import init_api

    init_api(app)

    from bayline.web import init_web

    init_web(app)

    from .tasks import init_celery

    init_celery(app, settings)

    from .cli import init_cli

    init_cli(app)

    registry.finish(app)
    _request_hooks(app)
    forking.track(app)
    return app


def _configure(app: Flask, settings: Settings) -> None:
    app.extensions["bayline.settings"] = settings
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        SESSION_COOKIE_NAME="bayline_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.production,
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        TESTING=settings.env == "test",
        BAYLINE_RAISE_HOOK_ERRORS=settings.env == "test",
        BAYLINE_CHECK_EVENT_PAYLOADS=settings.env == "test",
        PREFERRED_URL_SCHEME="https" if settings.production else "http",
        TRUSTED_HOSTS=settings.allowed_hosts,
    )
    if settings.proxy_hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0)  # type: ignore[method-assign]


def _track_generations(app: Flask, settings: Settings, database: Database) -> None:
    from .generations import GenerationStore, LocalGenerations, RedisGenerations, track_writes

    store: GenerationStore = (RedisGenerations(settings.redis_url, database.url) if settings.redis_url
                              else LocalGenerations())
    app.extensions["bayline.generations"] = store
    track_writes(database.sessionmaker, store)


MAX_JSON_DEPTH = 64
"""Nesting deeper than this in a request body is refused (400): no API document nests that far."""


class _TooDeep(ValueError):
    pass


def _has_nul(value: Any, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether any string (key or value) in ``value`` holds NUL; an iterative walk, so a deeply nested
    body costs no stack. Raises :class:`_TooDeep` past ``max_depth`` levels."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
            continue
        if isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise _TooDeep
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def current_user_is_logged_in() -> bool:
    from flask_login import current_user

    return bool(current_user.is_authenticated)


def _request_hooks(app: Flask) -> None:
    from sqlalchemy.exc import DBAPIError

    from .api.errors import handle_database_error, handle_os_error
    from .auth.context import resolve_principal
    from .events import dispatch_committed
    from .extensions import csrf
    from .plugins.setup import bind_shop, gate_plugin_blueprint

    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(OSError, handle_os_error)

    @app.before_request
    def _refuse_nul() -> None:
        """PostgreSQL text cannot hold NUL: refuse it at the door (400), not in the database (500)."""
        if request.endpoint == "static":
            return
        from flask import abort

        try:
            body = request.get_json(silent=True) if request.is_json else None
        except RecursionError:
            body = None
            abort(400, f"JSON nests too deeply (at most {MAX_JSON_DEPTH} levels).")
        try:
            nul = _has_nul([request.path, list(request.args.values()), list(request.form.values()), body],
                           MAX_JSON_DEPTH + 2)
        except _TooDeep:
            abort(400, f"JSON nests too deeply (at most {MAX_JSON_DEPTH} levels).")
        if nul:
            abort(400, "Text must not contain NUL characters.")

    @app.before_request
    def _load_principal() -> None:
        if request.endpoint == "static" or request.blueprint == "ops":  # probes carry no credentials
            return
        # Portal pages are the customer's: staff credentials in the same browser never pick their shop.
        g.principal = None if request.path.startswith("/c/") else resolve_principal()
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            by_key = g.principal is not None and g.principal.api_key is not None
            # CSRF guards ambient (cookie) authority. It is skipped only for a request that did
            # authenticate with an API key (a bearer header that authenticates nothing changes
            # nothing), and for an anonymous API call, which holds no authority and gets its 401.
            anonymous_api = g.principal is None and request.path.startswith("/api/") \
                and not current_user_is_logged_in()
            if not by_key and not anonymous_api:
                # Views and blueprints marked with ``csrf.exempt`` (signed provider webhooks) are skipped.
                csrf.protect(apply_exemptions=True)
        shop = g.principal.shop if g.principal is not None else None
        for resolver in app.extensions["bayline.shop_resolvers"]:
            if shop is not None:
                break
            shop = resolver()
        if shop is not None:
            bind_shop(shop)
        gate_plugin_blueprint()

    @app.after_request
    def _relative_redirects(response: Any) -> Any:
        """Slash redirects carry the client's ``Host``: answer them relative, never reflect a host."""
        from .urls import relative_location

        if 300 <= response.status_code < 400 and response.location:
            response.location = relative_location(response.location)
        return response

    @app.after_request
    def _after(response: Any) -> Any:
        if "_bayline_session" in g:
            dispatch_committed(get_session())
        return response
