"""REST resources under ``/api/v1/plugins/quotes`` (flask-smorest; in ``/api/v1/openapi.json``).

Amounts are decimal strings in the shop's currency (``"412.30"``), computed by the shop's one
rounding policy, so the API, the portal and the PDF agree to the cent. Error codes (all in the
core's error shape): ``quotes_invalid_file`` (with ``errors.file``: one entry per problem, by line),
``quotes_xml_forbidden``, ``quotes_file_too_large``, ``quotes_unknown_format``,
``quotes_no_matching_claim``, ``quotes_version_decided``, ``quotes_version_out_of_order``,
``quotes_version_withdrawn``, ``quotes_version_superseded``, ``quotes_version_expired``,
``quotes_already_approved``, ``quotes_nothing_to_reverse``, ``quotes_unknown_line``,
``quotes_refund_too_large``, ``quotes_import_conflict``, ``validation_error``, ``not_found``.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from bayline.plugin_api import Refused, api_blueprint, commit, current_principal, is_feature_active, require

from . import PAYMENTS, service
from .imports import ImportRejected, parse
from .views import _staff_actor

api = api_blueprint("quotes", description="Estimates, supplements, approvals and payments of a claim")


class TotalsSchema(Schema):
    currency = fields.Str()
    rounding = fields.Str()
    tax_inclusive = fields.Bool()
    net = fields.Str()
    tax = fields.Str()
    total = fields.Str()
    categories = fields.Dict(keys=fields.Str(), values=fields.Dict())
    payers = fields.Dict(keys=fields.Str(), values=fields.Str())
    betterment = fields.Str()
    deductible = fields.Str()
    deductible_applied = fields.Str()


class LineSchema(Schema):
    id = fields.Int()
    line_no = fields.Int()
    line_ref = fields.Str()
    operation = fields.Str()
    description = fields.Str()
    part_number = fields.Str(allow_none=True)
    part_type = fields.Str(allow_none=True)
    quantity = fields.Str()
    unit_price = fields.Str()
    labor_type = fields.Str(allow_none=True)
    labor_hours = fields.Str()
    labor_rate = fields.Str()
    paint_materials = fields.Str()
    sublet = fields.Str()
    taxable = fields.Bool()
    payer = fields.Str()
    betterment_pct = fields.Str()
    shop_only = fields.Bool()
    internal_note = fields.Str(allow_none=True)
    decision = fields.Str()
    net = fields.Str()
    tax = fields.Str()
    total = fields.Str()
    betterment = fields.Str()


class VersionSchema(Schema):
    id = fields.Int()
    estimate_id = fields.Int()
    claim_id = fields.Int()
    source = fields.Str()
    source_ref = fields.Str()
    number = fields.Int()
    label = fields.Str()
    status = fields.Str()
    approval = fields.Str()
    saves = fields.Int()
    expires_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    totals = fields.Nested(TotalsSchema)
    owed = fields.Nested(TotalsSchema, metadata={"description": "Totals without the lines the customer declined"})
    file_totals = fields.Dict(allow_none=True)
    totals_mismatch = fields.List(fields.Dict())
    diff = fields.Dict(allow_none=True)
    signature = fields.Dict(allow_none=True, metadata={
        "description": "Signed approval (quotes.signed_approval): status pending | signed | declined | lapsed | "
                       "cancelled, package_id, line_ids awaiting it, requested_at, signed_at, url"})
    lines = fields.List(fields.Nested(LineSchema))


class ImportSchema(Schema):
    format = fields.Str(required=True, validate=validate.OneOf(["json", "csv", "bms"]))
    content = fields.Raw(required=True, metadata={
        "description": "json: the estimate object; csv and bms: the file's text, or base64 with encoding=base64"})
    encoding = fields.Str(load_default="text", validate=validate.OneOf(["text", "base64"]))


class ImportResultSchema(Schema):
    outcome = fields.Str(metadata={"description": "created | duplicate (a re-save) | updated"})
    version = fields.Nested(VersionSchema)


class DecisionSchema(Schema):
    id = fields.Int()
    action = fields.Str()
    line_ids = fields.List(fields.Int())
    reason = fields.Str(allow_none=True)
    reason_text = fields.Str(allow_none=True)
    actor = fields.Str()
    actor_name = fields.Str()
    ip = fields.Str(allow_none=True)
    user_agent = fields.Str(allow_none=True)
    created_at = fields.DateTime()


class ReverseSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))
    line_ids = fields.List(fields.Int(), load_default=list)


class WithdrawSchema(Schema):
    reason = fields.Str(load_default=None, validate=validate.Length(max=300))


class PaymentSchema(Schema):
    id = fields.Int(dump_only=True)
    kind = fields.Str(load_default="payment", validate=validate.OneOf(["payment", "refund"]))
    payer = fields.Str(required=True, validate=validate.OneOf(service.PAYMENT_PAYERS))
    method = fields.Str(load_default="other", validate=validate.OneOf(service.PAYMENT_METHODS))
    amount = fields.Decimal(required=True, as_string=True, metadata={"description": "e.g. \"250.00\""})
    reference = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=120))
    currency = fields.Str(dump_only=True)
    provider = fields.Str(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class SummarySchema(Schema):
    currency = fields.Str()
    total = fields.Str()
    customer_part = fields.Str()
    insurer_part = fields.Str()
    paid = fields.Str()
    insurer_paid = fields.Str()
    balance = fields.Str()


def version_json(v: Any) -> dict[str, Any]:
    pol = service.policy()
    t = service.totals(v, pol)
    d = service.diff(v, pol)
    lines = []
    for ln in v.lines:
        la = t.lines[ln.id]
        row = {k: getattr(ln, k) for k in LineSchema._declared_fields if hasattr(ln, k)}
        row.update({k: str(getattr(ln, k)) for k in ("quantity", "unit_price", "labor_hours", "labor_rate",
                                                     "paint_materials", "sublet", "betterment_pct")})
        row.update(net=str(la.net), tax=str(la.tax), total=str(la.gross), betterment=str(la.betterment))
        lines.append(row)
    return {"id": v.id, "estimate_id": v.estimate_id, "claim_id": v.claim_id, "source": v.estimate.source,
            "source_ref": v.estimate.source_ref, "number": v.number, "label": v.label, "status": v.status,
            "approval": v.approval, "saves": v.saves, "expires_at": v.expires_at, "created_at": v.created_at,
            "totals": t.as_dict(), "owed": service.totals(v, pol, scope=True).as_dict(),
            "file_totals": v.file_totals, "totals_mismatch": v.mismatches or [],
            "diff": d.as_dict() if d else None, "signature": service.signature_dict(v), "lines": lines}


def _read_import(data: dict[str, Any]) -> Any:
    content = data["content"]
    try:
        if data["format"] == "json" and isinstance(content, dict):
            from .imports import parse_json

            return parse_json(content)
        if not isinstance(content, str):
            raise Refused(422, "validation_error", "content must be text (or the JSON object for format json).",
                          errors={"json": {"content": ["not a string"]}})
        if data["encoding"] == "base64":
            try:
                raw = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError):
                raise Refused(422, "validation_error", "content is not valid base64.",
                              errors={"json": {"content": ["not base64"]}}) from None
        else:
            raw = content.encode()
        return parse(raw, data["format"])
    except ImportRejected as exc:
        raise _rejected(exc) from None


def _rejected(exc: ImportRejected) -> Refused:
    status = 413 if exc.code == "quotes_file_too_large" else 422
    return Refused(status, exc.code, exc.message, errors={"file": exc.errors} if exc.errors else None)


def _import(est: Any, claim: Any) -> tuple[dict[str, Any], int]:
    try:
        result = service.store_import(est, claim.id if claim is not None else None, current_principal().user_id)
    except ImportRejected as exc:
        raise _rejected(exc) from None
    return {"outcome": result.outcome, "version": version_json(result.version)}, (
        201 if result.outcome == "created" else 200)


@api.route("/claims/<int:claim_id>/versions")
class ClaimVersions(MethodView):
    @api.response(200, VersionSchema(many=True))
    @api.alt_response(404, description="No such claim")
    @require("claims.read")
    def get(self, claim_id: int) -> Any:
        """Every estimate version of the claim (original, supplements), with lines, totals and diffs."""
        service.get_claim(claim_id)
        return [version_json(v) for v in service.versions_for_claim(claim_id)]


@api.route("/claims/<int:claim_id>/imports")
class ClaimImports(MethodView):
    @api.arguments(ImportSchema)
    @api.response(201, ImportResultSchema, description="A new version")
    @api.alt_response(200, schema=ImportResultSchema, description="A re-save (duplicate) or an update")
    @api.alt_response(404, description="No such claim")
    @api.alt_response(422, description="The file has errors (errors.file lists them); nothing imported")
    @require("quotes.import")
    def post(self, data: dict[str, Any], claim_id: int) -> Any:
        """Import an estimate or supplement (BMS XML, CSV or JSON) onto this claim."""
        claim = service.get_claim(claim_id)
        return _import(_read_import(data), claim)


@api.route("/imports")
class Imports(MethodView):
    @api.arguments(ImportSchema)
    @api.response(201, ImportResultSchema)
    @api.alt_response(200, schema=ImportResultSchema, description="A re-save (duplicate) or an update")
    @api.alt_response(422, description="Errors in the file, or no claim matches it")
    @require("quotes.import")
    def post(self, data: dict[str, Any]) -> Any:
        """Import a file and put it on the claim it names (RO number, claim number, then VIN)."""
        return _import(_read_import(data), None)


@api.route("/versions/<int:version_id>")
class Version(MethodView):
    @api.response(200, VersionSchema)
    @api.alt_response(404, description="No such version")
    @require("claims.read")
    def get(self, version_id: int) -> Any:
        """One version with its lines, totals (total, per category, per payer), diff and reconciliation."""
        return version_json(service.get_version(version_id))


@api.route("/versions/<int:version_id>/decisions")
class Decisions(MethodView):
    @api.response(200, DecisionSchema(many=True))
    @api.alt_response(404, description="No such version")
    @require("claims.read")
    def get(self, version_id: int) -> Any:
        """The approval history: who, when, from which address and device."""
        return service.decisions_for(service.get_version(version_id).id)


@api.route("/versions/<int:version_id>/reverse")
class Reverse(MethodView):
    @api.arguments(ReverseSchema)
    @api.response(200, VersionSchema)
    @api.alt_response(404, description="No such version")
    @api.alt_response(409, description="Nothing was decided")
    @require("quotes.reverse")
    def post(self, data: dict[str, Any], version_id: int) -> Any:
        """Put the customer's decisions (all, or ``line_ids``) back to pending, with a reason."""
        version = service.reverse(service.get_version(version_id), data["line_ids"], data["reason"], _staff_actor())
        commit()
        return version_json(version)


@api.route("/versions/<int:version_id>/withdraw")
class Withdraw(MethodView):
    @api.arguments(WithdrawSchema)
    @api.response(200, VersionSchema)
    @api.alt_response(404, description="No such version")
    @require("quotes.import")
    def post(self, data: dict[str, Any], version_id: int) -> Any:
        """Withdraw a version: the customer can no longer see or approve it."""
        version = service.withdraw(service.get_version(version_id), data.get("reason"))
        commit()
        return version_json(version)


def _payments_on() -> None:
    if not is_feature_active(g.shop, PAYMENTS):
        raise Refused(403, "feature_not_in_plan", "Payments are not part of this shop's plan.")


@api.route("/claims/<int:claim_id>/payments")
class Payments(MethodView):
    @api.response(200, PaymentSchema(many=True))
    @api.alt_response(404, description="No such claim")
    @require("claims.read")
    def get(self, claim_id: int) -> Any:
        """Payments and refunds of the claim, oldest first."""
        _payments_on()
        return service.payments_for(service.get_claim(claim_id).id)

    @api.arguments(PaymentSchema)
    @api.response(201, PaymentSchema)
    @api.alt_response(404, description="No such claim")
    @api.alt_response(422, description="Bad amount, payer or method; a refund larger than what was paid")
    @require("payments.record")
    def post(self, data: dict[str, Any], claim_id: int) -> Any:
        """Record a payment or refund (insurer, deductible or customer; method; reference)."""
        _payments_on()
        claim = service.get_claim(claim_id)
        row = service.record_payment(claim, kind=data["kind"], payer=data["payer"], method=data["method"],
                                     amount=data["amount"], reference=data.get("reference"),
                                     user_id=current_principal().user_id)
        commit()
        return row


@api.route("/claims/<int:claim_id>/payment-summary")
class PaymentSummary(MethodView):
    @api.response(200, SummarySchema)
    @api.alt_response(404, description="No such claim")
    @require("claims.read")
    def get(self, claim_id: int) -> Any:
        """Total, the customer's part, the insurer's part, what each paid, the customer's balance."""
        _payments_on()
        return service.summary(service.get_claim(claim_id).id).as_dict()
