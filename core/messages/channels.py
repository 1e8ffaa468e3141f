"""Whether a sending channel can be used for a shop: asked of the plugins, never by plugin name."""
from __future__ import annotations

import logging
from typing import Any

from flask import g

from bayline.tenants.models import Shop

log = logging.getLogger(__name__)


def channel_ready(shop: Shop, channel: str, hooks: Any = None) -> bool:
    """True when an active plugin of ``shop`` says it can send on ``channel`` now (hook
    ``channel_ready``). ``hooks`` defaults to the request's hooks bound to the shop (``g.hooks``)."""
    try:
        if hooks is None:
            answers = g.hooks.channel_ready(shop=shop, channel=channel)
        else:
            answers = hooks.channel_ready(shop=shop, channel=channel)
    except Exception:  # a broken plugin means "not ready", never a failed page
        log.exception("channel_ready(%s) failed", channel)
        return False
    return any(answer is True for answer in answers)
