"""Shop settings of the core outside the portal's (the portal's own are in ``portal``)."""
from __future__ import annotations

from bayline.plugins.markers import hookimpl
from bayline.plugins.types import SettingDef


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    return [SettingDef("claims.phone_region", "Default country for phone numbers without +code", "str", "US",
                       group=CLAIMS, help="Two letters, e.g. US or CA: a number typed without +1 is read as "
                                          "this country's."),
            SettingDef("claims.board_delivered_days", "Days a delivered claim stays on the board", "int", 7,
                       help="Delivered claims older than this leave the board (they stay in the claim list); "
                            "0 keeps none.", validate=_days, group=CLAIMS)]


CLAIMS = "Claims and board"


def _days(value: int) -> int:
    if not 0 <= value <= 365:
        raise ValueError("must be between 0 and 365 days")
    return value
