"""Small value types passed through hooks (the plugin author's vocabulary)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Feature:
    """A feature key the plan catalogue can grant (equals the plugin name for plugins)."""

    key: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class SettingDef:
    """A per-shop setting: ``key`` is namespaced (``sms.quiet_hours_start``)."""

    key: str
    label: str
    type: str = "str"  # str | int | bool | choice | text
    default: Any = None
    choices: tuple[str, ...] = ()
    roles: tuple[str, ...] = ("owner", "admin")
    help: str = ""
    secret: bool = False
    validate: Callable[[Any], Any] | None = None
    feature: str | None = None


@dataclass(frozen=True)
class PortalSection:
    """A card on the customer portal page, already rendered to safe HTML."""

    key: str
    title: str
    html: str
    order: int = 100


@dataclass(frozen=True)
class ClaimPanel:
    """A panel on the staff claim page, already rendered to safe HTML."""

    key: str
    title: str
    html: str
    order: int = 100


@dataclass(frozen=True)
class MenuItem:
    label: str
    url: str
    order: int = 100


@dataclass(frozen=True)
class Event:
    """Something that happened to a tenant's data (``claim.stage_changed`` ...)."""

    type: str
    tenant_id: int
    payload: dict[str, Any]
    occurred_at: datetime
    id: str = field(default="")


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a portal page: the customer of ``claim_id``."""

    claim_id: int
    kind: str = "customer"
