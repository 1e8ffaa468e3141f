"""``/-/plugins.json``: installed plugins and their state (platform admins)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g

from bayline.cli import plugin_rows
from bayline.errors import Refused

bp = Blueprint("introspection", __name__, url_prefix="/-")


@bp.get("/plugins.json")
def plugins_json() -> Any:
    principal = g.get("principal")
    if principal is None:
        raise Refused(401, "unauthorized", "Log in as a platform admin.")
    if principal.user is None or not principal.user.is_platform_admin:
        raise Refused(403, "permission_denied", "Platform admins only.")
    return {"plugins": plugin_rows(current_app)}
