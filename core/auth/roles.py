"""Staff roles, API-key scopes and the permissions they hold.

Permissions are registered through ``register_permissions`` (the core's own by
``bayline.default_plugins.permissions``): each names the roles that hold it and the API-key scopes
that grant it. The ``admin`` scope grants every permission; ``write`` grants what ``read`` grants.
"""
from __future__ import annotations

from collections.abc import Iterable

ROLES: dict[str, str] = {
    "owner": "Owner",
    "admin": "Admin",
    "advisor": "Advisor / front desk",
    "estimator": "Estimator",
    "production_manager": "Production manager",
    "technician": "Technician",
}
GROUP_ROLES = {"group_admin": "Group admin"}

API_KEY_SCOPES: tuple[str, ...] = ("read", "write", "admin")
GRANTABLE_SCOPES: tuple[str, ...] = ("read", "write")
"""Scopes a permission may name (``admin`` holds every permission anyway)."""


def permissions_for_role(role: str, table: dict[str, list[str]]) -> frozenset[str]:
    if role in ("group_admin", "platform_admin"):
        return frozenset(table) | {"*"}
    return frozenset(p for p, roles in table.items() if role in roles)


def permissions_for_scopes(scopes: Iterable[str], grants: dict[str, set[str]]) -> frozenset[str]:
    """What an API key with ``scopes`` may do; ``grants`` maps a scope to the permissions it grants."""
    perms: set[str] = set()
    for scope in scopes:
        if scope == "admin":
            return frozenset(grants.get("admin", set())) | {"*"}
        perms |= grants.get(scope, set())
    return frozenset(perms)
