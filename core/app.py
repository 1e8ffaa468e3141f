"""The application factory."""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, g, request
from werkzeug.routing import IntegerConverter

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
    app.config.update(flask_config)
    from .ops import init_ops

    init_ops(app, settings)  # request ids and timing first; /-/health, /-/ready, /-/metrics
    from .plugins.config import ENV_EXTENSION, plugin_environ

    app.extensions[ENV_EXTENSION] = plugin_environ(os.environ if environ is None else environ)

    database = Database(settings.database_url, TenantSession)
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
    )


def _track_generations(app: Flask, settings: Settings, database: Database) -> None:
    from .generations import GenerationStore, LocalGenerations, RedisGenerations, track_writes

    store: GenerationStore = (RedisGenerations(settings.redis_url, database.url) if settings.redis_url
                              else LocalGenerations())
    app.extensions["bayline.generations"] = store
    track_writes(database.sessionmaker, store)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _request_hooks(app: Flask) -> None:
    from sqlalchemy.exc import DBAPIError

    from .api.errors import handle_database_error, handle_os_error
    from .auth.context import bearer_secret, resolve_principal
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
        body = request.get_json(silent=True) if request.is_json else None
        if _has_nul([request.path, list(request.args.values()), list(request.form.values()), body]):
            from flask import abort

            abort(400, "Text must not contain NUL characters.")

    @app.before_request
    def _load_principal() -> None:
        if request.endpoint == "static" or request.blueprint == "ops":  # probes carry no credentials
            return
        if request.method not in ("GET", "HEAD", "OPTIONS") and bearer_secret() is None:
            # Views and blueprints marked with ``csrf.exempt`` (signed provider webhooks) are skipped.
            csrf.protect(apply_exemptions=True)
        # Portal pages are the customer's: staff credentials in the same browser never pick their shop.
        g.principal = None if request.path.startswith("/c/") else resolve_principal()
        shop = g.principal.shop if g.principal is not None else None
        for resolver in app.extensions["bayline.shop_resolvers"]:
            if shop is not None:
                break
            shop = resolver()
        if shop is not None:
            bind_shop(shop)
        gate_plugin_blueprint()

    @app.after_request
    def _after(response: Any) -> Any:
        if "_bayline_session" in g:
            dispatch_committed(get_session())
        return response
