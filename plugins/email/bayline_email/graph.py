"""Microsoft 365 through Microsoft Graph's REST API (``requests``; the bearer token from msal, refreshed by
:func:`bayline_email.oauth.access_token`). The Graph base URL is ``BAYLINE_PLUGIN_EMAIL_MICROSOFT_GRAPH_URL``
(default ``https://graph.microsoft.com/v1.0``).

Sync, push-first and reconciled:

- the cursor is the inbox's ``@odata.deltaLink`` (``sync_cursor``): :func:`sync` follows
  ``GET /me/mailFolders('inbox')/messages/delta`` page by page (``@odata.nextLink``) and stores each new
  message from its MIME (``GET /me/messages/{id}/$value``) through :func:`service.ingest`
  (``provider_id`` ``graph:<connection>:<id>``, ``provider_thread`` ``graph:<connection>:<conversationId>``);
  the new delta link is kept only once every page is stored. An expired link answers 410: the delta
  restarts from the beginning and stored messages are skipped.
- push: a change-notification subscription on the inbox (:func:`subscribe`): Graph first calls our
  notification URL with ``validationToken`` (echoed as text/plain), then POSTs notifications that carry
  the ``clientState`` we chose (only its SHA-256 is stored; compared in constant time), each one
  starting :func:`sync`. Lifecycle notifications: ``reauthorizationRequired`` reauthorizes the
  subscription (failing that, the mailbox must reconnect: banner + owner email), ``subscriptionRemoved``
  subscribes again, ``missed`` syncs. ``bayline_email.renew_push`` renews subscriptions a day before
  they lapse.
- the periodic reconciler runs :func:`sync` of every mailbox: a missed notification is caught.

Sending (:func:`send`): ``POST /me/sendMail`` with the RFC 5322 message (MIME, base64): our Message-ID,
``In-Reply-To``/``References``, "Re:" subject and ``Reply-To`` go out as built, Exchange threads it into
the conversation and saves it to Sent Items."""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests

from bayline.plugin_api import commit, get_session, plugin_config, public_url, utcnow

from . import health, oauth, service
from .models import EmailConnection

log = logging.getLogger(__name__)
INBOX = "me/mailFolders('inbox')/messages"
SUBSCRIPTION_MINUTES = 4200  # under Graph's limit for Outlook messages
RENEW_BEFORE = timedelta(hours=24)
NOTIFY_PATH = "/plugins/email/push/graph"
LIFECYCLE_PATH = "/plugins/email/push/graph/lifecycle"


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"Graph {status} {code}: {message}"[:300])
        self.status, self.code = status, code


class TokenMissing(Exception):
    pass


def base() -> str:
    return (oauth.setting("microsoft_graph_url") or "https://graph.microsoft.com/v1.0").rstrip("/")


def push_enabled() -> bool:
    """Subscriptions need a notification URL Graph can reach (https in production)."""
    return plugin_config("email").get_bool("microsoft_notifications", public_url().startswith("https://"))


def call(conn: EmailConnection, method: str, path: str, *, json: Any = None, data: bytes | None = None,
         headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> requests.Response:
    """One Graph request as the mailbox; :class:`GraphError` for an error answer."""
    token = oauth.access_token(conn)
    if token is None:
        raise TokenMissing("the provider refused the connection's refresh token: reconnect the mailbox")
    url = path if path.startswith("https://") or path.startswith("http://") else f"{base()}/{path.lstrip('/')}"
    resp = requests.request(method, url, json=json, data=data, params=params, timeout=60, verify=oauth.ca_bundle(),
                            headers={"Authorization": f"Bearer {token}", **(headers or {})})
    if resp.status_code >= 400:
        try:
            error = resp.json().get("error") or {}
        except ValueError:
            error = {}
        raise GraphError(resp.status_code, str(error.get("code") or resp.reason), str(error.get("message") or ""))
    return resp


def _fail(conn: EmailConnection, exc: Exception) -> None:
    get_session().rollback()
    status = getattr(exc, "status", None)
    if status in (401, 403):
        health.failed(conn, f"Microsoft Graph refused the connection ({status} {getattr(exc, 'code', '')}): "
                      "reconnect the mailbox", reauthorize=True)
    else:
        health.failed(conn, f"Microsoft Graph: {exc}"[:500])


def me_with(token: str) -> dict[str, Any]:
    """``GET /me`` with a fresh access token (the approved mailbox's address, before it is stored)."""
    resp = requests.get(f"{base()}/me", params={"$select": "mail,userPrincipalName,displayName"}, timeout=60,
                        verify=oauth.ca_bundle(), headers={"Authorization": f"Bearer {token}"})
    resp.raise_for_status()
    return dict(resp.json())


def _fetch(conn: EmailConnection, item: dict[str, Any]) -> bool:
    provider_id = f"graph:{conn.id}:{item['id']}"
    if service.find(provider_id=provider_id) is not None:
        return False
    try:
        raw = call(conn, "GET", f"me/messages/{quote(str(item['id']), safe='')}/$value").content
    except GraphError as exc:
        if exc.status == 404:  # deleted since the delta listed it
            return False
        raise
    thread = f"graph:{conn.id}:{item['conversationId']}" if item.get("conversationId") else None
    return service.ingest(raw, connection=conn, provider_id=provider_id, provider_thread=thread).created


def _delta(conn: EmailConnection, link: str) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    while True:
        page = call(conn, "GET", link).json()
        items += [v for v in page.get("value") or [] if isinstance(v, dict) and v.get("id") and "@removed" not in v]
        if page.get("@odata.nextLink"):
            link = str(page["@odata.nextLink"])
            continue
        return items, str(page.get("@odata.deltaLink") or link)


def sync(conn: EmailConnection) -> int:
    """Import new mail of ``conn`` (in its shop's context); returns how many messages were new."""
    if conn.kind != "graph" or conn.status == "disconnected":
        return 0
    start = f"{INBOX}/delta?$select=id,internetMessageId,conversationId"
    try:
        try:
            items, delta_link = _delta(conn, conn.sync_cursor or start)
        except GraphError as exc:
            if exc.status != 410 or conn.sync_cursor is None:
                raise
            log.warning("mailbox %s: the Graph delta link expired (410): restarting the delta", conn.id)
            items, delta_link = _delta(conn, start)
        imported = sum(_fetch(conn, item) for item in items)
        conn.sync_cursor = delta_link
        commit(get_session())
    except TokenMissing:
        return 0
    except Exception as exc:
        _fail(conn, exc)
        return 0
    conn.last_synced_at = utcnow()
    health.ok(conn)
    return imported


# -- change notifications -------------------------------------------------------------------------


def secret_hash(client_state: str) -> str:
    return hashlib.sha256(client_state.encode("utf-8")).hexdigest()


def client_state_ok(conn: EmailConnection, client_state: Any) -> bool:
    return bool(conn.push_secret_hash) and isinstance(client_state, str) and hmac.compare_digest(
        conn.push_secret_hash, secret_hash(client_state))


def _expiry() -> str:
    return (utcnow() + timedelta(minutes=SUBSCRIPTION_MINUTES)).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _parse_time(value: str) -> datetime:
    """Graph's ``2026-12-06T10:00:00.0000000Z`` (seven fraction digits) as an aware datetime."""
    import re

    return datetime.fromisoformat(re.sub(r"\.\d+", "", value).replace("Z", "+00:00"))


def subscribe(conn: EmailConnection) -> bool:
    """Create the inbox subscription (Graph validates our notification URL first)."""
    if conn.kind != "graph" or conn.status == "disconnected" or not push_enabled():
        return False
    state = secrets.token_urlsafe(32)
    try:
        got = call(conn, "POST", "subscriptions", json={
            "changeType": "created", "notificationUrl": public_url(NOTIFY_PATH),
            "lifecycleNotificationUrl": public_url(LIFECYCLE_PATH), "resource": INBOX,
            "expirationDateTime": _expiry(), "clientState": state}).json()
    except TokenMissing:
        return False
    except Exception as exc:
        _fail(conn, exc)
        return False
    conn.push_id, conn.push_secret_hash = str(got["id"]), secret_hash(state)
    conn.push_expires_at = _parse_time(str(got["expirationDateTime"]))
    commit(get_session())
    return True


def renew(conn: EmailConnection) -> bool:
    """Extend the subscription when it lapses within :data:`RENEW_BEFORE`; subscribe again when Graph
    no longer has it."""
    if not push_enabled() or conn.kind != "graph" or conn.status == "disconnected":
        return False
    if conn.push_id is None:
        return subscribe(conn)
    if conn.push_expires_at is not None and conn.push_expires_at - utcnow() > RENEW_BEFORE:
        return False
    try:
        got = call(conn, "PATCH", f"subscriptions/{quote(conn.push_id, safe='')}",
                   json={"expirationDateTime": _expiry()}).json()
    except GraphError as exc:
        if exc.status == 404:
            conn.push_id = None
            return subscribe(conn)
        _fail(conn, exc)
        return False
    except TokenMissing:
        return False
    conn.push_expires_at = _parse_time(str(got["expirationDateTime"]))
    commit(get_session())
    return True


def lifecycle(conn: EmailConnection, event: str) -> None:
    """Act on a lifecycle notification of ``conn``'s subscription."""
    if event == "reauthorizationRequired":
        try:
            call(conn, "POST", f"subscriptions/{quote(conn.push_id or '', safe='')}/reauthorize")
        except TokenMissing:
            return  # access_token marked the mailbox and told the owners
        except GraphError as exc:
            if exc.status == 404:
                conn.push_id = None
                subscribe(conn)
                return
            get_session().rollback()
            health.failed(conn, f"Microsoft asked to reauthorize the mailbox's subscription and refused "
                          f"({exc.status} {exc.code}): reconnect the mailbox", reauthorize=True)
            return
        except Exception as exc:
            _fail(conn, exc)
            return
        renew(conn)
    elif event == "subscriptionRemoved":
        conn.push_id = None
        subscribe(conn)
    elif event == "missed":
        sync(conn)


def unsubscribe(conn: EmailConnection) -> None:
    """Delete the subscription (disconnect); best effort."""
    if conn.push_id:
        try:
            call(conn, "DELETE", f"subscriptions/{quote(conn.push_id, safe='')}")
        except Exception:
            log.warning("mailbox %s: deleting the Graph subscription failed", conn.id)
    conn.push_id = conn.push_secret_hash = None
    conn.push_expires_at = None


# -- sending ------------------------------------------------------------------------------------


def already_sent(conn: EmailConnection, message_id: str) -> bool:
    """Whether an earlier attempt got ``message_id`` out (it is in Sent Items)."""
    found = call(conn, "GET", "me/mailFolders('sentitems')/messages", params={
        "$filter": f"internetMessageId eq '{message_id.replace(chr(39), chr(39) * 2)}'", "$select": "id"}).json()
    return bool(found.get("value"))


def send(conn: EmailConnection, raw: bytes) -> None:
    """Send ``raw`` (RFC 5322) from the mailbox; Graph answers 202 and saves it to Sent Items."""
    call(conn, "POST", "me/sendMail", data=base64.b64encode(raw), headers={"Content-Type": "text/plain"})
