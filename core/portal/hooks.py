"""The portal's core hook implementations (always active): live updates and the message card."""
from __future__ import annotations

import logging

from flask import g, render_template, request

from bayline import live
from bayline.claims.models import Claim
from bayline.messages import service as messages
from bayline.plugins.markers import hookimpl
from bayline.plugins.types import Event, PortalSection, Viewer

log = logging.getLogger(__name__)


@hookimpl
def on_event(event: Event) -> None:
    """Tell the claim's open portal pages and the shop's open staff pages that something changed."""
    if event.type not in live.STAFF_EVENT_TYPES or "claim_id" not in event.payload:
        return
    try:
        live.publish_event(event.tenant_id, int(event.payload["claim_id"]), event.type, event.id)
    except Exception:  # a broker outage must never fail the change itself; pages also poll
        log.exception("live update for %s could not be published", event.type)


@hookimpl
def portal_sections(claim: Claim, viewer: Viewer) -> list[PortalSection]:
    """The message thread card, when the shop's plan includes portal messages."""
    if "messages" not in g.get("features", frozenset()):
        return []
    html = render_template("portal/_messages.html", thread=messages.thread(claim), shop=g.shop,
                           error=request.args.get("error") == "message")
    return [PortalSection(key="messages", title="Messages", html=html, order=50)]
