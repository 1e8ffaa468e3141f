"""The public API for Bayline plugins: the one module a plugin imports (plus ``bayline.testing``).

Everything else under ``bayline`` is internal and may change without notice; a test fails when a
bundled plugin imports anything else, and :func:`bayline.testing.conformance.check_plugin` reports
it for third-party plugins. Like pytest's ``pytest`` over ``_pytest``, this module only re-exports
and adds small, stable functions; see ``docs/writing_plugins.md`` for recipes.

Sections: hook markers and value types · models · database and tenancy · events · services ·
shop context, settings and configuration · views (errors, permissions, blueprints).
"""
from __future__ import annotations

from dataclasses import dataclass

from . import drafting, files, landing, payments, phones, signatures, storage
from .auth.context import Principal, current_principal
from .auth.models import User
from .auth.permissions import require
from .bundle import Bundle, Prepared, attach, prefetched, prepare
from .claims import service as claims
from .claims.models import Claim, EtaHistory, Stage, StageHistory
from .db import Base, UTCDateTime, get_session, utcnow
from .errors import Refused, wants_json
from .events import commit, emit
from .files import Attachment, Photo, Rejected
from .messages import public as messages
from .messages.channels import channel_ready
from .messages.models import Message
from .messaging import consent
from .messaging import public as outbox
from .messaging import templates as message_templates
from .messaging.models import OutboxItem
from .plugins.blueprints import (
    PluginApiBlueprint,
    api_blueprint,
    landing_blueprint,
    portal_blueprint,
    public_blueprint,
    rate_limit,
    staff_blueprint,
)
from .plugins.config import MissingConfig, PluginConfig, plugin_config
from .plugins.markers import hookimpl
from .plugins.scope import for_shop
from .plugins.secrets import seal, unseal
from .plugins.types import (
    ArchiveRemap,
    Brand,
    CheckoutStart,
    ClaimFact,
    ClaimPanel,
    ComposerExtension,
    DraftProvider,
    DraftRequest,
    DraftResult,
    Event,
    EventType,
    Feature,
    LandingLink,
    MenuItem,
    MessageAction,
    PaidNotice,
    PaymentProvider,
    Permission,
    PortalSection,
    SettingDef,
    ShopArchiveRules,
    SignatureDocument,
    SignatureRequest,
    TenantHost,
    Viewer,
)
from .portal.current import current_portal_claim
from .portal.links import channel_link, link_ids_in, mask_json, mask_links, unmask_for_delivery
from .portal.page import PortalPage
from .shop_settings import ShopSettings, shop_settings
from .tasks import enqueue
from .tenancy import TenantScoped, current_tenant_id, tenant_scope, unscoped
from .tenants import hours as shop_hours
from .tenants.entitlements import is_feature_active
from .tenants.models import Group, Shop
from .urls import external_url_for, public_url, safe_redirect_target

__all__ = [  # noqa: RUF022 (grouped by section, sorted within)
    # hook markers and the values hooks take and return
    "ArchiveRemap", "Brand", "ClaimPanel", "Event", "EventType", "Feature", "MenuItem", "Permission", "PortalPage",
    "PortalSection", "SettingDef", "ShopArchiveRules", "TenantHost", "Viewer", "hookimpl",
    # the claim page's composer (hooks composer_extensions, message_actions)
    "ComposerExtension", "MessageAction",
    # drafted messages: facts other plugins know, providers that write (hooks claim_facts, draft_provider)
    "ClaimFact", "DraftProvider", "DraftRequest", "DraftResult", "drafting",
    # payment providers and signatures: one plugin provides, another uses (hooks payment_provider,
    # request_signature)
    "CheckoutStart", "PaidNotice", "PaymentProvider", "SignatureDocument", "SignatureRequest", "payments",
    "signatures",
    # a shop's public landing page: links and referral codes other plugins add (hooks landing_links,
    # landing_referral)
    "LandingLink", "landing",
    # models a hook receives or a plugin reads
    "Attachment", "Claim", "EtaHistory", "Group", "Message", "OutboxItem", "Photo", "Shop", "Stage", "StageHistory",
    "User",
    # database and tenancy
    "Base", "TenantScoped", "UTCDateTime", "current_tenant_id", "get_session", "tenant_scope", "unscoped",
    "utcnow",
    # one statement for a page's reads (hook prefetch)
    "Bundle", "Prepared", "attach", "prefetched", "prepare",
    # events
    "commit", "emit",
    # services
    "PortalLink", "Rejected", "channel_link", "channel_ready", "claims", "enqueue", "files", "issue_portal_link",
    "link_ids_in", "mask_json", "mask_links", "messages", "notify_shop_owners", "phones", "seal", "shop_hours",
    "storage", "unmask_for_delivery", "unseal",
    # messaging core: the outbox, the consent ledger, the one template service
    "consent", "message_templates", "outbox",
    # shop context, settings, platform configuration, features
    "MissingConfig", "PluginConfig", "ShopSettings", "for_shop", "group_locations", "is_feature_active",
    "plugin_config", "shop_settings",
    # views: errors, permissions, blueprints
    "PluginApiBlueprint", "Principal", "Refused", "api_blueprint", "current_portal_claim", "current_principal",
    "landing_blueprint", "portal_blueprint", "public_blueprint", "rate_limit", "require", "staff_blueprint",
    "wants_json",
    # absolute links (from BAYLINE_PUBLIC_URL) and redirect targets
    "external_url_for", "public_url", "safe_redirect_target",
]


@dataclass(frozen=True)
class PortalLink:
    """A customer portal link just issued: ``url`` is shown or sent once and never stored in clear;
    ``token_id`` identifies the link (to record which message carried it)."""

    url: str
    token_id: int


def issue_portal_link(claim: Claim, user_id: int | None = None, purpose: str = "staff_copy") -> PortalLink:
    """Issue a new portal link of ``purpose`` for ``claim`` in the caller's transaction (commit to
    make it usable); the absolute URL is built from ``BAYLINE_PUBLIC_URL``. Issuing replaces only
    that purpose's previous link. To send a claim's link on a channel, use :func:`channel_link`
    (the channel's live link, never touching others)."""
    from .portal import tokens

    issued = tokens.issue(claim, user_id, purpose=purpose)
    return PortalLink(url=issued.url, token_id=issued.token.id)


def group_locations() -> list[Shop]:
    """The locations (shops, not archived) of the current shop's group, for a group admin or a
    platform admin: the explicit cross-location path (work in each with :func:`for_shop`). Raises
    :class:`Refused` 401 ``unauthorized`` without a caller and 403 ``permission_denied`` for anyone
    else (a shop's own staff see their shop only)."""
    from .api.shops import require_group_admin

    group, _ = require_group_admin()
    return [shop for shop in group.shops if shop.archived_at is None]


def notify_shop_owners(subject: str, body: str, shop_id: int | None = None) -> list[str]:
    """Email the owners of ``shop_id`` (default: the current shop) through the platform's own mail
    (``BAYLINE_SMTP_URL``, the mail of password resets), never through a shop channel: for alerts about
    the shop's own setup (a mailbox that stopped syncing) that must arrive even when that setup is
    broken. Returns the addresses mailed. The body must carry no secrets or customer links."""
    from sqlalchemy import select

    from .mail import send_platform_mail
    from .tenants.models import Membership

    session = get_session()
    tenant = shop_id if shop_id is not None else current_tenant_id()
    with unscoped(session):
        rows = session.execute(select(User.email).join(Membership, Membership.user_id == User.id).where(
            Membership.tenant_id == tenant, Membership.role == "owner", User.is_active.is_(True))).all()
    sent = []
    for (email,) in rows:
        send_platform_mail(email, subject, body)
        sent.append(email)
    return sent
