"""The portal's core hook implementations (always active): live updates and the message card."""
from __future__ import annotations

import logging

from bayline.messages import service as messages  # noqa: F401  (loads the Message model)
from bayline.plugins.markers import hookimpl
from bayline.plugins.types import Event

log = logging.getLogger(__name__)


@hookimpl
def on_event(event: Event) -> None:
    """Placeholder filled by the live-update step."""
