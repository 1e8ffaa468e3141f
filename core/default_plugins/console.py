"""The staff console's own navigation, contributed through ``menu_items`` like any plugin's links."""
from __future__ import annotations

from typing import Any

from flask import g, url_for

from bayline.plugins.markers import hookimpl
from bayline.plugins.types import MenuItem

# (label, endpoint, permission needed or None, order)
_ITEMS = [
    ("Board", "console.board", None, 10),
    ("Claims", "console.claims", None, 20),
    ("New claim", "console.new_claim", "claims.write", 30),
    ("Stages", "console_admin.stages", "stages.manage", 40),
    ("Staff", "console_admin.staff", "staff.manage", 50),
    ("Settings", "shop_settings.edit", "settings.manage", 60),
    ("Platform", "console_platform.shops", "platform.manage", 900),
]


@hookimpl
def menu_items(user: Any, shop: Any) -> list[MenuItem]:
    principal = g.get("principal")
    if principal is None:
        return []
    items = [MenuItem(label, url_for(endpoint), order) for label, endpoint, permission, order in _ITEMS
             if permission is None or principal.can(permission)]
    if principal.role == "group_admin" and not principal.can("platform.manage"):
        items.append(MenuItem("Plans", url_for("console_group_plans.shops"), 900))  # the group's locations
    return items
