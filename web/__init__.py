"""Server-rendered pages: staff login and console (the customer portal joins here)."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, g, redirect, url_for
from flask_wtf.csrf import generate_csrf

from bayline.phones import pretty


def shop_time(value: datetime | None, fmt: str = "%b %d %H:%M") -> str:
    """Format an aware UTC datetime in the current shop's time zone (customers and staff read local time)."""
    if value is None:
        return ""
    shop = g.get("shop")
    try:
        zone = ZoneInfo(shop.timezone) if shop is not None and shop.timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    return (value.astimezone(zone) if zone else value).strftime(fmt)


def init_web(app: Flask) -> None:
    from .admin import bp as admin_bp
    from .console import bp as console_bp
    from .introspection import bp as introspection_bp
    from .outbox_console import bp as outbox_bp
    from .shop_settings import bp as settings_bp
    from .staff_auth import bp as auth_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(introspection_bp)
    app.register_blueprint(console_bp)
    app.register_blueprint(outbox_bp)
    app.register_blueprint(admin_bp)
    from .portal import init_portal

    init_portal(app)
    app.register_blueprint(settings_bp)
    app.jinja_env.filters["phone"] = pretty
    app.jinja_env.filters["shoptime"] = shop_time
    app.jinja_env.globals["csrf_token"] = generate_csrf

    @app.context_processor
    def _template_vars() -> dict[str, Any]:
        hooks = g.get("hooks")
        extra: dict[str, Any] = {}
        if hooks is not None:
            for part in hooks.extra_template_vars(template_name=""):
                extra.update(part or {})
        principal = g.get("principal")

        def principal_shops() -> list[Any]:
            from bayline.auth.context import staff_shops

            return staff_shops(principal.user) if principal is not None and principal.user else []

        return {"principal": principal, "shop": g.get("shop"), "principal_shops": principal_shops, **extra}

    @app.get("/")
    def index() -> Any:
        return redirect(url_for("console.board"))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
