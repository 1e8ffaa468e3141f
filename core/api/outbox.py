"""/api/v1/outbox and /api/v1/consent: the messaging core's outbox and consent ledger."""
from __future__ import annotations

from typing import Any

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from bayline.auth.permissions import require
from bayline.claims.models import Claim
from bayline.db import MAX_ID, get_session
from bayline.errors import Refused
from bayline.events import commit
from bayline.messaging import consent
from bayline.messaging import service as outbox
from bayline.messaging.links import display_body
from bayline.messaging.models import PURPOSES, STATES, OutboxItem

blp = Blueprint("api_outbox", __name__, description="Outbound messages (every channel) and consent")


class OutboxItemSchema(Schema):
    id = fields.Integer()
    claim_id = fields.Integer(allow_none=True)
    channel = fields.String()
    purpose = fields.String()
    kind = fields.String()
    recipient = fields.String()
    body = fields.Function(lambda item: display_body(item.body, (item.options or {}).get("link_fields") or ()),
                           metadata={"description": "Links masked"})
    state = fields.String(metadata={"description": " → ".join(STATES)})
    reason = fields.String(allow_none=True, metadata={"description": 'e.g. "waiting: quiet hours until 08:00"'})
    due_at = fields.DateTime(allow_none=True)
    attempts = fields.Integer()
    provider_id = fields.String(allow_none=True)
    idempotency_key = fields.String()
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)


class OutboxQuerySchema(Schema):
    state = fields.String(validate=validate.OneOf(STATES))
    purpose = fields.String(validate=validate.OneOf(PURPOSES))
    channel = fields.String(validate=validate.Length(min=1, max=20))
    claim_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class ActionSchema(Schema):
    confirm_quiet_hours = fields.Boolean(load_default=False)


class ConsentQuerySchema(Schema):
    contact = fields.String(validate=validate.Length(min=3, max=254),
                            metadata={"description": "Phone (E.164) or email; omitted: every contact of the shop"})


class ConsentChangeSchema(Schema):
    contact = fields.String(required=True, validate=validate.Length(min=3, max=254))
    channel = fields.String(required=True, validate=validate.Length(min=1, max=20))
    purpose = fields.String(required=True, validate=validate.OneOf(consent.CONSENT_PURPOSES))
    status = fields.String(required=True, validate=validate.OneOf(("granted", "revoked")))
    source = fields.String(load_default="staff", validate=validate.Length(min=1, max=40))
    wording_version = fields.String(allow_none=True, validate=validate.Length(max=40))
    wording = fields.String(allow_none=True, validate=validate.Length(max=2000))
    detail = fields.String(allow_none=True, validate=validate.Length(max=300))


class ConsentRecordSchema(Schema):
    contact = fields.String()
    channel = fields.String()
    purpose = fields.String()
    status = fields.String()
    source = fields.String()
    wording_version = fields.String(allow_none=True)
    changed_at = fields.DateTime()


class ConsentEventSchema(Schema):
    contact = fields.String()
    channel = fields.String()
    purpose = fields.String()
    status = fields.String()
    source = fields.String()
    wording_version = fields.String(allow_none=True)
    wording = fields.String(allow_none=True)
    detail = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    at = fields.DateTime()


class ConsentViewSchema(Schema):
    contact = fields.String()
    suppressed = fields.Dict(keys=fields.String(), values=fields.Boolean(),
                             metadata={"description": "Per channel: on the suppression list (opted out)"})
    records = fields.List(fields.Nested(ConsentRecordSchema))
    history = fields.List(fields.Nested(ConsentEventSchema))


def items(query: dict[str, Any]) -> list[OutboxItem]:
    stmt = select(OutboxItem).order_by(OutboxItem.id.desc()).limit(query.get("limit", 100))
    for name in ("state", "purpose", "channel", "claim_id"):
        if query.get(name) is not None:
            stmt = stmt.where(getattr(OutboxItem, name) == query[name])
    return list(get_session().scalars(stmt))


def load_item(item_id: int) -> OutboxItem:
    item = get_session().get(OutboxItem, item_id)
    if item is None:
        raise Refused(404, "not_found", "No such outbox message.")
    return item


def _act(action: Any) -> OutboxItem:
    try:
        return action()
    except Refused as refused:  # the messaging core's codes, as the API has always named them
        raise Refused(refused.status, f"outbox_{refused.code}", refused.message) from None


def consent_view(contact: str | None) -> dict[str, Any]:
    records = consent.records(contact)
    channels = sorted({r.channel for r in records} | {"sms", "email"})
    suppressed = {c: consent.is_suppressed(contact, c) for c in channels} if contact else {}
    return {"contact": contact or "", "suppressed": suppressed, "records": records,
            "history": [{"contact": r.contact, "channel": r.channel, "purpose": r.purpose, "status": e.status,
                         "source": e.source,
                         "wording_version": e.wording_version, "wording": e.wording, "detail": e.detail,
                         "ip": e.ip, "user_agent": e.user_agent, "at": e.at} for r, e in consent.history(contact)]}


def change_consent(data: dict[str, Any], user_id: int | None) -> None:
    """A staff edit of the ledger: a revocation also suppresses the channel; a grant by staff of
    transactional consent lifts it (the customer asked again); marketing needs its wording."""
    if data["status"] == "revoked":
        if data["purpose"] == "transactional":
            consent.opt_out(data["contact"], data["channel"], data["source"], data.get("detail") or "staff")
        else:
            consent.set_consent(data["contact"], data["channel"], "marketing", "revoked", data["source"],
                                detail=data.get("detail") or "", user_id=user_id)
        return
    if data["purpose"] == "marketing" and not (data.get("wording") and data.get("wording_version")):
        raise ValueError("marketing consent needs the wording the customer agreed to and its version")
    if data["purpose"] == "transactional":
        found = consent.suppression(data["contact"], data["channel"])
        if found is not None:
            get_session().delete(found)
    consent.set_consent(data["contact"], data["channel"], data["purpose"], "granted", data["source"],
                        wording_version=data.get("wording_version"), wording=data.get("wording"),
                        detail=data.get("detail") or "", ip=request.remote_addr,
                        user_agent=request.headers.get("User-Agent"), user_id=user_id)


@blp.route("/outbox")
class Outbox(MethodView):
    @require("claims.read")
    @blp.arguments(OutboxQuerySchema, location="query")
    @blp.response(200, OutboxItemSchema(many=True))
    def get(self, query: dict[str, Any]) -> list[OutboxItem]:
        """The shop's outbox, newest first; filter by state, purpose, channel or claim."""
        return items(query)


@blp.route("/claims/<int:claim_id>/outbox")
class ClaimOutbox(MethodView):
    @require("claims.read")
    @blp.arguments(OutboxQuerySchema, location="query")
    @blp.response(200, OutboxItemSchema(many=True))
    def get(self, query: dict[str, Any], claim_id: int) -> list[OutboxItem]:
        """One claim's outbound messages, newest first."""
        if get_session().get(Claim, claim_id) is None:
            raise Refused(404, "not_found", "No such claim.")
        return items({**query, "claim_id": claim_id})


@blp.route("/outbox/<int:item_id>")
class OutboxItemView(MethodView):
    @require("claims.read")
    @blp.response(200, OutboxItemSchema)
    def get(self, item_id: int) -> OutboxItem:
        """One outbound message with its state and reason."""
        return load_item(item_id)


@blp.route("/outbox/<int:item_id>/cancel")
class CancelItem(MethodView):
    @require("messages.send")
    @blp.response(200, OutboxItemSchema)
    def post(self, item_id: int) -> OutboxItem:
        """Cancel a draft, queued or held message (409 ``outbox_invalid_state`` otherwise)."""
        item = load_item(item_id)
        return _act(lambda: outbox.cancel(item))


@blp.route("/outbox/<int:failed_item_id>/retry")
class RetryItem(MethodView):
    @require("messages.send")
    @blp.response(200, OutboxItemSchema)
    def post(self, failed_item_id: int) -> OutboxItem:
        """Send a failed message again (consent is checked again first)."""
        item = load_item(failed_item_id)
        return _act(lambda: outbox.retry(item, g.principal.user_id))


@blp.route("/outbox/<int:draft_id>/queue")
class QueueDraft(MethodView):
    @require("messages.send")
    @blp.arguments(ActionSchema)
    @blp.response(200, OutboxItemSchema)
    def post(self, data: dict[str, Any], draft_id: int) -> OutboxItem:
        """Send a draft: the only way from ``draft`` to ``queued``, and only for a staff member
        (not an API key), so an AI or template draft never leaves without a person."""
        item = load_item(draft_id)
        user_id = g.principal.user_id
        if user_id is None:
            raise Refused(403, "staff_only", "Only a logged-in staff member can send a draft.")
        return _act(lambda: outbox.queue_draft(item, user_id, data["confirm_quiet_hours"]))


@blp.route("/consent")
class Consent(MethodView):
    @require("claims.read")
    @blp.arguments(ConsentQuerySchema, location="query")
    @blp.response(200, ConsentViewSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """A contact's consent per channel and purpose, suppression, and the full history."""
        return consent_view((query.get("contact") or "").strip() or None)

    @require("messages.send")
    @blp.arguments(ConsentChangeSchema)
    @blp.response(200, ConsentViewSchema)
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Record a grant or revocation (source, wording version and wording, IP/user agent)."""
        data["contact"] = data["contact"].strip()
        try:
            change_consent(data, g.principal.user_id)
        except ValueError as exc:
            raise Refused(422, "validation_error", str(exc), errors={"json": {"wording": [str(exc)]}}) from None
        commit()
        return consent_view(data["contact"])
