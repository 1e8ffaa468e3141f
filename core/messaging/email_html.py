"""The HTML part of a customer mail: the shop's brand (hook ``branding``) with every style inlined.

Mail clients drop ``<style>`` blocks and never load stylesheets, so the colours and radius are
written into ``style`` attributes, and the logo is an absolute URL under the shop's customer host.
Without a brand (Starter) the mail has the neutral look, the shop's name and phone and "Powered by
Bayline". An email channel adds it as the ``text/html`` alternative of the plain body:
``mime.add_alternative(outbox.email_html(item, body), subtype="html")``.
"""
from __future__ import annotations

import re
from typing import Any

from flask import render_template
from markupsafe import Markup, escape

from bayline.brand import brand_for, powered_by
from bayline.db import get_session
from bayline.tenancy import unscoped
from bayline.tenants.models import Shop
from bayline.urls import public_url

NEUTRAL = {"primary": "#0a56e0", "text_on_primary": "#ffffff", "surface": "#ffffff", "radius": 8}
_URL = re.compile(r"https?://[^\s<>\"']+")


def _paragraphs(body: str) -> Markup:
    out = []
    for block in re.split(r"\n\s*\n", body.strip()):
        text = escape(block)
        linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', str(text))
        out.append(Markup("<p style=\"margin:0 0 12px\">") + Markup(linked.replace("\n", "<br>")) + Markup("</p>"))
    return Markup("").join(out)


def render(shop: Shop, body: str, subject: str | None = None) -> str:
    """The HTML mail for ``shop`` around the plain-text ``body`` (links made clickable)."""
    brand = brand_for(shop)
    colours: dict[str, Any] = dict(NEUTRAL)
    logo = None
    if brand is not None:
        colours = {"primary": brand.primary, "text_on_primary": brand.text_on_primary, "surface": brand.surface,
                   "radius": brand.radius}
        logo = public_url(brand.logo_url, shop) if brand.logo_url else None
    return render_template("mail/customer.html", shop=shop, brand=brand, colours=colours, logo=logo,
                           subject=subject, body=_paragraphs(body), powered_by=powered_by(brand))


def for_item(item: Any, body: str) -> str:
    """:func:`render` for an outbox row (its shop) and the provider body (links already filled)."""
    session = get_session()
    with unscoped(session):
        shop = session.get(Shop, item.tenant_id)
    return render(shop, body, item.subject)
