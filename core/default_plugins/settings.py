"""Shop settings of the core outside the portal's (the portal's own are in ``portal``)."""
from __future__ import annotations

from bayline.plugins.markers import hookimpl
from bayline.plugins.types import SettingDef


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    return [SettingDef("claims.phone_region", "Default country for phone numbers without +code", "str", "US")]
