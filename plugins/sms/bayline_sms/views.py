"""Routes: staff ``plugin_sms`` under ``/plugins/sms`` (plan-gated) and the Telnyx webhook.

The webhook, ``POST /plugins/sms/webhook``, is public: Telnyx calls it for every shop's number, so
no shop is known before the view runs. It lives on its own blueprint ``plugin_sms_public``
(``public_blueprint("sms", csrf_protect=False)``, from ``register_public_blueprints``: not gated by
the shop's plan, and exempt from CSRF because Telnyx's ed25519 signature authenticates it), binds
the shop itself (``for_shop``) — an inbound text from the shop holding the receiving number now, a
delivery status from the shop that sent the text (its Telnyx id; the sending number only until the
id is stored) — and ignores numbers nobody holds (released, quarantined) or whose shop does not have
the ``sms`` feature active.
"""
from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bayline.plugin_api import (
    Claim,
    OutboxItem,
    Refused,
    Shop,
    commit,
    current_principal,
    files,
    for_shop,
    get_session,
    is_feature_active,
    mask_json,
    message_templates,
    outbox,
    phones,
    public_blueprint,
    require,
    shop_settings,
    staff_blueprint,
    unscoped,
)

from . import numbers, provider, service
from .models import SmsInbound, SmsNumber, SmsWebhookEvent
from .templates import MILESTONES, fill

log = logging.getLogger(__name__)

bp = staff_blueprint("sms")


def _principal() -> Any:
    principal = current_principal()
    assert principal is not None  # every staff view is behind @require
    return principal


def _claim(claim_id: int) -> Claim:
    claim = get_session().get(Claim, claim_id) if 0 < claim_id < 2**31 else None
    if claim is None:
        raise Refused(404, "not_found", "No such claim.")
    return claim


def _is_form() -> bool:
    return not request.is_json


def _data() -> dict[str, Any]:
    return (request.get_json(silent=True) or {}) if request.is_json else request.form.to_dict()


def _back(message: str, category: str = "info") -> Any:
    """Form posts from the console page: flash and go back to it."""
    flash(message, category)
    return redirect(url_for("plugin_sms.console"))


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes", "on")


def outbound_dict(row: OutboxItem) -> dict[str, Any]:
    """A text of the core outbox as this plugin's API has always shown it (``status`` = outbox state)."""
    options = row.options or {}
    number = service.shop_number()
    return {"id": row.id, "claim_id": row.claim_id, "message_id": row.message_id, "to": row.recipient,
            "from": options.get("from") or (number.phone_number if number else None),
            "body": outbox.display_body(row.body), "status": row.state, "error": row.reason,
            "telnyx_id": row.provider_id,
            "kind": row.kind, "purpose": row.purpose, "idempotency_key": row.idempotency_key,
            "photo_ids": list(options.get("photo_ids") or []),
            "portal_link_issued": options.get("portal_token_id") is not None,
            "not_before": row.due_at.isoformat() if row.due_at else None}


def inbound_dict(row: SmsInbound) -> dict[str, Any]:
    return {"id": row.id, "from": row.from_number, "to": row.to_number, "body": row.body, "claim_id": row.claim_id,
            "message_id": row.message_id, "needs_refile": row.needs_refile, "keyword": row.keyword,
            "received_at": row.received_at.isoformat(), "media": row.media,
            "media_files": [{k: v for k, v in m.items() if k != "key"} for m in row.media_files or []]}


@bp.get("/")
@require("claims.read")
def console() -> Any:
    """Console page: the shop's number (assign, or search and order) and the inbox to file."""
    principal = _principal()
    area = (request.args.get("area_code") or "").strip()
    available: list[str] = []
    error = None
    setup_problem = provider.setup_problem() if principal.can("sms.manage") else None
    if area and principal.can("sms.manage"):
        if not (area.isdigit() and len(area) == 3):
            error = "The area code is 3 digits, e.g. 617."
        elif setup_problem:
            error = setup_problem
        else:
            try:
                available = _search(area)
            except provider.telnyx_errors() as exc:
                error = provider.explain(exc)
            if not error and not available:
                error = f"Telnyx has no texting numbers in area code {area} right now; try a nearby one."
    return render_template("bayline_sms/console.html", number=service.shop_number(), inbox=_inbox_rows(),
                           failed_events=_failed_events(),
                           can_manage=principal.can("sms.manage"), available=available, area_code=area,
                           search_error=error, setup_problem=setup_problem,
                           quarantine_days=numbers.quarantine_days())


@bp.get("/claims/<int:claim_id>/messages")
@require("claims.read")
def list_messages(claim_id: int) -> Any:
    claim = _claim(claim_id)
    session = get_session()
    outs = session.scalars(select(OutboxItem).where(OutboxItem.claim_id == claim.id,
                                                    OutboxItem.channel == service.CHANNEL).order_by(OutboxItem.id))
    ins = session.scalars(select(SmsInbound).where(SmsInbound.claim_id == claim.id).order_by(SmsInbound.id))
    return {"outbound": [outbound_dict(r) for r in outs], "inbound": [inbound_dict(r) for r in ins]}


@bp.post("/claims/<int:claim_id>/messages")
@require("sms.send")
def send_message(claim_id: int) -> Any:
    principal = _principal()
    claim = _claim(claim_id)
    data = _data()
    key = str(data.get("idempotency_key") or "").strip()[:100] or f"auto:{uuid.uuid4().hex}"
    body = str(data.get("body") or "").strip()
    template = str(data.get("template") or "").strip()
    if not body and template:
        if template not in MILESTONES:
            raise Refused(422, "validation_error", f"template must be one of: {', '.join(MILESTONES)}.")
        body = fill(shop_settings("sms").get_str(f"template_{template}"), claim, g.shop)
    if not body:
        if _is_form():
            flash("Write a message first.", "error")
            return redirect(url_for("console.claim", claim_id=claim.id))
        raise Refused(422, "validation_error", "Write a message first.", errors={"json": {"body": ["required"]}})
    media = data.get("media_urls") or []
    if not isinstance(media, list) or len(media) > 10 or not all(
            isinstance(u, str) and u.startswith("https://") and len(u) <= 1000 for u in media):
        raise Refused(422, "validation_error", "media_urls must be up to 10 https:// URLs.")
    photo_ids = _photo_ids(claim)
    try:
        row, created = service.queue_text(g.shop, claim.customer_mobile or "", body, f"claim:{claim.id}:{key}",
                                          claim=claim, user_id=principal.user_id, media_urls=media,
                                          photo_ids=photo_ids,
                                          confirm_quiet_hours=_truthy(data.get("confirm_quiet_hours")))
    except Refused as refused:
        get_session().rollback()
        if _is_form():
            flash(refused.message, "error")
            return redirect(url_for("console.claim", claim_id=claim.id))
        raise
    if _is_form():
        flash("Text queued." if created else "Already sent (duplicate submit ignored).", "info")
        return redirect(url_for("console.claim", claim_id=claim.id))
    return outbound_dict(row), 202 if created else 200


def _photo_ids(claim: Claim) -> list[int]:
    """``photo_ids`` (JSON list, or checkboxes of the panel's form): customer-visible photos of this
    claim only; anything else is refused (422) before a text is stored."""
    raw = (request.get_json(silent=True) or {}).get("photo_ids", []) if request.is_json \
        else request.form.getlist("photo_ids")
    if not isinstance(raw, list) or len(raw) > 10:
        raise Refused(422, "validation_error", "photo_ids must be a list of up to 10 photo ids.")
    ids: list[int] = []
    for value in raw:
        try:
            photo_id = int(value)
        except (TypeError, ValueError):
            raise Refused(422, "validation_error", "photo_ids must be photo ids (integers).") from None
        photo = files.get_photo(photo_id, claim.id)
        if photo is None or not photo.customer_visible:
            raise Refused(422, "sms_photo_not_shareable",
                      f"Photo {photo_id} is not a customer-visible photo of this claim; only those can be texted.")
        if photo_id not in ids:
            ids.append(photo_id)
    return ids


@bp.post("/preview")
@require("claims.read")
def preview() -> Any:
    data = _data()
    template = str(data.get("template") or "")
    claim_id = data.get("claim_id")
    if claim_id and not (isinstance(claim_id, int) or (isinstance(claim_id, str) and claim_id.isdigit())):
        raise Refused(422, "validation_error", "claim_id must be a claim's number id.")
    claim = _claim(int(claim_id)) if claim_id else None
    try:
        return message_templates.preview(template, claim, g.shop)
    except ValueError as exc:
        raise Refused(422, "validation_error", str(exc)) from None


def number_dict(number: SmsNumber | None) -> dict[str, Any]:
    return {"number": None if number is None else {
        "phone_number": number.phone_number, "messaging_profile_id": number.messaging_profile_id,
        "source": number.source}}


@bp.get("/number")
@require("claims.read")
def get_number() -> Any:
    return number_dict(service.shop_number())


def _by() -> str:
    principal = _principal()
    return f"user {principal.user_id}" if principal.user_id is not None else "api key"


def _assign_from_account(phone: str, profile: str | None) -> SmsNumber:
    """A shop admin assigns a number: only an active number of the platform's Telnyx account (asked
    through the SDK), not held by another shop nor quarantined for it (``numbers``)."""
    numbers.check_assignable(phone, g.shop.id)  # before asking Telnyx: a squatter learns nothing more
    found = numbers.verify_in_account(phone)
    return numbers.assign(phone, source="assigned", by=_by(),
                          messaging_profile_id=profile or found.messaging_profile_id)


def _phone(raw: Any) -> str:
    try:
        return phones.to_e164(str(raw or ""), "US")
    except ValueError as exc:
        raise Refused(422, "validation_error", f"phone_number {exc}",
                      errors={"json": {"phone_number": [str(exc)]}}) from None


def _profile(data: dict[str, Any]) -> str | None:
    profile = data.get("messaging_profile_id") or None
    if profile is not None and (not isinstance(profile, str) or len(profile) > 64):
        raise Refused(422, "validation_error", "messaging_profile_id is a Telnyx id (up to 64 characters).",
                      errors={"json": {"messaging_profile_id": ["a string of up to 64 characters"]}})
    return profile


@bp.put("/number")
@require("sms.manage")
def assign_number() -> Any:
    """Assign a number of the platform's Telnyx account (verified with Telnyx); 409
    ``sms_number_taken`` / ``sms_number_quarantined``, 422 ``sms_number_not_in_account``."""
    data = _data()
    return number_dict(_assign_from_account(_phone(data.get("phone_number")), _profile(data)))["number"]


@bp.delete("/number")
@require("sms.manage")
def release_number() -> Any:
    """Release the shop's number: texts to it stop reaching the shop, and it is quarantined
    (``BAYLINE_PLUGIN_SMS_NUMBER_QUARANTINE_DAYS``) before another shop may take it."""
    released = numbers.release(_by())
    if released is None:
        raise Refused(404, "sms_no_number", "This shop has no texting number.")
    return {"released": numbers.release_dict(released)}


@bp.post("/number/release")
@require("sms.manage")
def release_number_form() -> Any:
    """The console form's way to DELETE /number."""
    released = numbers.release(_by())
    if released is None:
        return _back("This shop has no texting number.", "error")
    return _back(f"Released {phones.pretty(released.phone_number)}: texts to it no longer reach the shop.")


@bp.post("/number")
@require("sms.manage")
def assign_number_form() -> Any:
    """The console form's way to PUT /number."""
    data = _data()
    try:
        phone = phones.to_e164(str(data.get("phone_number") or ""), "US")
    except ValueError as exc:
        return _back(f"Not assigned: the phone number {exc} (e.g. (617) 555-0199).", "error")
    try:
        saved = _assign_from_account(phone, _profile(data))
    except Refused as refused:
        if _is_form():
            return _back(f"Not assigned: {refused.message}", "error")
        raise
    return _back(f"Texts now go out from {saved.phone_number}.") if _is_form() else number_dict(saved)["number"]


def _search(area: str) -> list[str]:
    found = provider.client().available_phone_numbers.list(filter={
        "country_code": "US", "national_destination_code": area, "features": ["sms", "mms"], "limit": 10})
    return [n.phone_number for n in found.data or [] if n.phone_number]


@bp.get("/numbers/available")
@require("sms.manage")
def available_numbers() -> Any:
    area = (request.args.get("area_code") or "").strip()
    if not (area.isdigit() and len(area) == 3):
        raise Refused(422, "validation_error", "area_code must be 3 digits.")
    try:
        found = _search(area)
    except provider.telnyx_errors() as exc:
        raise Refused(502, "provider_error", provider.explain(exc)) from None
    return {"numbers": found}


@bp.post("/numbers/order")
@require("sms.manage")
def order_number() -> Any:
    """Order a number through the platform's Telnyx account; it becomes the shop's number."""
    data = _data()
    phone = _phone(data.get("phone_number"))
    profile = _profile(data)
    try:
        numbers.check_assignable(phone, g.shop.id)
        kwargs: dict[str, Any] = {"phone_numbers": [{"phone_number": phone}]}
        if profile:
            kwargs["messaging_profile_id"] = profile
        order = provider.client().number_orders.create(**kwargs)
    except Refused as refused:
        if _is_form():
            return _back(f"The number was not ordered: {refused.message}", "error")
        raise
    except provider.telnyx_errors() as exc:
        if _is_form():
            return _back(f"The number was not ordered: {provider.explain(exc)}", "error")
        raise Refused(502, "provider_error", provider.explain(exc)) from None
    order_id = order.data.id if order.data else None
    try:  # another shop cannot hold a number Telnyx just sold us, short of a race on the same order
        saved = numbers.assign(phone, source="ordered", by=_by(), messaging_profile_id=profile, order_id=order_id)
    except Refused as refused:
        if _is_form():
            return _back(f"Ordered {phone} but not assigned: {refused.message}", "error")
        raise
    return _back(f"Ordered {phone}; texts now go out from it.") if _is_form() else (number_dict(saved)["number"], 201)


def _inbox_rows() -> list[SmsInbound]:
    return list(get_session().scalars(select(SmsInbound).where(
        (SmsInbound.claim_id.is_(None)) | (SmsInbound.needs_refile.is_(True))).order_by(SmsInbound.id.desc())))


@bp.get("/inbox")
@require("claims.read")
def inbox() -> Any:
    return {"inbox": [inbound_dict(r) for r in _inbox_rows()]}


@bp.post("/inbox/<int:inbound_id>/attach")
@require("sms.send")
def attach(inbound_id: int) -> Any:
    inbound = get_session().get(SmsInbound, inbound_id)
    if inbound is None:
        raise Refused(404, "not_found", "No such inbound text.")
    data = _data()
    if data.get("claim_number"):
        claim = get_session().scalars(select(Claim).where(
            Claim.number == str(data["claim_number"]).strip(), Claim.archived_at.is_(None))).first()
        if claim is None:
            if _is_form():
                return _back(f"No open claim numbered {data['claim_number']}.", "error")
            raise Refused(404, "not_found", "No such claim.")
    else:
        claim = _claim(int(data.get("claim_id") or 0))
    filed = service.attach(inbound, claim)
    return _back(f"Filed on {claim.number}.") if _is_form() else inbound_dict(filed)


def _failed_events() -> list[SmsWebhookEvent]:
    return list(get_session().scalars(select(SmsWebhookEvent).where(
        SmsWebhookEvent.processed_at.is_(None), SmsWebhookEvent.failed_at.is_not(None))
        .order_by(SmsWebhookEvent.id.desc()).limit(100)))


def event_dict(row: SmsWebhookEvent) -> dict[str, Any]:
    return {"id": row.id, "event_id": row.event_id, "event_type": row.event_type, "attempts": row.attempts,
            "received_at": row.received_at.isoformat(), "last_error": row.last_error,
            "processed_at": row.processed_at.isoformat() if row.processed_at else None,
            "retry_at": row.retry_at.isoformat() if row.retry_at else None}


@bp.get("/events")
@require("claims.read")
def events() -> Any:
    """Webhook events whose processing failed (retried with backoff; staff can replay them)."""
    return {"failed": [event_dict(r) for r in _failed_events()]}


@bp.post("/events/<int:event_id>/replay")
@require("sms.send")
def replay_event(event_id: int) -> Any:
    """Run a stored event's work again now. Idempotent: a processed event is left alone, and an
    inbound text already threaded is not threaded twice."""
    from .tasks import process_event

    form = request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")
    row = get_session().get(SmsWebhookEvent, event_id)
    if row is None:
        raise Refused(404, "not_found", "No such webhook event.")
    if row.processed_at is not None:
        return _back("That event was processed already.") if form else {"status": "already", **event_dict(row)}
    row.retry_at = None
    commit(get_session())
    process_event.apply_async(args=[row.id])
    get_session().expire_all()
    row = get_session().get(SmsWebhookEvent, event_id)
    status = "processed" if row.processed_at else ("failed" if row.failed_at else "queued")
    if form:
        return _back("Event processed." if status == "processed" else
                     f"The event failed again: {row.last_error}" if status == "failed" else "Event queued.",
                     "info" if status != "failed" else "error")
    return {"status": status, **event_dict(row)}, 200 if status == "processed" else 202


# --------------------------------------------------------------------- webhook (public, signed)

webhook_bp = public_blueprint("sms", csrf_protect=False)


@webhook_bp.post("/webhook")
def webhook() -> Any:
    from .tasks import process_event

    raw = request.get_data(as_text=True)
    try:
        data = provider.verify_webhook(raw, dict(request.headers))
    except provider.Malformed as exc:
        log.warning("sms webhook: malformed body: %s", exc)
        return {"error": "malformed", "message": str(exc)}, 400
    except (ValueError, provider.NotConfigured) as exc:
        log.warning("sms webhook rejected from %s: %s", request.remote_addr, exc)
        return {"error": "invalid_signature", "message": "Signature or timestamp not valid."}, 401
    event = data["data"]
    event_id, event_type = str(event.get("id") or ""), str(event.get("event_type") or "")
    payload = event.get("payload") or {}
    if not event_id or not isinstance(payload, dict):
        return {"error": "malformed", "message": "event id or payload missing"}, 400
    to, sender = payload.get("to"), payload.get("from")
    if (to is not None and not (isinstance(to, list) and all(isinstance(r, dict) for r in to))) \
            or (sender is not None and not isinstance(sender, dict)) \
            or not isinstance(payload.get("media") or [], list):
        return {"error": "malformed", "message": "payload.to is a list of objects, payload.from an object"}, 400
    session = get_session()
    shop = None
    if event_type == "message.received":  # an inbound text belongs to the shop holding the number now
        number = ((payload.get("to") or [{}])[0] or {}).get("phone_number")
    else:
        # a status event belongs to the shop that sent the text, even if the number moved since;
        # the sending number answers only while our send task has not stored Telnyx's id yet
        number = (payload.get("from") or {}).get("phone_number")
        telnyx_id = str(payload.get("id") or "")[:100]
        with unscoped(session):
            sent = session.scalars(select(OutboxItem).where(
                OutboxItem.channel == service.CHANNEL, OutboxItem.provider_id == telnyx_id)).first() \
                if telnyx_id else None
            shop = session.get(Shop, sent.tenant_id) if sent is not None else None
    if shop is None:
        owner = numbers.owner_of(str(number or ""))
        with unscoped(session):
            shop = session.get(Shop, owner.tenant_id) if owner is not None else None
    if shop is None:
        log.warning("sms webhook %s %s for unknown number %s: ignored", event_type, event_id, number)
        return {"status": "ignored", "reason": "unknown number"}, 200
    if not is_feature_active(shop, "sms"):
        log.warning("sms webhook %s for shop %s without the sms feature: ignored", event_id, shop.id)
        return {"status": "ignored", "reason": "feature inactive"}, 200
    with for_shop(shop):
        row = SmsWebhookEvent(event_id=event_id[:64], event_type=event_type[:60], payload=mask_json(data))
        session.add(row)
        try:
            commit(session)
        except IntegrityError:
            session.rollback()
            return {"status": "duplicate"}, 200
        process_event.apply_async(args=[row.id])
    return {"status": "accepted"}, 200
