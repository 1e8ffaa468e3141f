"""The messaging core's settings, beat task and console entry, through the hooks plugins use."""
from __future__ import annotations

from typing import Any

from flask import g, url_for

from bayline.messaging import tasks
from bayline.messaging.intake import DEFAULT_MARKETING_WORDING
from bayline.messaging.quiet import parse_hhmm
from bayline.plugins.markers import hookimpl
from bayline.plugins.types import ArchiveRemap, MenuItem, SettingDef, ShopArchiveRules

BEAT_SECONDS = 30.0  # how often due rows (reminders, quiet-hours holds, back-offs) are released


def _hhmm(value: Any) -> str:
    return parse_hhmm(str(value)) if value else ""


MESSAGING = "Messages and quiet hours"


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    return [
        SettingDef("messaging.quiet_hours_start", "Quiet hours start for updates (recipient's local time, HH:MM; "
                   "empty = none)", "str", "21:00", validate=_hhmm, group=MESSAGING),
        SettingDef("messaging.quiet_hours_end", "Quiet hours end for updates (HH:MM)", "str", "08:00",
                   validate=_hhmm, group=MESSAGING),
        SettingDef("messaging.marketing_quiet_hours_start", "Marketing stops at (HH:MM; never later than 21:00)",
                   "str", "21:00", validate=_hhmm, group=MESSAGING),
        SettingDef("messaging.marketing_quiet_hours_end", "Marketing starts at (HH:MM; never earlier than 08:00)",
                   "str", "08:00", validate=_hhmm, group=MESSAGING),
        SettingDef("messaging.rate_limit_shop_per_hour", "Most messages the shop sends per hour (0 = no limit)",
                   "int", 500, group=MESSAGING),
        SettingDef("messaging.rate_limit_recipient_per_hour", "Most messages one recipient gets per hour "
                   "(0 = no limit)", "int", 10, group=MESSAGING),
        SettingDef("messaging.marketing_consent_wording", "Marketing consent wording on the claim form", "text",
                   DEFAULT_MARKETING_WORDING, help="{shop_name} is filled in. The exact text the customer agreed "
                   "to is stored with each consent; changing it starts a new version.", group=MESSAGING),
    ]


@hookimpl
def register_periodic_tasks(celery: Any) -> dict[str, dict[str, Any]]:
    return {tasks.dispatch_due.name: {"task": tasks.dispatch_due.name, "schedule": BEAT_SECONDS}}


@hookimpl
def menu_items(user: Any, shop: Any) -> list[MenuItem]:
    principal = g.get("principal")
    if principal is None or not principal.can("claims.read"):
        return []
    return [MenuItem("Outbox", url_for("console_outbox.outbox"), 35)]


def _outbox_options(options: Any, row: dict[str, Any], remap: ArchiveRemap) -> Any:
    """``photo_ids`` (texted photos) and ``portal_token_id`` (the link a text carries) name rows."""
    if not isinstance(options, dict):
        return options
    out = dict(options)
    if isinstance(out.get("photo_ids"), list):
        out["photo_ids"] = [new for new in (remap.id("photos", i) for i in out["photo_ids"]) if new is not None]
    if out.get("portal_token_id") is not None:
        out["portal_token_id"] = remap.id("portal_tokens", out["portal_token_id"])
    return out


IMPORT_CANCELLED = "cancelled by import-shop: not sent from the new deployment (send again if still wanted)"


def _imported_outbox(row: dict[str, Any]) -> dict[str, Any]:
    """Messages waiting to go (queued, held for quiet hours or a due time) do not leave the new
    deployment on their own: the old one may have sent them, or the shop runs in both for a while."""
    if row.get("state") in ("queued", "held"):
        return {**row, "state": "cancelled", "reason": IMPORT_CANCELLED, "due_at": None}
    return row


@hookimpl
def shop_archive_rules() -> ShopArchiveRules:
    return ShopArchiveRules(json_columns={"outbox_items.options": _outbox_options},
                            on_import={"outbox_items": _imported_outbox})
