"""One entry point per job for every kind of mailbox: :func:`sync` (IMAP, Gmail, Graph), the periodic
reconciler :func:`reconcile_all` (every mailbox of every shop with the feature, from its cursor: a missed
push is caught) and :func:`renew_all` (Gmail watches and Graph subscriptions before they lapse)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bayline.plugin_api import Shop, for_shop, get_session, is_feature_active, unscoped

from .models import EmailConnection

SYNCED = ("imap", "gmail", "graph")


def sync(conn: EmailConnection) -> int:
    """Import new mail of ``conn`` (in its shop's context); returns how many messages were new."""
    if conn.kind == "gmail":
        from . import gmail

        return gmail.sync(conn)
    if conn.kind == "graph":
        from . import graph

        return graph.sync(conn)
    if conn.kind == "imap":
        from . import imap

        return imap.sync(conn)
    return 0


def start_push(conn: EmailConnection) -> bool:
    """Start the mailbox's push channel after a connect (Gmail watch, Graph subscription)."""
    if conn.kind == "gmail":
        from . import gmail

        return gmail.watch(conn)
    if conn.kind == "graph":
        from . import graph

        return graph.subscribe(conn)
    return False


def stop_push(conn: EmailConnection) -> None:
    if conn.kind == "gmail":
        from . import gmail

        gmail.stop(conn)
    elif conn.kind == "graph":
        from . import graph

        graph.unsubscribe(conn)


def renew(conn: EmailConnection) -> bool:
    if conn.kind == "gmail":
        from . import gmail

        return gmail.renew(conn)
    if conn.kind == "graph":
        from . import graph

        return graph.renew(conn)
    return False


def _each(kinds: tuple[str, ...], job: Callable[[EmailConnection], Any]) -> int:
    session = get_session()
    with unscoped(session):
        pairs = [(c.tenant_id, c.id) for c in session.query(EmailConnection).filter(
            EmailConnection.kind.in_(kinds), EmailConnection.status != "disconnected")
            .order_by(EmailConnection.id)]
    total = 0
    for shop_id, conn_id in pairs:
        with for_shop(shop_id) as shop:
            if not isinstance(shop, Shop) or not is_feature_active(shop, "email"):
                continue
            conn = session.get(EmailConnection, conn_id)
            if conn is not None:
                total += int(job(conn) or 0)
    return total


def reconcile_all() -> int:
    """Every shop's mailboxes from their cursors (the periodic reconciler); how many messages were new."""
    return _each(SYNCED, sync)


def renew_all() -> int:
    """Renew every push channel that lapses soon; how many were renewed."""
    return _each(("gmail", "graph"), renew)
