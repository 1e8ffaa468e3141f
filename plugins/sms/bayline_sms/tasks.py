"""Celery tasks ``bayline_sms.*`` (tenant restored from the task headers by the core's task base)."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import telnyx
from celery import shared_task
from sqlalchemy import select

from bayline.plugin_api import (
    Photo,
    Shop,
    commit,
    files,
    for_shop,
    get_session,
    plugin_config,
    unmask_for_delivery,
    unscoped,
    utcnow,
)

from . import consent, media, provider
from .models import SmsInbound, SmsNumber, SmsOutbound, SmsWebhookEvent
from .service import delivery_update, receive, set_state

log = logging.getLogger(__name__)

RETRYABLE = (telnyx.APIConnectionError, telnyx.RateLimitError, telnyx.InternalServerError)


def photo_urls(row: SmsOutbound) -> tuple[list[str], str | None]:
    """Short-lived signed URLs Telnyx can fetch, for the photos that are still customer-visible
    (``files.signed_url``: the storage's presigned URL, or the app's signed route); their lifetime
    is ``BAYLINE_PLUGIN_SMS_MEDIA_URL_TTL`` seconds (default 900)."""
    ttl = plugin_config("sms").get_int("media_url_ttl", 900)
    urls, dropped = [], 0
    for photo_id in row.photo_ids or []:
        photo = get_session().get(Photo, photo_id)
        if photo is None or photo.claim_id != row.claim_id or not photo.customer_visible:
            dropped += 1
            continue
        urls.append(files.signed_url(photo, "display", expires=ttl))
    return urls, (f"{dropped} picture(s) left out: no longer visible to the customer." if dropped else None)


def _text(row: SmsOutbound) -> str:
    """The stored (masked) body with the live portal link put back: only the request to Telnyx
    carries it (a revoked link or an expired repair stays masked)."""
    return unmask_for_delivery(row.body, row.portal_link_token_id)


@shared_task(bind=True, name="bayline_sms.send_outbound", max_retries=6, acks_late=True)
def send_outbound(self: Any, outbound_id: int) -> str:
    """Send one stored outbound text through Telnyx. Safe to run twice: a row that already has a
    Telnyx id is skipped, and the idempotency key travels as Telnyx's ``Idempotency-Key`` so a
    retry after a crash between the API call and our commit does not send again."""
    session = get_session()
    row = session.get(SmsOutbound, outbound_id)
    if row is None:
        return "missing"
    if row.telnyx_id or row.status in ("sent", "delivered", "failed"):
        return "already"
    if row.not_before is not None and row.not_before > utcnow():
        return "held"
    if row.kind != "help" and consent.is_opted_out(row.from_number, row.to_number):
        set_state(row, "failed", "Not sent: the customer opted out (STOP) before the text left.")
        commit(session)
        return "opted_out"
    number = session.scalars(select(SmsNumber).where(SmsNumber.phone_number == row.from_number)).first()
    row.attempts += 1
    commit(session)
    kwargs: dict[str, Any] = {"from_": row.from_number, "to": row.to_number, "text": _text(row),
                              "idempotency_key": row.idempotency_key}
    pictures, note = photo_urls(row)
    media_urls = list(row.media_urls or []) + pictures
    if media_urls:
        kwargs.update(media_urls=media_urls, type="MMS")
    if number is not None and number.messaging_profile_id:
        kwargs["messaging_profile_id"] = number.messaging_profile_id
    try:
        response = provider.client().messages.send(**kwargs)
    except RETRYABLE as exc:
        if self.request.retries >= self.max_retries:
            set_state(row, "failed", f"Telnyx unavailable after {row.attempts} attempts: {exc}")
            commit(session)
            return "failed"
        countdown = min(600, 5 * 2 ** self.request.retries)
        if self.request.is_eager:
            # No worker to come back later (embedded mode): park the row; the beat task
            # ``bayline_sms.release_held`` sends it once the back-off has passed.
            row.status, row.not_before = "held", utcnow() + timedelta(seconds=countdown)
            row.error = f"Telnyx busy ({type(exc).__name__}); retrying after {countdown} s"
            commit(session)
            return "deferred"
        raise self.retry(exc=exc, countdown=countdown) from None
    except telnyx.APIStatusError as exc:
        code, detail = provider.error_detail(exc)
        if code == "40300":
            consent.set_status(row.from_number, row.to_number, "opted_out", "carrier", detail)
        set_state(row, "failed", f"{detail} (Telnyx {code or exc.status_code})")
        commit(session)
        return "failed"
    data = response.data
    row.telnyx_id = data.id if data is not None else None
    row.error = note
    set_state(row, "queued")
    commit(session)
    return "sent"


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
    """Periodic: start the sends that waited for the end of a shop's quiet hours or a back-off, and
    re-run webhook events and media downloads whose back-off is over (embedded eager mode)."""
    session = get_session()
    now = utcnow()
    with unscoped(session):
        due = session.execute(select(SmsOutbound.id, SmsOutbound.tenant_id).where(
            SmsOutbound.status == "held", SmsOutbound.not_before <= now)).all()
    for outbound_id, tenant_id in due:
        with for_shop(tenant_id):
            row = session.get(SmsOutbound, outbound_id)
            row.status = "queued"
            row.not_before = None
            commit(session)
            send_outbound.apply_async(args=[outbound_id])
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
    return len(due) + len(events) + len(fetches)
