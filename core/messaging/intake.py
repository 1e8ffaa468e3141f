"""Consent given at intake: how the customer agreed to texts about the repair (transactional), and
the separate, unchecked-by-default express written consent to marketing, with its wording."""
from __future__ import annotations

import hashlib
from typing import Any

from flask import has_request_context, request

from bayline import settings_registry

from . import consent

# How the customer agreed to texts about this repair, as the claim form records it.
TEXT_CONSENT = {
    "verbal": "Agreed in person or by phone",
    "written": "Signed the work order / intake form",
    "declined": "Does not want texts",
}
MARKETING_CHANNELS = ("sms", "email")
DEFAULT_MARKETING_WORDING = (
    "I agree to receive marketing messages from {shop_name} (review requests, offers, reminders) at the "
    "number or address I gave. Consent is not a condition of any purchase or repair. Message and data rates "
    "may apply; reply STOP to opt out of texts, or use the unsubscribe link in an email.")


def marketing_wording(shop: Any) -> tuple[str, str]:
    """The shop's marketing consent wording as shown on the claim form, and its version (a digest of
    the text, so a changed wording is a new version in the ledger)."""
    template = str(settings_registry.get(shop.id, "messaging.marketing_consent_wording") or DEFAULT_MARKETING_WORDING)
    wording = template.replace("{shop_name}", shop.name)
    return wording, "sha256:" + hashlib.sha256(wording.encode()).hexdigest()[:16]


def problems(text_consent: str | None, marketing_channels: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """Field errors of the claim form's consent answers (empty when they can be recorded)."""
    errors: dict[str, list[str]] = {}
    if text_consent is not None and text_consent not in TEXT_CONSENT:
        errors["text_consent"] = [f"must be one of: {', '.join(TEXT_CONSENT)}"]
    unknown = [c for c in marketing_channels if c not in MARKETING_CHANNELS]
    if unknown:
        errors["marketing_consent"] = [f"channels must be among: {', '.join(MARKETING_CHANNELS)}"]
    elif text_consent == "declined" and "sms" in marketing_channels:
        errors["marketing_consent"] = ["the customer does not want texts: marketing texts cannot be agreed"]
    return errors


def record_intake(claim: Any, shop: Any, text_consent: str | None, marketing_channels: list[str] | tuple[str, ...],
                  user_id: int | None = None) -> None:
    """Record on the ledger what the claim form says (in the caller's transaction); check
    :func:`problems` first."""
    ip = request.remote_addr if has_request_context() else None
    agent = request.headers.get("User-Agent") if has_request_context() else None
    if claim.customer_mobile and text_consent:
        status = "revoked" if text_consent == "declined" else "granted"
        consent.set_consent(claim.customer_mobile, "sms", "transactional", status, f"intake_{text_consent}",
                            detail=f"claim {claim.number}: {TEXT_CONSENT[text_consent]}", ip=ip, user_agent=agent,
                            user_id=user_id)
    if not marketing_channels:
        return
    wording, version = marketing_wording(shop)
    for channel in dict.fromkeys(marketing_channels):
        contact = claim.customer_mobile if channel == "sms" else claim.customer_email
        if not contact:
            continue
        consent.set_consent(contact, channel, "marketing", "granted", "intake_form", wording_version=version,
                            wording=wording, detail=f"claim {claim.number}: box ticked on the claim form",
                            ip=ip, user_agent=agent, user_id=user_id)
