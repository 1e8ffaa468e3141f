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
from bayline.errors import Refused
from bayline.events import commit
from bayline.messages import service as messages
from bayline.portal import printing, tokens
from bayline.portal.models import PURPOSES, PortalAttempt, PortalToken

from .claims import load_claim

blp = Blueprint("api_portal", __name__, description="Customer portal links and the claim message thread")


class PortalLinkSchema(Schema):
    url = fields.String(metadata={"description": "The customer link; shown only in the issuing response"})
    token_id = fields.Integer()
    purpose = fields.String()
    created_at = fields.DateTime()


class LinkSchema(Schema):
    token_id = fields.Integer(attribute="id")
    purpose = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)


class PortalStatusSchema(Schema):
    active = fields.Boolean()
    token_id = fields.Integer(allow_none=True, metadata={"description": "The newest live link"})
    created_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    failed_attempts_24h = fields.Integer()
    links = fields.List(fields.Nested(LinkSchema), metadata={"description": "Every live link, one per purpose"})


class IssueSchema(Schema):
    purpose = fields.String(load_default="staff_copy", validate=validate.OneOf(list(PURPOSES)))


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
        """The claim's live links (one per purpose), when they expire, recent failed verifications."""
        from datetime import timedelta

        from bayline.db import utcnow

        claim = load_claim(claim_id)
        live = [t for t in tokens.active_tokens(claim) if tokens.is_usable(t, claim)]
        newest = live[-1] if live else None
        failed = len(get_session().scalars(select(PortalAttempt.id).where(
            PortalAttempt.claim_id == claim.id, PortalAttempt.ok.is_(False),
            PortalAttempt.at >= utcnow() - timedelta(hours=24))).all())
        return {"active": bool(live), "token_id": newest.id if newest else None,
                "created_at": newest.created_at if newest else None, "expires_at": tokens.expires_at(claim),
                "failed_attempts_24h": failed, "links": live}

    @require("portal.manage")
    @blp.arguments(IssueSchema)
    @blp.response(201, PortalLinkSchema)
    def post(self, data: dict[str, Any], claim_id: int) -> dict[str, Any]:
        """Issue a new link for ``purpose`` (default the staff copy), replacing only that purpose's
        link. The URL is returned only here."""
        claim = load_claim(claim_id)
        link = tokens.issue(claim, g.principal.user_id, purpose=data["purpose"])
        commit()
        return {"url": link.url, "token_id": link.token.id, "purpose": link.token.purpose,
                "created_at": link.token.created_at}

    @require("portal.manage")
    @blp.response(204)
    def delete(self, claim_id: int) -> None:
        """Revoke every link of the claim; every portal session of the claim stops at once."""
        tokens.revoke_all(load_claim(claim_id), g.principal.user_id)
        commit()


@blp.route("/claims/<int:claim_id>/portal-links/<int:link_id>", methods=["DELETE"])
@require("portal.manage")
@blp.response(204)
def revoke_link(claim_id: int, link_id: int) -> None:
    """Revoke one link; the sessions it opened stop, the claim's other links keep working."""
    claim = load_claim(claim_id)
    token = get_session().get(PortalToken, link_id)
    if token is None or token.claim_id != claim.id:
        raise Refused(404, "not_found", "No such link on this claim.")
    tokens.revoke_link(claim, link_id, g.principal.user_id)
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
    document = fields.String(load_default="work-order", validate=validate.OneOf(
        [*printing.DOCUMENTS, "check-in-set"]), metadata={
        "description": "work-order, hang-tag (mirror), receipt (80 mm), or check-in-set (all three, one PDF)"})
    reissue = fields.Boolean(load_default=False, metadata={
        "description": "Replace the document's link (the copy printed before stops working)"})
    paper = fields.String(load_default=None, validate=validate.OneOf(["letter", "a4"]),
                          metadata={"description": "Work order paper; default: the shop setting"})


class QrSchema(Schema):
    format = fields.String(load_default="svg", validate=validate.OneOf(["svg", "png"]))
    reissue = fields.Boolean(load_default=False, metadata={"description": "Replace the QR sticker's link"})


@blp.route("/claims/<int:claim_id>/documents", methods=["POST"])
@require("portal.manage")
@blp.arguments(PrintSchema)
@blp.response(200, content_type="application/pdf", description="The PDF")
def print_document(data: dict[str, Any], claim_id: int) -> Any:
    """Work order, mirror hang tag, check-in receipt or the whole check-in set with the portal QR.
    Each document prints its own current link (printing again keeps the paper valid); ``reissue``
    replaces that document's link."""
    claim = load_claim(claim_id)
    if data["document"] == "check-in-set":
        pdf = printing.check_in_set(claim, g.shop, g.principal.user_id, data["paper"])
    else:
        link = printing.document_link(claim, data["document"], data["reissue"], g.principal.user_id)
        pdf = printing.render(data["document"], [(claim, g.shop, link.url)], data["paper"])
    commit()
    return Response(pdf, mimetype="application/pdf", headers={"Cache-Control": "no-store"})


@blp.route("/claims/<int:claim_id>/qr", methods=["POST"])
@require("portal.manage")
@blp.arguments(QrSchema)
@blp.response(200, content_type="image/svg+xml", description="The QR code (SVG or PNG)")
def qr_code(data: dict[str, Any], claim_id: int) -> Any:
    """The QR sticker's portal QR code as ``svg`` or ``png`` (its current link unless ``reissue``)."""
    claim = load_claim(claim_id)
    link = printing.document_link(claim, "qr_sticker", data["reissue"], g.principal.user_id)
    svg = data["format"] == "svg"
    body = printing.qr_svg(link.url) if svg else printing.qr_png(link.url)
    commit()
    return Response(body, mimetype="image/svg+xml" if svg else "image/png", headers={"Cache-Control": "no-store"})
