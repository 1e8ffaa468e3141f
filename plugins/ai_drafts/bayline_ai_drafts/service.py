"""Drafting and sending: a draft is an ``ai_drafts_drafts`` row plus (texts, emails) an outbox row in
``draft`` state. Nothing here sends on its own: :func:`send` is called only from a staff member's
request and goes through ``outbox.queue_draft``, the outbox's one path from draft to queued."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from bayline.plugin_api import (
    Claim,
    DraftRequest,
    Message,
    Refused,
    Shop,
    commit,
    drafting,
    get_session,
    mask_links,
    messages,
    outbox,
    shop_settings,
    utcnow,
)

from . import facts as fact_blocks
from . import grounding, intents, platform_endpoint
from .models import AiDraft

NAME = "ai_drafts"
FEATURES = ("sms_reply", "email_reply", "adjuster_email")
MODES = ("customer", "adjuster")
EXAMPLES = 3


def settings(shop: Shop) -> Any:
    return shop_settings(NAME, shop)


def provider_config(shop: Shop, feature: str) -> dict[str, Any]:
    """The provider's settings for ``feature``: the shop's endpoint, else the platform's
    (``BAYLINE_PLUGIN_AI_DRAFTS_BASE_URL`` / ``_API_KEY``)."""
    s = settings(shop)
    platform_url, platform_key = platform_endpoint.endpoint()
    base_url = s.get_str("base_url") or platform_url
    api_key = s.get_str("api_key") if s.get_str("base_url") else platform_key
    return {"base_url": base_url, "api_key": api_key, "model": s.get_str(f"model_{feature}"),
            "model_classification": s.get_str("model_classification"), "timeout": s.get_int("timeout_seconds"),
            "max_tokens": s.get_int("max_tokens")}


def tone(shop: Shop) -> dict[str, Any]:
    s = settings(shop)
    return {"greeting": s.get_str("greeting"), "sign_off": s.get_str("sign_off"), "formality": s.get_str("formality"),
            "emoji": s.get_bool("emoji"), "max_sms_segments": s.get_int("max_sms_segments")}


def examples(limit: int = EXAMPLES) -> list[str]:
    """The shop's recently approved drafts (what staff finally sent), else the messages staff wrote
    themselves: the tone profile's examples."""
    session = get_session()
    rows = [r for r in session.scalars(select(AiDraft.final_text).where(AiDraft.state == "sent",
                                                                        AiDraft.final_text.is_not(None))
                                       .order_by(AiDraft.sent_at.desc(), AiDraft.id.desc()).limit(limit)) if r]
    if len(rows) < limit:  # before any approved draft: what staff wrote themselves
        rows += [b for b in session.scalars(select(Message.body).where(Message.direction == "out",
                                                                       Message.author_user_id.is_not(None))
                                            .order_by(Message.created_at.desc(), Message.id.desc())
                                            .limit(limit - len(rows))) if b and b not in rows]
    return rows


def _incoming(claim: Claim, message_id: int | None) -> Message | None:
    if message_id is not None:
        message = get_session().get(Message, message_id)
        if message is None or message.claim_id != claim.id or message.direction != "in":
            raise Refused(404, "ai_drafts_no_message", "That customer message is not on this claim.")
        return message
    thread = messages.thread(claim)
    return next((m for m in reversed(thread) if m.direction == "in"), None)


@dataclass
class Recipient:
    channel: str
    address: str | None


def recipient(claim: Claim, mode: str, channel: str) -> Recipient:
    if mode == "adjuster":
        return Recipient("email", claim.adjuster_email)
    if channel == "sms":
        return Recipient("sms", claim.customer_mobile)
    if channel == "email":
        return Recipient("email", claim.customer_email)
    return Recipient("portal", None)


def feature_for(mode: str, channel: str) -> str:
    if mode == "adjuster":
        return "adjuster_email"
    return "email_reply" if channel == "email" else "sms_reply"


def create(claim: Claim, shop: Shop, user_id: int | None, *, channel: str = "sms", mode: str = "customer",
           message_id: int | None = None, typed: str = "") -> AiDraft:
    """Draft a message for ``claim`` and store it (commits). A provider failure is stored as a
    ``failed`` draft with its reason and what staff had typed, and re-raised: nothing is lost and
    nothing is sent."""
    if mode not in MODES:
        raise Refused(422, "ai_drafts_bad_mode", f"mode must be one of: {', '.join(MODES)}")
    s = settings(shop)
    name = s.get_str("provider") or "template"
    provider = drafting.provider(name)
    if provider is None:
        raise Refused(409, "ai_drafts_no_provider", f"No draft provider {name!r} is available for this shop.")
    incoming = _incoming(claim, message_id) if mode == "customer" else None
    language = intents.language_of(incoming.body if incoming else "")
    if mode == "customer" and incoming is None:  # the customer's language from their earlier messages
        language = intents.language_of(" ".join(m.body for m in messages.thread(claim) if m.direction == "in"))
    to = recipient(claim, mode, channel)
    feature = feature_for(mode, to.channel)
    external = bool(getattr(provider, "external", True))
    block = fact_blocks.build(claim, shop, mode, language, external=external)
    request = DraftRequest(feature=feature, mode=mode, language=language, facts=tuple(block.facts),
                           thread=tuple(block.thread), incoming=incoming.body if incoming else "",
                           tone=tone(shop), examples=tuple(examples()),
                           config=provider_config(shop, feature) if external else {})
    draft = AiDraft(claim_id=claim.id, reply_to_message_id=incoming.id if incoming else None, feature=feature,
                    mode=mode, channel=to.channel, provider=name, language=language, state="drafted",
                    fields_sent=block.fields if external else [], unsupported=[], created_by_user_id=user_id)
    try:
        if to.channel in ("sms", "email") and not to.address:
            whom = "the adjuster" if mode == "adjuster" else "the customer"
            what = "email address" if to.channel == "email" else "mobile number"
            raise Refused(422, "ai_drafts_no_recipient", f"There is no {what} for {whom} on this claim.")
        result = provider.draft(request)
    except Refused as refused:
        get_session().rollback()
        draft.state, draft.error, draft.pending_text, draft.draft_text = "failed", refused.message[:500], typed, ""
        get_session().add(draft)
        commit(get_session())
        refused.draft_id = draft.id  # type: ignore[attr-defined]
        raise
    # the grounding check runs on the whole fact block (an external provider saw a masked copy)
    full = fact_blocks.build(claim, shop, mode, language, external=False) if external else block
    text = result.text.strip()
    draft.draft_text, draft.intent, draft.model = text, result.intent or None, result.model or None
    draft.unsupported = [span.as_dict() for span in grounding.check(text, supported_by(full))]
    get_session().add(draft)
    get_session().flush()
    if to.channel in ("sms", "email"):
        # purpose conversational: a reply staff write to one person (the customer's message, or the
        # adjuster's one-to-one business correspondence), never an automatic notification
        item, _ = outbox.enqueue(channel=to.channel, purpose="conversational", recipient=to.address or "", body=text,
                                 idempotency_key=f"ai-draft:{draft.id}:{uuid.uuid4().hex[:8]}", claim=claim,
                                 user_id=user_id, draft=True, kind="manual",
                                 subject=f"{claim.number}: repair update" if to.channel == "email" else None,
                                 thread=mode == "customer")
        draft.outbox_item_id = item.id
    commit(get_session())
    return draft


def supported_by(block: fact_blocks.FactBlock) -> set[tuple[str, str]]:
    return grounding.supported([f.value for f in block.facts])


def recheck(draft: AiDraft, claim: Claim, shop: Shop, text: str) -> list[dict[str, Any]]:
    block = fact_blocks.build(claim, shop, draft.mode, draft.language, external=False)
    return [s.as_dict() for s in grounding.check(text, supported_by(block))]


def one_click(draft: AiDraft) -> bool:
    """Whether the draft may be sent as it is, with one click (nothing unsupported in it)."""
    return draft.state == "drafted" and not draft.unsupported


def send(draft: AiDraft, claim: Claim, shop: Shop, body: str, user_id: int, *, confirm_facts: bool = False,
         confirm_quiet_hours: bool = False) -> str:
    """A staff member sends the draft (edited or not). What the facts do not support must be edited
    out or confirmed; the outbox row is sent with ``outbox.queue_draft``. Commits; returns a note."""
    if draft.state != "drafted":
        raise Refused(409, "ai_drafts_not_open", f"This draft is {draft.state}; draft a new one.")
    body = (body or "").strip()
    if not body:
        raise Refused(422, "ai_drafts_empty", "Write a message first.")
    unsupported = recheck(draft, claim, shop, body)
    if unsupported and not confirm_facts:
        draft.pending_text, draft.unsupported = body, unsupported
        draft.error = ("Check the highlighted details: they are not in the claim's facts. Edit them or confirm "
                       "they are right.")
        commit(get_session())
        raise Refused(409, "ai_drafts_unconfirmed", draft.error)
    if unsupported:
        draft.confirmed_by_user_id = user_id
    if draft.channel == "portal":
        messages.send(claim, body, user_id, channel="portal")
    else:
        item = outbox.get(draft.outbox_item_id) if draft.outbox_item_id else None
        if item is None or item.state != "draft":
            raise Refused(409, "ai_drafts_not_open", "This draft's message is no longer a draft.")
        item.body = mask_links(body)
        outbox.queue_draft(item, user_id, confirm_quiet_hours=confirm_quiet_hours)
    draft.state, draft.final_text, draft.sent_at, draft.sent_by_user_id = "sent", body, utcnow(), user_id
    draft.edit_distance = grounding.edit_distance(draft.draft_text, body)
    draft.pending_text, draft.error, draft.unsupported = None, None, unsupported
    commit(get_session())
    return "Sent unchanged." if draft.edit_distance == 0 else f"Sent with your edits ({draft.edit_distance} " \
                                                               "characters changed)."


def discard(draft: AiDraft) -> None:
    if draft.state not in ("drafted", "failed"):
        raise Refused(409, "ai_drafts_not_open", f"This draft is {draft.state}.")
    item = outbox.get(draft.outbox_item_id) if draft.outbox_item_id else None
    if item is not None and item.state == "draft":
        outbox.cancel(item)
    draft.state = "discarded"
    commit(get_session())


def stats() -> dict[str, Any]:
    """The shop's quality measure: of the drafts sent, how many went out without an edit."""
    session = get_session()
    sent = session.scalar(select(func.count()).select_from(AiDraft).where(AiDraft.state == "sent")) or 0
    unedited = session.scalar(select(func.count()).select_from(AiDraft).where(AiDraft.state == "sent",
                                                                              AiDraft.edit_distance == 0)) or 0
    drafted = session.scalar(select(func.count()).select_from(AiDraft)) or 0
    avg = session.scalar(select(func.avg(AiDraft.edit_distance)).where(AiDraft.state == "sent"))
    return {"drafted": drafted, "sent": sent, "unedited": unedited,
            "rate": round(100 * unedited / sent) if sent else None,
            "average_edit": round(float(avg), 1) if avg is not None else None}


def get(draft_id: int) -> AiDraft | None:
    return get_session().get(AiDraft, draft_id)
