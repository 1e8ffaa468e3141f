"""Core behaviour implemented through the same hooks plugins use (always active)."""
from __future__ import annotations

from bayline.messaging import hooks as messaging_hooks
from bayline.photos import hooks as photos_hooks
from bayline.portal import hooks as portal_hooks

CORE_PLUGINS: list[tuple[str, object]] = [("bayline.portal", portal_hooks), ("bayline.photos", photos_hooks),
                                             ("bayline.messaging", messaging_hooks)]
