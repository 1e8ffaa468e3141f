"""Bayline: customer portal and customer-experience layer for collision-repair shops.

The public API for plugins is :mod:`bayline.plugin_api`; everything else is internal and may
change. The names exported here (hook markers and value types) stay for plugins written before
``plugin_api`` existed; new code imports them from ``bayline.plugin_api``.
"""

from __future__ import annotations

if __name__ != "bayline":  # the source folder imported by its folder name: a second copy of the models
    raise ImportError(f"{__name__!r} is the source folder core/ of the package 'bayline' (setup.cfg maps "
                      "it): import bayline, never the folder by its own name")

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
