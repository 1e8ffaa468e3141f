"""The shop's brand, its group's brand, and the brand a location actually shows (inheritance).

A location on a group with a group brand inherits every field of :data:`BRAND_FIELDS` from it and
shows its own value only for the fields the group lists in ``overridable`` (explicit, per field);
contact, hours, time zone and the Google Place ID always stay the location's. Saving checks
everything first (colours, contrast, custom CSS, logo) and stores nothing when anything is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bayline.plugin_api import Brand, Refused, Shop, get_session, is_feature_active, storage, unscoped

from . import css, tokens
from .models import BRAND_FIELDS, TOKEN_FIELDS, BrandingGroupBrand, BrandingProfile

NAME = "branding"
CSS_FEATURE = "branding_css"
GROUP_FEATURE = "group_branding"
TEXT_LIMITS = {"welcome": 300, "sender_name": 80, "review_url": 300, "display_name": 200, "place_id": 200}


def profile(shop: Shop) -> BrandingProfile | None:
    return get_session().scalar(select(BrandingProfile).where(BrandingProfile.tenant_id == shop.id))


def group_brand(shop: Shop) -> BrandingGroupBrand | None:
    """The group brand of ``shop``'s group, when the group has one and the feature is active."""
    if not is_feature_active(shop, GROUP_FEATURE):
        return None
    return get_session().scalar(select(BrandingGroupBrand).where(BrandingGroupBrand.group_id == shop.group_id))


@dataclass(frozen=True)
class Effective:
    """What a shop shows: each field's value and where it came from ("group", "shop" or "default")."""

    values: dict[str, Any]
    sources: dict[str, str]
    name: str
    powered_by: bool
    custom_css: str | None
    version: str


def _field(row: Any, field: str) -> Any:
    if row is None:
        return None
    if field == "logo":
        return (row.logo_key, row.logo_version) if row.logo_key else None
    if field == "favicon":
        return (row.favicon_key, row.favicon_version) if row.favicon_key else None
    return getattr(row, field)


def effective(shop: Shop) -> Effective:
    own, group = profile(shop), group_brand(shop)
    allowed = set(group.overridable or []) if group is not None else set(BRAND_FIELDS)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for field in BRAND_FIELDS:
        mine, theirs = _field(own, field), _field(group, field)
        if mine not in (None, "") and field in allowed:
            values[field], sources[field] = mine, "shop"
        elif theirs not in (None, ""):
            values[field], sources[field] = theirs, "group"
        else:
            values[field], sources[field] = None, "default"
    filled = tokens.effective({k: values[k] for k in TOKEN_FIELDS})
    values.update(filled)
    name = (group.display_name if group is not None and group.display_name else None) or \
        (own.display_name if own is not None and own.display_name else None) or shop.name
    hide = (group.hide_powered_by if group is not None else False) or (own.hide_powered_by if own else False)
    custom = None
    if is_feature_active(shop, CSS_FEATURE):
        custom = (own.custom_css if own is not None and own.custom_css else None) or \
            (group.custom_css if group is not None else None)
    stamp = "|".join(str(x) for x in (
        [own.updated_at if own else None, group.updated_at if group else None, custom is not None]))
    import hashlib

    return Effective(values, sources, name, not hide, custom, hashlib.sha256(stamp.encode()).hexdigest()[:12])


def brand(shop: Shop) -> Brand:
    """The :class:`Brand` the core draws for ``shop``."""
    eff = effective(shop)
    v = eff.values
    base = f"/plugins/branding/shops/{shop.slug}"
    logo, favicon = v.get("logo"), v.get("favicon")

    def logo_png() -> bytes | None:
        return storage.get_storage().get(logo[0]) if logo else None

    return Brand(
        name=eff.name, primary=v["primary"], text_on_primary=v["text_on_primary"], accent=v["accent"],
        surface=v["surface"], radius=int(v["radius"]), stylesheet_url=f"{base}/brand.css?v={eff.version}",
        logo_url=f"{base}/logo.png?v={logo[1]}" if logo else None,
        favicon_url=f"{base}/favicon.png?v={favicon[1]}" if favicon else (
            f"{base}/logo.png?v={logo[1]}" if logo else None),
        logo_png=logo_png if logo else None, welcome=v.get("welcome"), sender_name=v.get("sender_name") or eff.name,
        powered_by=eff.powered_by)


# -- saving ---------------------------------------------------------------------------------------

def _text_errors(data: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for key, limit in TEXT_LIMITS.items():
        value = data.get(key)
        if value is not None and len(str(value)) > limit:
            errors[key] = [f"at most {limit} characters"]
    url = (data.get("review_url") or "").strip()
    if url and not url.startswith("https://"):
        errors["review_url"] = ["an https:// address"]
    return errors


def validate(data: dict[str, Any], *, shop: Shop, for_group: bool = False) -> dict[str, Any]:
    """Checked values from a form or API body, or :class:`Refused` 422 with every field's error."""
    base = {} if for_group else {k: v for k, v in effective(shop).values.items() if k in TOKEN_FIELDS}
    errors = tokens.check(data, base)
    errors.update(_text_errors(data))
    clean: dict[str, Any] = {}
    if "custom_css" in data:
        source = (data.get("custom_css") or "").strip()
        if source and not is_feature_active(shop, CSS_FEATURE):
            errors["custom_css"] = ["custom CSS comes with the Enterprise plan"]
        elif source:
            try:
                css.sanitise(source)
            except css.CssRefused as exc:
                errors["custom_css"] = [str(exc)]
        clean["custom_css"] = source or None
    if for_group and "overridable" in data:
        chosen = data.get("overridable") or []
        unknown = [f for f in chosen if f not in BRAND_FIELDS]
        if unknown:
            errors["overridable"] = [f"unknown fields: {', '.join(map(str, unknown))}"]
        clean["overridable"] = [f for f in BRAND_FIELDS if f in chosen]
    if errors:
        raise Refused(422, "validation_error", "Some brand settings need fixing; nothing was saved.",
                      errors={"json": errors})
    clean.update({k: v for k, v in tokens.clean(data).items() if k in data})
    for key in TEXT_LIMITS:
        if key in data:
            clean[key] = (str(data.get(key) or "").strip() or None)
    if "hide_powered_by" in data:
        clean["hide_powered_by"] = bool(data.get("hide_powered_by"))
    return clean


def save_profile(shop: Shop, data: dict[str, Any]) -> BrandingProfile:
    clean = validate(data, shop=shop)
    row = profile(shop) or BrandingProfile(tenant_id=shop.id)
    for key, value in clean.items():
        setattr(row, key, value)
    get_session().add(row)
    get_session().flush()
    return row


def save_group(shop: Shop, data: dict[str, Any]) -> BrandingGroupBrand:
    if not is_feature_active(shop, GROUP_FEATURE):
        raise Refused(403, "feature_not_in_plan", "Group brands come with the Enterprise plan.")
    data = {k: v for k, v in data.items() if k not in ("place_id",)}
    clean = validate(data, shop=shop, for_group=True)
    session = get_session()
    row = session.scalar(select(BrandingGroupBrand).where(BrandingGroupBrand.group_id == shop.group_id)) \
        or BrandingGroupBrand(group_id=shop.group_id, overridable=[])
    for key, value in clean.items():
        setattr(row, key, value)
    session.add(row)
    session.flush()
    return row


def set_image(shop: Shop, field: str, data: bytes, filename: str | None, group: bool = False) -> None:
    """Check, re-encode and store a logo or favicon for the shop (or its group brand)."""
    from . import logos

    side = logos.FAVICON_SIDE if field == "favicon" else logos.LOGO_SIDE
    asset = logos.prepare(data, side, filename)
    key, version = logos.store(shop.id, asset, field)
    row: Any = save_group(shop, {}) if group else (profile(shop) or BrandingProfile(tenant_id=shop.id))
    setattr(row, f"{field}_key", key)
    setattr(row, f"{field}_version", version)
    get_session().add(row)
    get_session().flush()


def remove_image(shop: Shop, field: str, group: bool = False) -> None:
    row: Any = save_group(shop, {}) if group else profile(shop)
    if row is not None:
        setattr(row, f"{field}_key", None)
        setattr(row, f"{field}_version", None)
        get_session().flush()


def group_shops(shop: Shop) -> list[Shop]:
    """Every live location of ``shop``'s group (group admins see them all)."""
    session = get_session()
    with unscoped(session):
        return list(session.scalars(select(Shop).where(Shop.group_id == shop.group_id,
                                                       Shop.archived_at.is_(None)).order_by(Shop.name)))
