"""One-click unsubscribe (RFC 8058) for marketing email: the ``List-Unsubscribe`` headers an email
channel adds, and the signed token its URL carries.

The token names only the shop and the outbox row (signed with the app's secret, never stored):
the row tells who and which channel. A POST to the URL (what mail providers send for the one-click
button, ``List-Unsubscribe=One-Click``) revokes marketing on that channel at once; a GET only shows a
page with a button, so link scanners that open URLs never unsubscribe anyone."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from bayline.db import get_session
from bayline.tenancy import unscoped

from . import consent
from .models import OutboxItem

PATH = "/u/"
_SALT = "bayline.messaging.unsubscribe"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def token_for(item: OutboxItem) -> str:
    return str(_serializer().dumps([item.tenant_id, item.id]))


def url_for_item(item: OutboxItem) -> str:
    """The absolute unsubscribe URL (from ``BAYLINE_PUBLIC_URL``)."""
    return current_app.extensions["bayline.settings"].public_url.rstrip("/") + PATH + token_for(item)


def headers(item: OutboxItem) -> dict[str, str]:
    """The headers an email channel adds to a marketing email (empty for other purposes): RFC 2369
    ``List-Unsubscribe`` with an https URL and RFC 8058 ``List-Unsubscribe-Post``."""
    if item.purpose != "marketing":
        return {}
    return {"List-Unsubscribe": f"<{url_for_item(item)}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def item_for(token: str) -> OutboxItem | None:
    """The outbox row a token names (any shop: the caller binds the row's shop), or None."""
    try:
        tenant_id, item_id = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    session = get_session()
    with unscoped(session):
        item = session.get(OutboxItem, int(item_id))
    return item if item is not None and item.tenant_id == int(tenant_id) else None


def unsubscribe(item: OutboxItem, source: str, detail: str = "") -> bool:
    """Revoke marketing on the row's channel for its recipient (in the row's shop context; the
    caller commits). False when it was revoked already."""
    current = consent.record(item.recipient, item.channel, "marketing")
    if current is not None and current.status == "revoked":
        return False
    consent.set_consent(item.recipient, item.channel, "marketing", "revoked", source, detail=detail)
    return True
