"""Absolute URLs for messages, mails and documents: always from ``BAYLINE_PUBLIC_URL``.

Never from the request: its ``Host`` header is the client's to choose, so a link built from it can
point anywhere (a password-reset link mailed to ``http://evil.example/reset/...``).
"""
from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from flask import current_app, has_request_context, request, url_for


def public_url(path: str = "/", shop: Any = None) -> str:
    """``path`` (starting with ``/``) under the deployment's public URL or, with ``shop``, under
    the shop's own customer host when a plugin gives it one (:func:`tenant_base_url`): customer
    links (portal, QR codes, texts, mails, payment return pages) pass the shop; staff links never."""
    base = tenant_base_url(shop) if shop is not None else \
        current_app.extensions["bayline.settings"].public_url.rstrip("/")
    return base + (path if path.startswith("/") else "/" + path)


def tenant_base_url(shop: Any) -> str:
    """The base URL of ``shop``'s customer links: ``BAYLINE_PUBLIC_URL``, or its scheme with the host
    the first active plugin answering ``tenant_host(shop)`` names (a custom portal host). ``shop``
    is a Shop or a shop id."""
    from bayline.plugins.calling import call_each
    from bayline.tenants.entitlements import active_features
    from bayline.tenants.models import Shop

    settings = current_app.extensions["bayline.settings"]
    base = settings.public_url.rstrip("/")
    if not isinstance(shop, Shop):
        from bayline.db import get_session
        from bayline.tenancy import unscoped

        session = get_session()
        with unscoped(session):
            shop = session.get(Shop, int(shop))
        if shop is None:
            return base
    hooks = current_app.extensions["bayline.plugins"].hooks_for(active_features(shop))
    for host in call_each(hooks.tenant_host, shop=shop):
        if isinstance(host, str) and host:
            return f"{urlsplit(base).scheme}://{host.lower()}"
    return base


def external_url_for(endpoint: str, shop: Any = None, **values: Any) -> str:
    """``url_for(endpoint, **values)`` as an absolute URL under ``BAYLINE_PUBLIC_URL`` (or, with
    ``shop``, the shop's customer host: :func:`public_url`); also outside a request (CLI, Celery)."""
    values.pop("_external", None)
    if has_request_context():
        return public_url(url_for(endpoint, **values), shop)
    settings = current_app.extensions["bayline.settings"]
    adapter = current_app.url_map.bind(settings.public_host or "localhost")
    return public_url(adapter.build(endpoint, values), shop)


def relative_location(location: str) -> str:
    """A redirect ``Location`` on this very host made relative (werkzeug builds slash and merge-slash
    redirects from the ``Host`` header); any other location is returned unchanged."""
    parts = urlsplit(location)
    if parts.netloc and parts.netloc == request.host:
        path = parts.path or "/"
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        return urlunsplit(("", "", path, parts.query, parts.fragment))
    return location


def _unsafe_characters(text: str) -> bool:
    return "\\" in text or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


def safe_redirect_target(target: str | None, default: str, prefix: str = "/") -> str:
    """``target`` when it is a path on this site under ``prefix``, else ``default``: the one check for
    every redirect taken from a form or the query string (``next``, ``back``).

    Refused: any scheme or host (``https://x``, ``//x``), backslashes and control characters in the
    raw or percent-decoded text (browsers drop tabs and newlines, so ``/\\t/evil.example`` is
    ``//evil.example``; CR/LF would split the header), and anything outside ``prefix``."""
    if not target or len(target) > 2_000:
        return default
    decoded = unquote(target)
    if _unsafe_characters(target) or _unsafe_characters(decoded):
        return default
    parts = urlsplit(target)
    path = parts.path
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//") \
            or decoded.startswith("//") or not path.startswith(prefix):
        return default
    return urlunsplit(("", "", path, parts.query, parts.fragment))
