"""The customer portal as a default plugin: its feature, settings and event type, and the live updates
that tell open portal and staff pages something changed (for every event type registered as live)."""
from __future__ import annotations

import logging
from typing import Any, TypedDict

from bayline import live
from bayline.db import utcnow
from bayline.ops.credentials import unusable_hash
from bayline.plugins.markers import hookimpl
from bayline.plugins.types import Event, EventType, Feature, SettingDef, ShopArchiveRules

log = logging.getLogger(__name__)


class PortalLinkIssued(TypedDict):
    claim_id: int
    token_id: int
    purpose: str
    """What the link is for: a printed document or a sending channel (``bayline.portal.models.PURPOSES``)."""
    rotated: int
    """How many active links of that purpose this one replaced (they stopped working)."""
    user_id: int | None


class PortalLinkRevoked(TypedDict):
    claim_id: int
    token_ids: list[int]
    """The links revoked (the portal sessions they opened ended)."""
    user_id: int | None


class PortalSessionEnded(TypedDict):
    claim_id: int
    session_id: int
    """The portal session (one browser) that signed out."""


@hookimpl
def register_features() -> list[Feature]:
    return [Feature("portal", "Customer portal", "Token QR portal with live timeline")]


@hookimpl
def register_event_types() -> list[EventType]:
    return [EventType("portal.link_issued", PortalLinkIssued,
                      "A new customer link was issued for a claim (on opening it, printing, sending, or by staff).",
                      staff_live=True),
            EventType("portal.link_revoked", PortalLinkRevoked,
                      "Customer links of a claim were revoked (one, or all): open portal pages show the "
                      "\"link isn't working\" page.", portal_live=True, staff_live=True),
            EventType("portal.session_ended", PortalSessionEnded,
                      "A customer signed out on one device: that device's open live stream ends (the claim's other "
                      "open pages reconnect and carry on).", portal_live=True)]


PORTAL = "Customer portal"
DOCUMENTS = "Printed documents"


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    return [
        SettingDef("portal.verification", "Customer verification before the portal shows status", "choice",
                   "name_claim", ("off", "name_claim", "name_claim_pin"), group=PORTAL,
                   choice_labels=("None: the link alone shows the repair", "Last name and claim number",
                                  "Last name, claim number and the shop PIN"),
                   help="What a customer confirms once before the portal shows their repair. A few wrong tries "
                        "lock the link for a while."),
        SettingDef("portal.pin", "Shop PIN customers enter (when verification asks for it)", "str", "",
                   secret=True, group=PORTAL, help="Give it to the customer at the desk or on the phone."),
        SettingDef("portal.link_expiry_days", "Days a portal link keeps working after the final stage", "int", 14,
                   group=PORTAL, help="After that the customer sees a friendly page and can ask for a new link."),
        SettingDef("portal.show_insurer", "Show the insurer on the portal", "bool", True, group=PORTAL),
        SettingDef("portal.show_eta", "Show the ETA on the portal", "bool", True, group=PORTAL),
        SettingDef("portal.show_hidden_stages", "Show stages marked hidden on the portal timeline", "bool", False,
                   group=PORTAL, help="Hidden stages are internal steps (e.g. supplement sent); they stay off the "
                                      "customer's timeline unless this is on."),
        SettingDef("documents.paper", "Paper size of printed work orders", "choice", "letter", ("letter", "a4"),
                   group=DOCUMENTS, choice_labels=("US Letter", "A4")),
        SettingDef("documents.authorization_terms", "Authorization text above the signature line on work orders",
                   "text", "I authorize the repairs described above and the use of the parts needed. I agree to "
                   "the shop's terms and understand it is not responsible for items left in the vehicle.",
                   group=DOCUMENTS, help="Printed as written on every new work order."),
        SettingDef("documents.print_notes", "Print the claim's damage / notes on the work order", "bool", False,
                   group=DOCUMENTS, help="Internal notes are printed only when this is on."),
    ]


@hookimpl
def register_periodic_tasks(celery: Any) -> dict[str, dict[str, Any]]:
    from bayline.portal import tasks

    return {tasks.prune_sessions.name: {"task": tasks.prune_sessions.name, "schedule": tasks.DAILY}}


@hookimpl
def on_event(event: Event) -> None:
    """Tell the claim's open portal pages and the shop's open staff pages that something changed."""
    if "claim_id" not in event.payload:
        return
    try:
        live.publish_event(event.tenant_id, int(event.payload["claim_id"]), event.type, event.id)
    except Exception:  # a broker outage must never fail the change itself; pages also poll
        log.exception("live update for %s could not be published", event.type)


def _revoked_link(row: dict[str, Any]) -> dict[str, Any]:
    """A customer link never works in another deployment: its secret stays behind (the archive
    carries no hash and no sealed copy), the row comes back revoked with an unusable hash, for the
    history (which link carried which text, attempts). Staff issue new links after an import."""
    row = {**row, "token_hash": unusable_hash(), "sealed": None, "short_hash": None}
    if row.get("state") == "active":
        row["state"], row["ended_at"] = "revoked", row.get("ended_at") or utcnow()
    return row


@hookimpl
def shop_archive_rules() -> ShopArchiveRules:
    return ShopArchiveRules(redact=("portal_tokens.token_hash", "portal_tokens.sealed", "portal_tokens.short_hash"),
                            on_import={"portal_tokens": _revoked_link})
