"""/api/v1/api-keys: the shop's API keys (the secret is shown once, at creation)."""
from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from bayline.auth.api_keys import create_api_key, revoke
from bayline.auth.models import ApiKey
from bayline.auth.permissions import require
from bayline.auth.roles import API_KEY_SCOPES
from bayline.db import get_session
from bayline.errors import Refused
from bayline.events import commit

blp = Blueprint("api_keys", __name__, description="API keys of the current shop")


class ApiKeySchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    prefix = fields.String(dump_only=True)
    scopes = fields.List(fields.String(validate=validate.OneOf(list(API_KEY_SCOPES))),
                         load_default=lambda: ["read"], validate=validate.Length(min=1))
    created_at = fields.DateTime(dump_only=True)
    created_by = fields.Function(lambda key: ({"id": key.created_by.id, "email": key.created_by.email}
                                              if key.created_by is not None else None), dump_only=True,
                                 metadata={"description": "The user the key acts for (None: platform operator)"})
    operator_issued = fields.Boolean(dump_only=True)
    suspended = fields.Function(lambda key: _suspended(key), dump_only=True,
                                metadata={"description": "Its creator no longer works at the shop"})
    last_used_at = fields.DateTime(dump_only=True, allow_none=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)


def _suspended(key: ApiKey) -> bool:
    from bayline.auth.context import role_at

    if key.operator_issued:
        return False
    creator = key.created_by
    return creator is None or not creator.is_active or role_at(creator, g.principal.shop) is None


class ApiKeyCreatedSchema(ApiKeySchema):
    secret = fields.String(dump_only=True)


@blp.route("/api-keys")
class ApiKeys(MethodView):
    @require("api_keys.manage")
    @blp.response(200, ApiKeySchema(many=True))
    def get(self) -> list[ApiKey]:
        """Keys of this shop, newest first (secrets are never shown again)."""
        return list(get_session().scalars(select(ApiKey).order_by(ApiKey.id.desc())))

    @require("api_keys.manage")
    @blp.arguments(ApiKeySchema)
    @blp.response(201, ApiKeyCreatedSchema)
    def post(self, data: dict[str, Any]) -> ApiKey:
        """Create a key; the response carries its secret, the only time it is shown."""
        principal = g.principal
        # a key minted through a key belongs to the same human (or is the operator's, like its parent)
        human = principal.user or principal.creator
        key, secret = create_api_key(principal.shop.id, data["name"], data["scopes"],
                                     human.id if human is not None else None, operator=principal.role == "operator")
        commit()
        key.secret = secret  # plain attribute for this response only; never stored
        return key


@blp.route("/api-keys/<int:key_id>")
class ApiKeyById(MethodView):
    @require("api_keys.manage")
    @blp.response(204)
    def delete(self, key_id: int) -> None:
        """Revoke a key; requests with it fail from now on."""
        key = get_session().get(ApiKey, key_id)
        if key is None:
            raise Refused(404, "not_found", "No such API key.")
        revoke(key)
        commit()
