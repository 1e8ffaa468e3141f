"""Outbound queueing (consent, quiet hours, idempotency), inbound threading and delivery status."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bayline.plugin_api import (
    Claim,
    Message,
    Refused,
    Shop,
    channel_link,
    commit,
    enqueue,
    get_session,
    link_ids_in,
    mask_links,
    messages,
    phones,
    shop_settings,
    utcnow,
)

from . import consent
from .models import SmsInbound, SmsNumber, SmsOutbound
from .templates import PORTAL_LINK

log = logging.getLogger(__name__)

STATUS_RANK = {"held": 0, "queued": 1, "sent": 2, "delivered": 3, "failed": 3}
TELNYX_STATUS = {"queued": "queued", "sending": "queued", "sent": "sent", "delivered": "delivered",
                 "delivery_unconfirmed": "sent", "sending_failed": "failed", "delivery_failed": "failed"}


class UnknownMessage(LookupError):
    """A delivery event for a Telnyx message id we do not (yet) know."""


def shop_number(session: Any = None) -> SmsNumber | None:
    return (session or get_session()).scalars(select(SmsNumber).order_by(SmsNumber.id)).first()


def parse_hhmm(value: str) -> str:
    try:
        parsed = datetime.strptime(value.strip(), "%H:%M")
    except ValueError:
        raise ValueError("must be a time like 21:00") from None
    return parsed.strftime("%H:%M")


def quiet_until(shop: Shop, now: datetime | None = None) -> datetime | None:
    """When the shop's quiet window is on at ``now``, the UTC time it opens again; else None."""
    settings = shop_settings("sms", shop)
    start, end = settings.get("quiet_hours_start"), settings.get("quiet_hours_end")
    if not start or not end or start == end:
        return None
    tz = ZoneInfo(shop.timezone or "UTC")
    local = (now or utcnow()).astimezone(tz)
    s, e = time.fromisoformat(start), time.fromisoformat(end)
    t = local.time()
    inside = (s <= t < e) if s < e else (t >= s or t < e)
    if not inside:
        return None
    opens = local.replace(hour=e.hour, minute=e.minute, second=0, microsecond=0)
    if opens <= local:
        opens += timedelta(days=1)
    return opens.astimezone(UTC)


def find_outbound(key: str) -> SmsOutbound | None:
    return get_session().scalars(select(SmsOutbound).where(SmsOutbound.idempotency_key == key)).first()


def queue_text(shop: Shop, to: str, body: str, key: str, *, claim: Claim | None = None,
               user_id: int | None = None, kind: str = "manual", purpose: str = "transactional",
               media_urls: list[str] | None = None, photo_ids: list[int] | None = None,
               confirm_quiet_hours: bool = False, skip_consent: bool = False) -> tuple[SmsOutbound, bool]:
    """Store an outbound text and start its send task. Returns (row, created); a known
    ``key`` returns the existing row and sends nothing. Raises :class:`Refused` (``sms_no_number``,
    ``sms_no_mobile``, ``sms_opted_out``, ``sms_quiet_hours``) before any API call.

    ``{portal_link}`` in a claim's text stands for the claim's SMS link (core ``channel_link``,
    which issues one only when none is live, after every refusal check passed; printed and other
    links are untouched). The row and the thread keep the text with every portal link masked
    (core ``mask_links``); the send task puts the live link back for the request to Telnyx only.
    ``photo_ids`` (customer-visible
    photos of the claim) are sent as MMS through short-lived signed URLs made by the send task."""
    existing = find_outbound(key)
    if existing is not None:
        return existing, False
    number = shop_number()
    if number is None:
        raise Refused(409, "sms_no_number", "This shop has no texting number yet (Settings → SMS).")
    if not to:
        raise Refused(422, "sms_no_mobile", "The customer has no mobile number on this claim.")
    if not skip_consent and consent.is_opted_out(number.phone_number, to):
        raise Refused(409, "sms_opted_out",
                      f"{phones.pretty(to)} has opted out of texts from {phones.pretty(number.phone_number)} "
                      "(replied STOP). Nothing was sent; the customer can text START to opt back in.")
    # Quiet hours hold automatic texts and make staff confirm; replies to the customer's own
    # request ("help", "requested": e.g. the portal's "text me a new link") go out at once.
    not_before = quiet_until(shop) if kind in ("automatic", "manual") else None
    if not_before is not None and kind == "manual" and not confirm_quiet_hours:
        raise Refused(409, "sms_quiet_hours", "It is within the shop's quiet hours. Confirm to send now anyway.")
    if kind == "manual":
        not_before = None
    session = get_session()
    message = None
    if claim is not None and PORTAL_LINK in body:
        body = body.replace(PORTAL_LINK, channel_link(claim, "sms"))
    link_ids = link_ids_in(body, shop.id)
    body = mask_links(body)
    if claim is not None:
        message = messages.send(claim, body, user_id, channel="sms")
    row = SmsOutbound(idempotency_key=key, claim_id=claim.id if claim else None,
                      message_id=message.id if message else None, from_number=number.phone_number, to_number=to,
                      body=message.body if message else body.strip(), media_urls=list(media_urls or []),
                      photo_ids=[int(p) for p in photo_ids or []],
                      portal_link_token_id=link_ids[0] if link_ids else None, purpose=purpose, kind=kind,
                      status="held" if not_before else "queued", not_before=not_before)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # a concurrent double click won the race for this key
        session.rollback()
        found = find_outbound(key)
        assert found is not None
        return found, False
    if claim is not None and not skip_consent:
        consent.ensure_opted_in(number.phone_number, to, "claim_intake")
    commit(session)
    if row.status == "queued":
        start_send(row.id)
    return row, True


def start_send(outbound_id: int) -> None:
    enqueue("bayline_sms.send_outbound", outbound_id)


def set_state(row: SmsOutbound, status: str, error: str | None = None, *, event_id: str = "") -> None:
    """Move ``row`` (and its thread message) to ``status``; never backwards, never out of a final
    state. Open pages of the claim are told once the caller commits (``messages.set_delivery``)."""
    if STATUS_RANK.get(status, 0) < STATUS_RANK.get(row.status, 0) and row.status != "held":
        return
    if row.status in ("delivered", "failed") and status != row.status:
        return
    row.status = status
    if error:
        row.error = error[:500]
    if row.message_id is not None:
        messages.set_delivery(row.message_id, status if status != "held" else "queued",
                              external_id=row.telnyx_id, event_id=event_id)


def delivery_update(payload: dict[str, Any], event_key: str = "") -> SmsOutbound | None:
    """Apply a message.sent / message.finalized webhook to the outbound row and its thread message,
    and tell open portal pages of the claim (core live channel) that the thread changed."""
    row = get_session().scalars(select(SmsOutbound).where(SmsOutbound.telnyx_id == str(payload.get("id")))).first()
    if row is None:
        # Telnyx can call before our send task committed the id it answered with: fail, so the
        # event is retried with backoff (and can be replayed by staff) instead of being lost.
        raise UnknownMessage(f"no outbound text with Telnyx id {payload.get('id')} (yet)")
    recipients = payload.get("to") or [{}]
    status = TELNYX_STATUS.get(str(recipients[0].get("status")), None)
    if status is None:
        return row
    error = None
    if status == "failed":
        errs = payload.get("errors") or []
        error = "; ".join(f"{e.get('title') or ''} ({e.get('code')}): {e.get('detail') or ''}".strip()
                          for e in errs if isinstance(e, dict)) or "The carrier reported a failure."
        if any(str(e.get("code")) == "40300" for e in errs if isinstance(e, dict)):
            consent.set_status(row.from_number, row.to_number, "opted_out", "carrier", "Telnyx 40300")
    before = row.status
    set_state(row, status, error, event_id=f"sms-status:{event_key or f'{row.id}:{status}'}")
    if row.status != before:
        commit(get_session())  # open portal pages of the claim refresh their thread (set_delivery)
    return row


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
    word = consent.keyword(text)
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
    if word == "STOP":
        consent.set_status(to, sender, "opted_out", "keyword", text)
    elif word == "START":
        consent.set_status(to, sender, "opted_in", "keyword", text)
    session.flush()
    commit(session)
    if inbound.media_files:
        enqueue("bayline_sms.fetch_media", inbound.id)
        inbound = session.get(SmsInbound, inbound.id)
    if word == "HELP":
        help_text = (f"{shop.name}: questions about your repair? Call {phones.pretty(shop.phone) or 'the shop'}. "
                     "Reply STOP to opt out.")
        queue_text(shop, sender, help_text, f"help:{inbound.telnyx_id}", claim=claim, kind="help",
                   skip_consent=True)
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
