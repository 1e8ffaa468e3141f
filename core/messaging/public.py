"""The outbox as plugins use it: ``bayline.plugin_api.outbox``.

A send is a row (:class:`OutboxItem`), never a fire-and-forget call: :func:`enqueue` stores it
(idempotent per ``idempotency_key``; consent, suppression and quiet hours weighed, refusals raised
as ``Refused`` before any provider call); a channel plugin's ``deliver`` hook hands it to its
provider and reports every later state through :func:`report_state`; an email channel adds
:func:`unsubscribe_headers` (RFC 8058 one-click) to marketing email and :func:`email_html` (the shop's
brand, styles inlined) as the HTML alternative. See docs/messaging.md.
"""
from __future__ import annotations

from .email_html import for_item as email_html
from .links import carries_portal_link, display_body, link_purpose
from .models import FINAL_STATES, PURPOSES, STATES, OutboxItem
from .optout import HELP, OPT_IN, OPT_OUT
from .optout import parse as parse_reply
from .service import KINDS, by_provider_id, cancel, enqueue, find, for_event, get, queue_draft, report_state, retry
from .unsubscribe import headers as unsubscribe_headers

__all__ = [
    "FINAL_STATES", "HELP", "KINDS", "OPT_IN", "OPT_OUT", "PURPOSES", "STATES", "OutboxItem", "by_provider_id",
    "cancel", "carries_portal_link", "display_body", "email_html", "enqueue", "find", "for_event", "get",
    "link_purpose", "parse_reply", "queue_draft", "report_state", "retry", "unsubscribe_headers",
]
