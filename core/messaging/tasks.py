"""Celery tasks ``bayline.messaging.*``: the send task and the beat task that releases due rows."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from flask import current_app
from sqlalchemy import or_, select, update

from bayline.db import get_session, utcnow
from bayline.errors import Refused
from bayline.events import commit
from bayline.tenancy import set_tenant, unscoped

from . import quiet, service
from .links import provider_body
from .models import OutboxItem

log = logging.getLogger(__name__)

BATCH = 200
LOST_AFTER = timedelta(minutes=10)  # a queued row whose task never ran (broker down at enqueue time)


def _deliver(item: OutboxItem, shop: Any, body: str) -> dict[str, Any] | None:
    """The ``deliver`` hook of the plugins active for the item's shop (firstresult: its channel's)."""
    from bayline.tenants.entitlements import active_features

    hooks = current_app.extensions["bayline.plugins"].hooks_for(active_features(shop))
    return hooks.deliver(outbox_item=item, body=body, provider_key=service.provider_key(item))


@shared_task(bind=True, name="bayline.messaging.send", acks_late=True)
def send(self: Any, item_id: int) -> str:
    """Hand one outbox row to its channel. Safe to run twice: a row the provider has (a provider id)
    or a final row is skipped; a row left ``sending`` by a killed worker is sent again with the same
    provider idempotency key, so the provider answers with the first message instead of a second."""
    session = get_session()
    item = session.get(OutboxItem, item_id)
    if item is None:
        return "missing"
    if item.provider_id or item.state in ("sent", "delivered", "failed", "cancelled", "draft"):
        return "already"
    now = utcnow()
    if item.state == "held" and item.due_at is not None and item.due_at > now:
        return "held"
    decision = service.check_consent(item)
    if not decision.allowed:  # e.g. STOP arrived after the message was queued
        service.report_state(item, "failed", reason=f"Not sent: {decision.reason}")
        return decision.code
    shop = service._shop()
    released = item.due_at is not None and item.due_at <= now  # its time came: quiet hours were weighed
    if item.state != "sending" and item.kind not in service.IMMEDIATE_KINDS and shop is not None \
            and not released and not (item.options or {}).get("quiet_confirmed"):
        until = quiet.quiet_until(shop.id, shop.timezone, item.purpose, item.recipient_timezone, now)
        if until is not None and item.kind != "manual":
            service.hold(item, "quiet_hours", until)
            commit(session)
            return "held"
    if item.state != "sending" and item.kind not in service.IMMEDIATE_KINDS and shop is not None:
        limited = quiet.rate_limited_until(shop.id, item.recipient, now)
        if limited is not None:
            service.hold(item, "rate_limit", limited)
            commit(session)
            return "held"
    if item.state == "held":
        service.transition(item, "queued")
    service.transition(item, "sending")
    item.attempts += 1
    from bayline.claims.models import Claim

    claim = session.get(Claim, item.claim_id) if item.claim_id else None
    try:
        body = provider_body(item, claim)
    except Refused as refused:  # a sealed value that no longer opens: fail it, never send a placeholder
        service.report_state(item, "failed", reason=refused.message)
        return "failed"
    commit(session)  # the attempt and any link it carries exist before the request leaves
    result = _deliver(item, shop, body)
    if result is None:
        service.report_state(item, "failed", reason=f"No {item.channel} channel is active for this shop.")
        return "no_channel"
    state = str(result.get("state") or "")
    if state == "retry":
        wait = int(result.get("retry_in") or 60)
        service.hold(item, "provider", utcnow() + timedelta(seconds=wait))
        item.reason = f"{item.reason} ({result.get('reason') or 'provider unavailable'})"[:500]
        commit(session)
        return "deferred"
    if state not in ("sending", "sent", "delivered", "failed"):
        raise ValueError(f"deliver hook returned an unknown state {state!r}")
    service.report_state(item, state, reason=result.get("reason"), provider_id=result.get("provider_id"))
    return state


def due_ids(session: Any, now: Any) -> list[tuple[int, int]]:
    """Claim the due rows: held rows whose time came, and queued rows whose task was lost.

    PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` so two beat processes never take the same row;
    SQLite (one writer at a time): a compare-and-set UPDATE per row does the same."""
    lost = now - LOST_AFTER
    query = (select(OutboxItem.id, OutboxItem.tenant_id, OutboxItem.state)
             .where(or_((OutboxItem.state == "held") & (OutboxItem.due_at <= now),
                        (OutboxItem.state == "queued") & (OutboxItem.updated_at <= lost)))
             .order_by(OutboxItem.due_at, OutboxItem.id).limit(BATCH))
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        query = query.with_for_update(skip_locked=True, of=OutboxItem)
    claimed: list[tuple[int, int]] = []
    for item_id, tenant_id, state in session.execute(query).all():
        result = session.execute(update(OutboxItem).where(OutboxItem.id == item_id, OutboxItem.state == state)
                                 .values(state="queued", reason=None, updated_at=now))
        if result.rowcount == 1:
            claimed.append((item_id, tenant_id))
    session.commit()
    return claimed


@shared_task(name="bayline.messaging.dispatch_due")
def dispatch_due() -> int:
    """Periodic (beat, every 30 s): enqueue the send of every due outbox row."""
    session = get_session()
    with unscoped(session):
        claimed = due_ids(session, utcnow())
    for item_id, tenant_id in claimed:
        set_tenant(tenant_id, session)
        try:
            current_app.extensions["celery"].tasks[send.name].apply_async(args=[item_id])
        except Exception:  # broker trouble: the row stays queued and the next beat finds it as lost
            log.exception("outbox item %s: send not enqueued", item_id)
    set_tenant(None, session)
    return len(claimed)
