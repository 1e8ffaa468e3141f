"""Post and list messages of a claim's thread; events announce them to plugins and live pages."""
from __future__ import annotations

from typing import Any

from marshmallow import ValidationError
from sqlalchemy import bindparam, select

from bayline.bundle import Prepared, prepare
from bayline.claims.models import Claim
from bayline.db import get_session, utcnow
from bayline.events import emit
from bayline.portal.links import mask_links

from .models import CHANNELS, Message

MAX_BODY = 2000


def _clean_body(body: str | None) -> str:
    """The stored body: trimmed, and any portal link in it masked (links are never kept in clear)."""
    body = mask_links((body or "").strip())
    if not body:
        raise ValidationError({"body": ["must not be empty"]})
    if len(body) > MAX_BODY:
        raise ValidationError({"body": [f"must be at most {MAX_BODY} characters"]})
    return body


def _event_payload(message: Message) -> dict[str, object]:
    return {"claim_id": message.claim_id, "message_id": message.id, "direction": message.direction,
            "channel": message.channel}


def receive(claim: Claim, body: str | None, channel: str = "portal", external_id: str | None = None) -> Message:
    """A message from the customer (portal form, or an inbound SMS/email through a plugin)."""
    if channel not in CHANNELS:
        raise ValidationError({"channel": ["unknown channel"]})
    message = Message(tenant_id=claim.tenant_id, claim_id=claim.id, direction="in", channel=channel,
                      body=_clean_body(body), delivery_state="received", external_id=external_id,
                      created_at=utcnow())
    session = get_session()
    session.add(message)
    session.flush()
    emit("message.received", claim.tenant_id, _event_payload(message))
    return message


def send(claim: Claim, body: str | None, user_id: int | None, channel: str = "portal") -> Message:
    """A message from the shop. On the portal channel it is delivered by being on the page."""
    if channel not in CHANNELS:
        raise ValidationError({"channel": ["unknown channel"]})
    message = Message(tenant_id=claim.tenant_id, claim_id=claim.id, direction="out", channel=channel,
                      author_user_id=user_id, body=_clean_body(body),
                      delivery_state="delivered" if channel == "portal" else "queued", created_at=utcnow())
    session = get_session()
    session.add(message)
    session.flush()
    emit("message.sent", claim.tenant_id, _event_payload(message))
    return message


THREAD = "core.messages"  # the page bundle's part (bayline.bundle): the thread below


def thread_stmt(claim: Claim, limit: int = 200) -> Any:
    return (select(Message).where(Message.claim_id == claim.id)
            .order_by(Message.created_at.desc(), Message.id.desc()).limit(limit))


@prepare
def _thread() -> Any:
    return (select(Message).where(Message.claim_id == bindparam("claim_id"))
            .order_by(Message.created_at.desc(), Message.id.desc()).limit(200))


def thread_part(claim: Claim) -> Prepared:
    """:func:`thread_stmt` with the default limit, prepared (:func:`bayline.bundle.prepare`)."""
    return _thread(claim_id=claim.id)


def thread(claim: Claim, limit: int = 200) -> list[Message]:
    """The claim's messages, oldest first (the latest ``limit``); from the page's bundle when the
    page declared :data:`THREAD` (with the default limit)."""
    from bayline.bundle import prefetched

    if limit == 200:
        return list(reversed(prefetched(THREAD, thread_part(claim))))
    rows = get_session().scalars(thread_stmt(claim, limit)).all()
    return list(reversed(rows))
