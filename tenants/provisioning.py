"""Create groups, shops and staff; change a shop's plan, add-ons and feature switches."""
from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import select

from bayline.auth.models import User
from bayline.auth.passwords import check_strength, hash_password
from bayline.auth.roles import ROLES
from bayline.claims.stages import apply_template
from bayline.db import get_session
from bayline.phones import to_e164
from bayline.tenancy import tenant_scope

from . import hours
from .entitlements import active_features, bump
from .models import Group, GroupMembership, Membership, Plan, PlanChange, Shop, ShopAddon, ShopFeatureToggle

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")


def slugify(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")[:80] or "shop"


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError({"timezone": [f"unknown time zone {name!r}"]}) from None
    return name


WEEKDAYS = hours.WEEKDAYS
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def check_hours(hours: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Opening hours: ``[{"days": "Mon", "open": "07:30", "close": "17:30"}, {"days": "Sun", "closed": true}]``
    (``days`` is free text, e.g. ``Mon–Fri``). Errors name the row: ``hours.Mon``."""
    errors: dict[str, list[str]] = {}
    clean: list[dict[str, Any]] = []
    for row in hours:
        days = str(row.get("days") or "").strip()[:40]
        where = f"hours.{days or len(clean)}"
        if not days:
            errors[where] = ["say which days"]
            continue
        if row.get("closed"):
            clean.append({"days": days, "closed": True})
            continue
        opens, closes = str(row.get("open") or ""), str(row.get("close") or "")
        if not (_HHMM.fullmatch(opens) and _HHMM.fullmatch(closes)):
            errors[where] = ["enter opening and closing times (HH:MM), or mark the day closed"]
        elif opens >= closes:
            errors[where] = ["closing time must be after opening time"]
        else:
            clean.append({"days": days, "open": opens, "close": closes})
    if errors:
        raise ValidationError(errors)
    return clean


def update_profile(shop: Shop, data: dict[str, Any]) -> Shop:
    """Change the shop's profile (name, phone, email, address, time zone, hours, holiday closures) from
    validated ``ShopPatchSchema`` data: the phone becomes E.164, the zone, hours and closures are checked. The API's
    ``PATCH /api/v1/shop`` and the console's profile page both use this; the caller commits."""
    errors: dict[str, list[str]] = {}
    if data.get("phone"):
        try:
            data["phone"] = to_e164(data["phone"], shop.country)
        except ValueError as exc:
            errors["phone"] = [str(exc)]
    if "timezone" in data:
        try:
            check_timezone(data["timezone"])
        except ValidationError as exc:
            errors.update(exc.messages)  # type: ignore[arg-type]
    if "hours" in data:
        try:
            data["hours"] = check_hours(data["hours"] or [])
        except ValidationError as exc:
            errors.update(exc.messages)  # type: ignore[arg-type]
    if "closures" in data:
        try:
            data["closures"] = hours.check_closures(data["closures"] or [])
        except ValidationError as exc:
            errors.update(exc.messages)  # type: ignore[arg-type]
    if errors:
        raise ValidationError(errors)
    for key, value in data.items():
        setattr(shop, key, value)
    return shop


def create_group(name: str, slug: str | None = None, kind: str = "single") -> Group:
    session = get_session()
    slug = slug or slugify(name)
    if session.scalar(select(Group.id).where(Group.slug == slug)):
        raise ValidationError({"slug": ["already used by another group"]})
    group = Group(name=name, slug=slug, kind=kind)
    session.add(group)
    session.flush()
    return group


def create_shop(group: Group, name: str, *, slug: str | None = None, plan: str = "starter",
                stage_template: str = "default", **fields: object) -> Shop:
    """A new location with its stage set in place; fires ``tenant_provisioned``."""
    session = get_session()
    slug = slug or slugify(name)
    if not SLUG_RE.match(slug):
        raise ValidationError({"slug": ["lowercase letters, digits and dashes only"]})
    if session.scalar(select(Shop.id).where(Shop.slug == slug)):
        raise ValidationError({"slug": ["already used by another shop"]})
    if session.get(Plan, plan) is None:
        raise ValidationError({"plan": [f"unknown plan {plan!r}"]})
    if fields.get("phone"):
        fields["phone"] = to_e164(str(fields["phone"]), str(fields.get("country", "US")))
    if fields.get("timezone"):
        check_timezone(str(fields["timezone"]))
    shop = Shop(group=group, name=name, slug=slug, plan_key=plan, **fields)
    session.add(shop)
    session.flush()
    with tenant_scope([shop.id]):
        apply_template(shop.id, stage_template)
    registry = current_app.extensions["bayline.plugins"]
    with tenant_scope([shop.id]):
        registry.hooks_for(active_features(shop)).tenant_provisioned(shop=shop)
    return shop


def create_user(email: str, name: str, password: str | None = None, *, platform_admin: bool = False) -> User:
    session = get_session()
    email = email.strip().lower()
    if session.scalar(select(User.id).where(User.email == email)):
        raise ValidationError({"email": ["a user with this email exists"]})
    if password is not None:
        weak = check_strength(password)
        if weak:
            raise ValidationError({"password": [weak]})
    user = User(email=email, name=name, password_hash=hash_password(password) if password else None,
                is_platform_admin=platform_admin)
    session.add(user)
    session.flush()
    return user


def add_membership(user: User, shop: Shop, role: str) -> Membership:
    if role not in ROLES:
        raise ValidationError({"role": [f"must be one of: {', '.join(ROLES)}"]})
    session = get_session()
    with tenant_scope([shop.id]):
        existing = session.scalar(select(Membership).where(Membership.user_id == user.id))
        if existing is not None:
            raise ValidationError({"email": ["already on this shop's staff"]})
        membership = Membership(tenant_id=shop.id, user_id=user.id, role=role, user=user)
        session.add(membership)
        session.flush()
    return membership


def make_group_admin(user: User, group: Group) -> GroupMembership:
    gm = GroupMembership(group_id=group.id, user_id=user.id, role="group_admin")
    get_session().add(gm)
    get_session().flush()
    return gm


def announce(shop: Shop, before: frozenset[str]) -> None:
    """After a change to what ``shop`` is granted: every process re-reads its features, and when the
    active set changed, ``entitlements_changed`` tells every installed plugin."""
    bump(shop)
    get_session().flush()
    after = active_features(shop)
    if after != before:
        registry = current_app.extensions["bayline.plugins"]
        with tenant_scope([shop.id]):
            registry.hook.entitlements_changed(shop=shop, before=set(before), after=set(after))


def _actor() -> tuple[str, int | None]:
    """Who is changing a plan: the request's staff user or API key, else the CLI."""
    from flask import g, has_request_context

    principal = g.get("principal") if has_request_context() else None
    if principal is None:
        return ("cli" if not has_request_context() else "system"), None
    if principal.api_key is not None:
        return f"api key {principal.api_key.name}", principal.creator.id if principal.creator else None
    return (principal.user.email if principal.user else "system"), principal.user_id


def record_change(shop: Shop, kind: str, before: str | None, after: str | None) -> PlanChange:
    """One audit row (``plan_changes``) in the changing transaction."""
    actor, user_id = _actor()
    row = PlanChange(shop_id=shop.id, kind=kind, before=before, after=after, actor=actor[:300],
                     actor_user_id=user_id)
    get_session().add(row)
    return row


def change_plan(shop: Shop, plan_key: str) -> None:
    if get_session().get(Plan, plan_key) is None:
        raise ValidationError({"plan": [f"unknown plan {plan_key!r}"]})
    before = active_features(shop)
    if shop.plan_key != plan_key:
        record_change(shop, "plan", shop.plan_key, plan_key)
    shop.plan_key = plan_key
    announce(shop, before)


def set_addon(shop: Shop, feature: str, granted: bool) -> None:
    before = active_features(shop)
    session = get_session()
    with tenant_scope([shop.id]):
        row = session.scalar(select(ShopAddon).where(ShopAddon.feature == feature))
        if granted and row is None:
            session.add(ShopAddon(tenant_id=shop.id, feature=feature))
            record_change(shop, "addon", None, feature)
        elif not granted and row is not None:
            session.delete(row)
            record_change(shop, "addon", feature, None)
        session.flush()
    announce(shop, before)


def set_feature_enabled(shop: Shop, feature: str, enabled: bool) -> None:
    """A shop admin's switch. Only meaningful for features the shop is entitled to."""
    before = active_features(shop)
    session = get_session()
    with tenant_scope([shop.id]):
        row = session.scalar(select(ShopFeatureToggle).where(ShopFeatureToggle.feature == feature))
        if row is None:
            session.add(ShopFeatureToggle(tenant_id=shop.id, feature=feature, enabled=enabled))
        else:
            row.enabled = enabled
        session.flush()
    announce(shop, before)
