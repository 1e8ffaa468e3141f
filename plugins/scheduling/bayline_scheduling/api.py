"""REST resources under ``/api/v1/plugins/scheduling`` (in ``/api/v1/openapi.json``): appointment types,
availability, appointments (CRUD: create, read, move/confirm/decline via PATCH, cancel via DELETE),
reservations and each appointment's ICS.

Error codes (stable): ``scheduling_unknown_type``, ``scheduling_slot_in_past``,
``scheduling_inside_lead_time``, ``scheduling_beyond_horizon``, ``scheduling_closed``,
``scheduling_outside_hours``, ``scheduling_day_full``, ``scheduling_pickup_not_ready``,
``scheduling_slot_taken`` (with ``alternatives``), ``scheduling_already_booked``,
``scheduling_invalid_state``, ``scheduling_invalid_time``, ``scheduling_reservation_expired``,
``not_found``, ``validation_error``."""
from __future__ import annotations

from typing import Any

from flask import Response, g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from bayline.plugin_api import Claim, Refused, api_blueprint, commit, get_session, require, utcnow

from . import calendar, service
from .models import STATUSES, SchedulingAppointment, SchedulingReservation, SchedulingType

api = api_blueprint("scheduling", description="Shop calendar: availability, appointments and reservations")
MAX_ID = 2**31 - 1


class TypeSchema(Schema):
    key = fields.Str()
    name = fields.Str()
    kind = fields.Str()
    duration = fields.Int(metadata={"description": "minutes"})
    capacity = fields.Int()
    buffer_before = fields.Int()
    buffer_after = fields.Int()
    step = fields.Int()
    resource = fields.Str()


class TypeIn(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    kind = fields.Str(load_default="other", validate=validate.OneOf(service.KINDS))
    resource = fields.Str(allow_none=True, load_default=None, validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$"),
                          metadata={"description": "capacity pool shared with other types (default: own key)"})
    duration_minutes = fields.Int(required=True, validate=validate.Range(5, 8 * 60))
    capacity = fields.Int(load_default=1, validate=validate.Range(1, 50))
    buffer_before = fields.Int(load_default=0, validate=validate.Range(0, 240))
    buffer_after = fields.Int(load_default=0, validate=validate.Range(0, 240))
    step_minutes = fields.Int(load_default=30, validate=validate.Range(5, 240))
    hours = fields.List(fields.Dict(), allow_none=True, load_default=None)
    active = fields.Bool(load_default=True)


class SlotSchema(Schema):
    type = fields.Str(metadata={"description": "the appointment type's key"})
    start = fields.Str(metadata={"description": "UTC, ISO 8601"})
    end = fields.Str()
    local = fields.Str(metadata={"description": "the shop's wall time, with its offset"})
    label = fields.Str()
    free_units = fields.Int()


class AvailabilityQuery(Schema):
    type = fields.Str(metadata={"description": "an appointment type's key (default: every type)"})
    start = fields.Date(metadata={"description": "first shop-local date (default today)"})
    end = fields.Date(metadata={"description": "last shop-local date (default the booking horizon)"})
    claim_id = fields.Int(validate=validate.Range(1, MAX_ID),
                          metadata={"description": "for pickup: refused until that claim is ready"})


class AppointmentSchema(Schema):
    id = fields.Int()
    claim_id = fields.Int()
    type = fields.Str(attribute="type_key")
    kind = fields.Str()
    status = fields.Str()
    start = fields.DateTime(attribute="starts_at")
    end = fields.DateTime(attribute="ends_at")
    source = fields.Str()
    uid = fields.Str()
    sequence = fields.Int()
    notes = fields.Str(allow_none=True)
    labour_hours = fields.Int(allow_none=True, metadata={"description": "a drop-off's labour hours"})
    confirmed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)


class AppointmentIn(Schema):
    claim_id = fields.Int(required=True, validate=validate.Range(1, MAX_ID))
    type = fields.Str(required=True, validate=validate.Length(min=1, max=30))
    start = fields.Str(required=True, metadata={"description": "ISO 8601 with offset"})
    reservation_id = fields.Int(validate=validate.Range(1, MAX_ID))
    notes = fields.Str(validate=validate.Length(max=2000))
    labour_hours = fields.Int(validate=validate.Range(1, 200), metadata={
        "description": "a drop-off's labour hours (what it takes from the daily intake when the shop counts "
                       "labour hours; default scheduling.dropoff_hours)"})


class AppointmentPatch(Schema):
    status = fields.Str(validate=validate.OneOf(("confirmed", "declined", "cancelled")))
    start = fields.Str(metadata={"description": "move to this time (ISO 8601 with offset)"})


class AppointmentQuery(Schema):
    start = fields.DateTime(metadata={"description": "from (default: now)"})
    end = fields.DateTime(metadata={"description": "until (default: 7 days later)"})
    type = fields.Str()
    status = fields.List(fields.Str(validate=validate.OneOf(STATUSES)))


class ReservationSchema(Schema):
    id = fields.Int()
    claim_id = fields.Int()
    type = fields.Str(attribute="type_key")
    start = fields.DateTime(attribute="starts_at")
    end = fields.DateTime(attribute="ends_at")
    expires_at = fields.DateTime()


class ReservationIn(Schema):
    claim_id = fields.Int(required=True, validate=validate.Range(1, MAX_ID))
    type = fields.Str(required=True, validate=validate.Length(min=1, max=30))
    start = fields.Str(required=True)


def _claim(claim_id: int) -> Claim:
    claim = get_session().get(Claim, claim_id)
    if claim is None:
        raise Refused(404, "not_found", "No such claim.")
    return claim


def _appt(appointment_id: int) -> SchedulingAppointment:
    appt = get_session().get(SchedulingAppointment, appointment_id) if appointment_id <= MAX_ID else None
    if appt is None:
        raise Refused(404, "not_found", "No such appointment.")
    return appt


def _spec_json(t: service.TypeSpec) -> dict[str, Any]:
    return {"key": t.key, "name": t.name, "kind": t.kind, "duration": t.duration, "capacity": t.capacity,
            "buffer_before": t.buffer_before, "buffer_after": t.buffer_after, "step": t.step,
            "resource": t.resource}


@api.route("/types")
class Types(MethodView):
    @api.response(200, TypeSchema(many=True))
    @require("scheduling.view")
    def get(self) -> Any:
        return [_spec_json(t) for t in service.types()]


@api.route("/types/<type_key>")
class TypeResource(MethodView):
    @api.arguments(TypeIn)
    @api.response(200, TypeSchema)
    @require("scheduling.configure")
    def put(self, data: dict[str, Any], type_key: str) -> Any:
        import re

        if not re.fullmatch(r"[a-z][a-z0-9_]{1,29}", type_key):
            raise Refused(422, "validation_error", "Type keys are 2-30 lowercase letters, digits or _.",
                          errors={"path": {"type_key": ["2-30 lowercase letters, digits or _"]}})
        session = get_session()
        from sqlalchemy import select

        row = session.scalar(select(SchedulingType).where(SchedulingType.key == type_key))
        if row is None:
            row = SchedulingType(key=type_key)
            session.add(row)
        for k, v in data.items():
            setattr(row, k, v)
        commit(session)
        spec = service.get_type(type_key)
        if spec is None:
            return {"key": type_key, "name": row.name, "kind": row.kind, "duration": row.duration_minutes,
                    "capacity": row.capacity, "buffer_before": row.buffer_before, "buffer_after": row.buffer_after,
                    "step": row.step_minutes}
        return _spec_json(spec)


@api.route("/availability")
class Availability(MethodView):
    @api.arguments(AvailabilityQuery, location="query")
    @api.response(200, SlotSchema(many=True))
    @require("scheduling.view")
    def get(self, query: dict[str, Any]) -> Any:
        """Free slots of a type, or of every type (only free ones; UTC and the shop's wall time)."""
        claim = _claim(query["claim_id"]) if query.get("claim_id") else None
        if query.get("type"):
            spec = service.get_type(query["type"])
            if spec is None:
                raise service.refuse("scheduling_unknown_type", {"query": {"type": ["no such appointment type"]}})
            if spec.kind == "pickup" and claim is not None and not service.is_ready(claim):
                raise service.refuse("scheduling_pickup_not_ready")
            specs = [spec]
        else:  # every type (pickup left out for a claim that is not ready)
            specs = [t for t in service.types()
                     if not (t.kind == "pickup" and claim is not None and not service.is_ready(claim))]
        return [{"type": spec.key, **service.slot_json(s)} for spec in specs
                for s in service.availability(spec, query.get("start"), query.get("end"))]


@api.route("/appointments")
class Appointments(MethodView):
    @api.arguments(AppointmentQuery, location="query")
    @api.response(200, AppointmentSchema(many=True))
    @require("scheduling.view")
    def get(self, query: dict[str, Any]) -> Any:
        from datetime import timedelta

        begin = query.get("start") or utcnow()
        end = query.get("end") or begin + timedelta(days=7)
        return service.between(begin, end, query.get("type"), tuple(query.get("status") or ("pending", "confirmed")))

    @api.arguments(AppointmentIn)
    @api.response(201, AppointmentSchema)
    @api.alt_response(409, description="scheduling_slot_taken (with alternatives), scheduling_day_full, ...")
    @api.alt_response(422, description="the time is refused (past, lead time, horizon, hours, closed)")
    @require("scheduling.manage")
    def post(self, data: dict[str, Any]) -> Any:
        claim = _claim(data["claim_id"])
        return service.book(claim, data["type"], data["start"], source="api", notes=data.get("notes"),
                            reservation_id=data.get("reservation_id"), labour_hours=data.get("labour_hours"))


@api.route("/appointments/<int:appointment_id>")
class AppointmentResource(MethodView):
    @api.response(200, AppointmentSchema)
    @require("scheduling.view")
    def get(self, appointment_id: int) -> Any:
        return _appt(appointment_id)

    @api.arguments(AppointmentPatch)
    @api.response(200, AppointmentSchema)
    @require("scheduling.manage")
    def patch(self, data: dict[str, Any], appointment_id: int) -> Any:
        appt = _appt(appointment_id)
        if data.get("start"):
            service.reschedule(appt, data["start"])
        status = data.get("status")
        if status == "confirmed" and appt.status != "confirmed":
            service.confirm(appt)
        elif status == "declined":
            service.decline(appt)
        elif status == "cancelled":
            service.cancel(appt)
        return appt

    @api.response(200, AppointmentSchema)
    @require("scheduling.manage")
    def delete(self, appointment_id: int) -> Any:
        """Cancel (idempotent: an appointment already declined or cancelled is answered as it is)."""
        appt = _appt(appointment_id)
        if appt.status not in ("pending", "confirmed"):
            return appt
        return service.cancel(appt)


@api.route("/appointments/<int:appointment_id>/ics")
class AppointmentIcs(MethodView):
    @api.response(200, description="text/calendar (METHOD REQUEST, or CANCEL once cancelled)")
    @require("scheduling.view")
    def get(self, appointment_id: int) -> Any:
        appt = _appt(appointment_id)
        names = {t.key: t.name for t in service.types()}
        body = calendar.appointment_ics(appt, get_session().get(Claim, appt.claim_id), g.shop,
                                        names.get(appt.type_key, appt.type_key), service.zone(g.shop), "auto")
        return Response(body, mimetype="text/calendar")


@api.route("/reservations")
class Reservations(MethodView):
    @api.arguments(ReservationIn)
    @api.response(201, ReservationSchema)
    @api.alt_response(409, description="scheduling_slot_taken (with alternatives)")
    @require("scheduling.manage")
    def post(self, data: dict[str, Any]) -> Any:
        """Hold a slot for ``scheduling.reservation_minutes``; book it with ``reservation_id``."""
        return service.reserve(_claim(data["claim_id"]), data["type"], data["start"])


@api.route("/reservations/<int:reservation_id>")
class ReservationResource(MethodView):
    @api.response(204)
    @require("scheduling.manage")
    def delete(self, reservation_id: int) -> Any:
        res = get_session().get(SchedulingReservation, reservation_id) if reservation_id <= MAX_ID else None
        if res is None:
            raise Refused(404, "not_found", "No such reservation.")
        service.release(res)
        return None
