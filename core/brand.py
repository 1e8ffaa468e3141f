"""The look of a shop's customer pages, mails and printed documents: the ``branding`` hook.

Without a plugin answering for the shop (a Starter shop, or the branding plugin not installed) the
answer is None and every caller draws the neutral look: the shop's name and phone, the core's
colours, "Powered by Bayline". The hook is asked of the plugins active for the shop, so a plan
change shows on the shop's next page, mail or print in every process (the active features are
re-read per entitlements version, see :mod:`bayline.tenants.entitlements`).
"""
from __future__ import annotations

from typing import Any

from flask import current_app, g, has_request_context

from bayline.plugins.calling import call_each
from bayline.plugins.types import Brand
from bayline.tenants.models import Shop

_UNSET = object()


def brand_for(shop: Shop | None, hooks: Any = None) -> Brand | None:
    """The shop's :class:`Brand` from the first active plugin answering ``branding``, or None.
    ``hooks`` defaults to the request's (``g.hooks``) when ``shop`` is the request's shop, else
    the hook subset of the shop's active features."""
    if shop is None:
        return None
    if hooks is None:
        if has_request_context() and g.get("shop") is shop and g.get("hooks") is not None:
            hooks = g.hooks
        else:
            from bayline.tenants.entitlements import active_features

            hooks = current_app.extensions["bayline.plugins"].hooks_for(active_features(shop))
    for answer in call_each(hooks.branding, shop=shop):
        if isinstance(answer, Brand):
            return answer
    return None


def current_brand() -> Brand | None:
    """The brand of the request's shop (``g.shop``), asked once per request."""
    if not has_request_context():
        return None
    shop = g.get("shop")
    cached = g.get("_bayline_brand", _UNSET)
    if cached is _UNSET or cached[0] != (shop.id if shop is not None else None):  # type: ignore[index]
        cached = (shop.id if shop is not None else None, brand_for(shop))
        g._bayline_brand = cached
    return cached[1]  # type: ignore[index]


def powered_by(brand: Brand | None) -> bool:
    """Whether "Powered by Bayline" shows: always without a brand (Starter), else the brand says."""
    return brand is None or brand.powered_by
