"""``shop_settings("sms")``: one namespace of a shop's settings (the keys a plugin registered with
``register_tenant_settings``), read with the types their :class:`SettingDef` declares."""
from __future__ import annotations

from typing import Any

from flask import g

from bayline import settings_registry
from bayline.tenancy import current_tenant_id
from bayline.tenants.models import Shop


class ShopSettings:
    """The settings ``<namespace>.*`` of one shop. Keys are given without the namespace:
    ``shop_settings("sms").get("quiet_hours_start")`` reads ``sms.quiet_hours_start``."""

    def __init__(self, namespace: str, shop_id: int) -> None:
        self.namespace = namespace
        self.shop_id = shop_id

    def key(self, name: str) -> str:
        return f"{self.namespace}.{name}"

    def get(self, name: str) -> Any:
        """The value (the default when the shop never set it). KeyError for an unregistered key."""
        key = self.key(name)
        values = settings_registry.get_all(self.shop_id)
        if key not in values:
            raise KeyError(f"setting {key!r} is not registered (register_tenant_settings)")
        return values[key]

    def get_str(self, name: str) -> str:
        value = self.get(name)
        return "" if value is None else str(value)

    def get_int(self, name: str) -> int:
        return int(self.get(name) or 0)

    def get_bool(self, name: str) -> bool:
        return bool(self.get(name))

    def all(self) -> dict[str, Any]:
        """Every setting of the namespace, keyed without the namespace."""
        prefix = f"{self.namespace}."
        return {k[len(prefix):]: v for k, v in settings_registry.get_all(self.shop_id).items() if k.startswith(prefix)}

    def set(self, changes: dict[str, Any], role: str | None = None) -> dict[str, Any]:
        """Validate and store ``changes`` (keys without the namespace) in the caller's transaction;
        ``role`` None is the platform (no role check). Raises marshmallow's ValidationError."""
        stored = settings_registry.set_values(self.shop_id, {self.key(k): v for k, v in changes.items()}, role)
        prefix = f"{self.namespace}."
        return {k[len(prefix):]: v for k, v in stored.items()}


def shop_settings(namespace: str, shop: Shop | int | None = None) -> ShopSettings:
    """The ``namespace`` settings of ``shop`` (a Shop or id; default: the current tenant)."""
    if isinstance(shop, Shop):
        shop_id: int | None = shop.id
    elif shop is not None:
        shop_id = int(shop)
    else:
        shop_id = current_tenant_id()
        if shop_id is None and g.get("shop") is not None:
            shop_id = g.shop.id
    if shop_id is None:
        raise RuntimeError("shop_settings() needs a shop: pass one, or run inside for_shop()/a request")
    return ShopSettings(namespace, shop_id)
