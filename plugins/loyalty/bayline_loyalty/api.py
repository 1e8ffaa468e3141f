"""REST resources under ``/api/v1/plugins/loyalty`` (all in ``/api/v1/openapi.json``).

Error codes: ``not_found``; ``validation_error`` (field errors); ``loyalty_insufficient_points``
(a redemption or negative adjustment beyond the balance: nothing taken); ``loyalty_unknown_code``,
``loyalty_already_referred``, ``loyalty_self_referral``, ``loyalty_duplicate_contact``,
``loyalty_no_contact`` (referrals); ``loyalty_earn_from_payments`` (staff entry while payments are
recorded on the claim); ``loyalty_refund_too_large``; the outbox's ``no_marketing_consent``,
``opted_out``, ``quiet_hours`` for offers."""
from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from bayline.plugin_api import Claim, Refused, api_blueprint, current_principal, get_session, require

from . import REFERRALS, referral_url, service

api = api_blueprint("loyalty", description="Loyalty points (customer-paid amounts only) and referrals")


class EntrySchema(Schema):
    id = fields.Int()
    delta = fields.Int(metadata={"description": "Points added (+) or taken (-)"})
    kind = fields.Str(metadata={"description": "earn, clawback, redeem, adjust, expire, referral, referral_clawback"})
    reason = fields.Str()
    claim_id = fields.Int(allow_none=True)
    amount = fields.Str(allow_none=True, metadata={"description": "The customer-paid amount it was earned on"})
    user_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()


class ReferralSchema(Schema):
    id = fields.Int()
    referrer_id = fields.Int()
    claim_id = fields.Int()
    source = fields.Str()
    state = fields.Str(metadata={"description": "pending, rewarded or clawed_back"})
    created_at = fields.DateTime()
    rewarded_at = fields.DateTime(allow_none=True)
    clawed_back_at = fields.DateTime(allow_none=True)


class MemberSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    contact = fields.Str()
    balance = fields.Int()
    referral_code = fields.Str()
    referral_url = fields.Method("_url")
    has_account = fields.Method("_account")
    created_at = fields.DateTime()

    def _url(self, member: Any) -> str:
        return referral_url(member)

    def _account(self, member: Any) -> bool:
        return member.account_id is not None


class MemberDetailSchema(MemberSchema):
    ledger = fields.Method("_ledger")
    claims = fields.Method("_claims")
    referrals = fields.Method("_referrals")

    def _ledger(self, member: Any) -> Any:
        return EntrySchema(many=True).dump(service.entries(member))

    def _claims(self, member: Any) -> Any:
        return [{"id": c.id, "number": c.number, "earned": service.claim_earned(c.id),
                 "customer_paid": str(service.net_paid(c.id))} for c in service.member_claims(member)]

    def _referrals(self, member: Any) -> Any:
        from sqlalchemy import select

        from .models import LoyaltyReferral

        rows = get_session().scalars(select(LoyaltyReferral).where(LoyaltyReferral.referrer_id == member.id))
        return ReferralSchema(many=True).dump(list(rows))


class MemberQuery(Schema):
    q = fields.Str(load_default=None, validate=validate.Length(max=100))


class PointsIn(Schema):
    points = fields.Int(required=True, metadata={"description": "Whole points (adjustments: + or -)"})
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=300))
    claim_id = fields.Int(load_default=None, allow_none=True)
    idempotency_key = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=80),
                                 metadata={"description": "The same key again changes nothing"})


class OfferIn(Schema):
    body = fields.Str(required=True, validate=validate.Length(min=1, max=640))
    idempotency_key = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=80))


class OfferOut(Schema):
    outbox_id = fields.Int()
    state = fields.Str()


class ReferralIn(Schema):
    code = fields.Str(required=True, validate=validate.Length(min=1, max=20))


class PaymentIn(Schema):
    kind = fields.Str(load_default="payment", validate=validate.OneOf(["payment", "refund"]))
    amount = fields.Str(required=True, metadata={"description": "What the customer paid, e.g. \"250.00\""})
    note = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=200))
    idempotency_key = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=80))


class ClaimPointsSchema(Schema):
    member = fields.Nested(MemberSchema, allow_none=True)
    earned = fields.Int()
    customer_paid = fields.Str()
    earn_from = fields.Str()
    referral = fields.Nested(ReferralSchema, allow_none=True)


class ReportQuery(Schema):
    since = fields.Date(load_default=None)
    until = fields.Date(load_default=None)


class ReportSchema(Schema):
    since = fields.DateTime()
    until = fields.DateTime()
    issued = fields.Dict(keys=fields.Str(), values=fields.Int())
    issued_total = fields.Int()
    redeemed = fields.Int()
    expired = fields.Int()
    clawed_back = fields.Int()
    referrals = fields.Int()
    rewarded = fields.Int()
    referrals_clawed_back = fields.Int()
    conversion = fields.Float(allow_none=True)
    members = fields.Int()


def _claim(claim_id: int) -> Claim:
    claim = get_session().get(Claim, claim_id)
    if claim is None:
        raise Refused(404, "not_found", "No such claim.")
    return claim


@api.route("/members")
class Members(MethodView):
    @api.arguments(MemberQuery, location="query")
    @api.response(200, MemberSchema(many=True))
    @require("loyalty.read")
    def get(self, args: dict[str, Any]) -> Any:
        """Customers with points (newest first, 100 at most), by name, contact or referral code."""
        return service.search_members(args.get("q"))


@api.route("/members/<int:member_id>")
class Member(MethodView):
    @api.response(200, MemberDetailSchema)
    @api.alt_response(404, description="No such member")
    @require("loyalty.read")
    def get(self, member_id: int) -> Any:
        """A customer: balance, the ledger (newest first), their claims and the referrals they made."""
        return service.get_member(member_id)


@api.route("/members/<int:member_id>/redemptions")
class Redemptions(MethodView):
    @api.arguments(PointsIn)
    @api.response(201, MemberSchema)
    @api.alt_response(404, description="No such member or claim")
    @api.alt_response(422, description="Beyond the balance (loyalty_insufficient_points) or bad input")
    @require("loyalty.redeem")
    def post(self, data: dict[str, Any], member_id: int) -> Any:
        """Redeem points at the counter, with a reason (optionally on a claim)."""
        member = service.get_member(member_id)
        service.redeem(member, data["points"], data["reason"], current_principal().user_id,
                       claim_id=data.get("claim_id"), idempotency_key=data.get("idempotency_key"))
        return service.get_member(member_id)


@api.route("/members/<int:member_id>/adjustments")
class Adjustments(MethodView):
    @api.arguments(PointsIn)
    @api.response(201, MemberSchema)
    @api.alt_response(404, description="No such member")
    @api.alt_response(422, description="A negative adjustment beyond the balance, or bad input")
    @require("loyalty.adjust")
    def post(self, data: dict[str, Any], member_id: int) -> Any:
        """Add or take points by hand, with a reason (the ledger keeps who, when and why)."""
        member = service.get_member(member_id)
        service.adjust(member, data["points"], data["reason"], current_principal().user_id,
                       idempotency_key=data.get("idempotency_key"))
        return service.get_member(member_id)


@api.route("/members/<int:member_id>/offers")
class Offers(MethodView):
    @api.arguments(OfferIn)
    @api.response(201, OfferOut)
    @api.alt_response(404, description="No such member")
    @api.alt_response(409, description="No marketing consent (no_marketing_consent), opted out, quiet hours")
    @require("loyalty.adjust")
    def post(self, data: dict[str, Any], member_id: int) -> Any:
        """Send an offer: a marketing message through the outbox (needs marketing consent)."""
        item = service.send_offer(service.get_member(member_id), data["body"], current_principal().user_id,
                                  idempotency_key=data.get("idempotency_key"))
        return {"outbox_id": item.id, "state": item.state}


@api.route("/claims/<int:claim_id>/points")
class ClaimPoints(MethodView):
    @api.response(200, ClaimPointsSchema)
    @api.alt_response(404, description="No such claim")
    @require("loyalty.read")
    def get(self, claim_id: int) -> Any:
        """The claim customer's points, what the claim earned, the customer-paid amount, its referral."""
        claim = _claim(claim_id)
        return {"member": service.member_for_claim(claim, create=False), "earned": service.claim_earned(claim.id),
                "customer_paid": str(service.net_paid(claim.id)), "earn_from": service.earn_from(g.shop),
                "referral": service.referral_of(claim.id)}


@api.route("/claims/<int:claim_id>/referral")
class ClaimReferral(MethodView):
    @api.arguments(ReferralIn)
    @api.response(201, ReferralSchema)
    @api.alt_response(404, description="No such claim, or referrals not on")
    @api.alt_response(409, description="Already referred, or a duplicate contact")
    @api.alt_response(422, description="Unknown code, self-referral, no contact")
    @require("loyalty.redeem")
    def post(self, data: dict[str, Any], claim_id: int) -> Any:
        """Record the referral code the customer gave at intake (the claim's source)."""
        claim = _claim(claim_id)
        if REFERRALS not in g.features:
            raise Refused(404, "not_found", "Referrals are not on for this shop.")
        return service.refer(claim, data["code"], current_principal().user_id, source="api")


@api.route("/claims/<int:claim_id>/payments")
class ClaimPayments(MethodView):
    @api.arguments(PaymentIn)
    @api.response(201, ClaimPointsSchema)
    @api.alt_response(404, description="No such claim")
    @api.alt_response(409, description="Payments are recorded on the claim (loyalty_earn_from_payments)")
    @api.alt_response(422, description="Bad amount, or a refund larger than what the customer paid")
    @require("loyalty.redeem")
    def post(self, data: dict[str, Any], claim_id: int) -> Any:
        """What the customer paid (not the insurer, not points), entered by staff; earns points."""
        claim = _claim(claim_id)
        service.staff_payment(claim, g.shop, data["kind"], data["amount"], data.get("note"),
                              current_principal().user_id, idempotency_key=data.get("idempotency_key"))
        claim = _claim(claim_id)
        return {"member": service.member_for_claim(claim, create=False), "earned": service.claim_earned(claim.id),
                "customer_paid": str(service.net_paid(claim.id)), "earn_from": service.earn_from(g.shop),
                "referral": service.referral_of(claim.id)}


@api.route("/report")
class ProgrammeReport(MethodView):
    @api.arguments(ReportQuery, location="query")
    @api.response(200, ReportSchema)
    @api.alt_response(422, description="since is not before until")
    @require("loyalty.read")
    def get(self, args: dict[str, Any]) -> Any:
        """Points issued (by kind), redeemed, expired, clawed back; referrals recorded, rewarded (conversion),
        clawed back; in a period (default: the last 30 days)."""
        from datetime import datetime, timedelta

        until = datetime.combine(args["until"], datetime.min.time(), UTC) + timedelta(days=1) \
            if args.get("until") else service.utc()
        since = datetime.combine(args["since"], datetime.min.time(), UTC) if args.get("since") \
            else until - timedelta(days=30)
        if since >= until:
            raise Refused(422, "validation_error", "since must be before until.",
                          errors={"query": {"since": ["before until"]}})
        return service.report(since, until).as_dict()
