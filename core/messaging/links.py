"""Customer links in messages: bodies are stored masked; the link is filled only in the provider request."""
from __future__ import annotations

import re
from typing import Any

from .models import OutboxItem
from .templates import PORTAL_LINK

MASK = "[portal link]"
_URL = re.compile(r"https?://\S+/c/[A-Za-z0-9_\-]{20,}")


def mask_links(text: str) -> str:
    """``text`` as it may be stored or shown: customer links replaced by a mask."""
    return _URL.sub(MASK, text)


def display_body(body: str) -> str:
    return body.replace(PORTAL_LINK, MASK)


def provider_body(item: OutboxItem, claim: Any) -> str:
    """The ONE place ``{portal_link}`` becomes a real link: the text of the provider request.

    The caller commits the issued link before the provider call (``item.options["portal_token_id"]``
    records it) so the link the customer receives exists."""
    if PORTAL_LINK not in item.body or claim is None:
        return item.body
    from bayline.portal import tokens

    # options["link"] == "add": a further link beside the one a sibling text of the same send rotated in
    link = tokens.issue(claim, item.queued_by_user_id or item.created_by_user_id,
                        rotate=(item.options or {}).get("link") != "add")
    item.options = {**(item.options or {}), "portal_token_id": link.token.id}
    return item.body.replace(PORTAL_LINK, link.url)
