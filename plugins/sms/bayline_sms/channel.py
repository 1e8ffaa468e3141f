"""The SMS channel behind the core outbox: ``deliver`` hands one outbox row to Telnyx."""
from __future__ import annotations

from typing import Any

import telnyx

from bayline.plugin_api import OutboxItem, Photo, consent, files, get_session, plugin_config

from . import provider
from .service import CHANNEL, shop_number

RETRYABLE = (telnyx.APIConnectionError, telnyx.RateLimitError, telnyx.InternalServerError)
MAX_ATTEMPTS = 7


def backoff(attempt: int) -> int:
    """Seconds before attempt ``attempt + 1``: 5 s doubling, at most 10 min (the core holds the row)."""
    return min(600, 5 * 2 ** max(attempt - 1, 0))


def photo_urls(item: OutboxItem) -> tuple[list[str], str | None]:
    """Short-lived signed URLs Telnyx can fetch, for the photos that are still customer-visible
    (``files.signed_url``: the storage's presigned URL, or the app's signed route); their lifetime
    is ``BAYLINE_PLUGIN_SMS_MEDIA_URL_TTL`` seconds (default 900)."""
    ttl = plugin_config("sms").get_int("media_url_ttl", 900)
    urls, dropped = [], 0
    for photo_id in (item.options or {}).get("photo_ids") or []:
        photo = get_session().get(Photo, photo_id)
        if photo is None or photo.claim_id != item.claim_id or not photo.customer_visible:
            dropped += 1
            continue
        urls.append(files.signed_url(photo, "display", expires=ttl))
    return urls, (f"{dropped} picture(s) left out: no longer visible to the customer." if dropped else None)


def deliver(item: OutboxItem, body: str, provider_key: str) -> dict[str, Any] | None:
    """Send through Telnyx with ``provider_key`` as its ``Idempotency-Key``: a task redelivered after a
    crash between the API call and the core's commit gets the first message back, not a second one."""
    if item.channel != CHANNEL:
        return None
    number = shop_number()
    if number is None:
        return {"state": "failed", "reason": "This shop has no texting number any more."}
    item.options = {**(item.options or {}), "from": number.phone_number}
    kwargs: dict[str, Any] = {"from_": number.phone_number, "to": item.recipient, "text": body,
                              "idempotency_key": provider_key}
    pictures, note = photo_urls(item)
    media_urls = list((item.options or {}).get("media_urls") or []) + pictures
    if media_urls:
        kwargs.update(media_urls=media_urls, type="MMS")
    if number.messaging_profile_id:
        kwargs["messaging_profile_id"] = number.messaging_profile_id
    try:
        response = provider.client().messages.send(**kwargs)
    except RETRYABLE as exc:
        if item.attempts >= MAX_ATTEMPTS:
            return {"state": "failed", "reason": f"Telnyx unavailable after {item.attempts} attempts: {exc}"}
        return {"state": "retry", "retry_in": backoff(item.attempts),
                "reason": f"Telnyx busy ({type(exc).__name__})"}
    except telnyx.APIStatusError as exc:
        code, detail = provider.error_detail(exc)
        if code == "40300":  # the carrier says the recipient opted out: honour it on the ledger
            consent.opt_out(item.recipient, CHANNEL, "carrier", detail)
        return {"state": "failed", "reason": f"{detail} (Telnyx {code or exc.status_code})"}
    except provider.NotConfigured as exc:
        return {"state": "failed", "reason": str(exc)}
    data = response.data
    return {"state": "sending", "provider_id": data.id if data is not None else None, "reason": note}
