"""Customer links as messaging and printing use them: one live link per channel or document.

:func:`channel_link` is what a sender calls at delivery time: the absolute URL of the claim's
live link for that purpose, issued when there is none, never touching another purpose's link.
:func:`mask_links` is what is stored instead of the text that went out: every portal URL in it
replaced by :data:`MASK`. :func:`unmask` puts a live link back into a masked text for the
request to the provider, the only place the raw URL exists after it was issued.
"""
from __future__ import annotations

import re
from typing import Any

from bayline.claims.models import Claim

from . import tokens
from .models import PortalToken

MASK = "…/c/•••• (link sent)"
# A portal URL (absolute, or just its path) with its token. ``/c/s/`` pages carry no token.
LINK_RE = re.compile(r"(?:https?://[^\s<>\"']*?)?/c/(?!s/)([A-Za-z0-9_\-]{10,100})")

DOCUMENT_PURPOSES = {"work-order": "work_order", "hang-tag": "hang_tag", "receipt": "receipt"}


def channel_link(claim: Claim, purpose: str) -> str:
    """The absolute URL of ``claim``'s current live link for ``purpose`` ("sms", "email",
    "esign_sms", a document...), issuing one if none is live. Other purposes' links are untouched."""
    return tokens.current_or_issue(claim, purpose).url


def mask_links(text: str) -> str:
    """``text`` with every portal URL or token path replaced by :data:`MASK`."""
    return LINK_RE.sub(MASK, text or "")


def tokens_in(text: str) -> list[PortalToken]:
    """The known links whose URLs appear in ``text``, in order (unknown tokens are left out)."""
    found = []
    for match in LINK_RE.finditer(text or ""):
        token = tokens.find_any(match.group(1))
        if token is not None:
            found.append(token)
    return found


def unmask(masked: str, claim: Claim | None, token_id: int | None) -> str:
    """The text to hand to the provider: :data:`MASK` replaced by the live URL of the link the text
    was written with (``token_id``), or, when that link was replaced since, by its purpose's
    current link. A revoked link, an expired repair or a text without a claim keeps the mask: a
    dead link is never sent."""
    if MASK not in masked or claim is None or token_id is None:
        return masked
    from bayline.db import get_session

    token = get_session().get(PortalToken, token_id)
    if token is None or token.claim_id != claim.id or token.state == "revoked" or tokens.expired(claim):
        return masked
    if claim.archived_at is not None:
        return masked
    return masked.replace(MASK, channel_link(claim, token.purpose))


def mask_json(value: Any) -> Any:
    """:func:`mask_links` applied to every string inside a JSON-like value (e.g. a stored webhook)."""
    if isinstance(value, str):
        return mask_links(value)
    if isinstance(value, list):
        return [mask_json(v) for v in value]
    if isinstance(value, dict):
        return {k: mask_json(v) for k, v in value.items()}
    return value


def link_ids_in(text: str, shop_id: int) -> list[int]:
    """Ids of ``shop_id``'s links whose URLs appear in ``text`` (to record which link a message carries)."""
    return [t.id for t in tokens_in(text) if t.tenant_id == shop_id]


def unmask_for_delivery(masked: str, token_id: int | None) -> str:
    """:func:`unmask` for a stored text that recorded the id of the link it carried."""
    if token_id is None or MASK not in masked:
        return masked
    from bayline.db import get_session

    token = get_session().get(PortalToken, token_id)
    claim = get_session().get(Claim, token.claim_id) if token is not None else None
    return unmask(masked, claim, token_id)
