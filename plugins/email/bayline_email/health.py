"""Connection health: failures counted on the mailbox, the console banner, and one email to the shop's
owners when a mailbox needs them (refused login / invalid grant at once, or three failures in a row).
The owner email is the platform's own mail (``send_platform_mail``): it never depends on the broken
mailbox. A later success clears the state; a new breakage emails again."""
from __future__ import annotations

from bayline.plugin_api import commit, external_url_for, get_session, notify_shop_owners, utcnow

from .models import EmailConnection

FAILURES_BEFORE_ALERT = 3


def needs_attention(conn: EmailConnection) -> bool:
    return conn.status in ("reauthorize", "failing")


def banner(conn: EmailConnection) -> str:
    if conn.status == "reauthorize":
        return (f"The mailbox {conn.address} stopped working: it must be reconnected "
                f"({conn.last_error or 'login refused'}).")
    return f"The mailbox {conn.address} is failing to sync: {conn.last_error or 'unknown error'}."


def failed(conn: EmailConnection, error: str, reauthorize: bool = False) -> None:
    conn.failures = (conn.failures or 0) + 1
    conn.last_error = error[:500]
    if reauthorize:
        conn.status = "reauthorize"
    elif conn.failures >= FAILURES_BEFORE_ALERT and conn.status == "ok":
        conn.status = "failing"
    if needs_attention(conn) and conn.owner_notified_at is None:
        _email_owners(conn)
        conn.owner_notified_at = utcnow()
    commit(get_session())


def ok(conn: EmailConnection) -> None:
    conn.failures, conn.last_error = 0, None
    if conn.status in ("reauthorize", "failing"):
        conn.status = "ok"
    conn.owner_notified_at = None
    commit(get_session())


def _email_owners(conn: EmailConnection) -> None:
    link = external_url_for("plugin_email.connections")
    notify_shop_owners(f"Action needed: the mailbox {conn.address} stopped syncing",
                       f"{banner(conn)}\n\nReconnect it here: {link}\n\nUntil then, email to this mailbox "
                       "does not reach your claims.", conn.tenant_id)
