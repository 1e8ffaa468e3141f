"""Public landing pages: ``/p/<shop slug>`` (one location) and ``/g/<group slug>`` (its locations),
indexable, with the brand, contact, today's hours in the location's zone, map link, click-to-call,
``AutoBodyShop`` structured data, and "Find my repair".

Find my repair: claim number plus last name or mobile. The request only checks the form and hands
it to one task (``bayline_branding.find_repair``), so a match and a miss do the same work and get
the same bytes back; the task sends the claim's portal link through the messaging core to the
contact on file (one transactional text, never to a number typed in the form). Rate-limited per
client address and per claim number; the page never shows claim data.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from sqlalchemy import select

from bayline.plugin_api import (
    Group,
    LandingLink,
    Shop,
    enqueue,
    for_shop,
    get_session,
    is_feature_active,
    landing,
    landing_blueprint,
    public_url,
    rate_limit,
    unscoped,
)

from . import landing_slugs, service

bp = landing_blueprint("branding")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FIND_ANSWER = ("Thanks. If we find a repair with those details, we'll text the link to follow it to the "
               "mobile number we have on file. Nothing arrived? Please call the shop.")
LANDING_CSP = ("default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def _days(text: str) -> set[int]:
    """Weekdays named by an hours row's free text: "Mon", "Mon–Fri", "Sat, Sun"."""
    found: set[int] = set()
    for part in re.split(r"[,/&]| and ", text):
        names = [n.strip()[:3].title() for n in re.split(r"\s*[-–—]\s*|\s+to\s+", part.strip()) if n.strip()]
        idx = [WEEKDAYS.index(n) for n in names if n in WEEKDAYS]
        if len(idx) == 2:
            a, b = idx
            found |= set(range(a, b + 1)) if a <= b else set(range(a, 7)) | set(range(0, b + 1))
        else:
            found |= set(idx)
    return found


def today_status(shop: Shop, now: datetime | None = None) -> dict[str, Any]:
    """Open or closed now, in the shop's own time zone, and the hours of today."""
    try:
        zone = ZoneInfo(shop.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = (now or datetime.now(UTC)).astimezone(zone)
    closure = next((c for c in shop.closures or [] if c.get("date") == local.date().isoformat()), None)
    row = next((h for h in shop.hours or [] if local.weekday() in _days(str(h.get("days") or ""))), None)
    if closure is not None:
        return {"open": False, "text": f"Closed today{': ' + closure['label'] if closure.get('label') else ''}"}
    if row is None or row.get("closed"):
        return {"open": False, "text": "Closed today"}
    hhmm = local.strftime("%H:%M")
    if row["open"] <= hhmm < row["close"]:
        return {"open": True, "text": f"Open now · until {row['close']}", "row": row}
    if hhmm < row["open"]:
        return {"open": False, "text": f"Closed now · opens at {row['open']}", "row": row}
    return {"open": False, "text": f"Closed now · today {row['open']}–{row['close']}", "row": row}


def map_url(shop: Shop) -> str | None:
    own = service.profile(shop)
    if own is not None and own.place_id:
        return f"https://www.google.com/maps/search/?api=1&query={quote(shop.name)}&query_place_id={quote(own.place_id)}"
    return f"https://www.google.com/maps/search/?api=1&query={quote(shop.address)}" if shop.address else None


def review_url(shop: Shop) -> str | None:
    """The brand's own review page (inherited from the group brand), or a Google review link from the
    location's Place ID; only with the ``reviews`` feature."""
    if not is_feature_active(shop, "reviews"):
        return None
    eff = service.effective(shop)
    own = service.profile(shop)
    if eff.values.get("review_url"):
        return str(eff.values["review_url"])
    if own is not None and own.place_id:
        return f"https://search.google.com/local/writereview?placeid={quote(own.place_id)}"
    return None


def own_links(shop: Shop) -> list[LandingLink]:
    """Branding's own part of the landing page's links (hook ``landing_links``): the brand's review page."""
    url = review_url(shop)
    return [LandingLink("Leave us a review", url, kind="review", order=60)] if url else []


def referral_target(shop: Shop) -> str | None:
    """Where ``?ref=<code>`` sends the visitor (a plugin knowing the code: hook ``landing_referral``),
    or None: a missing or unknown code renders the page as without it."""
    code = request.args.get("ref")
    return landing.referral(shop, code) if code else None


def structured_data(shop: Shop, page_url: str, brand: Any) -> str:
    data: dict[str, Any] = {"@context": "https://schema.org", "@type": "AutoBodyShop", "name": shop.name,
                            "url": page_url}
    if brand is not None and brand.name != shop.name:
        data["parentOrganization"] = {"@type": "Organization", "name": brand.name}
    if shop.phone:
        data["telephone"] = shop.phone
    if shop.address_line1:
        data["address"] = {"@type": "PostalAddress", "streetAddress": " ".join(
            p for p in (shop.address_line1, shop.address_line2) if p), "addressLocality": shop.city or "",
            "addressRegion": shop.region or "", "postalCode": shop.postal_code or "",
            "addressCountry": shop.country or "US"}
    if brand is not None and brand.logo_url:
        data["logo"] = public_url(brand.logo_url.split("?", 1)[0], shop)
    hours = []
    for row in shop.hours or []:
        days = sorted(_days(str(row.get("days") or "")))
        if days and not row.get("closed"):
            hours.append({"@type": "OpeningHoursSpecification",
                          "dayOfWeek": [["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                                         "Sunday"][d] for d in days], "opens": row["open"], "closes": row["close"]})
    if hours:
        data["openingHoursSpecification"] = hours
    # a data block, never run: "</" cannot end the element early
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def _public(response: Any) -> Any:
    response.headers["Content-Security-Policy"] = LANDING_CSP
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


def _shop_page(slug: str) -> tuple[Shop, str | None]:
    target, moved = landing_slugs.find("p", slug)
    if not isinstance(target, Shop) or target.archived_at is not None:
        abort(404)
    return target, moved


@bp.get("/p/<string(maxlength=80):slug>")
def shop_page(slug: str) -> Any:
    target, moved = _shop_page(slug)
    with for_shop(target) as shop:
        if not is_feature_active(shop, service.NAME):
            abort(404)
        target_url = referral_target(shop)
        if target_url is not None:  # a shared referral link: the page of the plugin that knows the code
            return _public(redirect(target_url, 302))
        if moved:
            return redirect(url_for("plugin_branding_landing.shop_page", slug=moved), 301)
        brand = service.brand(shop)
        page_url = public_url(url_for("plugin_branding_landing.shop_page", slug=slug), shop)
        html = render_template("bayline_branding/landing_shop.html", shop=shop, brand=brand, slug=slug,
                               status=today_status(shop), map_url=map_url(shop), links=landing.links(shop),
                               page_url=page_url, jsonld=structured_data(shop, page_url, brand),
                               group_slug=landing_slugs.current(shop)["g"] if _group_page_on(shop) else None)
        return _public(make_response(html))


def _group_page_on(shop: Shop) -> bool:
    return is_feature_active(shop, service.GROUP_FEATURE)


@bp.get("/g/<string(maxlength=80):slug>")
def group_page(slug: str) -> Any:
    target, moved = landing_slugs.find("g", slug)
    if not isinstance(target, Group):
        abort(404)
    session = get_session()
    with unscoped(session):
        shops = list(session.scalars(select(Shop).where(Shop.group_id == target.id, Shop.archived_at.is_(None))
                                     .order_by(Shop.name)))
    listed = []
    for location in shops:
        with for_shop(location) as shop:
            if is_feature_active(shop, service.NAME) and _group_page_on(shop):
                listed.append({"shop": shop, "status": today_status(shop), "slug": landing_slugs.current(shop)["p"],
                               "map_url": map_url(shop), "links": landing.links(shop)})
    if not listed:
        abort(404)
    if moved:
        return redirect(url_for("plugin_branding_landing.group_page", slug=moved), 301)
    with for_shop(listed[0]["shop"]) as first:
        brand = service.brand(first)
        page_url = public_url(url_for("plugin_branding_landing.group_page", slug=slug), first)
        html = render_template("bayline_branding/landing_group.html", group=target, brand=brand, shop=first,
                               locations=listed, page_url=page_url)
    return _public(make_response(html))


def _find_key() -> str:
    """Per claim number of one shop (whichever of its slugs, current or old, the form was posted to)."""
    number = re.sub(r"[\W_]", "", (request.form.get("claim_number") or "").casefold())[:40]
    slug = str((request.view_args or {}).get("slug", ""))
    target, _ = landing_slugs.find("p", slug)
    return f"branding-find:{target.id if isinstance(target, Shop) else slug}:{number}"


@bp.post("/p/<string(maxlength=80):slug>/find")
@rate_limit("5/hour", key=_find_key)
@rate_limit("20/hour")
def find_repair(slug: str) -> Any:
    target, _ = _shop_page(slug)
    with for_shop(target) as shop:
        if not is_feature_active(shop, service.NAME):
            abort(404)
        form = request.form
        number = (form.get("claim_number") or "").strip()[:40]
        name = (form.get("last_name") or "").strip()[:100]
        phone = (form.get("phone") or "").strip()[:40]
        if not number or not (name or phone):
            html = render_template("bayline_branding/landing_shop.html", shop=shop, brand=service.brand(shop),
                                   slug=slug, status=today_status(shop), map_url=map_url(shop),
                                   links=landing.links(shop), page_url="", jsonld="{}", group_slug=None,
                                   find_error="Enter the claim number and your last name or mobile number.",
                                   typed={"claim_number": number, "last_name": name, "phone": phone})
            return _public(make_response(html, 422))
        html = render_template("bayline_branding/landing_found.html", shop=shop, brand=service.brand(shop),
                               message=FIND_ANSWER, back=url_for("plugin_branding_landing.shop_page", slug=slug))
        response = _public(make_response(html))
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        shop_id = shop.id

        def look_up() -> None:
            # after the answer went out: a match and a miss cost the request the same (a worker does
            # the lookup; eager Celery runs it here, after the response)
            with app.app_context():
                enqueue("bayline_branding.find_repair", shop_id, number, name, phone)

        response.call_on_close(look_up)
        return response
