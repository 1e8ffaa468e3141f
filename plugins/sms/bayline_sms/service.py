"""Texts into the core outbox, inbound threading (opt-out words on the core ledger) and delivery status."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from bayline.plugin_api import (
    Claim,
    Message,
    OutboxItem,
    Refused,
    Shop,
    commit,
    consent,
    enqueue,
    get_session,
    messages,
    outbox,
    phones,
)

from .models import SmsInbound, SmsNumber

log = logging.getLogger(__name__)

# Telnyx's message states → the core outbox states (``bayline.messaging.service.report_state``).
TELNYX_STATUS = {"queued": "sending", "sending": "sending", "sent": "sent", "delivered": "delivered",
                 "delivery_unconfirmed": "sent", "sending_failed": "failed", "delivery_failed": "failed"}
CHANNEL = "sms"


class UnknownMessage(LookupError):
    """A delivery event for a Telnyx message id we do not (yet) know."""


def shop_number(session: Any = None) -> SmsNumber | None:
    return (session or get_session()).scalars(select(SmsNumber).order_by(SmsNumber.id)).first()


def queue_text(shop: Shop, to: str, body: str, key: str, *, claim: Claim | None = None,
               user_id: int | None = None, kind: str = "manual", purpose: str = "transactional",
               media_urls: list[str] | None = None, photo_ids: list[int] | None = None,
               confirm_quiet_hours: bool = False, thread: bool = True,
               event_id: str | None = None) -> tuple[OutboxItem, bool]:
    """Put a text in the core outbox (``bayline.messaging``: consent, quiet hours, idempotency, the
    scheduler). Returns (item, created); a known ``key`` returns the existing item and sends nothing.
    Raises :class:`Refused` before any API call.

    ``{portal_link}`` stays in the stored body; the core fills it with a fresh link (rotating the
    claim's previous one) only in the provider request. ``photo_ids`` (customer-visible photos of
    the claim) are sent as MMS through short-lived signed URLs made when the text leaves."""
    existing = outbox.find(key)
    if existing is not None:
        return existing, False
    if shop_number() is None:
        raise Refused(409, "sms_no_number", "This shop has no texting number yet (Settings → SMS).")
    if not to:
        raise Refused(422, "sms_no_mobile", "The customer has no mobile number on this claim.")
    options: dict[str, Any] = {"media_urls": list(media_urls or []), "photo_ids": [int(p) for p in photo_ids or []]}
    if confirm_quiet_hours:
        options["quiet_confirmed"] = True
    try:
        return outbox.enqueue(channel=CHANNEL, purpose=purpose, recipient=to, body=body, idempotency_key=key,
                              claim=claim, user_id=user_id, kind=kind, options=options,
                              confirm_quiet_hours=confirm_quiet_hours, thread=thread, event_id=event_id)
    except Refused as refused:  # the outbox's codes, named as the SMS API always named them
        raise Refused(refused.status, f"sms_{refused.code}", refused.message) from None


def is_opted_out(number: str) -> bool:
    return consent.is_suppressed(number, CHANNEL)


def delivery_update(payload: dict[str, Any], event_key: str = "") -> OutboxItem | None:
    """Apply a message.sent / message.finalized webhook to the outbox row (and so its thread message
    and the claim's open pages) through the core's ``report_state``."""
    item = outbox.by_provider_id(CHANNEL, str(payload.get("id")))
    if item is None:
        # Telnyx can call before our send task committed the id it answered with: fail, so the
        # event is retried with backoff (and can be replayed by staff) instead of being lost.
        raise UnknownMessage(f"no outbound text with Telnyx id {payload.get('id')} (yet)")
    recipients = payload.get("to") or [{}]
    status = TELNYX_STATUS.get(str(recipients[0].get("status")), None)
    if status is None:
        return item
    error = None
    if status == "failed":
        errs = payload.get("errors") or []
        error = "; ".join(f"{e.get('title') or ''} ({e.get('code')}): {e.get('detail') or ''}".strip()
                          for e in errs if isinstance(e, dict)) or "The carrier reported a failure."
        if any(str(e.get("code")) == "40300" for e in errs if isinstance(e, dict)):
            consent.opt_out(item.recipient, CHANNEL, "carrier", "Telnyx 40300")
    return outbox.report_state(item, status, reason=error, event_key=f"sms-status:{event_key}" if event_key
                               else "")


def open_claims_for(number: str) -> list[Claim]:
    return list(get_session().scalars(
        select(Claim).where(Claim.customer_mobile == number, Claim.archived_at.is_(None),
                            Claim.delivered_at.is_(None))
        .order_by(Claim.updated_at.desc(), Claim.id.desc())))


def receive(shop: Shop, payload: dict[str, Any]) -> SmsInbound:
    """Thread an inbound text: single open claim; several → most recent, flagged; none → inbox.
    Handles STOP/START/HELP on the consent ledger."""
    from . import media as media_files

    existing = get_session().scalars(select(SmsInbound).where(SmsInbound.telnyx_id == str(payload.get("id")))).first()
    if existing is not None:  # a replayed or retried event: threaded already
        return existing
    sender = str((payload.get("from") or {}).get("phone_number") or "")
    to = str(((payload.get("to") or [{}])[0]).get("phone_number") or "")
    text = str(payload.get("text") or "")
    media = [m for m in payload.get("media") or [] if isinstance(m, dict)]
    word = outbox.parse_reply(text)
    claims = open_claims_for(sender)
    claim = claims[0] if claims else None
    message = None
    body = text.strip() or f"[picture message: {len(media)} attachment(s)]"
    if claim is not None:
        message = messages.receive(claim, body[:messages.MAX_BODY], channel="sms", external_id=str(payload.get("id")))
    inbound = SmsInbound(telnyx_id=str(payload.get("id")), from_number=sender, to_number=to, body=body,
                         media=media, claim_id=claim.id if claim else None,
                         message_id=message.id if message else None, needs_refile=len(claims) > 1, keyword=word,
                         media_files=media_files.initial_items(media))
    session = get_session()
    session.add(inbound)
    # FCC: a revocation by any reasonable means is honoured at once, on this channel, every purpose
    if word == "STOP":
        consent.opt_out(sender, CHANNEL, "keyword" if text.strip().upper().rstrip(".!") in outbox.OPT_OUT
                        else "reply", text)
    elif word == "START":
        consent.opt_in(sender, CHANNEL, "keyword", text)
    session.flush()
    commit(session)
    if inbound.media_files:
        enqueue("bayline_sms.fetch_media", inbound.id)
        inbound = session.get(SmsInbound, inbound.id)
    if word == "HELP":
        help_text = (f"{shop.name}: questions about your repair? Call {phones.pretty(shop.phone) or 'the shop'}. "
                     "Reply STOP to opt out.")
        queue_text(shop, sender, help_text, f"help:{inbound.telnyx_id}", claim=claim, kind="help")
    return inbound


def attach(inbound: SmsInbound, claim: Claim) -> SmsInbound:
    """Staff re-files an inbound text onto ``claim`` (from the inbox or a flagged guess)."""
    session = get_session()
    if inbound.message_id is not None:
        message = session.get(Message, inbound.message_id)
        if message is not None:
            message.claim_id = claim.id
    else:
        message = messages.receive(claim, inbound.body[:messages.MAX_BODY], channel="sms",
                                   external_id=inbound.telnyx_id)
        inbound.message_id = message.id
    inbound.claim_id = claim.id
    inbound.needs_refile = False
    commit(session)
    if inbound.media_files:
        from .media import file_held

        file_held(inbound, claim)
    return inbound
