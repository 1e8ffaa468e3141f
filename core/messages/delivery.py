"""Delivery state of a message sent through a channel plugin (SMS, email)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from bayline.db import get_session
from bayline.live import publish_after_commit

from .models import DELIVERY_STATES, Message

# How far along a message is; a late, out-of-order provider report never moves it back.
RANK = {"received": 0, "queued": 1, "sent": 2, "delivered": 3, "failed": 3}


def set_delivery(message: Message | int, state: str, *, external_id: str | None = None,
                 event_id: str = "", session: Session | None = None) -> Message | None:
    """Record ``state`` (queued, sent, delivered, failed) of an outbound message in the caller's
    transaction; ``external_id`` is the provider's id (kept once known). A report that would move
    the message backwards, or change a final state, is ignored. When the state changed, the
    claim's open portal and staff pages are told once the transaction commits (live type
    ``message.sent`` with id ``event_id``, default ``delivery:<message id>:<state>``; nothing is
    published on rollback). Returns the message (None if unknown)."""
    if state not in DELIVERY_STATES:
        raise ValueError(f"unknown delivery state {state!r} (one of {', '.join(DELIVERY_STATES)})")
    session = session or get_session()
    row = message if isinstance(message, Message) else session.get(Message, int(message))
    if row is None:
        return None
    if external_id and not row.external_id:
        row.external_id = external_id[:200]
    before = row.delivery_state
    final = before in ("delivered", "failed")
    if state == before or (final and state != before) or RANK.get(state, 0) < RANK.get(before, 0):
        return row
    row.delivery_state = state
    publish_after_commit(session, row.tenant_id, row.claim_id, "message.sent", event_id or f"delivery:{row.id}:{state}")
    return row
