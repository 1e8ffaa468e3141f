"""Who is making this request, for which shop, with what permissions.

Resolved once per request: an API key (``Authorization: Bearer bl_...``) or a
logged-in staff user (Flask-Login) and the shop they work in. The tenant
context of the database session is set from it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, g, request, session
from flask_login import current_user
from sqlalchemy import or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from bayline.db import get_session, utcnow
from bayline.generations import PENDING_KEY
from bayline.tenancy import set_tenant, unscoped
from bayline.tenants.models import GroupMembership, Membership, Shop

from .api_keys import lookup_api_key
from .models import ApiKey, User
from .roles import PLATFORM_PERMISSIONS, permissions_for_role, permissions_for_scopes


@dataclass(frozen=True)
class Principal:
    """The acting staff user or API key, at one shop."""

    shop: Shop
    role: str
    permissions: frozenset[str]
    user: User | None = None
    api_key: ApiKey | None = None
    creator: User | None = None
    """For an API key: the user who created it (the key acts with their current role), or None for
    a platform operator's key (issued by ``flask bayline rotate-api-key``)."""

    def can(self, permission: str) -> bool:
        if permission in PLATFORM_PERMISSIONS:  # "*" (shop and group admins) does not reach the platform
            return permission in self.permissions
        return "*" in self.permissions or permission in self.permissions

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None


_SHOPS_MEMO = "_bayline_staff_shops"


def staff_shops(user: User) -> list[tuple[Shop, str]]:
    """Every (shop, role) the user may work in: direct memberships, then group-admin shops.

    Read once per request and transaction (the principal, the navigation's shop switcher and the
    view share it); read again after the transaction wrote anything or ended."""
    db = get_session()
    transaction = db.get_transaction()
    memo = g.get(_SHOPS_MEMO)
    if (memo is not None and memo[0] == user.id and transaction is not None and memo[1] is transaction
            and not db.info.get(PENDING_KEY)):
        return list(memo[2])
    result = _read_staff_shops(db, user)
    transaction = db.get_transaction()
    setattr(g, _SHOPS_MEMO, (user.id, transaction, result) if transaction is not None else None)
    return list(result)


def _read_staff_shops(db: Any, user: User) -> list[tuple[Shop, str]]:
    with unscoped():
        rows = db.execute(
            select(Shop, Membership.role).join(Membership, Membership.tenant_id == Shop.id)
            .where(Membership.user_id == user.id, Shop.archived_at.is_(None)).order_by(Shop.name)
        ).all()
    result: dict[int, tuple[Shop, str]] = {shop.id: (shop, role) for shop, role in rows}
    group_ids = db.scalars(select(GroupMembership.group_id).where(GroupMembership.user_id == user.id)).all()
    if group_ids:
        for shop in db.scalars(select(Shop).where(Shop.group_id.in_(group_ids), Shop.archived_at.is_(None))
                               .order_by(Shop.name)):
            result[shop.id] = (shop, "group_admin")
    return list(result.values())


def role_at(user: User, shop: Shop) -> str | None:
    for s, role in staff_shops(user):
        if s.id == shop.id:
            return role
    return None


def permission_table() -> dict[str, list[str]]:
    return current_app.extensions["bayline.permissions"]


LAST_USED_EVERY = timedelta(minutes=5)
"""How stale an API key's ``last_used_at`` may get: the one write a GET may make (throttled)."""


def stamp_last_used(key: ApiKey, now: datetime) -> None:
    """Record that ``key`` was used, at most every :data:`LAST_USED_EVERY`, in a transaction of its own
    committed before the view runs. A conditional Core UPDATE: requests racing at the boundary write
    once, and no ORM flush happens, so the shop's page-cache generation is not bumped (a key's use
    changes no page)."""
    table = ApiKey.__table__
    db = get_session()
    db.connection().execute(update(table).where(
        table.c.id == key.id, or_(table.c.last_used_at.is_(None), table.c.last_used_at < now - LAST_USED_EVERY))
        .values(last_used_at=now))
    db.commit()
    set_committed_value(key, "last_used_at", now)


def bearer_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def resolve_principal() -> Principal | None:
    """Find the principal for this request and set the session's tenant; None if anonymous."""
    secret = bearer_secret()
    if secret is not None:
        key = lookup_api_key(secret)
        if key is None:
            return None
        shop = get_session().get(Shop, key.tenant_id)
        if shop is None or shop.archived_at is not None:
            return None
        set_tenant(shop.id)
        granted = permissions_for_scopes(key.scopes, current_app.extensions["bayline.scope_grants"])
        creator: User | None = None
        if key.operator_issued:
            role = "operator"
        else:
            # A key never holds more than its creator's role at use time, and is suspended while its
            # creator has no role at the shop (removed, deactivated).
            creator = get_session().get(User, key.created_by_id) if key.created_by_id else None
            creator_role = role_at(creator, shop) if creator is not None and creator.is_active else None
            if creator is None or creator_role is None:
                return None
            role = creator_role
            held = permissions_for_role("platform_admin" if creator.is_platform_admin else role, permission_table())
            granted = (held if "*" in granted else granted & held) - PLATFORM_PERMISSIONS
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_EVERY:
            stamp_last_used(key, now)
        return Principal(shop=shop, role=role, api_key=key, creator=creator, permissions=frozenset(granted))
    if not current_user.is_authenticated:
        return None
    shops = staff_shops(current_user)
    if not shops:
        return None
    wanted = request.headers.get("X-Bayline-Shop") or session.get("shop_id")
    chosen = next((sr for sr in shops if str(sr[0].id) == str(wanted)), None) if wanted else None
    shop, role = chosen or shops[0]
    set_tenant(shop.id)
    perms = permissions_for_role("platform_admin" if current_user.is_platform_admin else role, permission_table())
    return Principal(shop=shop, role=role, user=current_user._get_current_object(), permissions=perms)


def current_principal() -> Principal | None:
    """The staff user or API key making this request (None when anonymous or on the portal)."""
    return g.get("principal")
