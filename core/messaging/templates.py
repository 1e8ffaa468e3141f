"""The one template service for every channel: ``{first_name}``-style fields only, validated at save,
previewed with a real claim, and the GSM-7 / UCS-2 segment count for SMS."""
from __future__ import annotations

import string
from typing import Any

FIELDS: dict[str, str] = {
    "first_name": "Customer's first name",
    "vehicle": "Year make model",
    "stage": "Stage the customer sees",
    "eta": "Estimated completion date",
    "shop_name": "Shop name",
    "shop_phone": "Shop phone",
    "claim_number": "Repair order number",
    "portal_link": "The customer's link for this channel (filled only when the message leaves)",
}
PORTAL_LINK = "{portal_link}"

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


MAX_TEMPLATE_CHARS = 1_600
"""A template (and the text it makes) is at most ten concatenated SMS segments' worth."""
MAX_TEXT_CHARS = 4_000


def fields_of(template: str) -> list[str]:
    if len(template) > MAX_TEMPLATE_CHARS:
        raise ValueError(f"a template is at most {MAX_TEMPLATE_CHARS} characters")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:  # "{" without "}" and the like
        raise ValueError(f"template braces do not match: {exc}") from None
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"invalid placeholder {{{name}}}: write fields like {{first_name}}")
        names.append(name)
    return names


def validate(template: str, allowed: tuple[str, ...] | None = None) -> str:
    """Check a template at save: braces match, only plain ``{field}`` names, and (when ``allowed``
    is given) only known fields. Returns the template; raises ValueError naming the problem."""
    known = allowed if allowed is not None else tuple(FIELDS)
    unknown = [n for n in fields_of(template) if n not in known]
    if unknown:
        raise ValueError(f"unknown field {{{unknown[0]}}}; fields: {', '.join('{' + k + '}' for k in known)}")
    return template


class _Keep(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``{name}`` fields; fields without a value stay as written (visible in the preview).
    Only ``{name}``: a format spec or conversion (``{first_name:x>10000000}``) is a ValueError, never
    evaluated, and so are over-long templates and texts."""
    fields_of(template)
    text = template.format_map(_Keep(values)).strip()
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"the text is longer than {MAX_TEXT_CHARS} characters")
    return text


def claim_values(claim: Any, shop: Any) -> dict[str, str]:
    """Field values of a real claim. ``{portal_link}`` is left in place: it is filled only in the
    provider request (``bayline.messaging.links.provider_body``)."""
    from bayline.phones import pretty

    vehicle = " ".join(str(v) for v in (claim.vehicle_year, claim.vehicle_make, claim.vehicle_model) if v)
    return {
        "first_name": claim.customer_first_name or "",
        "vehicle": vehicle or "vehicle",
        "stage": claim.stage.customer_label if claim.stage is not None else "",
        "eta": claim.eta.strftime("%b %d").replace(" 0", " ") if claim.eta else "to be confirmed",
        "shop_name": shop.name,
        "shop_phone": pretty(shop.phone),
        "claim_number": claim.number,
        "portal_link": PORTAL_LINK,
    }


def fill(template: str, claim: Any, shop: Any) -> str:
    """Render ``template`` for ``claim``; ``{portal_link}`` stays for the send to fill."""
    return render(template, claim_values(claim, shop))


def preview(template: str, claim: Any | None, shop: Any) -> dict[str, Any]:
    """What the message will say for ``claim`` (or the template itself) and its SMS segments."""
    validate(template)
    text = fill(template, claim, shop) if claim is not None else render(template, {})
    return {"text": text, **segments(text)}
