"""Server-rendered pages: staff login and console (the customer portal joins here)."""

from __future__ import annotations

if __name__ != "bayline.web":  # the source folder imported by its folder name: a second copy of the models
    raise ImportError(f"{__name__!r} is the source folder web/ of the package 'bayline.web' (setup.cfg maps "
                      "it): import bayline.web, never the folder by its own name")

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, before_render_template, g, redirect, url_for
from flask_wtf.csrf import generate_csrf
from jinja2 import Template
from markupsafe import Markup

from bayline.phones import pretty
from bayline.plugins.calling import call_each, collect
from bayline.plugins.types import MenuItem

CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
               "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
"""Staff console, login, error and verify pages: scripts from this origin only, no framing."""
DOCS_CSP = ("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'")
"""The API docs page (Swagger UI starts from an inline script)."""
API_DOCS_PREFIX = "/api/v1/docs"
HSTS = "max-age=31536000; includeSubDomains"


def _shop_zone() -> ZoneInfo | None:
    shop = g.get("shop")
    try:
        return ZoneInfo(shop.timezone) if shop is not None and shop.timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def shop_time(value: datetime | None, fmt: str = "%b %d %H:%M") -> str:
    """Format an aware UTC datetime in the current shop's time zone (customers and staff read local time)."""
    if value is None:
        return ""
    zone = _shop_zone()
    return (value.astimezone(zone) if zone else value).strftime(fmt)


def local_time(value: datetime | None, fmt: str = "%b %d, %H:%M") -> Markup:
    """The console's one way to show a moment: shop time with its zone label (``Dec 02, 09:15 PST``),
    in a ``<time>`` element whose ``datetime`` is the ISO instant (machines and exports read that)."""
    if value is None:
        return Markup("")
    zone = _shop_zone()
    local = value.astimezone(zone) if zone else value
    label = local.strftime(fmt) + " " + (local.tzname() or "UTC")
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), label)


def relative_days(value: datetime | None) -> str:
    """``today``, ``1 d``, ``12 d``: how long ago, in whole days (the board's "2 d in stage")."""
    if value is None:
        return ""
    days = (datetime.now(value.tzinfo) - value).days
    return "today" if days <= 0 else f"{days} d"


def nav_items() -> list[MenuItem]:
    """The staff console's navigation: ``menu_items`` of the core's console plugin and the active plugins."""
    hooks, principal = g.get("hooks"), g.get("principal")
    if hooks is None or principal is None or principal.user is None:
        return []
    items = collect(hooks.menu_items, user=principal.user, shop=g.shop)
    return sorted(items, key=lambda item: (item.order, item.label))


def _extra_template_vars(sender: Flask, template: Template, context: dict[str, Any], **_: Any) -> None:
    """``extra_template_vars`` of the active plugins, called with the name of the template being rendered.
    The view's own variables win over a plugin's of the same name."""
    hooks = g.get("hooks")
    if hooks is None:
        return
    for part in call_each(hooks.extra_template_vars, template_name=template.name or ""):
        for key, value in dict(part).items():
            context.setdefault(key, value)


def init_web(app: Flask) -> None:
    from .admin import bp as admin_bp
    from .console import bp as console_bp
    from .introspection import bp as introspection_bp
    from .outbox_console import bp as outbox_bp
    from .platform import bp as platform_bp
    from .platform import group_bp as group_plans_bp
    from .shop_settings import bp as settings_bp
    from .staff_auth import bp as auth_bp
    from .unsubscribe import bp as unsubscribe_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(introspection_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(outbox_bp)
    app.register_blueprint(unsubscribe_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(platform_bp)
    app.register_blueprint(group_plans_bp)
    from .portal import init_portal

    init_portal(app)
    app.register_blueprint(settings_bp)
    app.jinja_env.filters["phone"] = pretty
    app.jinja_env.filters["shoptime"] = shop_time
    app.jinja_env.filters["local"] = local_time
    app.jinja_env.filters["ago"] = relative_days
    app.jinja_env.globals["csrf_token"] = generate_csrf
    from bayline.brand import current_brand, powered_by

    app.jinja_env.globals["current_brand"] = current_brand  # hook ``branding``: portal and e-sign pages
    app.jinja_env.globals["powered_by"] = powered_by

    before_render_template.connect(_extra_template_vars, app)

    @app.context_processor
    def _template_vars() -> dict[str, Any]:
        principal = g.get("principal")

        def principal_shops() -> list[Any]:
            from bayline.auth.context import staff_shops

            return staff_shops(principal.user) if principal is not None and principal.user else []

        return {"principal": principal, "shop": g.get("shop"), "principal_shops": principal_shops,
                "nav_items": nav_items}

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("console.board"))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.after_request
    def _security_headers(response: Any) -> Any:
        from flask import request

        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":  # the portal and file responses set their own, stricter
            docs = request.path.startswith(API_DOCS_PREFIX)
            response.headers.setdefault("Content-Security-Policy", DOCS_CSP if docs else CONSOLE_CSP)
        if app.extensions["bayline.settings"].production:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
