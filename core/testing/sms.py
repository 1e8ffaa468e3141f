"""``sms_outbox``: the texts the core and plugins hand to the SMS channel, captured in memory
(like Django's ``mail.outbox``), so a plugin's tests never need an SMS plugin installed.

Where the capture plugs in: :class:`SendSmsCapture` implements the sending hook as it is today
(``send_sms(shop, to, body, idempotency_key, media)``). It is the only piece that knows the hook;
when sending moves to the messaging outbox with a channel ``deliver(outbox_item)`` hook, only
this adapter changes and :class:`SentText` / :class:`SmsOutbox` stay as they are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bayline.plugin_api import Shop, commit, hookimpl

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
    """Adapter: the ``send_sms`` hook implementation that records into an :class:`SmsOutbox`.

    Registered as an always-active plugin it answers before any installed SMS plugin (pluggy calls
    the latest registered implementation first) and keeps the hook's contract: the same
    idempotency key is sent once (a repeat returns the first record), and it commits the session."""

    def __init__(self, outbox: SmsOutbox) -> None:
        self.outbox = outbox

    @hookimpl
    def send_sms(self, shop: Shop, to: str, body: str, idempotency_key: str, media: list[str]) -> dict[str, Any]:
        for earlier in self.outbox.sent:
            if earlier.idempotency_key == idempotency_key:
                return {"id": earlier.provider_id, "status": "queued", "duplicate": True}
        text = SentText(shop.id, to, body, idempotency_key, tuple(media or ()), f"outbox-{len(self.outbox) + 1}")
        self.outbox.sent.append(text)
        commit()
        return {"id": text.provider_id, "status": "queued"}

    @hookimpl
    def channel_ready(self, shop: Shop, channel: str) -> bool | None:
        """The capture can always "send" a text (the core then offers its sends)."""
        return True if channel == "sms" else None
