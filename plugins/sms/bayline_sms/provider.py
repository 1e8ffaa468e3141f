"""The Telnyx client (official SDK), configured per platform.

Platform configuration (``plugin_config("sms")``: environment variables or Flask config; else the
SDK's own environment variables): ``BAYLINE_PLUGIN_SMS_TELNYX_API_KEY`` (``TELNYX_API_KEY``),
``BAYLINE_PLUGIN_SMS_TELNYX_PUBLIC_KEY`` (``TELNYX_PUBLIC_KEY``, base64 ed25519 key from the Telnyx
portal), ``BAYLINE_PLUGIN_SMS_TELNYX_BASE_URL`` (``TELNYX_BASE_URL``; tests point it at the local
stand-in), ``BAYLINE_PLUGIN_SMS_TELNYX_MAX_RETRIES`` (HTTP retries inside the SDK, default 2; the
Celery task retries too).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import current_app

from bayline.plugin_api import plugin_config

if TYPE_CHECKING:  # the SDK takes seconds to import: loaded by the first call that needs it
    from telnyx import Telnyx

WEBHOOK_TOLERANCE_SECONDS = 300  # the SDK's unwrap() rejects timestamps further off than this


class NotConfigured(RuntimeError):
    pass


def client() -> Telnyx:
    cfg = plugin_config("sms")
    cache = current_app.extensions.setdefault("bayline_sms.clients", {})
    key = (cfg.get_str("telnyx_api_key"), cfg.get_str("telnyx_public_key"), cfg.get_str("telnyx_base_url"))
    if key not in cache:
        from telnyx import Telnyx

        try:
            cache[key] = Telnyx(api_key=key[0], public_key=key[1], base_url=key[2],
                                max_retries=cfg.get_int("telnyx_max_retries", 2), timeout=15.0)
        except Exception as exc:  # the SDK raises when no API key is configured anywhere
            raise NotConfigured(f"Telnyx is not configured: {exc}") from exc
    return cache[key]


def verify_webhook(raw: str, headers: dict[str, str]) -> dict[str, Any]:
    """Verify a Telnyx webhook (ed25519 over ``timestamp|payload``, 300 s tolerance) with the SDK's
    ``webhooks.unwrap``; return the decoded JSON. Raises ValueError when forged, stale or malformed."""
    c = client()
    if not c.public_key:
        raise ValueError("no Telnyx public key configured (BAYLINE_PLUGIN_SMS_TELNYX_PUBLIC_KEY)")
    try:
        c.webhooks.unwrap(raw, headers=headers)
    except json.JSONDecodeError as exc:  # raised after the signature checked out
        raise Malformed(f"malformed JSON: {exc}") from exc
    data = json.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        raise Malformed("not a Telnyx event envelope")
    return data


def error_detail(exc: Exception) -> tuple[str | None, str]:
    """(Telnyx error code, human text) from an SDK APIStatusError."""
    body = getattr(exc, "body", None)
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(body, list):
        errors = body
    if errors and isinstance(errors[0], dict):
        first = errors[0]
        text = first.get("detail") or first.get("title") or str(exc)
        return (str(first.get("code")) if first.get("code") is not None else None), str(text)
    return None, str(exc)


def setup_problem() -> str | None:
    """What is missing before numbers can be searched or ordered, in words for a shop admin; None when
    the platform's Telnyx API key is set."""
    import os

    if plugin_config("sms").get_str("telnyx_api_key") or os.environ.get("TELNYX_API_KEY"):
        return None
    return ("Searching, ordering and assigning numbers need the platform's Telnyx API key, and none is set "
            "(BAYLINE_PLUGIN_SMS_TELNYX_API_KEY). Ask whoever runs Bayline to add it.")


def explain(exc: Exception) -> str:
    """A Telnyx failure in words: an unreachable API names where it was tried."""
    import telnyx

    if isinstance(exc, telnyx.APIConnectionError):
        base = plugin_config("sms").get_str("telnyx_base_url") or "https://api.telnyx.com/v2"
        return f"Could not reach Telnyx at {base} (network down or wrong BAYLINE_PLUGIN_SMS_TELNYX_BASE_URL)."
    if isinstance(exc, NotConfigured):
        return setup_problem() or str(exc)
    return error_detail(exc)[1]


class Malformed(ValueError):
    """Signature valid but the body is not a usable event."""


def telnyx_errors() -> tuple[type[Exception], ...]:
    import telnyx

    return (telnyx.APIError, NotConfigured)
