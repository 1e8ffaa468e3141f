"""Custom customer hosts (``status.example-group.com``): which shops a request's ``Host`` serves.

The deployment's own hosts (``BAYLINE_PUBLIC_URL``'s and ``BAYLINE_TRUSTED_HOSTS``) serve everything,
as before. Any other host is asked of every installed plugin through the hook ``resolve_host``: a
host a plugin resolves (a :class:`~bayline.plugins.types.TenantHost`) serves only the customer
paths (portal ``/c/``, landing pages ``/p/`` and ``/g/``, static files, plugin public and landing
routes such as brand assets) and only for the shops it names: binding any other shop
(:func:`check_shop`, called by ``bind_shop``) is a 404, so a link of group A opened on group B's
host opens nothing. A host nobody resolves is a 404 where host checking is on (production, or
``BAYLINE_TRUSTED_HOSTS`` set); in development without configured hosts it serves as before.

Links are built the other way round: :func:`bayline.urls.tenant_base_url` asks ``tenant_host(shop)``.
TLS and the reverse proxy in front are the operator's (docs/operations.md, "Custom portal hosts").
"""
from __future__ import annotations

from typing import Any

from flask import Flask, abort, current_app, g, has_request_context, request

from bayline.plugins.calling import call_each
from bayline.plugins.types import TenantHost

CUSTOMER_PATHS = ("/c/", "/p/", "/g/", "/u/")
CUSTOMER_FILES = frozenset({"/robots.txt", "/favicon.ico"})


def request_host() -> str:
    """The request's host name, lower case, without the port (never trusted for building links)."""
    host = (request.environ.get("HTTP_HOST") or request.environ.get("SERVER_NAME") or "").strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def own_hosts(app: Flask) -> frozenset[str]:
    settings = app.extensions["bayline.settings"]
    public = settings.public_host.lower()
    public = public if public.startswith("[") else public.rsplit(":", 1)[0]
    return frozenset({public, *(h.lower() for h in settings.trusted_hosts or [])})


def resolve(host: str) -> TenantHost | None:
    """The first installed plugin's answer to ``resolve_host(host)``."""
    for answer in call_each(current_app.extensions["bayline.plugins"].hook.resolve_host, host=host):
        if isinstance(answer, TenantHost):
            return answer
    return None


def current_host() -> TenantHost | None:
    """The custom host this request came in on (None on the deployment's own hosts)."""
    return g.get("tenant_host")


def _customer_request() -> bool:
    path = request.path
    if path.startswith(CUSTOMER_PATHS) or path in CUSTOMER_FILES or request.endpoint == "static":
        return True
    blueprint = request.blueprint or ""
    return blueprint.startswith("plugin_") and blueprint.endswith(("_public", "_landing", "_portal"))


def check_request_host() -> None:
    """Before every request (first): bind the custom host, or refuse what it does not serve."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    host = request_host()
    if host in app.extensions["bayline.own_hosts"]:
        return
    # health and metrics (/-/...) are answered by the deployment's own hosts only, and never ask the
    # plugins (a database read per probe, failing while the database is the thing being probed)
    found = resolve(host) if host and not request.path.startswith("/-/") else None
    if found is None:
        if app.extensions["bayline.settings"].allowed_hosts is not None:
            abort(404)
        return
    g.tenant_host = found
    if not _customer_request():
        abort(404)


def check_shop(shop: Any) -> None:
    """A 404 when the request came in on a custom host that does not serve ``shop``."""
    found = g.get("tenant_host") if has_request_context() else None
    if found is not None and shop is not None and shop.id not in found.shop_ids:
        abort(404)


def allows(shop: Any) -> Any:
    """``shop`` when this request's host may name it (templates: whom to call), else None."""
    found = g.get("tenant_host")
    if shop is None or (found is not None and shop.id not in found.shop_ids):
        return None
    return shop


def init_hosts(app: Flask) -> None:
    """Host checking moves from Flask's static ``TRUSTED_HOSTS`` to :func:`check_request_host`,
    which also knows the hosts plugins resolve."""
    app.config["TRUSTED_HOSTS"] = None
    app.extensions["bayline.own_hosts"] = own_hosts(app)
    app.before_request(check_request_host)
    app.jinja_env.globals["host_allows"] = allows
