"""The SMS milestone and stage texts, on the core template service (``bayline.plugin_api.message_templates``)."""
from __future__ import annotations

from typing import Any

from bayline.plugin_api import message_templates as templates

PORTAL_LINK = templates.PORTAL_LINK
render = templates.render  # the one template service
segments = templates.segments

VARIABLES = ("first_name", "vehicle", "stage", "eta", "shop_name", "shop_phone", "claim_number", "portal_link")
DEFAULT_STAGE_TEMPLATE = "Hi {first_name}, an update from {shop_name}: your {vehicle} is now at \"{stage}\"."
# Milestone texts (settings ``sms.template_<key>``) and the stages that are each milestone
# (``sms.milestone_stages``). ``{portal_link}`` is filled with the claim's SMS link when the text leaves
# (issued when none is live; printed links are untouched).
MILESTONES = {
    "received": ("Claim received", "Hi {first_name}, {shop_name} has received your {vehicle}. Follow the repair "
                 "and message us here: {portal_link}"),
    "supplement_approved": ("Supplement approved", "Good news {first_name}: your insurer approved the supplement "
                            "for your {vehicle}. Repairs continue; ETA {eta}."),
    "ready_for_pickup": ("Ready for pickup", "Hi {first_name}, your {vehicle} is ready for pickup at {shop_name}. "
                         "Questions? {shop_phone}"),
    "paid": ("Paid", "Thank you {first_name}, {shop_name} received your payment for the {vehicle} repair. "
             "Photos and documents: {portal_link}"),
}
DEFAULT_MILESTONE_STAGES = ("received: Pictures, Intake\nsupplement_approved: Supp Appr\n"
                            "ready_for_pickup: Completed, Ready for pickup\npaid:")

def validate(template: str) -> str:
    """A milestone or stage text: checked at save by the core template service."""
    return templates.validate(template, VARIABLES)


def variables(claim: Any, shop: Any) -> dict[str, str]:
    """Field values of a real claim (core template service)."""
    values = templates.claim_values(claim, shop)
    values.pop("portal_link", None)
    return values


def parse_stage_templates(text: str) -> dict[str, str]:
    """``Stage name: template`` per line → {lower-cased stage name: template}; ValueError names the line."""
    result: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, template = line.partition(":")
        if not sep or not name.strip() or not template.strip():
            raise ValueError(f"line {n}: write 'Stage name: text'")
        try:
            validate(template)
        except ValueError as exc:
            raise ValueError(f"line {n}: {exc}") from None
        result[name.strip().lower()] = template.strip()
    return result


def parse_milestone_stages(text: str) -> dict[str, str]:
    """``milestone: Stage, Stage`` per line → {lower-cased stage name: milestone key}."""
    result: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, stages = line.partition(":")
        key = key.strip().lower().replace(" ", "_")
        if not sep or key not in MILESTONES:
            raise ValueError(f"line {n}: write 'milestone: Stage name, Stage name' with a milestone among "
                             f"{', '.join(MILESTONES)}")
        for stage in stages.split(","):
            if stage.strip():
                result[stage.strip().lower()] = key
    return result


fill = templates.fill
