"""IMAP: sync with a UIDVALIDITY/UID cursor, IDLE push, and connection health.

:func:`sync` fetches every message above the connection's cursor (``last_uid``) in its folder and
stores each through :func:`service.ingest` (committed one by one, so an interrupted run resumes
where it stopped). A changed UIDVALIDITY restarts the cursor at 0; Message-IDs already stored are
skipped, so nothing is imported twice. :func:`watch` keeps an IDLE session open and syncs as soon as
the server reports new mail; the periodic reconciler (``bayline_email.reconcile``, :mod:`bayline_email.syncing`) runs
:func:`sync` for every mailbox, catching anything a push missed.

Failures count on the connection: a refused login marks it ``reauthorize`` at once, three other
failures in a row ``failing``; either shows the banner and emails the shop's owners once
(:mod:`bayline_email.health`)."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from bayline.plugin_api import commit, for_shop, get_session, utcnow

from . import health, service
from .models import EmailConnection

log = logging.getLogger(__name__)
BATCH = 50


def client(conn: EmailConnection) -> IMAPClient:
    if conn.auth == "oauth":
        from . import oauth

        token = oauth.access_token(conn)
        if token is None:
            raise LoginError("the provider refused the connection's refresh token: reconnect the mailbox")
        password = None
    else:
        password = service.secret(conn)
        if password is None:
            raise LoginError("the stored password no longer opens: reconnect the mailbox")
    imap = IMAPClient(conn.imap_host, port=conn.imap_port, ssl=conn.imap_ssl, timeout=120)
    try:
        if password is None:
            imap.oauth2_login(conn.username or conn.address, token)  # SASL XOAUTH2
        else:
            imap.login(conn.username or conn.address, password)
    except Exception:
        imap.shutdown()
        raise
    return imap


def sent_folder(imap: IMAPClient) -> str:
    """The mailbox's Sent folder: the one flagged ``\\Sent`` (RFC 6154), else "Sent" (created if missing)."""
    try:
        found = imap.find_special_folder(b"\\Sent")
    except Exception:
        found = None
    if found:
        return str(found)
    if not imap.folder_exists("Sent"):
        imap.create_folder("Sent")
    return "Sent"


def _fetch_new(imap: IMAPClient, conn: EmailConnection) -> int:
    info = imap.select_folder(conn.folder, readonly=True)
    uidvalidity = int(info[b"UIDVALIDITY"])
    if conn.uidvalidity != uidvalidity:
        if conn.uidvalidity is not None:
            log.warning("mailbox %s: UIDVALIDITY changed, rescanning (stored Message-IDs are skipped)", conn.id)
        conn.uidvalidity, conn.last_uid = uidvalidity, 0
        commit(get_session())
    uids = sorted(u for u in imap.search(["UID", f"{conn.last_uid + 1}:*"]) if u > conn.last_uid)
    imported = 0
    for start in range(0, len(uids), BATCH):
        chunk = uids[start:start + BATCH]
        fetched = imap.fetch(chunk, ["BODY.PEEK[]"])
        for uid in chunk:
            raw = fetched.get(uid, {}).get(b"BODY[]")
            if raw is not None:
                result = service.ingest(raw, connection=conn, provider_id=f"imap:{conn.id}:{uidvalidity}:{uid}")
                imported += int(result.created)
            conn.last_uid = uid
            commit(get_session())
    return imported


def sync(conn: EmailConnection) -> int:
    """Import new mail of ``conn`` (in its shop's context); returns how many messages were new."""
    if conn.kind != "imap" or conn.status == "disconnected":
        return 0
    try:
        imap = client(conn)
    except LoginError as exc:
        health.failed(conn, f"login refused: {exc}", reauthorize=True)
        return 0
    except Exception as exc:  # unreachable, TLS, timeout
        health.failed(conn, f"{type(exc).__name__}: {exc}")
        return 0
    try:
        imported = _fetch_new(imap, conn)
    except Exception as exc:
        get_session().rollback()
        health.failed(conn, f"{type(exc).__name__}: {exc}")
        return 0
    finally:
        try:
            imap.logout()
        except Exception:
            imap.shutdown()
    conn.last_synced_at = utcnow()
    health.ok(conn)
    return imported


def watch(app: Any, shop_id: int, conn_id: int, stop: threading.Event,
          on_idle: Callable[[], None] | None = None, idle_seconds: int = 300) -> None:
    """Keep an IDLE session on the mailbox until ``stop`` is set: sync, IDLE, and sync again as soon as
    the server pushes EXISTS/RECENT (RFC 2177 asks clients to re-issue IDLE at least every 29 minutes;
    we do every ``idle_seconds``, so ``stop`` is seen within that time).
    ``on_idle`` is called each time IDLE is entered (a readiness signal)."""
    while not stop.is_set():
        with app.app_context(), for_shop(shop_id):
            conn = get_session().get(EmailConnection, conn_id)
            if conn is None or conn.status == "disconnected":
                return
            try:
                imap = client(conn)
            except LoginError as exc:
                health.failed(conn, f"login refused: {exc}", reauthorize=True)
                stop.wait(300)
                continue
            except Exception as exc:
                health.failed(conn, f"IDLE: {type(exc).__name__}: {exc}")
                stop.wait(60)
                continue
            try:
                # select and fetch on the session that then IDLEs: mail arriving after the fetch is
                # reported by IDLE, so nothing falls between the two
                _fetch_new(imap, conn)
                conn.last_synced_at = utcnow()
                health.ok(conn)
            except Exception as exc:
                get_session().rollback()
                health.failed(conn, f"IDLE sync: {type(exc).__name__}: {exc}")
                imap.shutdown()
                stop.wait(60)
                continue
        try:
            imap.idle()
            if on_idle is not None:
                on_idle()
            # returns on the server's push (EXISTS/RECENT) or after idle_seconds; either way we leave IDLE,
            # sync, and enter it again (a fresh IDLE at least every idle_seconds, as RFC 2177 asks)
            imap.idle_check(timeout=idle_seconds)
            imap.idle_done()
        except Exception:
            log.exception("mailbox %s: IDLE interrupted", conn_id)
        finally:
            try:
                imap.logout()
            except Exception:
                imap.shutdown()
