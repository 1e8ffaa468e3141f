"""Celery tasks ``bayline_sms.*`` (texts are sent by the core outbox's ``bayline.messaging.send``;
tenant restored from the task headers by the core's task base)."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from sqlalchemy import select

from bayline.plugin_api import Shop, commit, for_shop, get_session, unscoped, utcnow

from . import media
from .models import SmsInbound, SmsWebhookEvent
from .service import delivery_update, receive

log = logging.getLogger(__name__)

EVENT_MAX_ATTEMPTS = 6


def event_backoff(attempt: int) -> int:
    """Seconds before webhook-event retry ``attempt`` (1, 2, ...): 10 s doubling, at most 30 min."""
    return min(1800, 10 * 2 ** max(attempt - 1, 0))


def run_event(row: SmsWebhookEvent) -> str:
    """Do the work of one stored event. Idempotent: a processed event is skipped, an inbound text
    already threaded (same Telnyx id) is not threaded twice."""
    session = get_session()
    if row.processed_at is not None:
        return "skip"
    payload = (row.payload.get("data") or {}).get("payload") or {}
    event_id = row.id
    if row.event_type == "message.received":
        receive(session.get(Shop, row.tenant_id), payload)
    elif row.event_type in ("message.sent", "message.finalized"):
        delivery_update(payload, event_key=row.event_id)
    row = session.get(SmsWebhookEvent, event_id)
    row.processed_at, row.last_error, row.failed_at, row.retry_at = utcnow(), None, None, None
    commit(session)
    return row.event_type


@shared_task(bind=True, name="bayline_sms.process_event", max_retries=EVENT_MAX_ATTEMPTS - 1, acks_late=True)
def process_event(self: Any, event_row_id: int) -> str:
    """Do the work of a verified, deduplicated webhook event (the webhook answered already).
    A failure is recorded on the event and retried with backoff (worker: ``self.retry``; embedded
    eager mode: ``retry_at``, picked up by ``bayline_sms.release_held``); staff can replay it."""
    session = get_session()
    row = session.get(SmsWebhookEvent, event_row_id)
    if row is None or row.processed_at is not None:
        return "skip"
    row.attempts += 1
    commit(session)
    try:
        return run_event(row)
    except Exception as exc:
        session.rollback()
        log.exception("sms webhook event %s failed (attempt %s)", event_row_id, self.request.retries + 1)
        row = session.get(SmsWebhookEvent, event_row_id)
        row.last_error = f"{type(exc).__name__}: {exc}"[:500]
        row.failed_at = utcnow()
        countdown = event_backoff(row.attempts)
        last = row.attempts >= EVENT_MAX_ATTEMPTS
        # eager (embedded) mode: the beat task re-runs it at retry_at; a worker retries it itself
        row.retry_at = utcnow() + timedelta(seconds=countdown) if self.request.is_eager and not last else None
        commit(session)
        if last or self.request.is_eager:
            return "failed"
        raise self.retry(exc=exc, countdown=countdown) from None


@shared_task(bind=True, name="bayline_sms.fetch_media", max_retries=media.MAX_ATTEMPTS - 1, acks_late=True)
def fetch_media(self: Any, inbound_id: int) -> str:
    """Download an inbound MMS's media into storage / onto the claim, retrying failed items with
    backoff (Telnyx media URLs expire, so this runs right after the text is threaded)."""
    session = get_session()
    inbound = session.get(SmsInbound, inbound_id)
    if inbound is None:
        return "missing"
    inbound.media_attempts += 1
    inbound.media_retry_at = None
    commit(session)
    try:
        retry = media.download(inbound)
    except Exception:  # storage or database trouble: keep the text, try the pictures again later
        log.exception("sms inbound %s: media download failed", inbound_id)
        session.rollback()
        retry = True
    if not retry:
        return "done"
    inbound = session.get(SmsInbound, inbound_id)
    if inbound.media_attempts >= media.MAX_ATTEMPTS:
        items = [dict(i) for i in inbound.media_files]
        for item in items:
            if item.get("status") == "failed":
                item.update(status="refused", error=f"gave up after {inbound.media_attempts} attempts: "
                                                    f"{item.get('error')}")
        inbound.media_files = items
        commit(session)
        return "gave_up"
    countdown = media.backoff(inbound.media_attempts)
    if self.request.is_eager:
        inbound.media_retry_at = utcnow() + timedelta(seconds=countdown)
        commit(session)
        return "deferred"  # the beat task release_held runs it again after the back-off
    raise self.retry(countdown=countdown)


@shared_task(name="bayline_sms.release_held")
def release_held() -> int:
    """Periodic: re-run webhook events and media downloads whose back-off is over (embedded eager
    mode). Held texts are outbox rows: the core's ``bayline.messaging.dispatch_due`` releases them."""
    session = get_session()
    now = utcnow()
    with unscoped(session):
        events = session.execute(select(SmsWebhookEvent.id, SmsWebhookEvent.tenant_id).where(
            SmsWebhookEvent.processed_at.is_(None), SmsWebhookEvent.retry_at <= now)).all()
        fetches = session.execute(select(SmsInbound.id, SmsInbound.tenant_id).where(
            SmsInbound.media_retry_at <= now)).all()
    for event_id, tenant_id in events:
        with for_shop(tenant_id):
            process_event.apply_async(args=[event_id])
    for inbound_id, tenant_id in fetches:
        with for_shop(tenant_id):
            fetch_media.apply_async(args=[inbound_id])
    return len(events) + len(fetches)
