"""``/u/<token>``: one-click unsubscribe from a shop's marketing email (RFC 8058).

POST (the mail provider's one-click button sends ``List-Unsubscribe=One-Click``; the page's button
posts too) revokes marketing at once; GET shows the shop and the button and changes nothing. No
cookies or CSRF token are needed: the signed token is the authority, as RFC 8058 requires."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from bayline.db import get_session
from bayline.events import commit
from bayline.extensions import csrf, limiter
from bayline.messaging import unsubscribe
from bayline.plugins.setup import bind_shop
from bayline.tenancy import set_tenant
from bayline.tenants.models import Shop

bp = Blueprint("unsubscribe", __name__)


def _find(token: str) -> tuple[Any, Shop] | None:
    item = unsubscribe.item_for(token)
    shop = get_session().get(Shop, item.tenant_id) if item is not None else None
    if item is None or shop is None:
        return None
    set_tenant(shop.id)
    bind_shop(shop)
    return item, shop


@bp.get(unsubscribe.PATH + "<token>")
@limiter.limit("30 per minute")
def page(token: str) -> Any:
    found = _find(token)
    if found is None:
        return render_template("portal/unsubscribe.html", shop=None, state="unknown"), 404
    item, shop = found
    return render_template("portal/unsubscribe.html", shop=shop, state="ask", channel=item.channel)


@bp.post(unsubscribe.PATH + "<token>")
@csrf.exempt
@limiter.limit("10 per minute")
def one_click(token: str) -> Any:
    found = _find(token)
    if found is None:
        return render_template("portal/unsubscribe.html", shop=None, state="unknown"), 404
    item, shop = found
    unsubscribe.unsubscribe(item, "list_unsubscribe", f"one-click from outbox message {item.id}")
    commit()
    return render_template("portal/unsubscribe.html", shop=shop, state="done", channel=item.channel)
