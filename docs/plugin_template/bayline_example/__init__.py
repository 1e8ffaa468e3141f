"""Template plugin ``example``: one name everywhere.

distribution ``bayline-example`` · package ``bayline_example`` · entry point
``example`` · feature key ``example`` · blueprint ``plugin_example`` under
``/plugins/example/`` · Alembic branch ``example`` · tables ``example_*`` ·
settings ``example.*``.
"""
from __future__ import annotations

from html import escape
from typing import Any

from bayline.plugin_api import ClaimPanel, Event, Feature, PortalSection, SettingDef, Viewer, hookimpl, shop_settings

from . import models  # noqa: F401  (tables join the metadata when the plugin loads)

NAME = "example"


@hookimpl
def register_features() -> list[Feature]:
    return [Feature(NAME, "Example notes", "Notes the shop pins to a claim for the customer")]


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    return [SettingDef("example.greeting", "Greeting above the notes", "str", "Notes from the shop")]


@hookimpl
def register_blueprints(app: Any) -> list[Any]:
    from .views import bp

    return [bp]


@hookimpl
def portal_sections(claim: Any, viewer: Viewer) -> list[PortalSection]:
    from .models import notes_for

    notes = notes_for(claim.id)
    if not notes:
        return []
    items = "".join(f"<li>{escape(n.body)}</li>" for n in notes)
    return [PortalSection(NAME, greeting(claim.tenant_id), f"<ul>{items}</ul>", order=500)]


@hookimpl
def claim_panels(claim: Any, user: Any) -> list[ClaimPanel]:
    from .models import notes_for

    count = len(notes_for(claim.id))
    return [ClaimPanel(NAME, "Example notes", f"<p>{count} note(s) pinned for the customer.</p>", order=500)]


@hookimpl
def on_event(event: Event) -> None:
    from .models import record_stage_change

    if event.type == "claim.stage_changed":
        record_stage_change(event.payload["claim_id"])


def greeting(shop_id: int) -> str:
    return shop_settings(NAME, shop_id).get_str("greeting")
