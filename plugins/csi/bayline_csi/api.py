"""REST resources under ``/api/v1/plugins/csi`` (in ``/api/v1/openapi.json``): responses (filter by
overall score), a claim's survey, the follow-up queue, and the summary figures. Error codes:
``not_found``, ``validation_error``."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from bayline.plugin_api import Refused, api_blueprint, get_session, require

from . import service
from .models import CsiFollowUp

api = api_blueprint("csi", description="Post-repair survey responses, review invitations and follow-ups")


class CsiResponseSchema(Schema):
    id = fields.Int()
    claim_id = fields.Int()
    overall = fields.Int()
    communication = fields.Int(allow_none=True)
    quality = fields.Int(allow_none=True)
    on_time = fields.Int(allow_none=True)
    cleanliness = fields.Int(allow_none=True)
    comment = fields.Str(allow_none=True)
    scale = fields.Str(allow_none=True, metadata={"description": "five (1–5) or nps (0–10); null: five"})
    extra = fields.Dict(keys=fields.Str(), values=fields.Int(), allow_none=True,
                        metadata={"description": "answers to the shop's own questions: {question: score}"})
    answered_at = fields.DateTime()
    updated_at = fields.DateTime()


class CsiInvitationSchema(Schema):
    rule = fields.Str()
    delivery = fields.Str()
    channel = fields.Str(allow_none=True)
    reason = fields.Str(allow_none=True)
    created_at = fields.DateTime()


class CsiFollowUpSchema(Schema):
    id = fields.Int()
    claim_id = fields.Int()
    response_id = fields.Int()
    owner_user_id = fields.Int(allow_none=True)
    due_at = fields.DateTime()
    status = fields.Str()
    notes = fields.Str(allow_none=True)
    outcome = fields.Str(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class CsiSurveySchema(Schema):
    id = fields.Int()
    claim_id = fields.Int()
    due_at = fields.DateTime()
    closes_at = fields.DateTime()
    channel = fields.Str(allow_none=True)
    send_error = fields.Str(allow_none=True)
    response = fields.Nested(CsiResponseSchema, allow_none=True)
    invitation = fields.Nested(CsiInvitationSchema, allow_none=True)
    followup = fields.Nested(CsiFollowUpSchema, allow_none=True)


class CsiSummarySchema(Schema):
    surveys = fields.Int()
    responses = fields.Int()
    response_rate = fields.Float(allow_none=True)
    average_overall = fields.Float(allow_none=True)
    followups = fields.Int()
    recovered = fields.Int()
    recovery_rate = fields.Float(allow_none=True)


class ResponseQuery(Schema):
    min_score = fields.Int(validate=validate.Range(0, 10))
    max_score = fields.Int(validate=validate.Range(0, 10))


class FollowUpQuery(Schema):
    status = fields.Str(validate=validate.OneOf(("open", "resolved", "unresolved")))


class FollowUpPatch(Schema):
    status = fields.Str(validate=validate.OneOf(("open", "resolved", "unresolved")))
    notes = fields.Str(validate=validate.Length(max=5000))
    outcome = fields.Str(validate=validate.Length(max=300))


@api.route("/responses")
class Responses(MethodView):
    @api.arguments(ResponseQuery, location="query")
    @api.response(200, CsiResponseSchema(many=True))
    @require("csi.view")
    def get(self, query: dict[str, Any]) -> Any:
        return service.responses(query.get("min_score"), query.get("max_score"))


@api.route("/claims/<int:claim_id>/survey")
class ClaimSurvey(MethodView):
    @api.response(200, CsiSurveySchema)
    @api.alt_response(404, description="No survey for this claim (or no such claim)")
    @require("csi.view")
    def get(self, claim_id: int) -> Any:
        survey = service.survey_for_claim(claim_id)
        if survey is None:
            raise Refused(404, "not_found", "No survey for this claim.")
        return {"id": survey.id, "claim_id": survey.claim_id, "due_at": survey.due_at, "closes_at": survey.closes_at,
                "channel": survey.channel, "send_error": survey.send_error,
                "response": service.response_for(survey.id), "invitation": service.invitation_for(claim_id),
                "followup": service.followup_for(claim_id)}


@api.route("/followups")
class FollowUps(MethodView):
    @api.arguments(FollowUpQuery, location="query")
    @api.response(200, CsiFollowUpSchema(many=True))
    @require("csi.view")
    def get(self, query: dict[str, Any]) -> Any:
        return service.followups(query.get("status"))


@api.route("/followups/<int:task_id>")
class FollowUp(MethodView):
    @api.arguments(FollowUpPatch)
    @api.response(200, CsiFollowUpSchema)
    @api.alt_response(404, description="No such follow-up")
    @require("csi.followup")
    def patch(self, data: dict[str, Any], task_id: int) -> Any:
        task = get_session().get(CsiFollowUp, task_id)
        if task is None:
            raise Refused(404, "not_found", "No such follow-up.")
        return service.update_followup(task, data)


@api.route("/summary")
class Summary(MethodView):
    @api.response(200, CsiSummarySchema)
    @require("csi.view")
    def get(self) -> Any:
        return service.summary()


class FiguresSchema(Schema):
    name = fields.Str()
    delivered = fields.Int()
    surveys = fields.Int()
    responses = fields.Int()
    response_rate = fields.Float(allow_none=True)
    average_csi = fields.Float(allow_none=True)
    cycle_time_hours = fields.Float(allow_none=True, metadata={"description": "keys-to-keys, elapsed hours"})
    cycle_time_days = fields.Float(allow_none=True, metadata={"description": "keys-to-keys, shop-local days"})
    production_hours = fields.Float(allow_none=True)
    delivered_as_promised = fields.Float(allow_none=True)


class CsiScorecardSchema(Schema):
    start = fields.Date()
    end = fields.Date()
    location = fields.Str()
    totals = fields.Nested(FiguresSchema)
    insurers = fields.List(fields.Nested(FiguresSchema))
    estimators = fields.List(fields.Nested(FiguresSchema))


class ScorecardQuery(Schema):
    start = fields.Date(metadata={"description": "first shop-local date; default: 27 days before end"})
    end = fields.Date(metadata={"description": "last shop-local date (inclusive); default: today"})


@api.route("/scorecard")
class Scorecard(MethodView):
    @api.arguments(ScorecardQuery, location="query")
    @api.response(200, CsiScorecardSchema)
    @require("csi.view")
    def get(self, query: dict[str, Any]) -> Any:
        """Figures of claims delivered between ``start`` and ``end`` (shop-local dates, inclusive;
        default the last four weeks)."""
        from datetime import timedelta

        from flask import g

        from bayline.plugin_api import utcnow

        from .scorecard import scorecard

        end = query.get("end") or utcnow().date()
        start = query.get("start") or end - timedelta(days=27)
        if end < start or (end - start).days > 366:
            raise Refused(422, "validation_error", "end must be after start, at most a year apart",
                          errors={"query": {"end": ["after start, at most a year apart"]}})
        return scorecard(g.shop, start, end)
