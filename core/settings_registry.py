"""Per-shop settings: definitions registered in code (core and plugins), values stored per shop."""
from __future__ import annotations

from typing import Any

from flask import current_app, g
from marshmallow import ValidationError
from sqlalchemy import select

from .db import get_session
from .plugins.types import SettingDef


def _hhmm(value: Any) -> str:
    from .messaging.quiet import parse_hhmm

    return parse_hhmm(str(value)) if value else ""


CORE_SETTINGS: list[SettingDef] = [
    SettingDef("portal.verification", "Customer verification before the portal shows status", "choice",
               "name_claim", ("off", "name_claim", "name_claim_pin")),
    SettingDef("portal.pin", "Shop PIN customers enter (when verification asks for it)", "str", "",
               secret=True),
    SettingDef("portal.link_expiry_days", "Days a portal link keeps working after the final stage", "int", 14),
    SettingDef("portal.show_insurer", "Show the insurer on the portal", "bool", True),
    SettingDef("portal.show_eta", "Show the ETA on the portal", "bool", True),
    SettingDef("portal.show_hidden_stages", "Show stages marked hidden on the portal timeline", "bool", False),
    SettingDef("claims.phone_region", "Default country for phone numbers without +code", "str", "US"),
    SettingDef("messaging.quiet_hours_start", "Quiet hours start for updates (recipient's local time, HH:MM; "
               "empty = none)", "str", "21:00", validate=_hhmm),
    SettingDef("messaging.quiet_hours_end", "Quiet hours end for updates (HH:MM)", "str", "08:00", validate=_hhmm),
    SettingDef("messaging.marketing_quiet_hours_start", "Marketing stops at (HH:MM; never later than 21:00)",
               "str", "21:00", validate=_hhmm),
    SettingDef("messaging.marketing_quiet_hours_end", "Marketing starts at (HH:MM; never earlier than 08:00)",
               "str", "08:00", validate=_hhmm),
    SettingDef("messaging.rate_limit_shop_per_hour", "Most messages the shop sends per hour (0 = no limit)",
               "int", 500),
    SettingDef("messaging.rate_limit_recipient_per_hour", "Most messages one recipient gets per hour "
               "(0 = no limit)", "int", 10),
]


def definitions() -> dict[str, SettingDef]:
    return current_app.extensions["bayline.settings_defs"]


def coerce(defn: SettingDef, value: Any) -> Any:
    """Validate and normalise ``value`` for ``defn``; raise ValidationError naming the key."""
    err = lambda msg: ValidationError({defn.key: [msg]})  # noqa: E731
    if defn.type == "bool":
        if not isinstance(value, bool):
            raise err("must be true or false")
    elif defn.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise err("must be a whole number")
        if value < 0:
            raise err("must not be negative")
    elif defn.type == "choice":
        if value not in defn.choices:
            raise err(f"must be one of: {', '.join(defn.choices)}")
    elif defn.type in ("str", "text"):
        if not isinstance(value, str):
            raise err("must be text")
        if len(value) > (4000 if defn.type == "text" else 400):
            raise err("is too long")
    if defn.validate is not None:
        try:
            value = defn.validate(value)
        except ValueError as exc:
            raise err(str(exc)) from None
    return value


def _memo() -> dict[int, dict[str, Any]]:
    """Values already read in this app context (a request or a task), per shop."""
    if "_bayline_settings" not in g:
        g._bayline_settings = {}
    return g._bayline_settings


def get_all(shop_id: int) -> dict[str, Any]:
    """Every registered setting's value for the shop (defaults filled in); read once per request."""
    from bayline.tenants.models import ShopSetting

    from .tenancy import tenant_scope

    memo = _memo()
    if shop_id not in memo:
        values = {k: d.default for k, d in definitions().items()}
        with tenant_scope([shop_id]):
            for row in get_session().scalars(select(ShopSetting)):
                if row.key in values:
                    values[row.key] = row.value
        memo[shop_id] = values
    return dict(memo[shop_id])


def get(shop_id: int, key: str) -> Any:
    return get_all(shop_id)[key]


def set_values(shop_id: int, changes: dict[str, Any], role: str | None) -> dict[str, Any]:
    """Validate and store ``changes``; ``role`` None means the platform (no role check)."""
    from bayline.tenants.models import ShopSetting

    from .tenancy import tenant_scope

    defs = definitions()
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        defn = defs.get(key)
        if defn is None:
            errors[key] = ["unknown setting"]
            continue
        if role is not None and role not in defn.roles and role != "group_admin":
            errors[key] = ["your role may not change this setting"]
            continue
        try:
            clean[key] = coerce(defn, value)
        except ValidationError as exc:
            errors.update(exc.messages)  # type: ignore[arg-type]
    if errors:
        raise ValidationError(errors)
    session = get_session()
    _memo().pop(shop_id, None)
    with tenant_scope([shop_id]):
        existing = {r.key: r for r in session.scalars(select(ShopSetting).where(ShopSetting.key.in_(clean)))}
        for key, value in clean.items():
            row = existing.get(key)
            if row is None:
                session.add(ShopSetting(tenant_id=shop_id, key=key, value=value))
            else:
                row.value = value
        session.flush()
    return clean
