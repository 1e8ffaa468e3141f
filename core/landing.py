"""A shop's public landing page (``/p/<slug>``, drawn by a landing plugin such as branding) and what
other plugins put on it, without importing each other: links (hook ``landing_links``: "Request an
estimate", review links) and a shared referral code (hook ``landing_referral``: ``/p/<slug>?ref=CODE``
lands on the referral page of the plugin that knows the code).

Both hooks are asked of the plugins active for ``shop`` (the request's hooks when ``shop`` is the
request's shop, as inside ``for_shop``; else the hook subset of its active features).
"""
from __future__ import annotations

import re
from typing import Any

from flask import current_app, g, has_request_context

from bayline.plugins.calling import call_each, collect
from bayline.plugins.types import LANDING_KINDS, LandingLink
from bayline.tenants.models import Shop

CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _hooks(shop: Shop) -> Any:
    if has_request_context() and g.get("shop") is shop and g.get("hooks") is not None:
        return g.hooks
    from bayline.tenants.entitlements import active_features

    return current_app.extensions["bayline.plugins"].hooks_for(active_features(shop))


def _safe_url(url: Any) -> bool:
    if not isinstance(url, str) or not url or any(c in url for c in "\r\n\t\\ "):
        return False
    if url.startswith("/"):
        return not url.startswith("//")
    return url.startswith("https://") and len(url) > len("https://")


def links(shop: Shop) -> list[LandingLink]:
    """The links the plugins active for ``shop`` put on its landing page, sorted by ``order`` then
    label; links whose ``url`` is neither a same-origin path nor ``https://`` are dropped, and so is a
    second link to the same ``url``. An unknown ``kind`` reads as ``link``."""
    hooks = _hooks(shop)
    seen: set[str] = set()
    out: list[LandingLink] = []
    for item in collect(hooks.landing_links, shop=shop):
        if not isinstance(item, LandingLink) or not item.label or not _safe_url(item.url) or item.url in seen:
            continue
        seen.add(item.url)
        if item.kind not in LANDING_KINDS:
            item = LandingLink(item.label, item.url, "link", item.order)
        out.append(item)
    return sorted(out, key=lambda link: (link.order, link.label))


def referral(shop: Shop, code: str) -> str | None:
    """Where a landing page opened with ``?ref=<code>`` sends the visitor: the first same-origin path
    an active plugin returns for the code, or None (unknown code, malformed code, no plugin: the page
    renders as without ``ref``)."""
    code = (code or "").strip()
    if not CODE_RE.match(code):
        return None
    hooks = _hooks(shop)
    for answer in call_each(hooks.landing_referral, shop=shop, code=code):
        if isinstance(answer, str) and answer.startswith("/") and _safe_url(answer):
            return answer
    return None
