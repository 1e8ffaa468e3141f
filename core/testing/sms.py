"""``sms_outbox``: the texts the core and plugins hand to the SMS channel, captured in memory
(like Django's ``mail.outbox``), so a plugin's tests never need an SMS plugin installed.

Where the capture plugs in: :class:`SendSmsCapture` is the SMS channel's ``deliver(outbox_item,
body, provider_key)`` hook (the core outbox still does consent, quiet hours and idempotency before
calling it). It is the only piece that knows the hook; :class:`SentText` / :class:`SmsOutbox` are
what a test reads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bayline.plugin_api import OutboxItem, Shop, hookimpl

CAPTURE_PLUGIN = "bayline_testing_sms_outbox"


@dataclass(frozen=True)
class SentText:
    """One text as the channel received it."""

    shop_id: int
    to: str
    body: str
    idempotency_key: str
    media: tuple[str, ...] = ()
    provider_id: str = ""


@dataclass
class SmsOutbox:
    """Texts handed to the SMS channel during the test, oldest first (a list: ``len``, index, iterate)."""

    sent: list[SentText] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sent)

    def __getitem__(self, index: int) -> SentText:
        return self.sent[index]

    def __iter__(self) -> Any:
        return iter(self.sent)

    def to(self, number: str) -> list[SentText]:
        """The texts sent to ``number`` (E.164)."""
        return [t for t in self.sent if t.to == number]

    def clear(self) -> None:
        self.sent.clear()


class SendSmsCapture:
    """Adapter: the SMS channel's ``deliver`` hook, recording into an :class:`SmsOutbox`.

    Registered as an always-active plugin it answers before any installed SMS plugin (pluggy calls
    the latest registered implementation first) and keeps the hook's contract: the same provider
    key is delivered once (a redelivered send returns the first record)."""

    def __init__(self, outbox: SmsOutbox) -> None:
        self.outbox = outbox
        self.delivered: dict[str, str] = {}  # provider key → provider id

    @hookimpl
    def deliver(self, outbox_item: OutboxItem, body: str, provider_key: str) -> dict[str, Any] | None:
        if outbox_item.channel != "sms":
            return None
        if provider_key in self.delivered:
            return {"state": "sent", "provider_id": self.delivered[provider_key]}
        media = tuple((outbox_item.options or {}).get("media_urls") or ())
        text = SentText(outbox_item.tenant_id, outbox_item.recipient, body, outbox_item.idempotency_key, media,
                        f"outbox-{len(self.outbox) + 1}")
        self.outbox.sent.append(text)
        self.delivered[provider_key] = text.provider_id
        return {"state": "sent", "provider_id": text.provider_id}

    @hookimpl
    def channel_ready(self, shop: Shop, channel: str) -> bool | None:
        """The capture can always "send" a text (the core then offers its sends)."""
        return True if channel == "sms" else None
