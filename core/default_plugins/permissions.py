"""The core's permissions: which staff roles hold them and which API-key scopes grant them."""
from __future__ import annotations

from bayline.auth.roles import ROLES
from bayline.plugins.markers import hookimpl
from bayline.plugins.types import Permission

_OFFICE = ("owner", "admin", "advisor", "estimator", "production_manager")
_ADMINS = ("owner", "admin")


@hookimpl
def register_permissions() -> list[Permission]:
    return [
        Permission("claims.read", tuple(ROLES), ("read",), "See claims, their history and messages"),
        Permission("claims.write", _OFFICE, ("write",), "Open and edit claims"),
        Permission("claims.stage", tuple(ROLES), ("write",), "Move claims between stages"),
        Permission("claims.eta", _OFFICE, ("write",), "Set the promised completion date"),
        Permission("messages.send", _OFFICE, ("write",), "Write to the customer"),
        Permission("portal.manage", _OFFICE, ("write",), "Issue and revoke customer links"),
        Permission("stages.manage", _ADMINS, (), "Edit the shop's stages"),
        Permission("staff.manage", _ADMINS, (), "Invite and remove staff"),
        Permission("settings.manage", _ADMINS, (), "Change the shop's settings"),
        Permission("api_keys.manage", _ADMINS, (), "Create and revoke API keys"),
        Permission("plan.manage", ("owner",), (), "Switch the shop's features on and off"),
    ]
