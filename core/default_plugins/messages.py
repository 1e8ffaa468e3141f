"""The portal message thread as a default plugin: feature, event types and the portal card."""
from __future__ import annotations

from typing import Any, Literal, TypedDict

from flask import g, render_template, request

from bayline.claims.models import Claim
from bayline.messages import service as messages
from bayline.plugins.markers import hookimpl
from bayline.plugins.types import EventType, Feature, PortalSection, Viewer


class MessagePayload(TypedDict):
    claim_id: int
    message_id: int
    direction: Literal["in", "out"]
    channel: str
    """``portal``, ``sms`` or ``email``."""


@hookimpl
def register_features() -> list[Feature]:
    return [Feature("messages", "Portal message thread", "Two-way messages on the portal")]


@hookimpl
def register_event_types() -> list[EventType]:
    return [
        EventType("message.received", MessagePayload,
                  "A customer's message was stored (portal form, or an inbound text or email through a plugin).",
                  portal_live=True, staff_live=True),
        EventType("message.sent", MessagePayload, "A staff message was stored (before any channel delivers it).",
                  portal_live=True, staff_live=True),
    ]


@hookimpl
def prefetch(claim: Claim, view: str, bundle: Any) -> None:
    """The portal card's thread comes with the page's other reads (the staff page asks for it itself)."""
    if view == "portal" and "messages" in g.get("features", frozenset()):
        bundle.want(messages.THREAD, messages.thread_part(claim))


@hookimpl
def portal_sections(claim: Claim, viewer: Viewer) -> list[PortalSection]:
    """The message thread card, when the shop's plan includes portal messages."""
    if "messages" not in g.get("features", frozenset()):
        return []
    html = render_template("portal/_messages.html", thread=messages.thread(claim), shop=g.shop,
                           error=request.args.get("error") == "message")
    return [PortalSection(key="messages", title="Messages", html=html, order=50)]
