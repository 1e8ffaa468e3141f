"""An in-process plugin ``apidemo`` that uses only ``bayline.plugin_api`` (tests/plugins/test_plugin_api.py)."""
from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask.views import MethodView
from marshmallow import Schema, fields

from bayline.plugin_api import (
    Claim,
    ClaimPanel,
    Feature,
    Refused,
    SettingDef,
    api_blueprint,
    commit,
    current_portal_claim,
    current_principal,
    get_session,
    hookimpl,
    plugin_config,
    portal_blueprint,
    public_blueprint,
    rate_limit,
    require,
    shop_settings,
    staff_blueprint,
    wants_json,
)

NAME = "apidemo"

staff = staff_blueprint(NAME)
portal = portal_blueprint(NAME)
public = public_blueprint(NAME, csrf_protect=False)
api = api_blueprint(NAME, description="Demo resources of the apidemo plugin")


@staff.get("/whoami")
@require("claims.read")
def whoami() -> Any:
    principal = current_principal()
    assert principal is not None
    return {"shop_id": g.shop.id, "role": principal.role, "json": wants_json()}


@staff.get("/manage")
@require("apidemo.manage")
def manage() -> Any:
    return {"ok": True}


@staff.post("/greeting")
@require("claims.read")
def set_greeting() -> Any:
    """Stores the greeting, then refuses when asked to: the refusal must roll the change back."""
    shop_settings(NAME).set({"greeting": request.form.get("greeting", "")})
    get_session().flush()
    if request.form.get("refuse"):
        raise Refused(409, "apidemo_conflict", "Refused after writing.")
    commit()
    return {"greeting": shop_settings(NAME).get("greeting")}


@staff.get("/settings")
@require("claims.read")
def read_settings() -> Any:
    settings = shop_settings(NAME)
    return {"greeting": settings.get_str("greeting"), "limit": settings.get_int("limit"),
            "loud": settings.get_bool("loud"), "all": settings.all()}


@staff.get("/config")
@require("claims.read")
def read_config() -> Any:
    config = plugin_config(NAME)
    return {"token": config.get_str("token"), "retries": config.get_int("retries", 2),
            "schemes": config.get_list("schemes", ["https"])}


@portal.get("/")
def portal_home() -> Any:
    claim = current_portal_claim()
    return {"claim": claim.number, "shop": g.shop.id}


@public.post("/ping")
@rate_limit("2/minute")
def ping() -> Any:
    return {"pong": True}


class NoteSchema(Schema):
    claim_id = fields.Int(required=True)
    number = fields.Str(dump_only=True)


@api.route("/claims/<int:claim_id>")
class ClaimNote(MethodView):
    @api.response(200, NoteSchema)
    @api.alt_response(404, description="No such claim")
    @require("claims.read")
    def get(self, claim_id: int) -> Any:
        """The claim's number (a plugin resource in the core's OpenAPI document)."""
        claim = get_session().get(Claim, claim_id)
        if claim is None:
            raise Refused(404, "not_found", "No such claim.")
        return {"claim_id": claim.id, "number": claim.number}


@hookimpl
def register_features() -> list[Feature]:
    return [Feature(NAME, "API demo")]


@hookimpl
def register_permissions() -> dict[str, list[str]]:
    return {"apidemo.manage": ["owner"]}


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    return [SettingDef(f"{NAME}.greeting", "Greeting", "str", "hello", feature=NAME),
            SettingDef(f"{NAME}.limit", "Limit", "int", 3, feature=NAME),
            SettingDef(f"{NAME}.loud", "Loud", "bool", False, feature=NAME)]


@hookimpl
def register_blueprints(app: Flask) -> list[Any]:
    return [staff, portal, api]


@hookimpl
def register_public_blueprints(app: Flask) -> list[Any]:
    return [public]


@hookimpl
def claim_panels(claim: Any, user: Any) -> list[ClaimPanel]:
    return [ClaimPanel(NAME, "Demo", f"<p>demo {claim.number}</p>")]
