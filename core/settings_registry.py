"""Per-shop settings: definitions registered in code (core and plugins), values stored per shop."""
from __future__ import annotations

from typing import Any

from flask import current_app, g
from marshmallow import ValidationError
from sqlalchemy import select

from .db import get_session
from .plugins.types import SettingDef


def definitions() -> dict[str, SettingDef]:
    return current_app.extensions["bayline.settings_defs"]


def group_of(defn: SettingDef) -> str:
    """The heading a setting is listed under: its ``group``, else its feature's name, else its key's
    namespace (``widget.colour`` → ``Widget``)."""
    if defn.group:
        return defn.group
    features = current_app.extensions.get("bayline.features", {})
    if defn.feature and defn.feature in features:
        return str(features[defn.feature].name)
    space = defn.key.split(".", 1)[0].replace("_", " ")
    return space[:1].upper() + space[1:]


def grouped(defs: dict[str, SettingDef]) -> list[tuple[str, list[SettingDef]]]:
    """``defs`` by heading: the core's headings first, then the features' (plugins'), each in the
    order its first setting was registered."""
    out: dict[str, list[SettingDef]] = {}
    for defn in defs.values():
        out.setdefault(group_of(defn), []).append(defn)
    return sorted(out.items(), key=lambda item: any(d.feature is not None for d in item[1]))


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


SEALED_PREFIX = "sealed:v1:"


SEAL_PURPOSE = "shop settings"  # a sealed setting opens under this purpose only (bayline.plugins.secrets)


def _seal(value: Any) -> Any:
    from .plugins.secrets import seal

    return SEALED_PREFIX + seal(value, SEAL_PURPOSE) if isinstance(value, str) and value else value


def _unseal(value: Any) -> Any:
    from .plugins.secrets import unseal

    if isinstance(value, str) and value.startswith(SEALED_PREFIX):
        return unseal(value[len(SEALED_PREFIX):], SEAL_PURPOSE) or ""
    return value


def _memo() -> dict[int, dict[str, Any]]:
    """Values already read in this app context (a request or a task), per shop."""
    if "_bayline_settings" not in g:
        g._bayline_settings = {}
    return g._bayline_settings


def get_all(shop_id: int) -> dict[str, Any]:
    """Every registered setting's value for the shop (defaults filled in); read once per request."""
    from .tenancy import tenant_scope

    memo = _memo()
    if shop_id not in memo:
        with tenant_scope([shop_id]):
            memo[shop_id] = read_all(get_session(), shop_id)
    return dict(memo[shop_id])


def read_all(session: Any, shop_id: int) -> dict[str, Any]:
    """Every registered setting's value for the shop, read from ``session`` (tenant context set)."""
    from bayline.tenants.models import ShopSetting

    defs = definitions()
    values = {k: d.default for k, d in defs.items()}
    for row in session.scalars(select(ShopSetting).where(ShopSetting.tenant_id == shop_id)):
        if row.key in values:
            values[row.key] = _unseal(row.value) if defs[row.key].sealed else row.value
    return values


def remember(shop_id: int, values: dict[str, Any]) -> None:
    """Use ``values`` as the shop's settings for the rest of this app context (read elsewhere,
    e.g. from the portal's shop-side cache)."""
    _memo()[shop_id] = dict(values)


def get(shop_id: int, key: str) -> Any:
    return get_all(shop_id)[key]


def validate(changes: dict[str, Any], role: str | None) -> dict[str, Any]:
    """``changes`` checked and normalised (nothing stored); ValidationError names every bad key."""
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
    return clean


def set_values(shop_id: int, changes: dict[str, Any], role: str | None) -> dict[str, Any]:
    """Validate and store ``changes``; ``role`` None means the platform (no role check)."""
    from bayline.tenants.models import ShopSetting

    from .tenancy import tenant_scope

    clean = validate(changes, role)
    defs = definitions()
    stored = {k: (_seal(v) if defs[k].sealed else v) for k, v in clean.items()}
    session = get_session()
    _memo().pop(shop_id, None)
    with tenant_scope([shop_id]):
        existing = {r.key: r for r in session.scalars(select(ShopSetting).where(ShopSetting.key.in_(clean)))}
        for key, value in stored.items():
            row = existing.get(key)
            if row is None:
                session.add(ShopSetting(tenant_id=shop_id, key=key, value=value))
            else:
                row.value = value
        session.flush()
    return clean
