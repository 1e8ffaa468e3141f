"""The core's permissions: which staff roles hold them and which API-key scopes grant them."""
from __future__ import annotations

from typing import Any

from bayline.auth.roles import ROLES
from bayline.db import utcnow
from bayline.ops.credentials import unusable_hash
from bayline.plugins.markers import hookimpl
from bayline.plugins.types import Permission, ShopArchiveRules

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


def _revoked_key(row: dict[str, Any]) -> dict[str, Any]:
    """API keys stop at an export: the hash stays behind, the key comes back revoked (issue new ones)."""
    return {**row, "key_hash": unusable_hash(), "revoked_at": row.get("revoked_at") or utcnow()}


def _revoked_invitation(row: dict[str, Any]) -> dict[str, Any]:
    """A pending invitation's link does not travel: it comes back revoked (invite again)."""
    pending = row.get("accepted_at") is None and row.get("revoked_at") is None
    return {**row, "token_hash": unusable_hash(), "revoked_at": utcnow() if pending else row.get("revoked_at")}


@hookimpl
def shop_archive_rules() -> ShopArchiveRules:
    # plan_changes: the platform's billing history of this deployment; the importing one keeps its own
    return ShopArchiveRules(redact=("api_keys.key_hash", "staff_invitations.token_hash"),
                            on_import={"api_keys": _revoked_key, "staff_invitations": _revoked_invitation},
                            skip_tables=("plan_changes",))
