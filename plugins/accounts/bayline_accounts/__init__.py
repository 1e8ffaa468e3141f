"""Bayline customer accounts: an optional, passwordless account on top of the token portal.

A customer in their repair's portal claims an account with a one-time code sent (through the
messaging core) to the mobile or email already on that claim; the account then lists every repair
of that verified contact at the shop (or across the group, when its shops allow it). Passkeys
(WebAuthn, the ``webauthn`` library) are optional; sign-out on this device or everywhere; the
customer downloads their data or deletes the account.

One name everywhere: distribution ``bayline-accounts`` · package ``bayline_accounts`` · entry point
``accounts`` · feature ``accounts`` · blueprints ``plugin_accounts_portal`` (``/c/s/accounts``),
``plugin_accounts`` (``/plugins/accounts``), ``plugin_accounts_api`` (``/api/v1/plugins/accounts``) ·
Alembic branch ``accounts`` · tables ``accounts_*`` · settings ``accounts.*`` · events ``account.*``.
"""
from __future__ import annotations

from typing import Any, Literal, TypedDict

from flask import Flask, g, render_template

from bayline.plugin_api import (
    Claim,
    ClaimPanel,
    EventType,
    Feature,
    Permission,
    PortalSection,
    SettingDef,
    ShopArchiveRules,
    User,
    Viewer,
    hookimpl,
)

from . import models  # noqa: F401  (register the tables on the shared metadata)

__version__ = "0.1.0"
NAME = "accounts"


@hookimpl
def register_features() -> list[Feature]:
    return [Feature(NAME, "Customer accounts", "An optional passwordless account: every repair of the customer's "
                    "verified mobile or email in one place, passkeys, export and deletion",
                    default_tiers=("elite", "enterprise"))]


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission("accounts.read", ("owner", "admin", "advisor"), ("read",),
                       "See whether a claim's customer has an account")]


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    return [SettingDef("accounts.group_history", "Share repair history with the group's other locations", "bool",
                       False, feature=NAME,
                       help="An account claimed here also lists the customer's repairs at the group's other "
                            "locations that turn this on (and theirs list this shop's).")]


class AccountOpened(TypedDict):
    account_id: int
    claim_id: int
    """The repair whose contact was verified."""
    contact_kind: Literal["mobile", "email"]


class AccountDeleted(TypedDict):
    account_id: int


@hookimpl
def register_event_types() -> list[EventType]:
    return [EventType("account.opened", AccountOpened,
                      "A customer signed in to their account with a code sent to a contact of a claim "
                      "(the account is created on the first one)."),
            EventType("account.deleted", AccountDeleted, "A customer deleted their account.")]


@hookimpl
def register_blueprints(app: Flask) -> list[Any]:
    from .api import api
    from .views import portal, staff

    return [portal, staff, api]


@hookimpl
def portal_sections(claim: Claim, viewer: Viewer) -> list[PortalSection]:
    from . import service

    account = service.current_account(g.shop)
    count = len(service.claims_of(account, g.shop)) if account is not None else 0
    html = render_template("bayline_accounts/portal_card.html", account=account, count=count, shop=g.shop)
    return [PortalSection(NAME, "Your account", html, order=90)]


@hookimpl
def prefetch(claim: Claim, view: str, bundle: Any) -> None:
    """The staff panel's rows join the claim page's one bundled statement (the portal card reads
    nothing for a browser without an account)."""
    from . import service

    if view == "staff":
        service.want_panel_rows(claim, bundle)


@hookimpl
def claim_panels(claim: Claim, user: User) -> list[ClaimPanel]:
    from . import service

    found = service.accounts_of_claim(claim)
    html = render_template("bayline_accounts/panel.html", found=found, claim=claim)
    return [ClaimPanel(NAME, "Customer account", html, order=80)]


@hookimpl
def shop_archive_rules() -> ShopArchiveRules:
    # one-time codes and sessions are short-lived secrets; passkeys are bound to this deployment's host
    # (the WebAuthn relying party): none is carried to another deployment
    return ShopArchiveRules(skip_tables=("accounts_codes", "accounts_sessions", "accounts_passkeys"))
