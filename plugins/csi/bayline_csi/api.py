"""REST resources under ``/api/v1/plugins/csi`` (in ``/api/v1/openapi.json``): responses (filter by
overall score), a claim's survey, the follow-up queue, the summary, the scorecard (stored days and
today live; recompute on demand) and, for group admins, the locations side by side. Error codes:
``not_found``, ``validation_error``, ``unauthorized``, ``permission_denied``.

Every resource has the same shape: query or body schema in, one service call, response schema out;
:func:`_found` is the one 404 and :func:`_period` the one check of a date range."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from bayline.plugin_api import Refused, api_blueprint, get_session, group_locations, require, utcnow

from . import scorecard as sc
from . import service
from .models import CsiFollowUp

api = api_blueprint("csi", description="Post-repair survey responses, review invitations, follow-ups and the "
                                       "DRP scorecard")
STATUSES = ("open", "resolved", "unresolved")


def _found(row: Any, message: str) -> Any:
    if row is None:
        raise Refused(404, "not_found", message)
    return row


def _period(query: dict[str, Any], *, default_days: int | None = 27) -> tuple[date, date]:
    end = query.get("end") or utcnow().date()
    start = query.get("start") or end - timedelta(days=default_days or 0)
    if end < start or (end - start).days > sc.MAX_DAYS:
        raise Refused(422, "validation_error", "end must be after start, at most a year apart",
                      errors={"query": {"end": ["after start, at most a year apart"]}})
    return start, end


# -- schemas ---------------------------------------------------------------------------------


class CsiResponseSchema(Schema):
    id = fields.Int()
    claim_id = fields.Int()
    overall = fields.Int()
    scale = fields.Str(allow_none=True, metadata={"description": "five (1–5) or nps (0–10); null: five"})
    communication = fields.Int(allow_none=True)
    quality = fields.Int(allow_none=True)
    on_time = fields.Int(allow_none=True)
    cleanliness = fields.Int(allow_none=True)
    extra = fields.Dict(keys=fields.Str(), values=fields.Int(), allow_none=True,
                        metadata={"description": "answers to the shop's own questions: {question: score}"})
    comment = fields.Str(allow_none=True)
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


class FiguresSchema(Schema):
    name = fields.Str()
    delivered = fields.Int()
    surveys = fields.Int()
    responses = fields.Int()
    response_rate = fields.Float(allow_none=True)
    average_csi = fields.Float(allow_none=True, metadata={"description": "overall 1–5 answers"})
    nps = fields.Float(allow_none=True, metadata={"description": "overall 0–10 answers: % promoters − % detractors"})
    cycle_time_hours = fields.Float(allow_none=True, metadata={"description": "keys-to-keys, elapsed hours"})
    cycle_time_days = fields.Float(allow_none=True, metadata={"description": "keys-to-keys, shop-local days"})
    production_hours = fields.Float(allow_none=True)
    delivered_as_promised = fields.Float(allow_none=True)
    supplements = fields.Int(allow_none=True, metadata={"description": "null unless the quotes plugin is active"})
    supplements_per_claim = fields.Float(allow_none=True)


class CsiScorecardSchema(Schema):
    start = fields.Date()
    end = fields.Date()
    location = fields.Str()
    totals = fields.Nested(FiguresSchema)
    insurers = fields.List(fields.Nested(FiguresSchema))
    estimators = fields.List(fields.Nested(FiguresSchema))


class LocationFiguresSchema(FiguresSchema):
    location = fields.Str()
    shop_id = fields.Int()


class ResponseQuery(Schema):
    min_score = fields.Int(validate=validate.Range(0, 10))
    max_score = fields.Int(validate=validate.Range(0, 10))


class FollowUpQuery(Schema):
    status = fields.Str(validate=validate.OneOf(STATUSES))


class FollowUpPatch(Schema):
    status = fields.Str(validate=validate.OneOf(STATUSES))
    notes = fields.Str(validate=validate.Length(max=5000))
    outcome = fields.Str(validate=validate.Length(max=300))


class PeriodQuery(Schema):
    start = fields.Date(metadata={"description": "first shop-local date; default: 27 days before end"})
    end = fields.Date(metadata={"description": "last shop-local date (inclusive); default: today"})


class RecomputeBody(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)


class RecomputedSchema(Schema):
    days = fields.Int(metadata={"description": "days stored (today is never stored: it is always live)"})


# -- resources -------------------------------------------------------------------------------


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
        survey = _found(service.survey_for_claim(claim_id), "No survey for this claim.")
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
        return service.update_followup(_found(get_session().get(CsiFollowUp, task_id), "No such follow-up."), data)


@api.route("/summary")
class Summary(MethodView):
    @api.response(200, CsiSummarySchema)
    @require("csi.view")
    def get(self) -> Any:
        return service.summary()


@api.route("/scorecard")
class Scorecard(MethodView):
    @api.arguments(PeriodQuery, location="query")
    @api.response(200, CsiScorecardSchema)
    @require("csi.view")
    def get(self, query: dict[str, Any]) -> Any:
        """Figures of claims delivered between ``start`` and ``end`` (shop-local dates, inclusive;
        default the last four weeks): stored days from the daily scorecard, the others live."""
        return sc.scorecard(g.shop, *_period(query))


@api.route("/scorecard/recompute")
class Recompute(MethodView):
    @api.arguments(RecomputeBody)
    @api.response(200, RecomputedSchema)
    @require("csi.followup")
    def post(self, body: dict[str, Any]) -> Any:
        """Compute and store the daily scorecard of ``start``..``end`` now (days before today)."""
        return {"days": sc.store(g.shop, *_period(body))}


@api.route("/group/scorecard")
class GroupScorecard(MethodView):
    @api.arguments(PeriodQuery, location="query")
    @api.response(200, LocationFiguresSchema(many=True))
    @api.alt_response(403, description="Only group admins see across locations")
    @require("csi.view")
    def get(self, query: dict[str, Any]) -> Any:
        """Every location of the group with the plugin on, side by side over the same period."""
        return sc.side_by_side(group_locations(), *_period(query))
