"""Customer portal: ``/c/<token>`` → verification → a token-less session page ``/c/s/``.

The token is looked up by its hash across tenants, then the tenant is set from
it. After verification (a shop setting) the browser gets a signed session
entry scoped to that one claim and is redirected away from the token URL.
Every ``/c/`` response is private: no referrer, no caching, no indexing, a
strict Content-Security-Policy.
"""
from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from marshmallow import ValidationError

from bayline import settings_registry
from bayline.bundle import request_bundle
from bayline.claims.models import Claim
from bayline.claims.stages import active_stages
from bayline.db import get_session, utcnow
from bayline.errors import Refused
from bayline.events import commit
from bayline.extensions import limiter
from bayline.generations import Generations
from bayline.live import channel, init_live, portal_event_types
from bayline.messages import service as messages
from bayline.messages.channels import channel_ready
from bayline.messaging import service as outbox
from bayline.plugins.calling import call_each, collect
from bayline.plugins.setup import bind_shop
from bayline.plugins.types import Viewer
from bayline.portal import redact, tokens, verify
from bayline.portal.page import REACHED, PortalPage, reached_stages, reached_stages_part, shop_side_cache
from bayline.tenancy import set_tenant
from bayline.tenants import hours as shop_hours
from bayline.tenants.models import Shop
from bayline.web import portal_cache
from bayline.web.sse import event_stream

bp = Blueprint("portal", __name__, url_prefix="/c")
log = logging.getLogger(__name__)

SESSION_KEY = portal_cache.SESSION_KEY
# A live stream ends on these (it cannot tell whose session or link they ended): the page refetches,
# and a session that still holds reconnects; an ended one gets the "link isn't working" page.
STREAM_ENDS_ON = frozenset({"portal.session_ended", "portal.link_revoked"})
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


# -- session binding -------------------------------------------------------------------------

def _session_entry() -> dict[str, int] | None:
    return session[SESSION_KEY] if portal_cache.session_key(session) is not None else None


def resolve_portal_shop() -> Shop | None:
    """Shop resolver (``app.extensions["bayline.shop_resolvers"]``) for ``/c/s/...``: the verified
    portal session's shop. Sets the tenant and ``g.portal_claim_id`` (what plugin portal routes use);
    a session whose link was revoked or expired is dropped here."""
    if not request.path.startswith("/c/s/"):
        return None
    entry = _session_entry()
    if entry is None:
        return None
    side = shop_side_cache(current_app).get(entry["s"], _generations(entry))
    if side is None or side.shop.archived_at is not None:
        set_tenant(None)
        session.pop(SESSION_KEY, None)
        return None
    shop = side.shop
    set_tenant(shop.id)
    settings_registry.remember(shop.id, side.settings)
    found = tokens.load_session_token(entry["t"], entry["c"], entry["i"])
    if found is None:
        set_tenant(None)
        session.pop(SESSION_KEY, None)
        return None
    g.portal_claim_id = found[1].id
    g.portal_claim = found[1]
    g.portal_shop_side = side
    return shop


def _generations(entry: dict[str, int]) -> Generations | None:
    """The generations the page server read for this request (before any data), else read now."""
    found = request.environ.get(portal_cache.GENERATIONS)
    if found is not None:
        return found  # type: ignore[no-any-return]
    return current_app.extensions["bayline.generations"].current(entry["s"], entry["c"])


def current_claim() -> Claim:
    """The claim of the verified portal session, or a friendly 404 (no session, revoked, expired)."""
    claim = g.get("portal_claim")
    if claim is None or g.get("shop") is None or "portal" not in g.features:
        abort(404)
    return claim


def _open_session(token: Any, claim: Claim) -> Any:
    """A new session row for this browser (a session it had before ends: its copies open nothing)."""
    previous = _session_entry()
    if previous is not None and previous["s"] == claim.tenant_id:
        tokens.end_session(previous["i"])
    session[SESSION_KEY] = tokens.open_session(token, claim)
    token.last_used_at = utcnow()
    commit()
    return redirect(url_for("portal.home"), 303)


# -- token entry ------------------------------------------------------------------------------

def _enter(raw: str) -> tuple[Any, Claim, Shop]:
    found = tokens.lookup(raw)
    if found is None:
        stale = tokens.find_any(raw)
        if stale is not None:  # expired/replaced: the page can at least say which shop to call
            g.portal_contact = get_session().get(Shop, stale.tenant_id)
            g.portal_relink = _relink_offer(raw)
        abort(404)
    token, claim = found
    shop = get_session().get(Shop, token.tenant_id)
    if shop is None or shop.archived_at is not None:
        abort(404)
    set_tenant(shop.id)
    bind_shop(shop)
    if "portal" not in g.features:
        abort(404)
    return token, claim, shop


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["GET"])
@limiter.limit("10 per minute", methods=["POST"])
def enter(token: str) -> Any:
    tok, claim, shop = _enter(token)
    mode = verify.mode(shop.id)
    entry = _session_entry()
    if mode == "off" or (entry is not None and entry["c"] == claim.id and entry["s"] == shop.id):
        return _open_session(tok, claim)
    if verify.locked(tok):
        return render_template("portal/locked.html", shop=shop), 429
    error = None
    if request.method == "POST":
        form = request.form
        ok = verify.attempt(tok, claim, form.get("last_name"), form.get("claim_number"), form.get("pin"),
                            request.remote_addr)
        commit()
        if ok is None:
            return render_template("portal/locked.html", shop=shop), 429
        if ok:
            session.pop(SESSION_KEY, None)
            return _open_session(tok, claim)
        if verify.locked(tok):
            return render_template("portal/locked.html", shop=shop), 429
        error = "Those details don't match our records. Please check and try again."
    typed = {k: (request.form.get(k) or "")[:100] for k in ("last_name", "claim_number")} if error else {}
    return render_template("portal/verify.html", shop=shop, mode=mode, error=error, typed=typed), \
        422 if error else 200


# -- "text me a new link" ------------------------------------------------------------------------

RELINK_SENT = ("Thanks, we have your request. When this repair has a mobile number we can text, a new "
               "link is sent to it.")


def _replaced_claim(raw: str) -> tuple[Shop, Claim] | None:
    """The shop and claim of a known link that was replaced by a newer one (never one revoked, never
    for an expired or archived repair) when the shop can text now; binds the shop's tenant and hooks."""
    stale = tokens.find_any(raw)
    if stale is None or stale.state != "rotated":
        return None
    shop = get_session().get(Shop, stale.tenant_id)
    if shop is None or shop.archived_at is not None:
        return None
    set_tenant(shop.id)
    bind_shop(shop)
    claim = get_session().get(Claim, stale.claim_id)
    if claim is None or claim.archived_at is not None or tokens.expired(claim):
        return None
    if "portal" not in g.features or not channel_ready(shop, "sms"):
        return None
    return shop, claim


def _relink_offer(raw: str) -> str | None:
    """The form action for "text me a new link" on the not-working page, when it can be done."""
    return url_for("portal.relink", token=raw) if _replaced_claim(raw) is not None else None


def _relink_key() -> str:
    return "relink:" + tokens.hash_token(request.view_args.get("token", "") if request.view_args else "")


def _relink(raw: str) -> None:
    """Text the claim's SMS link to the mobile on file when the old link was replaced and the shop
    can text. Everything that can refuse is checked before any link is issued; only the SMS
    channel's link is used (the live one, or a new one), no other link is touched. Says nothing
    about which of these held."""
    found = _replaced_claim(raw)
    if found is None:
        return
    shop, claim = found
    if not claim.customer_mobile:
        return
    # ``{portal_link}`` becomes the SMS channel's live link (or a new one) only in the provider request.
    body = f"{shop.name}: here is your link to follow your repair {claim.number}: {{portal_link}}"
    # each request is its own text (the route's rate limit caps them): a new key per request
    key = f"portal-relink:{claim.id}:{secrets.token_hex(8)}"
    item = outbox.text_portal_link(claim, body, key, kind="requested", thread=False)
    log.info("portal relink for claim %s: %s", claim.id, "refused" if isinstance(item, Refused) else item.state)


@bp.post("/<token>/new-link")
@limiter.limit("3 per hour", key_func=_relink_key)
@limiter.limit("10 per hour")
def relink(token: str) -> Any:
    """The request from the not-working page. Always answers the same page (no number, no outcome)."""
    _relink(token)
    contact = g.get("shop")
    if contact is None:
        stale = tokens.find_any(token)
        contact = get_session().get(Shop, stale.tenant_id) if stale is not None else None
    return render_template("portal/relink.html", shop=contact, message=RELINK_SENT), 200


# -- the page -----------------------------------------------------------------------------------

def timeline(claim: Claim, stages: list[Any] | None = None) -> list[dict[str, Any]]:
    """Stages for the customer: past (with the date reached), current, upcoming. ``stages``: the
    shop's active stages when already loaded."""
    show_hidden = settings_registry.get(claim.tenant_id, "portal.show_hidden_stages")
    reached = reached_stages(claim)
    stages = active_stages() if stages is None else stages
    ids = [s.id for s in stages]
    current = ids.index(claim.stage_id) if claim.stage_id in ids else -1
    items: list[dict[str, Any]] = []
    for index, stage in enumerate(stages):
        state = "current" if index == current else ("past" if index < current else "future")
        if current == -1:
            state = "past" if stage.id in reached else "future"
        if stage.hidden and not show_hidden:
            if state == "current" and items:
                items[-1]["state"] = "current"  # a hidden stage shows as the last visible one
            continue
        items.append({"label": stage.customer_label or stage.name, "description": stage.customer_description,
                      "state": state, "at": reached.get(stage.id) if state != "future" else None})
    return items


def sections(claim: Claim, page: PortalPage | None = None) -> list[Any]:
    viewer = Viewer(claim_id=claim.id)
    if page is None:
        page = PortalPage(claim, g.shop, settings_registry.get_all(claim.tenant_id), active_stages(), viewer)
    found = collect(g.hooks.portal_sections, claim=claim, viewer=viewer, page=page)
    return sorted(found, key=lambda s: (s.order, s.key))


@bp.get("/s/")
def home() -> Any:
    """The page. Its rate limit and the stored copies are handled in front of Flask (portal_cache)."""
    claim = current_claim()
    side = g.portal_shop_side
    values = settings_registry.get_all(claim.tenant_id)
    page = PortalPage(claim, g.shop, values, side.stages, Viewer(claim_id=claim.id))
    bundle = request_bundle()  # every card's reads and the timeline's: one statement
    bundle.want(REACHED, reached_stages_part(claim))
    call_each(g.hooks.prefetch, claim=claim, view="portal", bundle=bundle)
    html = render_template("portal/page.html", claim=claim, shop=g.shop, steps=timeline(claim, side.stages),
                           show_insurer=values["portal.show_insurer"], show_eta=values["portal.show_eta"],
                           sections=sections(claim, page),
                           closures=shop_hours.upcoming_closures(g.shop, shop_hours.shop_today(g.shop)))
    portal_cache.offer(tokens.expires_at(claim))  # type: ignore[arg-type]
    return html


@bp.post("/s/messages")
@limiter.limit("20 per minute")
def post_message() -> Any:
    claim = current_claim()
    if "messages" not in g.features:
        abort(404)
    try:
        messages.receive(claim, request.form.get("body"), channel="portal")
    except ValidationError:
        get_session().rollback()
        return redirect(url_for("portal.home", error="message") + "#messages", 303)
    commit()
    return redirect(url_for("portal.home") + "#messages", 303)


@bp.get("/s/events")
@limiter.limit("30 per minute")
def events() -> Any:
    """Server-Sent Events for the session's claim: the type of each change, nothing more (the page
    fetches what changed through its own, session-checked route)."""
    claim = current_claim()
    return event_stream(channel(claim.tenant_id, claim.id), portal_event_types(),
                        lambda message: {"type": message["type"]}, ends_on=STREAM_ENDS_ON)


@bp.post("/s/leave")
def leave() -> Any:
    """Sign out on this device: the session ends in the database (a copied cookie no longer opens
    the portal), then leaves the browser."""
    entry = _session_entry()
    if entry is not None and g.get("portal_claim") is not None:
        tokens.end_session(entry["i"])
        commit()
    session.pop(SESSION_KEY, None)
    return render_template("portal/left.html"), 200


# -- wiring -------------------------------------------------------------------------------------

def private_headers(response: Any) -> Any:
    if request.path.startswith("/c/"):
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        response.headers["Content-Security-Policy"] = CSP
    return response


def init_portal(app: Flask) -> None:
    redact.install()
    init_live(app)
    app.register_blueprint(bp)
    portal_cache.init_portal_cache(app)
    app.extensions["bayline.shop_resolvers"].append(resolve_portal_shop)
    app.after_request(private_headers)

    @app.get("/robots.txt")
    def robots() -> Any:
        return app.response_class("User-agent: *\nDisallow: /c/\nDisallow: /console/\nDisallow: /api/\n",
                                  mimetype="text/plain")
