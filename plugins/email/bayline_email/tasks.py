"""Celery tasks ``bayline_email.*``: the periodic reconciler (catches pushes IDLE missed)."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="bayline_email.reconcile")
def reconcile() -> int:
    """Periodic (every 5 minutes): sync every connected IMAP mailbox from its cursor."""
    from .imap import reconcile_all

    return reconcile_all()
