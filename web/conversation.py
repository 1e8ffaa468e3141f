"""One conversation per claim: the claim's messages on every channel (customer page, text, email) in
one thread with each message's channel and honest delivery state, and the one composer's send.

Texts and emails go through the core outbox (``bayline.messaging``): a reply is purpose
``conversational``; a reply posted only to the customer page sends, when texting is set up and
allowed, a short ``transactional`` notice with the customer's link (never in the thread itself)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g
from sqlalchemy import select

from bayline.claims.models import Claim
from bayline.db import get_session
from bayline.errors import Refused
from bayline.events import commit
from bayline.messages import service as messages
from bayline.messages.channels import channel_ready
from bayline.messages.models import Message
from bayline.messaging import service as outbox
from bayline.messaging.models import OutboxItem

CHANNEL_LABELS = {"portal": "Customer page", "sms": "Text", "email": "Email"}
COMPOSER_LABELS = {"portal": "Customer page only", "sms": "Text message", "email": "Email"}


@dataclass
class Composer:
    """What the composer shows: the typed body (kept on a refusal), the chosen channel, the error."""

    body: str
    channel: str
    error: str | None = None
    quiet: bool = False  # the refusal was quiet hours: offer "send anyway"


@dataclass
class Entry:
    """One message of the thread, with the outbox row that carries it (texts, emails) and, for a
    customer-page reply, the row of its text notice."""

    message: Message
    item: OutboxItem | None = None
    notice: OutboxItem | None = None

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS.get(self.message.channel, self.message.channel)

    @property
    def state_class(self) -> str:
        if self.message.direction == "in":
            return "received"
        if self.item is not None:
            return self.item.state
        return "posted" if self.message.channel == "portal" else self.message.delivery_state

    @property
    def state_label(self) -> str:
        if self.message.direction == "in":
            return "received"
        if self.message.channel == "portal":
            label = "posted to the customer page"
            if self.notice is not None:
                label += f"; text notice {item_state(self.notice)}"
            return label
        if self.item is not None:
            return item_state(self.item)
        return self.message.delivery_state


def item_state(item: OutboxItem) -> str:
    """An outbox row's state in words, with its reason (``held``: "waiting to send: quiet hours ...")."""
    reason = item.reason or ""
    if item.state == "held":
        return "waiting to send: " + (reason.removeprefix("waiting: ") or "scheduled")
    if item.state == "failed":
        return "failed: " + (reason or "the provider did not accept it")
    return {"draft": "draft (not sent)", "queued": "queued", "sending": "sending",
            "sent": "sent (not yet confirmed delivered)", "delivered": "delivered",
            "cancelled": "cancelled"}.get(item.state, item.state)


def channels(claim: Claim) -> list[str]:
    """The composer's channels for ``claim``: the customer page always; text and email when a plugin
    says the channel is ready and the claim has the customer's number or address."""
    out = ["portal"]
    if claim.customer_mobile and channel_ready(g.shop, "sms"):
        out.append("sms")
    if claim.customer_email and channel_ready(g.shop, "email"):
        out.append("email")
    return out


def entries(claim: Claim) -> list[Entry]:
    """The claim's thread, oldest first, each message with its outbox row."""
    thread = messages.thread(claim)
    if not thread:
        return []
    ids = [m.id for m in thread]
    session = get_session()
    carried = {i.message_id: i for i in session.scalars(select(OutboxItem).where(OutboxItem.message_id.in_(ids)))}
    keys = {notice_key(m): m.id for m in thread if m.direction == "out" and m.channel == "portal"}
    notices = {keys[i.idempotency_key]: i for i in session.scalars(
        select(OutboxItem).where(OutboxItem.idempotency_key.in_(list(keys))))} if keys else {}
    return [Entry(m, carried.get(m.id), notices.get(m.id)) for m in thread]


def default_channel(thread: list[Entry], available: list[str]) -> str:
    """The channel the customer last wrote on (when the shop can answer there), else the customer page."""
    for entry in reversed(thread):
        if entry.message.direction == "in":
            return entry.message.channel if entry.message.channel in available else "portal"
    return "portal"


def notice_key(message: Message) -> str:
    return f"portal-notice:{message.id}"


def _posted(claim: Claim, key: str) -> Message | None:
    return get_session().scalars(select(Message).where(Message.claim_id == claim.id,
                                                       Message.external_id == f"reply:{key}")).first()


def send(claim: Claim, channel: str, body: str, key: str, user_id: int | None,
         confirm_quiet_hours: bool = False) -> str:
    """Send the composer's message; returns what happened, in words for the flash. ``key`` (one per
    rendered composer) makes a double submit a no-op. Raises :class:`Refused` (nothing sent)."""
    if channel == "portal":
        message = _posted(claim, key)
        if message is None:
            message = messages.send(claim, body, user_id, channel="portal")
            message.external_id = f"reply:{key}"
            commit(get_session())
        return "Posted to the customer page. " + _notify(claim, message, user_id)
    recipient = claim.customer_mobile if channel == "sms" else claim.customer_email
    item, created = outbox.enqueue(channel=channel, purpose="conversational", recipient=recipient or "",
                                   body=body, idempotency_key=f"reply:{claim.id}:{key}", claim=claim,
                                   user_id=user_id, confirm_quiet_hours=confirm_quiet_hours)
    what = "Text" if channel == "sms" else "Email"
    if not created:
        return f"{what} already sent (a second click changes nothing): {item_state(item)}."
    return f"{what}: {item_state(item)}."


def _notify(claim: Claim, message: Message, user_id: int | None) -> str:
    """The short "you have a new message" text after a customer-page reply, when texting is ready."""
    if "sms" not in channels(claim):
        return "The customer sees it on their page (no text notice: texting is not set up or there is no mobile)."
    shop: Any = g.shop
    body = f"{shop.name}: you have a new message about your repair {claim.number}. Read it here: {{portal_link}}"
    item = outbox.text_portal_link(claim, body, notice_key(message), user_id=user_id, kind="automatic", thread=False)
    if isinstance(item, Refused):
        return f"No text notice was sent: {item.message}"
    return f"Text notice with the link: {item_state(item)}."


def waiting(claim_ids: list[int]) -> set[int]:
    """Of ``claim_ids``, the claims whose latest message is the customer's (nobody answered yet)."""
    if not claim_ids:
        return set()
    from sqlalchemy import func

    latest = (select(Message.claim_id, func.max(Message.id).label("last_id"))
              .where(Message.claim_id.in_(claim_ids)).group_by(Message.claim_id).subquery())
    rows = get_session().execute(select(Message.claim_id).join(latest, Message.id == latest.c.last_id)
                                 .where(Message.direction == "in"))
    return {claim_id for (claim_id,) in rows}
