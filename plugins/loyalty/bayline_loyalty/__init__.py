"""Bayline loyalty and referrals: points earned only on what the customer pays, and referrals
rewarded only when the referred repair is delivered and paid.

* ``loyalty``: an append-only ledger per customer contact (idempotency key per source event), the
  balance row locked by redemptions, earning on customer-paid amounts only (payer ``customer`` or
  ``deductible`` of the ``payment.recorded`` events of a payments plugin — never ``insurer``, never
  method ``points`` — or an amount staff enter), redemption by staff with a reason, expiry, clawback
  on refund, offers only as marketing messages (marketing consent).
* ``referrals``: a referral code per customer (a link to a page that shows it), entered at intake on
  the referred claim (its source); the referrer's reward when that claim is delivered and paid,
  clawed back on a refund; self-referrals and contacts already referred or already customers refused.

Plugins never import each other: this one reads the payments plugin's events and the accounts
plugin's ``account.opened`` / ``account.deleted`` events.

One name everywhere: distribution ``bayline-loyalty`` · package ``bayline_loyalty`` · entry point
``loyalty`` · features ``loyalty`` and ``referrals`` · blueprints ``plugin_loyalty`` (``/plugins/loyalty``),
``plugin_loyalty_portal`` (``/c/s/loyalty``), ``plugin_loyalty_api`` (``/api/v1/plugins/loyalty``),
``plugin_loyalty_public`` (the referral page) · Alembic branch ``loyalty`` · tables ``loyalty_*`` ·
settings ``loyalty.*`` · Celery task ``bayline_loyalty.expire``.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, TypedDict

from celery import Celery
from flask import Flask, g, render_template, url_for

from bayline.plugin_api import (
    Claim,
    ClaimPanel,
    Event,
    EventType,
    Feature,
    MenuItem,
    Permission,
    PortalSection,
    SettingDef,
    Shop,
    ShopArchiveRules,
    User,
    Viewer,
    commit,
    get_session,
    hookimpl,
    is_feature_active,
    public_url,
    shop_settings,
)

from . import (
    models,  # noqa: F401  (register the tables on the shared metadata)
    tasks,  # noqa: F401  (register the Celery task)
)

__version__ = "0.1.0"
NAME = "loyalty"
REFERRALS = "referrals"
_COUNTER = ("owner", "admin", "advisor")


def _money(value: Any) -> Any:
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("an amount such as 0.05") from None
    if not amount.is_finite() or amount < 0 or amount > 1000:
        raise ValueError("an amount between 0 and 1000")
    return str(amount)


def _rate(value: Any) -> Any:
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("points per unit of currency, such as 1 or 0.5") from None
    if not rate.is_finite() or rate < 0 or rate > 100:
        raise ValueError("between 0 and 100 points per unit of currency")
    return str(rate)


def _non_negative(value: Any) -> Any:
    if int(value) < 0:
        raise ValueError("zero or more")
    return int(value)


@hookimpl
def register_features() -> list[Feature]:
    return [Feature(NAME, "Loyalty points", "Points on what the customer pays (never insurer money), redeemed at "
                    "the counter", default_tiers=("elite", "enterprise")),
            Feature(REFERRALS, "Referrals", "Referral codes; a reward when the referred repair is delivered and paid",
                    default_tiers=("elite", "enterprise"))]


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission("loyalty.read", _COUNTER, ("read",), "See customers' points and referrals"),
            Permission("loyalty.redeem", _COUNTER, ("write",), "Redeem points at the counter, record referrals and "
                       "what the customer paid"),
            Permission("loyalty.adjust", ("owner", "admin"), (), "Adjust points by hand, send offers")]


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    return [
        SettingDef("loyalty.points_per_unit", "Points per unit of currency the customer pays", "str", "1",
                   validate=_rate, feature=NAME, help="1 = a point per dollar the customer pays (deductible and "
                   "customer-pay work; insurer money never earns)."),
        SettingDef("loyalty.point_value", "What one point is worth when redeemed", "str", "0.05", validate=_money,
                   feature=NAME, help="Shown to customers and staff, e.g. 0.05 = 100 points are $5."),
        SettingDef("loyalty.earn_from", "Earn from", "choice", "auto", ("auto", "payments", "staff"), feature=NAME,
                   choice_labels=("Payments recorded on the claim when the shop has payments, else staff entry",
                                  "Payments recorded on the claim", "Amounts staff enter"),
                   help="Where the customer-paid amount comes from."),
        SettingDef("loyalty.expiry_months", "Points expire after (months, 0 = never)", "int", 0,
                   validate=_non_negative, feature=NAME),
        SettingDef("loyalty.referral_points", "Points for a referral that became a paid repair", "int", 500,
                   validate=_non_negative, feature=REFERRALS),
    ]


class Redeemed(TypedDict):
    member_id: int
    points: int
    on_claim_id: int | None
    """The claim the points were used on, if any."""
    user_id: int | None


class ReferralRewarded(TypedDict):
    claim_id: int
    referral_id: int
    referrer_id: int
    points: int


@hookimpl
def register_event_types() -> list[EventType]:
    return [EventType("loyalty.redeemed", Redeemed, "Staff redeemed a customer's points."),
            EventType("referral.rewarded", ReferralRewarded,
                      "A referred claim was delivered and paid: its referrer got the reward.", staff_live=True)]


@hookimpl
def register_blueprints(app: Flask) -> list[Any]:
    from .api import api
    from .views import portal, staff

    return [staff, portal, api]


@hookimpl
def register_public_blueprints(app: Flask) -> list[Any]:
    from .views import public

    return [public]


@hookimpl
def register_periodic_tasks(celery: Celery) -> dict[str, dict[str, Any]]:
    return {"loyalty-expire": {"task": "bayline_loyalty.expire", "schedule": 24 * 3600}}


@hookimpl
def menu_items(user: User, shop: Shop) -> list[MenuItem]:
    from flask import url_for

    return [MenuItem("Loyalty", url_for("plugin_loyalty.index"), order=320)]


@hookimpl
def on_event(event: Event) -> None:
    from . import service

    if event.type in ("payment.recorded", "payment.refunded"):
        if service.on_payment_event(event.type, event.payload, g.shop):
            commit()
    elif event.type == "claim.delivered":
        claim = get_session().get(Claim, int(event.payload["claim_id"]))
        if claim is not None and service.complete_referral(claim) is not None:
            commit()
    elif event.type == "account.opened":
        claim = get_session().get(Claim, int(event.payload["claim_id"]))
        member = service.member_for_claim(claim) if claim is not None else None
        if member is not None:
            member.account_id = int(event.payload["account_id"])
            commit()
    elif event.type == "account.deleted":
        from sqlalchemy import update

        from .models import LoyaltyMember

        get_session().execute(update(LoyaltyMember).where(LoyaltyMember.account_id == int(event.payload["account_id"]))
                              .values(account_id=None).execution_options(synchronize_session=False))
        commit()


def new_key() -> str:
    """A fresh idempotency key for a form (a double submit of the same form counts once)."""
    import secrets

    return secrets.token_hex(16)


@hookimpl
def prefetch(claim: Claim, view: str, bundle: Any) -> None:
    from . import service

    service.want_claim_rows(claim, bundle, staff=view == "staff")


@hookimpl
def landing_referral(shop: Shop, code: str) -> str | None:
    """``/p/<shop>?ref=<code>``: a code of one of this shop's members opens the referral page; any other
    code (unknown, another shop's, referrals off) is None, and the landing page renders as without it."""
    from . import service

    if not is_feature_active(shop, REFERRALS):
        return None
    member = service.member_by_code(code)
    if member is None or member.tenant_id != shop.id:
        return None
    return url_for("plugin_loyalty_public.referral_page", referral_code=member.referral_code)


def referral_url(member: Any) -> str:
    return public_url(f"/plugins/loyalty/r/{member.referral_code}")


@hookimpl
def portal_sections(claim: Claim, viewer: Viewer) -> list[PortalSection]:
    """Points balance and referral link, for customers who saved their repairs to an account."""
    from . import service

    sections = []
    referrals = REFERRALS in g.features
    referral = service.referral_of(claim.id) if referrals else None
    if referrals and (referral is not None or service.may_be_referred(claim)):
        html = render_template("bayline_loyalty/portal_referred.html", referral=referral, shop=g.shop)
        sections.append(PortalSection("loyalty-referred", "Referred by a friend?", html, order=96))
    member = service.member_for_claim(claim, create=False)
    if member is None or member.account_id is None:
        return sections
    value = (Decimal(member.balance) * service.point_value()).quantize(Decimal("0.01")) if member.balance > 0 else None
    html = render_template("bayline_loyalty/portal_card.html", member=member, value=value,
                           referrals=referrals, link=referral_url(member), shop=g.shop)
    return [PortalSection(NAME, "Your points", html, order=95), *sections]


@hookimpl
def claim_panels(claim: Claim, user: User) -> list[ClaimPanel]:
    from . import service

    member = service.member_for_claim(claim, create=False)
    html = render_template("bayline_loyalty/panel.html", claim=claim, member=member,
                           referral=service.referral_of(claim.id), referrals=REFERRALS in g.features,
                           staff_entry=service.earn_from(g.shop) == "staff", paid=service.net_paid(claim.id),
                           earned=service.claim_earned(claim.id), form={}, errors={}, new_key=new_key())
    return [ClaimPanel(NAME, "Loyalty", html, order=85)]


def settings_of(shop: Any) -> Any:
    return shop_settings(NAME, shop)


def _imported_member(row: dict[str, Any]) -> dict[str, Any]:
    """A member in an imported shop: a new referral code (codes are unique across the deployment) and
    no account link (the accounts plugin's ids are new; the next ``account.opened`` sets it again)."""
    import secrets

    from .service import CODE_ALPHABET

    return {**row, "referral_code": "".join(secrets.choice(CODE_ALPHABET) for _ in range(8)), "account_id": None}


@hookimpl
def shop_archive_rules() -> ShopArchiveRules:
    return ShopArchiveRules(on_import={"loyalty_members": _imported_member})
