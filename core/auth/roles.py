"""Staff roles and the permissions they hold. Plugins add permissions via ``register_permissions``."""
from __future__ import annotations

ROLES: dict[str, str] = {
    "owner": "Owner",
    "admin": "Admin",
    "advisor": "Advisor / front desk",
    "estimator": "Estimator",
    "production_manager": "Production manager",
    "technician": "Technician",
}
GROUP_ROLES = {"group_admin": "Group admin"}

_OFFICE = ["owner", "admin", "advisor", "estimator", "production_manager"]
CORE_PERMISSIONS: dict[str, list[str]] = {
    "claims.read": list(ROLES),
    "claims.write": _OFFICE,
    "claims.stage": list(ROLES),
    "claims.eta": _OFFICE,
    "messages.send": _OFFICE,
    "portal.manage": _OFFICE,
    "stages.manage": ["owner", "admin"],
    "staff.manage": ["owner", "admin"],
    "settings.manage": ["owner", "admin"],
    "api_keys.manage": ["owner", "admin"],
    "plan.manage": ["owner"],
}

API_KEY_SCOPES: dict[str, list[str]] = {
    "read": ["claims.read"],
    "write": ["claims.read", "claims.write", "claims.stage", "claims.eta", "messages.send", "portal.manage"],
    "admin": ["*"],
}


def permissions_for_role(role: str, table: dict[str, list[str]]) -> frozenset[str]:
    if role in ("group_admin", "platform_admin"):
        return frozenset(table) | {"*"}
    return frozenset(p for p, roles in table.items() if role in roles)


def permissions_for_scopes(scopes: list[str], table: dict[str, list[str]]) -> frozenset[str]:
    perms: set[str] = set()
    for scope in scopes:
        granted = API_KEY_SCOPES.get(scope, [])
        perms |= set(table) | {"*"} if "*" in granted else set(granted)
    return frozenset(perms)
