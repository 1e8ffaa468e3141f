"""/api/v1/claims/<id>/portal-link and /api/v1/claims/<id>/messages."""
from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from bayline.db import get_session
from bayline.events import commit
from bayline.messages import service as messages
from bayline.portal import tokens
from bayline.portal.models import PortalAttempt

from . import require
from .claims import load_claim

blp = Blueprint("api_portal", __name__, description="Customer portal links and the claim message thread")


class PortalLinkSchema(Schema):
    url = fields.String(metadata={"description": "The customer link; shown only in the issuing response"})
    token_id = fields.Integer()
    created_at = fields.DateTime()


class PortalStatusSchema(Schema):
    active = fields.Boolean()
    token_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    failed_attempts_24h = fields.Integer()


class MessageSchema(Schema):
    id = fields.Integer(dump_only=True)
    claim_id = fields.Integer(dump_only=True)
    direction = fields.String(dump_only=True)
    channel = fields.String(dump_only=True)
    author_user_id = fields.Integer(dump_only=True, allow_none=True)
    body = fields.String(required=True, validate=validate.Length(min=1, max=messages.MAX_BODY))
    created_at = fields.DateTime(dump_only=True)
    delivery_state = fields.String(dump_only=True)
    external_id = fields.String(dump_only=True, allow_none=True)


class MessageCreateSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=messages.MAX_BODY))
    # Other channels arrive with their plugins (SMS, email); the core delivers on the portal only.
    channel = fields.String(load_default="portal", validate=validate.OneOf(["portal"]))


@blp.route("/claims/<int:claim_id>/portal-link")
class PortalLink(MethodView):
    @require("claims.read")
    @blp.response(200, PortalStatusSchema)
    def get(self, claim_id: int) -> dict[str, Any]:
        """Whether the claim has a working link, when it expires, recent failed verifications."""
        from datetime import timedelta

        from bayline.db import utcnow

        claim = load_claim(claim_id)
        token = tokens.active_token(claim)
        failed = len(get_session().scalars(select(PortalAttempt.id).where(
            PortalAttempt.claim_id == claim.id, PortalAttempt.ok.is_(False),
            PortalAttempt.at >= utcnow() - timedelta(hours=24))).all())
        return {"active": tokens.is_usable(token, claim), "token_id": token.id if token else None,
                "created_at": token.created_at if token else None, "expires_at": tokens.expires_at(claim),
                "failed_attempts_24h": failed}

    @require("portal.manage")
    @blp.response(201, PortalLinkSchema)
    def post(self, claim_id: int) -> dict[str, Any]:
        """Issue a new link (rotating the current one). The URL is returned only here."""
        claim = load_claim(claim_id)
        link = tokens.issue(claim, g.principal.user_id)
        commit()
        return {"url": link.url, "token_id": link.token.id, "created_at": link.token.created_at}

    @require("portal.manage")
    @blp.response(204)
    def delete(self, claim_id: int) -> None:
        """Revoke the claim's link; it and the sessions opened with it stop working at once."""
        tokens.revoke(load_claim(claim_id), g.principal.user_id)
        commit()


@blp.route("/claims/<int:claim_id>/messages")
class ClaimMessages(MethodView):
    @require("claims.read")
    @blp.response(200, MessageSchema(many=True))
    def get(self, claim_id: int) -> list[Any]:
        """The claim's message thread on every channel, oldest first."""
        return messages.thread(load_claim(claim_id))

    @require("messages.send")
    @blp.arguments(MessageCreateSchema)
    @blp.response(201, MessageSchema)
    def post(self, data: dict[str, Any], claim_id: int) -> Any:
        """Reply to the customer (portal channel by default)."""
        message = messages.send(load_claim(claim_id), data["body"], g.principal.user_id, data["channel"])
        commit()
        return message
