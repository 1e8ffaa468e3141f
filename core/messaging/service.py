"""The outbox: enqueue (idempotent), the state machine, and the ONE function channels report through."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bayline.claims.models import Claim
from bayline.db import get_session, utcnow
from bayline.errors import Refused
from bayline.events import commit
from bayline.messages import service as messages
from bayline.messages.models import Message
from bayline.portal.links import link_ids_in, mask_links
from bayline.tenancy import current_tenant_id

from . import consent, quiet
from .links import display_body, link_field_names, sealed_fields
from .models import FINAL_STATES, PURPOSES, TRANSITIONS, OutboxItem

log = logging.getLogger(__name__)

KINDS = ("manual", "automatic", "help", "requested")
# Kinds that answer the contact's own request go out at once, even in quiet hours.
IMMEDIATE_KINDS = ("help", "requested")
# Order of the delivery states: a late or replayed provider report never moves a row back.
_RANK = {"draft": 0, "queued": 1, "held": 1, "sending": 2, "sent": 3, "delivered": 4, "failed": 4, "cancelled": 4}
_MESSAGE_STATE = {"draft": "queued", "queued": "queued", "held": "queued", "sending": "queued", "sent": "sent",
                  "delivered": "delivered", "failed": "failed", "cancelled": "failed"}


def find(idempotency_key: str) -> OutboxItem | None:
    return get_session().scalars(select(OutboxItem).where(OutboxItem.idempotency_key == idempotency_key)).first()


def for_event(event_id: str, claim: Claim) -> list[OutboxItem]:
    """The claim's outbox rows sent because of one event (``enqueue(..., event_id=event.id)``), oldest
    first: a plugin reacting to the same event after the others (``@hookimpl(trylast=True)``) sees
    what the customer is already being told, and need not send a second text for one change."""
    rows = get_session().scalars(select(OutboxItem).where(OutboxItem.claim_id == claim.id)
                                 .order_by(OutboxItem.id)).all()
    return [row for row in rows if (row.options or {}).get("event_id") == event_id]


def get(item_id: int) -> OutboxItem | None:
    return get_session().get(OutboxItem, item_id)


def by_provider_id(channel: str, provider_id: str) -> OutboxItem | None:
    return get_session().scalars(select(OutboxItem).where(OutboxItem.channel == channel,
                                                          OutboxItem.provider_id == provider_id)).first()


def _shop() -> Any:
    from bayline.tenants.models import Shop

    return get_session().get(Shop, current_tenant_id())


def waiting_reason(kind: str, until: datetime, item: OutboxItem) -> str:
    shop = _shop()
    label = quiet.local_label(until, item.recipient_timezone, shop.timezone if shop else None)
    if kind == "quiet_hours":
        return f"waiting: quiet hours until {label}"
    if kind == "rate_limit":
        return f"waiting: rate limit until {label}"
    if kind == "provider":
        return f"waiting: provider busy, retrying at {label}"
    local = until.astimezone(quiet.zone(item.recipient_timezone, shop.timezone if shop else None))
    return f"waiting: scheduled for {local:%Y-%m-%d %H:%M}"


def check_consent(item: OutboxItem) -> consent.Decision:
    if item.kind == "help":  # the one answer carriers require, even after STOP
        return consent.Decision(True)
    return consent.check(item.recipient, item.channel, item.purpose)


def enqueue(*, channel: str, purpose: str, recipient: str, body: str, idempotency_key: str,
            claim: Claim | None = None, user_id: int | None = None, kind: str = "manual",
            options: dict[str, Any] | None = None, due_at: datetime | None = None, draft: bool = False,
            recipient_timezone: str | None = None, subject: str | None = None,
            confirm_quiet_hours: bool = False, intake_consent: bool = True,
            thread: bool = True, secret_fields: dict[str, str] | None = None,
            link_fields: list[str] | tuple[str, ...] | None = None,
            event_id: str | None = None) -> tuple[OutboxItem, bool]:
    """Store an outbound message and start its send. Returns (item, created): a known
    ``idempotency_key`` returns the existing row and does nothing (a double click, a retried task).

    Refusals (:class:`Refused`) happen here, before any provider call: consent, suppression, and a
    staff send during quiet hours without ``confirm_quiet_hours``. Automatic messages in quiet hours
    and messages ``due_at`` later are stored ``held`` with the reason; the scheduler releases them.
    ``draft=True`` stores a draft: only :func:`queue_draft` (a staff action) sends it. ``thread=False``
    keeps it off the claim's thread (e.g. a link the customer asked for on the not-working page).
    ``secret_fields`` (e.g. ``{"code": "482913"}`` for a body holding ``{code}``) are stored sealed and
    filled only in the provider request, like ``{portal_link}``: staff, the thread and the database see
    the placeholder, never the value. ``link_fields`` (e.g. ``["csi_tap_1"]`` for a body holding
    ``{csi_tap_1}``) are a plugin's own link placeholders, filled at send time by its ``link_fields``
    hook (a one-use link minted when the message leaves). ``event_id`` names the event the message
    announces (a stage change), so :func:`for_event` finds it."""
    existing = find(idempotency_key)
    if existing is not None:
        return existing, False
    if purpose not in PURPOSES:
        raise Refused(422, "invalid_purpose", f"purpose must be one of: {', '.join(PURPOSES)}")
    if kind not in KINDS:
        raise Refused(422, "invalid_kind", f"kind must be one of: {', '.join(KINDS)}")
    if not recipient:
        raise Refused(422, "no_recipient", "There is no address or number to send this to.")
    session = get_session()
    options = {**(options or {}), **({} if thread else {"thread": False})}
    body = body.strip()
    carried = link_ids_in(body, current_tenant_id() or 0)
    if carried:  # a portal URL written into the text is stored masked; the send puts it back
        options["portal_token_id"] = carried[0]
    if secret_fields:
        options["sealed_fields"] = sealed_fields(body, secret_fields)
    if link_fields:
        options["link_fields"] = link_field_names(body, link_fields)
    if event_id:
        options["event_id"] = event_id
    item = OutboxItem(idempotency_key=idempotency_key, claim_id=claim.id if claim else None, channel=channel,
                      purpose=purpose, kind=kind, recipient=recipient, recipient_timezone=recipient_timezone,
                      subject=subject, body=mask_links(body), options=options, attempts=0,
                      created_by_user_id=user_id, state="draft" if draft else "queued")
    if not draft:
        _admit(item, claim, user_id, due_at, confirm_quiet_hours, intake_consent)
    session.add(item)
    try:
        session.flush()
    except IntegrityError:  # a concurrent double click won the race for this key
        session.rollback()
        found = find(idempotency_key)
        if found is None:
            raise
        return found, False
    commit(session)
    if item.state == "queued":
        start_send(item.id)
        session.refresh(item)  # an eager send task commits in its own session
    return item, True


def text_portal_link(claim: Claim, body: str, idempotency_key: str, **options: Any) -> OutboxItem | Refused:
    """A transactional text to the claim's customer mobile whose ``{portal_link}`` becomes the SMS
    channel's live link only in the provider request: the stored row, or the refusal (the session
    rolled back; each caller words it for its own page). ``options`` go to :func:`enqueue`."""
    try:
        item, _ = enqueue(channel="sms", purpose="transactional", recipient=claim.customer_mobile or "",
                          body=body, idempotency_key=idempotency_key, claim=claim, **options)
    except Refused as refused:
        get_session().rollback()
        return refused
    return item


def _admit(item: OutboxItem, claim: Claim | None, user_id: int | None, due_at: datetime | None,
           confirm_quiet_hours: bool, intake_consent: bool) -> None:
    """draft → queued or held: the consent check, quiet hours and the due time; the thread entry."""
    if intake_consent and claim is not None and item.recipient == claim.customer_mobile and item.channel == "sms":
        # the mobile given on the claim form is the recorded transactional consent (source: intake)
        consent.ensure_transactional(item.recipient, item.channel, "claim_intake")
    decision = check_consent(item)
    if not decision.allowed:
        raise Refused(409, decision.code, decision.reason)
    shop = _shop()
    now = utcnow()
    item.state, item.reason, item.due_at = "queued", None, None
    if due_at is not None and due_at > now:
        item.state, item.due_at = "held", due_at
        item.reason = waiting_reason("scheduled", due_at, item)
    elif item.kind not in IMMEDIATE_KINDS and shop is not None:
        until = quiet.quiet_until(shop.id, shop.timezone, item.purpose, item.recipient_timezone, now)
        if until is not None:
            if item.kind == "manual" and not confirm_quiet_hours:
                raise Refused(409, "quiet_hours", "It is within quiet hours for the recipient. Confirm to send now "
                                             "anyway.")
            if item.kind != "manual" or item.purpose == "marketing":
                item.state, item.due_at = "held", until
                item.reason = waiting_reason("quiet_hours", until, item)
    if claim is not None and item.message_id is None and item.channel in messages.CHANNELS \
            and (item.options or {}).get("thread", True):
        shown = display_body(item.body, (item.options or {}).get("link_fields") or ())
        message = messages.send(claim, shown[:messages.MAX_BODY], user_id, channel=item.channel)
        item.message_id = message.id


def start_send(item_id: int) -> None:
    """Start the send task now. Never with a countdown/ETA: later sends are rows with ``due_at``."""
    from bayline.tasks import enqueue as start_task

    start_task("bayline.messaging.send", item_id)


def _sync_thread(item: OutboxItem) -> None:
    if item.message_id is None:
        return
    message = get_session().get(Message, item.message_id)
    if message is not None:
        message.delivery_state = _MESSAGE_STATE[item.state]
        if item.provider_id and not message.external_id:
            message.external_id = item.provider_id


def transition(item: OutboxItem, state: str, reason: str | None = None) -> bool:
    """Move ``item`` to ``state`` when the state machine allows it; returns whether it moved."""
    if state == item.state:
        if reason:
            item.reason = reason[:500]
        return False
    if state not in TRANSITIONS[item.state]:
        return False
    item.state = state
    item.reason = reason[:500] if reason else (None if state in ("queued", "sending") else item.reason)
    now = utcnow()
    if state == "sent" and item.sent_at is None:
        item.sent_at = now
    if state == "delivered":
        item.delivered_at = now
        item.sent_at = item.sent_at or now
    _sync_thread(item)
    return True


def report_state(item: OutboxItem, state: str, *, reason: str | None = None, provider_id: str | None = None,
                 event_key: str = "") -> OutboxItem:
    """THE function channels report delivery through (send results and provider webhooks).

    Out-of-order or replayed reports never move a row back (``delivered`` then ``sent`` keeps
    ``delivered``). Commits, then tells the claim's open pages (core live channel) that the thread changed."""
    if provider_id and not item.provider_id:
        item.provider_id = provider_id[:100]
    if state in ("sent", "delivered", "failed") and item.state in ("queued", "held"):
        transition(item, "sending")
    moved = False
    if _RANK[state] >= _RANK[item.state] or (state == "failed" and item.state == "sent"):
        moved = transition(item, state, reason)
    elif reason and state == item.state:
        item.reason = reason[:500]
    if item.provider_id:
        _sync_thread(item)
    claim_id, tenant_id, item_id = item.claim_id, item.tenant_id, item.id
    commit(get_session())
    if moved and claim_id is not None:
        publish(tenant_id, claim_id, event_key or f"outbox:{item_id}:{state}")
    return item


def publish(tenant_id: int, claim_id: int, event_key: str) -> None:
    """Best effort, after the commit: open portal and staff pages of the claim refresh their thread."""
    from bayline import live

    try:
        live.publish_event(tenant_id, claim_id, "message.sent", event_key)
    except Exception:  # a broker outage never fails the delivery's work; pages poll too
        log.exception("outbox state for claim %s not published live", claim_id)


def hold(item: OutboxItem, kind: str, until: datetime) -> None:
    """Park ``item`` until ``until`` (quiet hours, rate limit, provider back-off); the beat releases it."""
    item.due_at = until
    transition(item, "held", waiting_reason(kind, until, item))


# -- staff actions ----------------------------------------------------------------------------


def queue_draft(item: OutboxItem, user_id: int, confirm_quiet_hours: bool = False) -> OutboxItem:
    """The only path from ``draft`` to ``queued``: an authenticated staff member sends the draft."""
    if item.state != "draft":
        raise Refused(409, "invalid_state", f"Only a draft can be queued; this message is {item.state}.")
    claim = get_session().get(Claim, item.claim_id) if item.claim_id else None
    item.queued_by_user_id = user_id
    _admit(item, claim, user_id, None, confirm_quiet_hours, True)
    commit(get_session())
    if item.state == "queued":
        start_send(item.id)
        get_session().refresh(item)
    return item


def cancel(item: OutboxItem) -> OutboxItem:
    if item.state not in ("draft", "queued", "held"):
        raise Refused(409, "invalid_state", f"Only a draft, queued or held message can be cancelled; this one is "
                                       f"{item.state}.")
    transition(item, "cancelled", "cancelled by staff")
    item.due_at = None
    commit(get_session())
    return item


def retry(item: OutboxItem, user_id: int | None = None) -> OutboxItem:
    if item.state != "failed":
        raise Refused(409, "invalid_state", f"Only a failed message can be retried; this one is {item.state}.")
    decision = check_consent(item)
    if not decision.allowed:
        raise Refused(409, decision.code, decision.reason)
    item.provider_id = None  # a new attempt: the provider sees a new request key
    item.options = {**(item.options or {}), "retry": int((item.options or {}).get("retry", 0)) + 1}
    transition(item, "queued")
    item.reason, item.due_at = None, None
    commit(get_session())
    start_send(item.id)
    get_session().refresh(item)
    return item


def provider_key(item: OutboxItem) -> str:
    """The idempotency key the provider sees: the same on every attempt of one send, new on a retry."""
    retry_no = int((item.options or {}).get("retry", 0))
    return f"{item.tenant_id}:{item.idempotency_key}" + (f":retry{retry_no}" if retry_no else "")


def is_final(item: OutboxItem) -> bool:
    return item.state in FINAL_STATES
