"""/api/v1/claims/<id>/portal-link and /api/v1/claims/<id>/messages."""
from __future__ import annotations

from typing import Any

from flask import Response, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from bayline.auth.permissions import require
from bayline.db import get_session
from bayline.events import commit
from bayline.messages import service as messages
from bayline.portal import printing, tokens
from bayline.portal.models import PortalAttempt

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


class PrintSchema(Schema):
    document = fields.String(load_default="work-order", validate=validate.OneOf(list(printing.DOCUMENTS)),
                             metadata={"description": "work-order, hang-tag (mirror) or receipt (80 mm)"})
    same_link = fields.String(load_default=None, metadata={
        "description": "The claim's current link, to print it again instead of issuing a new one"})


class QrSchema(Schema):
    format = fields.String(load_default="svg", validate=validate.OneOf(["svg", "png"]))
    same_link = fields.String(load_default=None, metadata={
        "description": "The claim's current link, to encode it again instead of issuing a new one"})


@blp.route("/claims/<int:claim_id>/documents", methods=["POST"])
@require("portal.manage")
@blp.arguments(PrintSchema)
@blp.response(200, content_type="application/pdf", description="The PDF")
def print_document(data: dict[str, Any], claim_id: int) -> Any:
    """Work order, mirror hang tag or check-in receipt with the portal QR (the new link's URL is in
    the ``X-Portal-Url`` header). Issues a new link unless ``same_link`` is the claim's current one."""
    claim = load_claim(claim_id)
    link = printing.link_for_print(claim, data.get("same_link"), g.principal.user_id)
    pdf = printing.render(data["document"], [(claim, g.shop, link.url)])
    commit()
    return Response(pdf, mimetype="application/pdf", headers={
        "Cache-Control": "no-store", "X-Portal-Url": link.url})


@blp.route("/claims/<int:claim_id>/qr", methods=["POST"])
@require("portal.manage")
@blp.arguments(QrSchema)
@blp.response(200, content_type="image/svg+xml", description="The QR code (SVG or PNG)")
def qr_code(data: dict[str, Any], claim_id: int) -> Any:
    """The portal QR code as ``svg`` or ``png``; issues a new link unless ``same_link`` is given."""
    claim = load_claim(claim_id)
    link = printing.link_for_print(claim, data.get("same_link"), g.principal.user_id)
    svg = data["format"] == "svg"
    body = printing.qr_svg(link.url) if svg else printing.qr_png(link.url)
    commit()
    return Response(body, mimetype="image/svg+xml" if svg else "image/png",
                    headers={"Cache-Control": "no-store", "X-Portal-Url": link.url})
