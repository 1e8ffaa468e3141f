"""Bayline hook specifications.

Every hook a plugin may implement is declared here, grouped like pytest's
``hookspec.py``. Implement a hook with ``@bayline.hookimpl`` on a function of
the same name in your plugin module. Hooks of plugins that are not active for
the current shop are not called during that shop's requests and tasks (except
the registration hooks, which run once at start for every installed plugin).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .markers import hookspec

if TYPE_CHECKING:
    import click
    from celery import Celery
    from flask import Blueprint, Flask

    from bayline.auth.models import User
    from bayline.claims.models import Claim
    from bayline.messaging.models import OutboxItem
    from bayline.tenants.models import Shop

    from .types import ClaimPanel, Event, Feature, MenuItem, PortalSection, SettingDef, Viewer

# -------------------------------------------------------------------------
# Registration: called once at app start for every installed plugin
# -------------------------------------------------------------------------


@hookspec
def register_features() -> list[Feature]:
    """Declare the feature keys this plugin provides.

    Called once at start. Return a list of :class:`bayline.Feature`. A plugin's
    own feature key must equal its name; the plan catalogue grants it.
    """


@hookspec
def register_blueprints(app: Flask) -> list[Blueprint]:
    """Return Flask blueprints to mount.

    Called once at start. Name each blueprint ``plugin_<name>``; staff routes
    live under ``/plugins/<name>/``, portal routes under ``/c/.../<name>``. The
    core answers 404 (portal) or 403 ``feature_not_in_plan`` (staff, API) for
    requests to a plugin's blueprint when the plugin is not active for the shop.
    """


@hookspec
def register_public_blueprints(app: Flask) -> list[Blueprint]:
    """Return blueprints reachable without a shop context: not gated by plan.

    Called once at start. For routes that authenticate the caller themselves:
    signed provider webhooks, a public document-verification page. Name each
    ``plugin_<name>_public`` under ``/plugins/<name>/``. The view finds the shop
    itself (e.g. from a signed payload) and checks
    ``bayline.tenants.entitlements.is_feature_active`` before acting. Form posts
    still need a CSRF token unless the blueprint is exempted with
    ``bayline.extensions.csrf.exempt`` (only for signed machine callers).
    """


@hookspec
def register_permissions() -> dict[str, list[str]]:
    """Map new permission names to the roles that hold them.

    Called once at start. Example: ``{"sms.send": ["owner", "admin", "advisor"]}``.
    """


@hookspec
def register_event_types() -> list[str]:
    """Declare event types this plugin emits (``sms.delivered`` ...).

    Called once at start; emitting an undeclared type raises.
    """


@hookspec
def register_tenant_settings() -> list[SettingDef]:
    """Declare per-shop settings: key (``<name>.*``), type, default, editing roles.

    Called once at start. Values are stored by the core, validated on write and
    editable in the staff console and the API.
    """


@hookspec
def register_periodic_tasks(celery: Celery) -> dict[str, dict[str, Any]]:
    """Return Celery beat schedule entries, keyed by entry name.

    Called once at start. Each entry is a Celery beat entry dict
    (``{"task": "bayline_<name>.task", "schedule": 300}``).
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands to the ``flask`` CLI. Called once at start."""


@hookspec(historic=True)
def app_configured(app: Flask) -> None:
    """The app is fully configured. Historic: plugins registered later still get it."""


# -------------------------------------------------------------------------
# Portal and console: called per request, only for plugins active for the shop
# -------------------------------------------------------------------------


@hookspec
def portal_sections(claim: Claim, viewer: Viewer) -> list[PortalSection]:
    """Cards for the customer portal page of ``claim``.

    Called per portal page view; return :class:`bayline.PortalSection` items
    (rendered HTML, escaped by you) ordered by ``order``.
    """


@hookspec
def claim_panels(claim: Claim, user: User) -> list[ClaimPanel]:
    """Panels for the staff claim page, as :class:`bayline.ClaimPanel`."""


@hookspec
def menu_items(user: User, shop: Shop) -> list[MenuItem]:
    """Links for the staff console's navigation."""


@hookspec
def extra_template_vars(template_name: str) -> dict[str, Any]:
    """Extra variables for every rendered template (merged in plugin order)."""


@hookspec(firstresult=True)
def branding(shop: Shop) -> dict[str, Any] | None:
    """Logo, colours and names for ``shop``'s pages. First non-None result wins."""


# -------------------------------------------------------------------------
# Messaging
# -------------------------------------------------------------------------


@hookspec(firstresult=True)
def deliver(outbox_item: OutboxItem, body: str, provider_key: str) -> dict[str, Any] | None:
    """Hand one outbox row to your provider, when ``outbox_item.channel`` is yours; else return None.

    Called by the core send task (``bayline.messaging.send``) after consent, suppression, quiet
    hours and rate limits passed, with the row in state ``sending``. ``body`` is the provider text
    (``{portal_link}`` filled; the stored ``outbox_item.body`` stays masked). Send ``provider_key``
    as the provider's idempotency key: a task redelivered after a crash calls you again with the
    same key. First non-None result wins, so one plugin per channel answers. Return
    ``{"state": "sending" | "sent" | "delivered" | "failed", "provider_id": ..., "reason": ...}``
    or ``{"state": "retry", "retry_in": seconds, "reason": ...}`` for a temporary failure (the row
    is held and the scheduler tries again). Report later provider events (webhooks) through
    ``bayline.messaging.service.report_state``. Example::

        @hookimpl
        def deliver(outbox_item, body, provider_key):
            if outbox_item.channel != "sms":
                return None
            sent = client.messages.send(to=outbox_item.recipient, text=body, idempotency_key=provider_key)
            return {"state": "sending", "provider_id": sent.data.id}
    """


@hookspec(firstresult=True)
def send_email(shop: Shop, to: str, subject: str, body: str, idempotency_key: str) -> dict[str, Any] | None:
    """Send an email for ``shop``; first plugin that handles it returns a record."""


@hookspec
def inbound_message(shop: Shop, channel: str, sender: str, body: str) -> None:
    """A message arrived on ``channel`` from ``sender``; plugins may react."""


# -------------------------------------------------------------------------
# Documents
# -------------------------------------------------------------------------


@hookspec(firstresult=True)
def sign_pdf(pdf: bytes, signer_name: str, reason: str) -> bytes | None:
    """Digitally sign ``pdf``; the first plugin that can returns the signed bytes."""


@hookspec(firstresult=True)
def render_document(claim: Claim, kind: str) -> bytes | None:
    """Render a printable document of ``kind`` for ``claim`` as PDF bytes."""


# -------------------------------------------------------------------------
# Lifecycle
# -------------------------------------------------------------------------


@hookspec
def on_event(event: Event) -> None:
    """React to a core or plugin event after its transaction committed.

    Called for plugins active for ``event.tenant_id`` with the tenant context
    set. Types: claim.created, claim.updated, claim.stage_changed,
    claim.eta_changed, claim.delivered, claim.archived, and the types plugins
    register. Slow work belongs in a Celery task started from here.
    """


@hookspec
def tenant_provisioned(shop: Shop) -> None:
    """A new shop was created (stages and settings are in place)."""


@hookspec
def entitlements_changed(shop: Shop, before: set[str], after: set[str]) -> None:
    """The set of active features of ``shop`` changed (plan, add-on or toggle)."""
