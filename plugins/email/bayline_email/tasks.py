"""Celery tasks ``bayline_email.*``: the periodic reconciler (catches pushes that were missed), the push
renewal job, and the sync a push notification starts (tenant restored from the task headers)."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="bayline_email.reconcile")
def reconcile() -> int:
    """Periodic (every 5 minutes): sync every connected mailbox (IMAP, Gmail, Graph) from its cursor."""
    from .syncing import reconcile_all

    return reconcile_all()


@shared_task(name="bayline_email.renew_push")
def renew_push() -> int:
    """Periodic (hourly): renew Gmail watches and Graph subscriptions that lapse soon."""
    from .syncing import renew_all

    return renew_all()


@shared_task(name="bayline_email.sync")
def sync_connection(connection_id: int) -> int:
    """Sync one mailbox of the current shop (started by a push notification)."""
    from bayline.plugin_api import get_session

    from .models import EmailConnection
    from .syncing import sync

    conn = get_session().get(EmailConnection, connection_id)
    return sync(conn) if conn is not None else 0


@shared_task(name="bayline_email.graph_lifecycle")
def graph_lifecycle(connection_id: int, event: str) -> None:
    """Act on a Graph lifecycle notification (reauthorizationRequired, subscriptionRemoved, missed)."""
    from bayline.plugin_api import get_session

    from . import graph
    from .models import EmailConnection

    conn = get_session().get(EmailConnection, connection_id)
    if conn is not None:
        graph.lifecycle(conn, event)
