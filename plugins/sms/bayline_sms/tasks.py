"""Celery tasks ``bayline_sms.*`` (tenant restored from the task headers by the core's task base)."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import telnyx
from celery import shared_task
from sqlalchemy import select

from bayline.db import get_session, utcnow
from bayline.events import commit
from bayline.tenancy import set_tenant, unscoped

from . import consent, provider
from .models import SmsNumber, SmsOutbound, SmsWebhookEvent

log = logging.getLogger(__name__)

RETRYABLE = (telnyx.APIConnectionError, telnyx.RateLimitError, telnyx.InternalServerError)


@shared_task(bind=True, name="bayline_sms.send_outbound", max_retries=6, acks_late=True)
def send_outbound(self: Any, outbound_id: int) -> str:
    """Send one stored outbound text through Telnyx. Safe to run twice: a row that already has a
    Telnyx id is skipped, and the idempotency key travels as Telnyx's ``Idempotency-Key`` so a
    retry after a crash between the API call and our commit does not send again."""
    from .service import _set_state

    session = get_session()
    row = session.get(SmsOutbound, outbound_id)
    if row is None:
        return "missing"
    if row.telnyx_id or row.status in ("sent", "delivered", "failed"):
        return "already"
    if row.not_before is not None and row.not_before > utcnow():
        return "held"
    if row.kind != "help" and consent.is_opted_out(row.from_number, row.to_number):
        _set_state(row, "failed", "Not sent: the customer opted out (STOP) before the text left.")
        commit(session)
        return "opted_out"
    number = session.scalars(select(SmsNumber).where(SmsNumber.phone_number == row.from_number)).first()
    row.attempts += 1
    commit(session)
    kwargs: dict[str, Any] = {"from_": row.from_number, "to": row.to_number, "text": row.body,
                              "idempotency_key": row.idempotency_key}
    if row.media_urls:
        kwargs.update(media_urls=list(row.media_urls), type="MMS")
    if number is not None and number.messaging_profile_id:
        kwargs["messaging_profile_id"] = number.messaging_profile_id
    try:
        response = provider.client().messages.send(**kwargs)
    except RETRYABLE as exc:
        if self.request.retries >= self.max_retries:
            _set_state(row, "failed", f"Telnyx unavailable after {row.attempts} attempts: {exc}")
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
        _set_state(row, "failed", f"{detail} (Telnyx {code or exc.status_code})")
        commit(session)
        return "failed"
    data = response.data
    row.telnyx_id = data.id if data is not None else None
    row.error = None
    _set_state(row, "queued")
    commit(session)
    return "sent"


@shared_task(name="bayline_sms.process_event")
def process_event(event_row_id: int) -> str:
    """Do the work of a verified, deduplicated webhook event (the webhook answered already)."""
    from bayline.tenants.models import Shop

    from .service import delivery_update, receive

    session = get_session()
    row = session.get(SmsWebhookEvent, event_row_id)
    if row is None or row.processed_at is not None:
        return "skip"
    payload = (row.payload.get("data") or {}).get("payload") or {}
    if row.event_type == "message.received":
        shop = session.get(Shop, row.tenant_id)
        receive(shop, payload)
    elif row.event_type in ("message.sent", "message.finalized"):
        delivery_update(payload)
    row = session.get(SmsWebhookEvent, event_row_id)
    row.processed_at = utcnow()
    commit(session)
    return row.event_type


@shared_task(name="bayline_sms.release_held")
def release_held() -> int:
    """Periodic: start the sends that waited for the end of a shop's quiet hours."""
    session = get_session()
    now = utcnow()
    with unscoped(session):
        due = session.execute(select(SmsOutbound.id, SmsOutbound.tenant_id).where(
            SmsOutbound.status == "held", SmsOutbound.not_before <= now)).all()
    for outbound_id, tenant_id in due:
        set_tenant(tenant_id, session)
        row = session.get(SmsOutbound, outbound_id)
        row.status = "queued"
        row.not_before = None
        commit(session)
        send_outbound.apply_async(args=[outbound_id])
    set_tenant(None, session)
    return len(due)
