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

from . import files, payments, phones, signatures, storage
from .auth.context import Principal, current_principal
from .auth.models import User
from .auth.permissions import require
from .claims import service as claims
from .claims.models import Claim, EtaHistory, Stage, StageHistory
from .db import Base, UTCDateTime, get_session, utcnow
from .errors import Refused, wants_json
from .events import commit, emit
from .files import Attachment, Photo, Rejected
from .messages import public as messages
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
from .plugins.types import (
    ArchiveRemap,
    Brand,
    CheckoutStart,
    ClaimPanel,
    Event,
    EventType,
    Feature,
    MenuItem,
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
from .shop_settings import ShopSettings, shop_settings
from .tasks import enqueue
from .tenancy import TenantScoped, current_tenant_id, tenant_scope, unscoped
from .tenants.entitlements import is_feature_active
from .tenants.models import Group, Shop
from .urls import external_url_for, public_url, safe_redirect_target

__all__ = [  # noqa: RUF022 (grouped by section, sorted within)
    # hook markers and the values hooks take and return
    "ArchiveRemap", "Brand", "ClaimPanel", "Event", "EventType", "Feature", "MenuItem", "Permission",
    "PortalSection", "SettingDef", "ShopArchiveRules", "TenantHost", "Viewer", "hookimpl",
    # payment providers and signatures: one plugin provides, another uses (hooks payment_provider,
    # request_signature)
    "CheckoutStart", "PaidNotice", "PaymentProvider", "SignatureDocument", "SignatureRequest", "payments",
    "signatures",
    # models a hook receives or a plugin reads
    "Attachment", "Claim", "EtaHistory", "Group", "Message", "OutboxItem", "Photo", "Shop", "Stage", "StageHistory",
    "User",
    # database and tenancy
    "Base", "TenantScoped", "UTCDateTime", "current_tenant_id", "get_session", "tenant_scope", "unscoped",
    "utcnow",
    # events
    "commit", "emit",
    # services
    "PortalLink", "Rejected", "channel_link", "claims", "enqueue", "files", "issue_portal_link", "link_ids_in",
    "mask_json", "mask_links", "messages", "phones", "storage", "unmask_for_delivery",
    # messaging core: the outbox, the consent ledger, the one template service
    "consent", "message_templates", "outbox",
    # shop context, settings, platform configuration, features
    "MissingConfig", "PluginConfig", "ShopSettings", "for_shop", "is_feature_active", "plugin_config",
    "shop_settings",
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
