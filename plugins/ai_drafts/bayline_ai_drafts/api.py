"""REST resources under ``/api/v1/plugins/ai_drafts``: draft a message for a claim and read a draft.
Sending is not here: a draft is sent by a logged-in staff member (``POST /api/v1/outbox/<id>/queue``
or the claim page), never by an API key."""
from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from bayline.plugin_api import Claim, Refused, api_blueprint, current_principal, get_session, require

from . import NAME, service

api = api_blueprint(NAME, description="AI drafts: grounded drafts of replies and adjuster updates")


class DraftIn(Schema):
    channel = fields.String(load_default="sms", validate=validate.OneOf(("sms", "email", "portal")))
    mode = fields.String(load_default="customer", validate=validate.OneOf(service.MODES))
    message_id = fields.Integer(load_default=None, allow_none=True)


class Unsupported(Schema):
    kind = fields.String()
    text = fields.String()
    start = fields.Integer()
    end = fields.Integer()


class DraftOut(Schema):
    id = fields.Integer()
    claim_id = fields.Integer()
    outbox_item_id = fields.Integer(allow_none=True)
    feature = fields.String()
    mode = fields.String()
    channel = fields.String()
    provider = fields.String()
    model = fields.String(allow_none=True)
    intent = fields.String(allow_none=True)
    language = fields.String()
    state = fields.String()
    text = fields.String(attribute="draft_text")
    final_text = fields.String(allow_none=True)
    edit_distance = fields.Integer(allow_none=True)
    unsupported = fields.List(fields.Nested(Unsupported))
    fields_sent = fields.List(fields.String())
    one_click_send = fields.Function(lambda d: service.one_click(d))
    error = fields.String(allow_none=True)


@api.route("/claims/<int:claim_id>/drafts")
class ClaimDrafts(MethodView):
    @api.arguments(DraftIn)
    @api.response(201, DraftOut)
    @api.alt_response(404, description="No such claim")
    @require("ai_drafts.use")
    def post(self, data: dict[str, Any], claim_id: int) -> Any:
        claim = get_session().get(Claim, claim_id)
        if claim is None:
            raise Refused(404, "not_found", "No such claim.")
        return service.create(claim, g.shop, current_principal().user_id, channel=data["channel"],
                              mode=data["mode"], message_id=data["message_id"])


@api.route("/drafts/<int:ai_draft_id>")
class Draft(MethodView):
    @api.response(200, DraftOut)
    @api.alt_response(404, description="No such draft")
    @require("ai_drafts.use")
    def get(self, ai_draft_id: int) -> Any:
        row = service.get(ai_draft_id)
        if row is None:
            raise Refused(404, "not_found", "No such draft.")
        return row
