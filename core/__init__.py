"""Bayline: customer portal and customer-experience layer for collision-repair shops.

The public API for plugins is what this module exports; everything else is
internal and may change.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .plugins.markers import hookimpl, hookspec
from .plugins.types import (
    ClaimPanel,
    Event,
    EventType,
    Feature,
    MenuItem,
    Permission,
    PortalSection,
    SettingDef,
    Viewer,
)

__version__ = "0.1.0"

__all__ = [
    "ClaimPanel", "Event", "EventType", "Feature", "MenuItem", "Permission", "PortalSection", "SettingDef", "Viewer",
    "create_app", "hookimpl", "hookspec",
]

if TYPE_CHECKING:
    from flask import Flask


def create_app(*args: Any, **kwargs: Any) -> Flask:
    """Build the Flask app (see :func:`bayline.app.create_app`)."""
    from .app import create_app as _create_app

    return _create_app(*args, **kwargs)
