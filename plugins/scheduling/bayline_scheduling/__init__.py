"""Bayline scheduling: customers book inspection, drop-off and pickup times that land in the shop
calendar without a phone call; capacity-aware, never double-booked (the database refuses it).

One name everywhere: distribution ``bayline-scheduling`` · package ``bayline_scheduling`` · entry
point ``scheduling`` · feature ``scheduling`` · blueprints ``plugin_scheduling`` (``/plugins/scheduling``),
``plugin_scheduling_portal`` (``/c/s/scheduling``), ``plugin_scheduling_public``
(``/plugins/scheduling/public``), ``plugin_scheduling_api`` (``/api/v1/plugins/scheduling``) · Alembic
branch ``scheduling`` · tables ``scheduling_*`` · settings ``scheduling.*`` · tasks ``bayline_scheduling.*``.
"""
from __future__ import annotations

from typing import Any, TypedDict

from flask import Flask, g, render_template, url_for

from bayline.plugin_api import (
    Claim,
    ClaimPanel,
    Event,
    EventType,
    Feature,
    LandingLink,
    MenuItem,
    Permission,
    PortalSection,
    SettingDef,
    Shop,
    User,
    Viewer,
    hookimpl,
    is_feature_active,
)

from . import models

__version__ = "0.1.0"
NAME = "scheduling"
_PAID = ("starter", "professional", "elite", "enterprise")
_OFFICE = ("owner", "admin", "advisor", "estimator", "production_manager")


def _whole(low: int, high: int) -> Any:
    def check(value: Any) -> Any:
        try:
            n = int(str(value).strip())
        except ValueError:
            raise ValueError("a whole number") from None
        if not low <= n <= high:
            raise ValueError(f"a whole number from {low} to {high}")
        return n

    return check


def _country(value: Any) -> Any:
    text = str(value or "").strip().upper()
    if not text:
        return ""
    from .calendar import holiday_countries

    if text not in holiday_countries():
        raise ValueError("a two-letter country code the holidays calendar knows (US, CA, GB ...), or empty")
    return text


class AppointmentPayload(TypedDict):
    appointment_id: int
    claim_id: int
    status: str


@hookimpl
def register_features() -> list[Feature]:
    return [Feature(NAME, "Scheduling", "Customers book inspections, drop-offs and pickups into the shop "
                    "calendar, within capacity", default_tiers=_PAID)]


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission("scheduling.view", _OFFICE, ("read",), "See the shop calendar"),
            Permission("scheduling.manage", ("owner", "admin", "advisor", "estimator", "production_manager"),
                       ("write",), "Confirm, decline, move and book appointments"),
            Permission("scheduling.configure", ("owner", "admin"), (), "Appointment types and calendar feeds")]


@hookimpl
def register_event_types() -> list[EventType]:
    return [EventType("scheduling.appointment_changed", AppointmentPayload,
                      "An appointment was requested, confirmed, declined, moved or cancelled.",
                      staff_live=True, portal_live=True)]


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    g_ = "Scheduling"
    return [
        SettingDef("scheduling.auto_confirm_inspection", "Confirm estimate/inspection requests at once", "bool",
                   False, feature=NAME, group=g_, help="Off: staff approve each request in the calendar."),
        SettingDef("scheduling.auto_confirm_dropoff", "Confirm drop-off requests at once", "bool", False,
                   feature=NAME, group=g_),
        SettingDef("scheduling.auto_confirm_pickup", "Confirm pickup requests at once", "bool", True,
                   feature=NAME, group=g_),
        SettingDef("scheduling.intake_capacity", "Daily intake capacity (0: no limit)", "int", 6,
                   validate=_whole(0, 2000), feature=NAME, group=g_,
                   help="Cars per day, or labour hours per day: see the next setting."),
        SettingDef("scheduling.intake_measure", "The daily intake capacity counts", "choice", "cars",
                   ("cars", "hours"), feature=NAME, group=g_, choice_labels=("Cars", "Labour hours")),
        SettingDef("scheduling.dropoff_hours", "Labour hours a drop-off counts when none is given", "int", 8,
                   validate=_whole(1, 200), feature=NAME, group=g_,
                   help="Only when the capacity counts labour hours; staff can give a drop-off its own hours."),
        SettingDef("scheduling.lead_time_hours", "Hours of notice a booking needs", "int", 2,
                   validate=_whole(0, 24 * 14), feature=NAME, group=g_),
        SettingDef("scheduling.horizon_days", "Days ahead customers can book", "int", 30,
                   validate=_whole(1, 366), feature=NAME, group=g_),
        SettingDef("scheduling.cutoff_hours", "Hours before the appointment customers can still move or cancel",
                   "int", 12, validate=_whole(0, 24 * 14), feature=NAME, group=g_),
        SettingDef("scheduling.reminder_hours", "Hours before the appointment to send the reminder", "int", 24,
                   validate=_whole(1, 24 * 7), feature=NAME, group=g_),
        SettingDef("scheduling.reservation_minutes", "Minutes a slot is held while the customer confirms", "int",
                   10, validate=_whole(1, 60), feature=NAME, group=g_),
        SettingDef("scheduling.holiday_country", "Public holidays of (country code; empty: none)", "str", "",
                   validate=_country, feature=NAME, group=g_,
                   help="Closed on that country's public holidays, besides the shop's own closures."),
        SettingDef("scheduling.ready_stage", "Stage from which customers may book pickup", "str", "",
                   feature=NAME, group=g_, help="The stage's name; empty: the last stage before delivery."),
        SettingDef("scheduling.caldav_url", "Staff CalDAV calendar URL (two-way; empty: off)", "str", "",
                   feature=NAME, group=g_),
        SettingDef("scheduling.caldav_username", "CalDAV user name", "str", "", feature=NAME, group=g_),
        SettingDef("scheduling.caldav_password", "CalDAV password", "str", "", secret=True, feature=NAME,
                   group=g_),
        SettingDef("scheduling.caldav_transparent", "Events marked free on that calendar", "choice", "ignore",
                   ("ignore", "block"), feature=NAME, group=g_, choice_labels=("Do not block", "Block slots")),
        SettingDef("scheduling.caldav_all_day", "All-day events on that calendar", "choice", "block",
                   ("ignore", "block"), feature=NAME, group=g_, choice_labels=("Do not block", "Block the day")),
    ]


@hookimpl
def register_blueprints(app: Flask) -> list[Any]:
    from .api import api
    from .views import portal, staff

    return [staff, portal, api]


@hookimpl
def register_public_blueprints(app: Flask) -> list[Any]:
    from .views import public

    return [public]


@hookimpl
def register_periodic_tasks(celery: Any) -> dict[str, dict[str, Any]]:
    from . import tasks  # noqa: F401  (register the tasks)

    return {"bayline_scheduling.purge_reservations": {"task": "bayline_scheduling.purge_reservations",
                                                      "schedule": 300.0},
            "bayline_scheduling.caldav_sync": {"task": "bayline_scheduling.caldav_sync", "schedule": 300.0}}


@hookimpl
def landing_links(shop: Shop) -> list[LandingLink]:
    """The shop's landing page links to the public estimate request (a new customer books the
    inspection from the link it gets)."""
    if not is_feature_active(shop, NAME):
        return []
    url = url_for("plugin_scheduling_public.estimate_form", slug=shop.slug)
    return [LandingLink("Request an estimate", url, kind="estimate", order=10)]


@hookimpl
def menu_items(user: User, shop: Shop) -> list[MenuItem]:
    return [MenuItem("Calendar", "/plugins/scheduling/", order=65)]


@hookimpl(trylast=True)  # after the other plugins: the pickup invitation defers to a stage text already sent
def on_event(event: Event) -> None:
    from bayline.plugin_api import enqueue, for_shop

    if event.type == "claim.stage_changed":
        from . import service

        with for_shop(event.tenant_id):
            service.on_stage_changed(event.payload["claim_id"], event.id)
    elif event.type == "scheduling.appointment_changed":
        from . import caldav_sync

        with for_shop(event.tenant_id) as shop:
            if caldav_sync.configured(shop):
                enqueue("bayline_scheduling.caldav_push", shop.id, event.payload["appointment_id"])


@hookimpl
def prefetch(claim: Claim, view: str, bundle: Any) -> None:
    from . import service

    service.want_claim_rows(claim.id, bundle, staff=view == "staff")


@hookimpl
def claim_panels(claim: Claim, user: User) -> list[ClaimPanel]:
    from . import service

    rows = service.appointments_for_claim(claim.id)
    html = render_template("bayline_scheduling/panel.html", claim=claim, rows=rows, zone=service.zone(g.shop),
                           types=service.types(), estimate=service.estimate_request(claim.id))
    return [ClaimPanel(NAME, "Appointments", html, order=40)]


@hookimpl
def portal_sections(claim: Claim, viewer: Viewer) -> list[PortalSection]:
    from . import service

    rows = [a for a in service.appointments_for_claim(claim.id) if a.status in models.LIVE]
    offer = service.bookable_types(claim)
    if not rows and not offer:
        return []
    html = render_template("bayline_scheduling/portal_card.html", rows=rows, offer=offer,
                           zone=service.zone(g.shop), types={t.key: t for t in service.types()})
    return [PortalSection(NAME, "Appointments", html, order=15)]


@hookimpl
def extra_template_vars(template_name: str) -> dict[str, Any]:
    if template_name != "staff/board.html":
        return {}
    from . import service

    return {"board_sections": [render_template("bayline_scheduling/board_today.html", **service.today_on_board())]}
