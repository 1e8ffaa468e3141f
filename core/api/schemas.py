"""Marshmallow schemas for the REST API. Unknown fields are rejected (RAISE)."""
from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from bayline.claims.models import CLAIM_TYPES
from bayline.db import MAX_ID


class _NotEmpty:
    """PATCH bodies name at least one field (an empty body changed nothing and answered 200)."""

    @validates_schema(pass_original=True)
    def _at_least_one_field(self, data: dict[str, Any], original: Any, **_: Any) -> None:
        if isinstance(original, dict) and not original:
            raise ValidationError("Send at least one field to change.", "_schema")


def _str(max_len: int, min_len: int = 0, **kw: object) -> fields.String:
    return fields.String(validate=validate.Length(min=min_len, max=max_len), **kw)


def _id(**kw: object) -> fields.Integer:
    """An object id: a positive integer that fits the id columns."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kw)


def _opt(max_len: int) -> fields.String:
    return fields.String(validate=validate.Length(max=max_len), allow_none=True)


class ErrorSchema(Schema):
    """Every error answer: ``{code, status, message, errors}`` (see ``api/errors.py``)."""

    code = fields.String(required=True, metadata={"description": "Stable error code, e.g. not_found"})
    status = fields.Integer(required=True, metadata={"description": "HTTP status"})
    message = fields.String(required=True)
    errors = fields.Dict(metadata={"description": "Field errors by location (json, query) and field"})


class StageSchema(Schema):
    id = fields.Integer(dump_only=True)
    position = fields.Integer(dump_only=True)
    name = _str(80, 1, required=True)
    customer_label = _str(80)
    customer_description = _opt(500)
    hidden = fields.Boolean()
    terminal = fields.Boolean()
    archived_at = fields.DateTime(dump_only=True, allow_none=True)


class StagePatchSchema(_NotEmpty, StageSchema):
    name = _str(80, 1)


class StageOrderSchema(Schema):
    order = fields.List(_id(), required=True)


class TemplateApplySchema(Schema):
    template = fields.String(required=True)


class StageTemplateSchema(Schema):
    key = fields.String()
    name = fields.String()
    description = fields.String(allow_none=True)
    stages = fields.List(fields.Dict())


class ClaimBaseSchema(Schema):
    number = _str(40, 1)
    claim_type = fields.String(validate=validate.OneOf(CLAIM_TYPES))
    customer_first_name = _str(100, 1)
    customer_last_name = _str(100, 1)
    customer_mobile = _opt(40)
    customer_email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    vehicle_year = fields.Integer(allow_none=True, validate=validate.Range(min=1900, max=date.today().year + 2))
    vehicle_make = _opt(60)
    vehicle_model = _opt(60)
    vehicle_color = _opt(40)
    vin = _opt(40)
    plate = _opt(15)
    insurer = _opt(120)
    insurer_claim_number = _opt(60)
    adjuster_name = _opt(120)
    adjuster_email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    adjuster_phone = _opt(40)
    internal_notes = fields.String(allow_none=True, validate=validate.Length(max=20000))
    estimator_id = _id(allow_none=True, metadata={
        "description": "The staff member (user id) writing the estimate; one of the shop's active staff. "
                       "`null`: nobody assigned. The board filters on it."})


class ClaimPatchSchema(_NotEmpty, ClaimBaseSchema):
    """Every field optional; stage and ETA have their own endpoints."""


class ClaimCreateSchema(ClaimBaseSchema):
    number = _str(40, 1, required=True)
    customer_first_name = _str(100, 1, required=True)
    customer_last_name = _str(100, 1, required=True)
    stage_id = _id()
    eta = fields.Date(allow_none=True)
    text_consent = fields.String(
        load_only=True, validate=validate.OneOf(("verbal", "written", "declined")),
        metadata={"description": "How the customer agreed to texts about this repair (recorded on the consent "
                                 "ledger; `declined`: no texts). Omitted: the mobile given counts as consent."})
    marketing_consent = fields.List(
        fields.String(validate=validate.OneOf(("sms", "email"))), load_only=True, validate=validate.Length(max=2),
        metadata={"description": "Channels the customer gave express written consent to marketing on (the "
                                 "shop's wording `messaging.marketing_consent_wording` is stored with it). "
                                 "Default: none."})


class ClaimSchema(ClaimBaseSchema):
    id = fields.Integer(dump_only=True)
    shop_id = fields.Integer(attribute="tenant_id", dump_only=True)
    stage = fields.Nested(StageSchema, dump_only=True)
    stage_id = fields.Integer(dump_only=True)
    stage_entered_at = fields.DateTime(dump_only=True, allow_none=True)
    eta = fields.Date(dump_only=True, allow_none=True)
    eta_updated_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    delivered_at = fields.DateTime(dump_only=True, allow_none=True)
    archived_at = fields.DateTime(dump_only=True, allow_none=True)
    archive_reason = fields.String(dump_only=True, allow_none=True,
                                   metadata={"description": "Why the claim was closed (archived), as given when "
                                                            "it was closed; null when open or closed without one."})
    estimator_name = fields.Function(lambda c: c.estimator.name if c.estimator is not None else None,
                                     dump_only=True, allow_none=True)


class ClaimQuerySchema(Schema):
    stage_id = _id()
    updated_since = fields.AwareDateTime()
    q = fields.String(validate=validate.Length(max=100))
    include_archived = fields.Boolean(load_default=False)


class ClaimArchiveQuerySchema(Schema):
    reason = fields.String(validate=validate.Length(max=200),
                           metadata={"description": "Why the claim is closed (shown on the claim page)."})


class StageChangeSchema(Schema):
    stage_id = _id(required=True)


class EtaChangeSchema(Schema):
    eta = fields.Date(required=True, allow_none=True)
    reason = fields.String(validate=validate.Length(max=200), allow_none=True)


class StageHistorySchema(Schema):
    from_stage_id = fields.Integer(allow_none=True)
    to_stage_id = fields.Integer()
    user_id = fields.Integer(allow_none=True)
    at = fields.DateTime()


class EtaHistorySchema(Schema):
    old_eta = fields.Date(allow_none=True)
    new_eta = fields.Date(allow_none=True)
    reason = fields.String(allow_none=True)
    user_id = fields.Integer(allow_none=True)
    at = fields.DateTime()


class HistorySchema(Schema):
    stages = fields.List(fields.Nested(StageHistorySchema))
    etas = fields.List(fields.Nested(EtaHistorySchema))


class StaffSchema(Schema):
    id = fields.Integer(dump_only=True, attribute="user.id")
    membership_id = fields.Integer(dump_only=True, attribute="id")
    email = fields.Email(attribute="user.email", dump_only=True)
    name = fields.String(attribute="user.name", dump_only=True)
    role = fields.String()
    is_active = fields.Boolean(attribute="user.is_active", dump_only=True)


class StaffCreateSchema(Schema):
    """An invitation: nobody sets another person's password (the invited person chooses their own)."""

    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         metadata={"description": "How to greet them; a person with an account keeps their own name"})
    role = fields.String(required=True)


class InvitationSchema(Schema):
    id = fields.Integer(dump_only=True)
    email = fields.Email(dump_only=True)
    name = fields.String(dump_only=True)
    role = fields.String(dump_only=True)
    state = fields.String(dump_only=True, metadata={"enum": ["pending", "accepted", "revoked", "expired"]})
    created_at = fields.DateTime(dump_only=True)
    expires_at = fields.DateTime(dump_only=True)
    accepted_at = fields.DateTime(dump_only=True, allow_none=True)


class StaffPatchSchema(Schema):
    role = fields.String(required=True)


class ShopSchema(Schema):
    id = fields.Integer(dump_only=True)
    group_id = fields.Integer(dump_only=True)
    name = _str(200, 1)
    slug = fields.String(dump_only=True)
    phone = _opt(40)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    address_line1 = _opt(200)
    address_line2 = _opt(200)
    city = _opt(100)
    region = _opt(100)
    postal_code = _opt(20)
    timezone = fields.String()
    hours = fields.List(fields.Dict())
    closures = fields.List(fields.Dict(), metadata={
        "description": "Days the shop is closed besides its weekly hours (holidays): "
                       "`[{\"date\": \"2026-12-25\", \"label\": \"Christmas\"}]`, label optional (80 "
                       "characters); stored sorted, one per date. The portal shows the next two months'."})
    plan_key = fields.String(dump_only=True)


class ShopPatchSchema(_NotEmpty, ShopSchema):
    """Editable shop fields; all optional."""

    name = _str(200, 1)


class FeaturesSchema(Schema):
    plan = fields.String()
    entitled = fields.List(fields.String())
    active = fields.List(fields.String())


class GroupSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    slug = fields.String()
    kind = fields.String()
    shops = fields.List(fields.Nested(ShopSchema))


class SettingsSchema(Schema):
    class Meta:
        unknown = "include"
