"""REST resources under ``/api/v1/plugins/accounts`` (in ``/api/v1/openapi.json``): whether a claim's
customer has an account, and ending an account's sessions on the customer's request.

Error codes: ``not_found`` (no such claim or account in this shop)."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields

from bayline.plugin_api import Claim, Refused, api_blueprint, get_session, require

from . import service
from .models import AccountsAccount

api = api_blueprint("accounts", description="Customer accounts (passwordless, claimed by a code to a contact)")


class AccountSchema(Schema):
    id = fields.Int()
    contact_kind = fields.Str(metadata={"description": "mobile or email: which contact of the claim has it"})
    created_at = fields.DateTime()
    last_seen_at = fields.DateTime(allow_none=True)
    active_sessions = fields.Int()
    claims = fields.Int(metadata={"description": "How many repairs the account lists"})


class SignedOutSchema(Schema):
    ended = fields.Int(metadata={"description": "Sessions ended"})


def _claim(claim_id: int) -> Claim:
    claim = get_session().get(Claim, claim_id)
    if claim is None:
        raise Refused(404, "not_found", "No such claim.")
    return claim


@api.route("/claims/<int:claim_id>/accounts")
class ClaimAccounts(MethodView):
    @api.response(200, AccountSchema(many=True))
    @api.alt_response(404, description="No such claim")
    @require("accounts.read")
    def get(self, claim_id: int) -> Any:
        """The accounts of the claim's mobile and email in this shop (none, one, or two)."""
        from flask import g

        claim = _claim(claim_id)
        out = []
        for kind in service.KINDS:
            value = service.contact_of(claim, kind)
            account = service.account_for_contact(kind, value, [claim.tenant_id]) if value else None
            if account is not None and all(a["id"] != account.id for a in out):
                out.append({"id": account.id, "contact_kind": kind, "created_at": account.created_at,
                            "last_seen_at": account.last_seen_at,
                            "active_sessions": service.active_sessions(account),
                            "claims": len(service.claims_of(account, g.shop))})
        return out


@api.route("/accounts/<int:account_id>/sign-out")
class AccountSignOut(MethodView):
    @api.response(200, SignedOutSchema)
    @api.alt_response(404, description="No such account")
    @require("accounts.read")
    def post(self, account_id: int) -> Any:
        """End every session of the account (the customer lost a phone)."""
        account = get_session().get(AccountsAccount, account_id)
        if account is None:
            raise Refused(404, "not_found", "No such account.")
        return {"ended": service.sign_out_everywhere(account)}
