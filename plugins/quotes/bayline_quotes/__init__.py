"""Bayline quotes and payments: estimates and supplements imported from the estimating system
(CIECA BMS XML, CSV, JSON), the payer split (insurer / customer / goodwill, deductible, betterment),
supplement diffs, customer approval per line in the portal, payments and refunds, and the customer's
online payment through a payment provider (Stripe).

One name everywhere: distribution ``bayline-quotes`` · package ``bayline_quotes`` · entry point
``quotes`` · features ``quotes`` and ``payments`` · blueprints ``plugin_quotes`` (``/plugins/quotes``),
``plugin_quotes_portal`` (``/c/s/quotes``), ``plugin_quotes_api`` (``/api/v1/plugins/quotes``),
``plugin_quotes_public`` (the provider webhook) · Alembic branch ``quotes`` · tables ``quotes_*`` ·
settings ``quotes.*``. Customer and staff notifications are events (``quote.*``, ``payment.*``);
this plugin never sends a message itself.
"""
from __future__ import annotations

from typing import Any, TypedDict

from flask import Flask, g, render_template

from bayline.plugin_api import (
    ArchiveRemap,
    Claim,
    ClaimPanel,
    Event,
    EventType,
    Feature,
    PaymentProvider,
    Permission,
    PortalSection,
    SettingDef,
    ShopArchiveRules,
    User,
    Viewer,
    hookimpl,
    is_feature_active,
    shop_settings,
    signatures,
)

from . import models  # noqa: F401  (register the tables on the shared metadata)

__version__ = "0.1.0"
NAME = "quotes"
PAYMENTS = "payments"
_OFFICE = ("owner", "admin", "advisor", "estimator", "production_manager")
_MONEY = ("owner", "admin", "advisor")


def _rate(value: Any) -> Any:
    from decimal import Decimal, InvalidOperation

    try:
        rate = Decimal(str(value).strip() or "0")
    except InvalidOperation:
        raise ValueError("a tax rate in percent, like 9.975") from None
    if not rate.is_finite() or not 0 <= rate < 100:
        raise ValueError("a tax rate between 0 and 100 percent")
    return str(rate)


def _currency(value: Any) -> Any:
    from babel.numbers import get_currency_name

    code = str(value).strip().upper()
    if len(code) != 3 or get_currency_name(code) == code:
        raise ValueError("a three-letter currency code, like USD or CAD")
    return code


def _provider_name(value: Any) -> Any:
    name = str(value).strip().lower()
    if not name or not name.replace("_", "").replace("-", "").isalnum() or len(name) > 40:
        raise ValueError("a provider name such as stripe")
    return name


def _signed_approval(value: Any) -> Any:
    if value and not signatures.available():
        raise ValueError("needs the e-signature feature (esign) active for this shop; turn it on first")
    return value


@hookimpl
def register_features() -> list[Feature]:
    return [Feature(NAME, "Quotes", "Estimates and supplements from the estimating system, payer split, customer "
                    "approval per line", default_tiers=("starter", "professional", "elite", "enterprise")),
            Feature(PAYMENTS, "Payments", "Payments and refunds per payer; the customer's balance and online "
                    "payment in the portal", default_tiers=("starter", "professional", "elite", "enterprise"))]


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission("quotes.import", _OFFICE, ("write",), "Import estimates and supplements, withdraw versions"),
            Permission("quotes.reverse", ("owner", "admin"), (), "Reverse a customer's approval, with a reason"),
            Permission("payments.record", _MONEY, ("write",), "Record payments and refunds")]


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    tax = [SettingDef(f"quotes.tax_{cat}", f"Tax rate on {label} (%)", "str", "0", validate=_rate,
                      feature=NAME, help="Percent, e.g. 9.975. 0 = not taxed.")
           for cat, label in (("parts", "parts"), ("labor", "labour"), ("paint", "paint and materials"),
                              ("sublet", "sublet"), ("other", "other charges"))]
    return [
        SettingDef("quotes.currency", "Currency", "str", "USD", validate=_currency, feature=NAME),
        SettingDef("quotes.rounding", "Round tax per line or on the total", "choice", "line",
                   ("line", "total"), feature=NAME, choice_labels=("On each line", "On the total")),
        SettingDef("quotes.tax_inclusive", "Prices include tax", "bool", False, feature=NAME),
        *tax,
        SettingDef("quotes.portal_lines", "Lines the customer sees", "choice", "customer_pay",
                   ("customer_pay", "all"), feature=NAME,
                   choice_labels=("Only the lines the customer pays", "Every line except shop-only ones")),
        SettingDef("quotes.signed_approval", "Customer signs their approval", "bool", False,
                   validate=_signed_approval, feature=NAME,
                   help="The approval counts once the customer signs it (needs e-signature)."),
        SettingDef("quotes.approval_days", "Days a quote version can be approved", "int", 30, feature=NAME),
        SettingDef("quotes.payment_summary", "Show the customer their balance", "bool", False,
                   feature=PAYMENTS),
        SettingDef("quotes.online_payment", "Let the customer pay their part online", "bool",
                   False, feature=PAYMENTS),
        SettingDef("quotes.payment_provider", "Online payment provider", "str", "stripe", validate=_provider_name,
                   feature=PAYMENTS, help="The payment provider's name (a plugin provides it); Stripe is built in."),
    ]


class QuoteImported(TypedDict):
    claim_id: int
    version_id: int
    version_number: int
    total: str
    summary: str
    """e.g. ``Supplement 2: +$412.30 (insurer +$380.00, you +$32.30)``."""
    totals_mismatch: bool


class QuoteApproved(TypedDict):
    claim_id: int
    version_id: int
    version_number: int
    line_ids: list[int]
    approval: str
    customer_amount: str
    by: str


class QuoteDeclined(TypedDict):
    claim_id: int
    version_id: int
    version_number: int
    line_ids: list[int]
    reason: str
    reason_text: str
    approval: str


class QuoteReversed(TypedDict):
    claim_id: int
    version_id: int
    line_ids: list[int]
    reason: str


class PaymentRecorded(TypedDict):
    claim_id: int
    payment_id: int
    payer: str
    method: str
    amount: str
    currency: str
    balance: str
    provider: str


@hookimpl
def register_event_types() -> list[EventType]:
    live = {"staff_live": True, "portal_live": True}
    return [
        EventType("quote.imported", QuoteImported, "An estimate version was imported (original or supplement).",
                  **live),
        EventType("quote.approved", QuoteApproved, "The customer approved an estimate version, or lines of it.",
                  **live),
        EventType("quote.declined", QuoteDeclined, "The customer declined an estimate version or lines of it.",
                  **live),
        EventType("quote.reversed", QuoteReversed, "Staff reversed a customer's decision, with a reason.", **live),
        EventType("payment.recorded", PaymentRecorded, "A payment was recorded (by staff or a provider).", **live),
        EventType("payment.refunded", PaymentRecorded, "A refund was recorded.", **live),
    ]


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
def on_event(event: Event) -> None:
    """A signature this plugin asked for (hook ``request_signature``) was given or declined."""
    from bayline.plugin_api import commit

    from . import service

    if event.type == "document.signed" and event.payload.get("source") == NAME:
        if service.finish_signed_approval(str(event.payload.get("reference") or ""),
                                          str(event.payload.get("package_id") or ""),
                                          str(event.payload.get("signer") or "")) is not None:
            commit()
    elif event.type == "esign.declined" and service.signature_declined(str(event.payload.get("package_id") or "")):
        commit()


@hookimpl
def payment_provider(name: str) -> PaymentProvider | None:
    """Stripe, for any plugin taking payments (core hook ``payment_provider``)."""
    from .payments import STRIPE

    return STRIPE if name == STRIPE.name else None


def payments_on(shop: Any = None) -> bool:
    shop = shop or g.shop
    return is_feature_active(shop, PAYMENTS)


@hookimpl
def prefetch(claim: Claim, view: str, bundle: Any) -> None:
    from . import service

    service.want_claim_rows(claim.id, bundle, staff=view == "staff")


@hookimpl
def claim_panels(claim: Claim, user: User) -> list[ClaimPanel]:
    from . import service

    pol = service.policy()
    versions = service.versions_for_claim(claim.id)
    rows = [(v, service.totals(v, pol), service.diff(v, pol), service.decisions_for(v.id, claim.id)) for v in versions]
    html = render_template("bayline_quotes/panel.html", claim=claim, rows=rows, pol=pol,
                           reasons=service.DECLINE_REASONS, payments_on=payments_on(),
                           payments=service.payments_for(claim.id) if payments_on() else [],
                           summary=service.summary(claim.id, pol) if payments_on() else None,
                           payers=service.PAYMENT_PAYERS, methods=service.PAYMENT_METHODS)
    return [ClaimPanel(NAME, "Estimate and payments", html, order=45)]


@hookimpl
def portal_sections(claim: Claim, viewer: Viewer, page: Any) -> list[PortalSection]:
    from . import service

    every = page.prefetch("quotes.versions", lambda: service.versions_for_claim(claim.id))
    versions = service.current_of(every)
    show_pay = payments_on() and shop_settings(NAME).get_bool("payment_summary")
    if not versions and not show_pay:
        return []
    pol = service.policy()
    cards = []
    for v in versions:
        d = service.diff(v, pol, visible_only=True)
        cards.append((v, service.totals(v, pol, scope=True), d, service.customer_lines(v)))
    s = service.summary(claim.id, pol, versions) if show_pay else None
    timeline = []
    for v in every:
        if v.status == "withdrawn":
            continue
        d = service.diff(v, pol)
        timeline.append(d.summary if d else f"{v.label}: {pol.format(service.totals(v, pol).gross)}")
    html = render_template("bayline_quotes/portal_card.html", cards=cards, pol=pol, summary=s, timeline=timeline,
                           online=show_pay and shop_settings(NAME).get_bool("online_payment"))
    return [PortalSection(NAME, "Your estimate", html, order=35)]


def _line_ids(ids: Any, row: dict[str, Any], remap: ArchiveRemap) -> Any:
    """A decision names the lines it decided (JSON list of ``quotes_lines`` ids)."""
    if not isinstance(ids, list):
        return ids
    return [new for new in (remap.id("quotes_lines", i) for i in ids) if new is not None]


@hookimpl
def shop_archive_rules() -> ShopArchiveRules:
    return ShopArchiveRules(json_columns={"quotes_decisions.line_ids": _line_ids})
