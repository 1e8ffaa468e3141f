"""Customer links in outbox bodies: stored as the ``{portal_link}`` placeholder or masked, filled only
in the provider request (customer links v2: ``bayline.portal.links``)."""
from __future__ import annotations

from typing import Any

from bayline.errors import Refused
from bayline.portal import tokens
from bayline.portal.links import MASK, mask_links, unmask
from bayline.portal.sealing import seal, unseal

from .models import OutboxItem
from .templates import PORTAL_LINK

# The link purpose a channel sends when the item names none (``options["link_purpose"]``).
CHANNEL_LINK_PURPOSE = {"sms": "sms", "email": "email"}


def display_body(body: str, link_fields: list[str] | tuple[str, ...] = ()) -> str:
    """``body`` as staff and the thread see it: the placeholders (``{portal_link}`` and a plugin's
    ``link_fields``) and any portal URL shown masked."""
    text = mask_links(body).replace(PORTAL_LINK, MASK)
    for name in link_fields:
        text = text.replace("{" + name + "}", MASK)
    return text


def carries_portal_link(item: OutboxItem) -> bool:
    """Whether the row gives the customer their portal link: the ``{portal_link}`` placeholder, or a
    portal URL written into the text (stored masked, its token in ``options["portal_token_id"]``)."""
    return PORTAL_LINK in item.body or bool((item.options or {}).get("portal_token_id"))


def link_purpose(item: OutboxItem) -> str:
    return str((item.options or {}).get("link_purpose") or CHANNEL_LINK_PURPOSE.get(item.channel, item.channel))


def sealed_fields(body: str, values: dict[str, str]) -> dict[str, str]:
    """``values`` sealed for ``options["sealed_fields"]``; each must appear as ``{name}`` in ``body``."""
    missing = [name for name in values if "{" + name + "}" not in body]
    if missing:
        raise Refused(422, "invalid_secret_fields", f"the text has no placeholder for: {', '.join(missing)}")
    return {name: seal(str(value)) for name, value in values.items()}


def link_field_names(body: str, names: list[str] | tuple[str, ...]) -> list[str]:
    """Checked names for ``options["link_fields"]``: identifiers, not ``portal_link``, each in ``body``."""
    bad = [n for n in names if not str(n).isidentifier() or n == "portal_link"]
    missing = [n for n in names if "{" + str(n) + "}" not in body]
    if bad or missing:
        raise Refused(422, "invalid_link_fields", f"the text has no placeholder for: {', '.join(bad + missing)}")
    return list(dict.fromkeys(str(n) for n in names))


def _fill_link_fields(item: OutboxItem, claim: Any, body: str) -> str:
    """Plugin link placeholders (hook ``link_fields``), filled by the plugins active for the shop."""
    names = [n for n in (item.options or {}).get("link_fields") or [] if "{" + n + "}" in body]
    if not names:
        return body
    from flask import current_app

    from bayline.db import get_session
    from bayline.tenants.entitlements import active_features
    from bayline.tenants.models import Shop

    shop = get_session().get(Shop, item.tenant_id)
    values: dict[str, str] = {}
    if shop is not None:
        hooks = current_app.extensions["bayline.plugins"].hooks_for(active_features(shop))
        for result in hooks.link_fields(outbox_item=item, claim=claim, names=list(names)):
            values.update({k: str(v) for k, v in (result or {}).items() if k in names})
    missing = [n for n in names if n not in values]
    if missing:  # never send a placeholder as if it were the link
        raise Refused(409, "link_unavailable", f"a link of this text can no longer be made: {', '.join(missing)}")
    for name in names:
        body = body.replace("{" + name + "}", values[name])
    return body


def _fill_secrets(item: OutboxItem, body: str) -> str:
    for name, sealed in ((item.options or {}).get("sealed_fields") or {}).items():
        value = unseal(sealed)
        if value is None:  # the key changed since: never send the placeholder as if it were the code
            raise Refused(409, "secret_unavailable", "a one-time value of this text can no longer be opened")
        body = body.replace("{" + name + "}", value)
    return body


def provider_body(item: OutboxItem, claim: Any) -> str:
    """The ONE place ``{portal_link}`` becomes a real link, sealed ``secret_fields`` their values and
    plugin ``link_fields`` their links (hook ``link_fields``): the text of the provider request, with
    the claim's live link for the item's purpose (issued when none is live; no other link changes).

    The caller commits before the provider call (``item.options["portal_token_id"]`` records the
    link) so the link the customer receives exists."""
    body = _fill_secrets(item, unmask(item.body, claim, (item.options or {}).get("portal_token_id")))
    body = _fill_link_fields(item, claim, body)
    if PORTAL_LINK not in body or claim is None:
        return body
    link = tokens.current_or_issue(claim, link_purpose(item), item.queued_by_user_id or item.created_by_user_id)
    item.options = {**(item.options or {}), "portal_token_id": link.token.id}
    return body.replace(PORTAL_LINK, link.url)
