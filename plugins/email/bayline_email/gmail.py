"""Gmail through its REST API (google-api-python-client with its bundled discovery document; google-auth
credentials carrying our access token, refreshed by :func:`bayline_email.oauth.access_token`).

Sync, push-first and reconciled:

- the cursor is the mailbox's last synced ``historyId`` (``sync_cursor``); :func:`sync` pages through
  ``users.history.list(startHistoryId=...)`` for messages added to the INBOX and stores each new one
  (``messages.get(format="raw")``) through :func:`service.ingest` (``provider_id``
  ``gmail:<connection>:<message id>``, ``provider_thread`` ``gmail:<connection>:<threadId>``). A cursor
  Google no longer keeps answers 404: a full resync (the newest :data:`FULL_SYNC_LIMIT` INBOX messages,
  ``messages.list``) from the profile's current ``historyId``; stored messages are skipped, so nothing
  is imported twice.
- push: ``users.watch`` on the platform's Pub/Sub topic (``BAYLINE_PLUGIN_EMAIL_GOOGLE_PUBSUB_TOPIC``);
  Pub/Sub's push subscription POSTs to ``/plugins/email/push/gmail?token=<push token>``, which only
  starts :func:`sync` of that mailbox (the notification carries no mail, so a forged one can at most
  cause a sync). A watch lapses after 7 days; ``bayline_email.renew_push`` renews it daily.
- the periodic reconciler (``bayline_email.reconcile``) runs :func:`sync` of every mailbox: a lost push
  is caught within minutes.

Sending (:func:`send`): ``users.messages.send`` with the RFC 5322 message the outbox built (our
Message-ID, ``In-Reply-To``/``References``, "Re:" subject, ``Reply-To``) and the parent's ``threadId``, so
Gmail threads it too and files it in the shop's Sent mail."""
from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from bayline.plugin_api import commit, get_session, utcnow

from . import health, oauth, service
from .models import EmailConnection

log = logging.getLogger(__name__)
FULL_SYNC_LIMIT = 200
RENEW_BEFORE = timedelta(days=6)  # a watch lives 7 days: renewed about daily, as Google recommends


class TokenMissing(Exception):
    pass


def api(conn: EmailConnection) -> Any:
    """A Gmail API client for ``conn`` (raises :class:`TokenMissing` when the mailbox must reconnect)."""
    token = oauth.access_token(conn)
    if token is None:
        raise TokenMissing("the provider refused the connection's refresh token: reconnect the mailbox")
    return _build(token)


def profile_with(token: str) -> dict[str, Any]:
    """``users.getProfile`` with a fresh access token (the approved mailbox's address, before it is stored)."""
    return dict(_build(token).users().getProfile(userId="me").execute())


def _build(token: str) -> Any:
    import google_auth_httplib2
    import httplib2
    from google.oauth2.credentials import Credentials
    from googleapiclient.discovery import build

    # refresh is ours (near expiry, rotation stored): the transport never refreshes on its own
    http = google_auth_httplib2.AuthorizedHttp(Credentials(token), http=httplib2.Http(timeout=60),
                                               refresh_status_codes=())
    endpoint = oauth.setting("google_api_endpoint")
    return build("gmail", "v1", http=http, static_discovery=True, cache_discovery=False,
                 client_options={"api_endpoint": endpoint} if endpoint else None)


def _status(exc: Exception) -> int | None:
    resp = getattr(exc, "resp", None)
    return int(resp.status) if resp is not None and getattr(resp, "status", None) else None


def _fail(conn: EmailConnection, exc: Exception) -> None:
    status = _status(exc)
    get_session().rollback()
    if status in (401, 403):  # a fresh token refused: access was revoked or the scopes withdrawn
        health.failed(conn, f"Gmail refused the connection ({status}): reconnect the mailbox", reauthorize=True)
    else:
        health.failed(conn, f"Gmail: {type(exc).__name__} {status or ''}".strip())


def _fetch(gm: Any, conn: EmailConnection, message_id: str) -> bool:
    from googleapiclient.errors import HttpError

    provider_id = f"gmail:{conn.id}:{message_id}"
    if service.find(provider_id=provider_id) is not None:
        return False
    try:
        got = gm.users().messages().get(userId="me", id=message_id, format="raw").execute()
    except HttpError as exc:
        if _status(exc) == 404:  # deleted since it was listed
            return False
        raise
    raw = base64.urlsafe_b64decode(str(got.get("raw") or "") + "==")
    thread = f"gmail:{conn.id}:{got['threadId']}" if got.get("threadId") else None
    return service.ingest(raw, connection=conn, provider_id=provider_id, provider_thread=thread).created


def _full(gm: Any, conn: EmailConnection) -> int:
    """The newest INBOX messages, then the cursor at the profile's historyId (read first: mail arriving
    while we list is in the history after it)."""
    start = str(gm.users().getProfile(userId="me").execute()["historyId"])
    ids: list[str] = []
    token = None
    while len(ids) < FULL_SYNC_LIMIT:
        page = gm.users().messages().list(userId="me", labelIds=["INBOX"], maxResults=100,
                                          pageToken=token).execute()
        ids += [m["id"] for m in page.get("messages") or []]
        token = page.get("nextPageToken")
        if not token:
            break
    imported = sum(_fetch(gm, conn, mid) for mid in reversed(ids[:FULL_SYNC_LIMIT]))  # oldest first
    conn.sync_cursor = start
    commit(get_session())
    return imported


def _history(gm: Any, conn: EmailConnection) -> int:
    ids: list[str] = []
    latest = conn.sync_cursor
    token = None
    while True:
        page = gm.users().history().list(userId="me", startHistoryId=conn.sync_cursor, labelId="INBOX",
                                         historyTypes=["messageAdded"], pageToken=token).execute()
        for record in page.get("history") or []:
            for added in record.get("messagesAdded") or []:
                message = added.get("message") or {}
                if message.get("id") and message["id"] not in ids:
                    ids.append(message["id"])
        latest = str(page.get("historyId") or latest)
        token = page.get("nextPageToken")
        if not token:
            break
    imported = sum(_fetch(gm, conn, mid) for mid in ids)
    conn.sync_cursor = latest  # only once every message is stored: an interrupted run starts over
    commit(get_session())
    return imported


def sync(conn: EmailConnection) -> int:
    """Import new mail of ``conn`` (in its shop's context); returns how many messages were new."""
    from googleapiclient.errors import HttpError

    if conn.kind != "gmail" or conn.status == "disconnected":
        return 0
    try:
        gm = api(conn)
    except TokenMissing:
        return 0  # access_token marked the mailbox and told the owners
    try:
        if conn.sync_cursor is None:
            imported = _full(gm, conn)
        else:
            try:
                imported = _history(gm, conn)
            except HttpError as exc:
                if _status(exc) != 404:
                    raise
                log.warning("mailbox %s: Gmail no longer has history %s: full resync", conn.id, conn.sync_cursor)
                imported = _full(gm, conn)
    except Exception as exc:
        _fail(conn, exc)
        return 0
    conn.last_synced_at = utcnow()
    health.ok(conn)
    return imported


# -- push (users.watch) -------------------------------------------------------------------------


def watch(conn: EmailConnection) -> bool:
    """Start (or renew) Gmail's push to the platform's Pub/Sub topic; False when push is not set up."""
    topic = oauth.setting("google_pubsub_topic")
    if not topic or conn.kind != "gmail" or conn.status == "disconnected":
        return False
    try:
        got = api(conn).users().watch(userId="me", body={"topicName": topic, "labelIds": ["INBOX"],
                                                         "labelFilterBehavior": "include"}).execute()
    except TokenMissing:
        return False
    except Exception as exc:
        _fail(conn, exc)
        return False
    conn.push_expires_at = datetime.fromtimestamp(int(got["expiration"]) / 1000, UTC)
    commit(get_session())
    return True


def renew(conn: EmailConnection) -> bool:
    """Renew the watch when it lapses within :data:`RENEW_BEFORE` (the daily renewal job)."""
    if conn.push_expires_at is not None and conn.push_expires_at - utcnow() > RENEW_BEFORE:
        return False
    return watch(conn)


def stop(conn: EmailConnection) -> None:
    """End the watch (disconnect); best effort."""
    try:
        api(conn).users().stop(userId="me").execute()
    except Exception:
        log.warning("mailbox %s: stopping the Gmail watch failed", conn.id)
    conn.push_expires_at = None


def decode_push(envelope: Any) -> tuple[str, str]:
    """(emailAddress, historyId) of a Pub/Sub push envelope; ValueError when it is not one."""
    import json

    if not isinstance(envelope, dict) or not isinstance(envelope.get("message"), dict):
        raise ValueError("not a Pub/Sub push message (no message object)")
    data = envelope["message"].get("data")
    if not isinstance(data, str):
        raise ValueError("message.data is missing")
    try:
        payload = json.loads(base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_"))
    except (ValueError, TypeError) as exc:
        raise ValueError("message.data is not base64 JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("emailAddress"), str):
        raise ValueError("message.data has no emailAddress")
    return payload["emailAddress"].strip().lower(), str(payload.get("historyId") or "")


# -- sending ------------------------------------------------------------------------------------


def thread_of(conn: EmailConnection, provider_thread: str | None) -> str | None:
    prefix = f"gmail:{conn.id}:"
    return provider_thread[len(prefix):] if provider_thread and provider_thread.startswith(prefix) else None


def already_sent(conn: EmailConnection, message_id: str) -> dict[str, Any] | None:
    """The Sent copy of ``message_id`` when an earlier attempt got it out (Gmail's ``rfc822msgid:`` search)."""
    found = api(conn).users().messages().list(userId="me", q=f"rfc822msgid:{message_id.strip('<>')}",
                                              labelIds=["SENT"], maxResults=1).execute()
    messages = found.get("messages") or []
    return dict(messages[0]) if messages else None


def send(conn: EmailConnection, raw: bytes, thread_id: str | None) -> dict[str, Any]:
    """Send ``raw`` from the mailbox; returns Gmail's message (``id``, ``threadId``, ``labelIds``)."""
    body: dict[str, Any] = {"raw": base64.urlsafe_b64encode(raw).decode("ascii")}
    if thread_id:
        body["threadId"] = thread_id
    return dict(api(conn).users().messages().send(userId="me", body=body).execute())
