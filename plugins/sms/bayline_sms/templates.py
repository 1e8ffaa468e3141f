"""Message templates with claim variables, and the GSM-7 / UCS-2 segment counter."""
from __future__ import annotations

import string
from typing import Any

VARIABLES = ("first_name", "vehicle", "stage", "eta", "shop_name", "shop_phone", "portal_link")
DEFAULT_STAGE_TEMPLATE = "Hi {first_name}, an update from {shop_name}: your {vehicle} is now at \"{stage}\"."
PORTAL_LINK = "{portal_link}"
# Milestone texts (settings ``sms.template_<key>``) and the stages that are each milestone
# (``sms.milestone_stages``). ``{portal_link}`` issues a fresh customer link when the text is queued,
# which rotates the claim's previous link (it stops working at once).
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

_GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
            "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM7_EXT = set("^{}\\[~]|€\f")


def segments(text: str) -> dict[str, Any]:
    """Encoding and segment count the carrier will bill (GSM-7 160/153, UCS-2 70/67)."""
    if all(c in _GSM7 or c in _GSM7_EXT for c in text):
        units = sum(2 if c in _GSM7_EXT else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
        single, multi, encoding = 70, 67, "UCS-2"
    count = 1 if units <= single else -(-units // multi)
    return {"encoding": encoding, "characters": len(text), "units": units, "segments": count}


def variables(claim: Any, shop: Any) -> dict[str, str]:
    """Values of a claim's placeholders. ``{portal_link}`` is left in place: the send fills it with
    a freshly issued link (see ``service.queue_text``), only when the text asks for it."""
    from bayline.plugin_api import phones

    vehicle = " ".join(str(v) for v in (claim.vehicle_year, claim.vehicle_make, claim.vehicle_model) if v)
    return {
        "first_name": claim.customer_first_name or "",
        "vehicle": vehicle or "vehicle",
        "stage": claim.stage.customer_label if claim.stage is not None else "",
        "eta": claim.eta.strftime("%b %d").replace(" 0", " ") if claim.eta else "to be confirmed",
        "shop_name": shop.name,
        "shop_phone": phones.pretty(shop.phone),
    }


MAX_TEMPLATE_CHARS = 1_600
"""A text template (and the text it makes) is at most ten concatenated segments' worth."""
MAX_TEXT_CHARS = 4_000


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{name}`` placeholders; unknown names stay as written (shown in the preview).

    Only ``{name}``: a format spec or conversion (``{first_name:x>10000000}``, ``{name!r}``) is a
    ValueError, never evaluated (it made 10 MB texts), and so are over-long templates and texts."""
    if len(template) > MAX_TEMPLATE_CHARS:
        raise ValueError(f"a text template is at most {MAX_TEMPLATE_CHARS} characters")
    out: list[str] = []
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"unbalanced braces: {exc}") from None
    for literal, name, spec, conversion in parts:
        out.append(literal)
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ValueError(f"invalid placeholder {{{shown}}}: write {{name}} only")
        out.append(values[name] if name in values else "{" + name + "}")
    text = "".join(out).strip()
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"the text is longer than {MAX_TEXT_CHARS} characters")
    return text


def parse_stage_templates(text: str) -> dict[str, str]:
    """``Stage name: template`` per line → {lower-cased stage name: template}; ValueError names the line."""
    result: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, template = line.partition(":")
        if not sep or not name.strip() or not template.strip():
            raise ValueError(f"line {n}: write 'Stage name: text'")
        render(template, {})
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


def fill(template: str, claim: Any, shop: Any) -> str:
    """Render ``template`` for ``claim``; ``{portal_link}`` stays for the send to fill."""
    return render(template, {**variables(claim, shop), "portal_link": PORTAL_LINK})
