"""The messages service as plugins see it (``bayline.plugin_api.messages``)."""
from __future__ import annotations

from .delivery import set_delivery
from .models import CHANNELS, DELIVERY_STATES, Message
from .service import MAX_BODY, receive, send, thread

__all__ = ["CHANNELS", "DELIVERY_STATES", "MAX_BODY", "Message", "receive", "send", "set_delivery", "thread"]
