"""Core behaviour implemented through the same hooks plugins use (always active, never plan-gated).

Each module is registered as a core plugin named ``bayline.<module>``; the core has no special-cased
features, permissions, event types, settings or menu entries besides what these register.
"""
from __future__ import annotations

from . import claims, console, messages, messaging, permissions, photos, portal, settings

CORE_PLUGINS: list[tuple[str, object]] = [
    ("bayline.claims", claims), ("bayline.permissions", permissions), ("bayline.settings", settings),
    ("bayline.portal", portal), ("bayline.messages", messages), ("bayline.photos", photos),
    ("bayline.messaging", messaging), ("bayline.console", console),
]
