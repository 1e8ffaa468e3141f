"""Bayline hook specifications.

Every hook a plugin may implement is declared here, grouped like pytest's
``hookspec.py``. Implement a hook with ``@bayline.hookimpl`` on a function of
the same name in your plugin module. Hooks of plugins that are not active for
the current shop are not called during that shop's requests and tasks (except
the registration hooks, which run once at start for every installed plugin).

Each docstring has the sections the reference (``docs/plugin_hooks.md``) is generated from:
``Arguments:``, ``Commits:`` (whether an implementation may commit the session) and ``Example::``.
A test fails when a section is missing, and when a hookspec has no caller in the core or no test.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .markers import hookspec

if TYPE_CHECKING:
    import click
    from celery import Celery
    from flask import Blueprint, Flask

    from bayline.auth.models import User
    from bayline.bundle import Bundle
    from bayline.claims.models import Claim
    from bayline.messages.models import Message
    from bayline.messaging.models import OutboxItem
    from bayline.portal.page import PortalPage
    from bayline.tenants.models import Shop

    from .types import (
        Brand,
        ClaimFact,
        ClaimPanel,
        ComposerExtension,
        DraftProvider,
        Event,
        EventType,
        Feature,
        LandingLink,
        MenuItem,
        MessageAction,
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

# -------------------------------------------------------------------------
# Registration: called once at app start for every installed plugin
# -------------------------------------------------------------------------


@hookspec
def register_features() -> list[Feature]:
    """Declare the feature keys this plugin provides.

    Called once at start. A plugin's own feature key must equal its name; the plan catalogue
    grants it. ``default_tiers`` suggests the plan tiers that include it: ``flask bayline features
    apply-defaults`` (run by ``flask db upgrade``) adds the missing plan rows, never removes any.

    Arguments:
        none.

    Commits:
        no; return the list only.

    Example::

        @hookimpl
        def register_features():
            return [Feature("quotes", "Quotes", "Send repair quotes", default_tiers=("professional",))]
    """


@hookspec
def register_blueprints(app: Flask) -> list[Blueprint]:
    """Return Flask blueprints to mount.

    Called once at start. Name each blueprint ``plugin_<name>``; staff routes
    live under ``/plugins/<name>/``, portal routes under ``/c/.../<name>``. The
    core answers 404 (portal) or 403 ``feature_not_in_plan`` (staff, API) for
    requests to a plugin's blueprint when the plugin is not active for the shop.

    Arguments:
        app: the Flask app being built.

    Commits:
        no (there is no request yet).

    Example::

        @hookimpl
        def register_blueprints(app):
            from .views import bp  # Blueprint("plugin_quotes", __name__, url_prefix="/plugins/quotes")
            return [bp]
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

    Arguments:
        app: the Flask app being built.

    Commits:
        no (the views commit their own work).

    Example::

        @hookimpl
        def register_public_blueprints(app):
            from .webhooks import bp  # Blueprint("plugin_quotes_public", ..., url_prefix="/plugins/quotes/hooks")
            return [bp]
    """


@hookspec
def register_permissions() -> list[Permission]:
    """Declare permissions: the staff roles that hold each, and the API-key scopes that grant it.

    Called once at start. ``scopes`` lists ``"read"`` and/or ``"write"`` (``write`` also grants
    what ``read`` grants; ``admin`` keys hold every permission). A permission without scopes is
    only for staff and admin keys. The older ``{"name": [roles]}`` table is still accepted (no
    scope but ``admin`` grants those).

    Arguments:
        none.

    Commits:
        no; return the list only.

    Example::

        @hookimpl
        def register_permissions():
            return [Permission("quotes.send", ("owner", "admin", "advisor"), ("write",), "Send a quote"),
                    Permission("quotes.read", ("owner", "admin", "advisor"), ("read",))]
    """


@hookspec
def register_event_types() -> list[EventType]:
    """Declare the event types this plugin emits, with their payload shapes.

    Called once at start; emitting an undeclared type raises. ``payload`` is a ``TypedDict``
    class (the reference documents it; a test checks emitted payloads against it).
    ``portal_live`` / ``staff_live``: the core announces the event (type and claim id only) to the
    claim's open portal pages / the shop's open staff pages when the payload has ``claim_id``.

    Arguments:
        none.

    Commits:
        no; return the list only.

    Example::

        class QuoteSent(TypedDict):
            claim_id: int
            quote_id: int

        @hookimpl
        def register_event_types():
            return [EventType("quotes.sent", QuoteSent, "A quote was sent to the customer.", staff_live=True)]
    """


@hookspec
def register_tenant_settings() -> list[SettingDef]:
    """Declare per-shop settings: key (``<name>.*``), type, default, editing roles.

    Called once at start. Values are stored by the core, validated on write and
    editable in the staff console and the API. The console's settings page lists them
    under ``group`` (default: the feature's name), with ``label`` and ``help``, the
    ``choice_labels`` words for ``choices``, and a preview for ``message_template`` texts.

    Arguments:
        none.

    Commits:
        no; return the list only.

    Example::

        @hookimpl
        def register_tenant_settings():
            return [SettingDef("quotes.valid_days", "Days a quote stays valid", "int", 30, feature="quotes",
                               help="After that the customer asks for a new quote.")]
    """


@hookspec
def register_periodic_tasks(celery: Celery) -> dict[str, dict[str, Any]]:
    """Return Celery beat schedule entries, keyed by entry name.

    Called once at start. Each entry is a Celery beat entry dict
    (``{"task": "bayline_<name>.task", "schedule": 300}``).

    Arguments:
        celery: the app's Celery instance (register tasks on it with ``shared_task`` as usual).

    Commits:
        no; the tasks commit their own work.

    Example::

        @hookimpl
        def register_periodic_tasks(celery):
            return {"quotes-expire": {"task": "bayline_quotes.expire", "schedule": 3600}}
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands to the ``flask`` CLI. Called once at start.

    Arguments:
        cli: the app's ``flask`` command group; add a group named after the plugin.

    Commits:
        no; the commands commit their own work.

    Example::

        @hookimpl
        def register_commands(cli):
            @cli.command("quotes-report")
            def report():
                click.echo("...")
    """


@hookspec(historic=True)
def app_configured(app: Flask) -> None:
    """The app is fully configured. Historic: plugins registered later still get it.

    Arguments:
        app: the configured Flask app (extensions, blueprints and settings in place).

    Commits:
        no (no request, no tenant).

    Example::

        @hookimpl
        def app_configured(app):
            app.extensions["bayline_quotes.client"] = QuoteClient(app.config.get("QUOTES_URL"))
    """


# -------------------------------------------------------------------------
# Portal and console: called per request, only for plugins active for the shop.
# A raising implementation is logged and skipped; the page renders without it.
# -------------------------------------------------------------------------


@hookspec
def prefetch(claim: Claim, view: str, bundle: Bundle) -> None:
    """Declare the rows your portal card (``view == "portal"``) or staff claim panel
    (``view == "staff"``) of ``claim`` reads, before any card or panel is rendered.

    Called once per rendered portal page and staff claim page, before ``portal_sections`` /
    ``claim_panels``. Add each read as a part, ``bundle.want(key, select(Model).where(...))`` (one
    mapped entity per part; name keys after your plugin); the core sends every part of every plugin
    as **one** statement. Your card or panel then reads ``prefetched(key, same_select)``
    (:mod:`bayline.plugin_api`), which answers from the bundle, or sends the select alone when the
    page did not declare it (a test calling your hook directly). Relationships of bundled rows are
    not loaded: declare the children as a part too and hand them over with ``attach``. Decorate the
    statement builder with ``prepare`` (:mod:`bayline.plugin_api`): it is built once and, when every
    part of the page is prepared, so is the page's one statement (no select built per request).

    Arguments:
        claim: the claim of the page (tenant context set).
        view: ``"portal"`` (the customer page) or ``"staff"`` (the staff claim page).
        bundle: the page's :class:`bayline.plugin_api.Bundle`.

    Commits:
        no: a page view must not write.

    Example::

        @prepare
        def versions_stmt(claim_id):
            return select(QuoteVersion).where(QuoteVersion.claim_id == claim_id)

        @hookimpl
        def prefetch(claim, view, bundle):
            if view == "portal":
                bundle.want("quotes.versions", versions_stmt(claim.id))
    """


@hookspec
def portal_sections(claim: Claim, viewer: Viewer, page: PortalPage) -> list[PortalSection]:
    """Cards for the customer portal page of ``claim``.

    Called per portal page view; return :class:`bayline.PortalSection` items
    (rendered HTML, escaped by you) ordered by ``order``. Read what the page already loaded from
    ``page`` instead of querying it again (an implementation may leave ``page`` out of its
    signature: pluggy passes only the arguments it names).

    Arguments:
        claim: the claim of the customer's portal session (tenant context set).
        viewer: who looks at the page (the claim's customer).
        page: the prepared context (:class:`bayline.plugin_api.PortalPage`): ``page.shop``,
            ``page.settings`` (every setting of the shop), ``page.stages`` (active stages), and
            ``page.prefetch(key, loader)``, which runs ``loader`` once per page for every card.

    Commits:
        no: a page view must not write.

    Example::

        @hookimpl
        def portal_sections(claim, viewer):
            html = render_template("bayline_quotes/_card.html", quotes=quotes_of(claim))
            return [PortalSection("quotes", "Your quote", html, order=70)]
    """


@hookspec
def claim_panels(claim: Claim, user: User) -> list[ClaimPanel]:
    """Panels for the staff claim page, as :class:`bayline.ClaimPanel` (rendered HTML).

    Arguments:
        claim: the claim shown (tenant context set).
        user: the staff user looking at it (``g.principal`` has the permissions).

    Commits:
        no: a page view must not write; forms in the panel post to your own routes.

    Example::

        @hookimpl
        def claim_panels(claim, user):
            html = render_template("bayline_quotes/_panel.html", claim=claim)
            return [ClaimPanel("quotes", "Quotes", html, order=40)]
    """


@hookspec
def menu_items(user: User, shop: Shop) -> list[MenuItem]:
    """Links for the staff console's navigation bar (the core's own come from the same hook).

    Called for every console page of a logged-in staff user; items are sorted by ``order``
    (the core's use 10-60).

    Arguments:
        user: the staff user.
        shop: the shop they work in now.

    Commits:
        no.

    Example::

        @hookimpl
        def menu_items(user, shop):
            return [MenuItem("Quotes", url_for("plugin_quotes.index"), order=300)]
    """


@hookspec
def composer_extensions(claim: Claim, user: User, args: dict[str, str]) -> list[ComposerExtension]:
    """Your part of the claim page's one composer, as :class:`bayline.plugin_api.ComposerExtension`.

    Called for each render of the staff claim page (only for plugins active for the shop). The
    ``html`` goes inside the composer's form; ``body``/``channel`` prefill a fresh composer (the first
    extension giving a body wins; never over what staff typed after a refused send);
    ``replaces_send`` hides the core's Send button (your html carries the send).

    Arguments:
        claim: the claim shown (tenant context set).
        user: the staff user (``g.principal`` has the permissions).
        args: the page's query string (e.g. ``ai_draft=12`` after your route redirected back).

    Commits:
        no: a page view must not write; your buttons post to your own routes.

    Example::

        @hookimpl
        def composer_extensions(claim, user, args):
            html = render_template("bayline_ai_drafts/_composer.html", claim=claim)
            return [ComposerExtension("ai_drafts", html, order=10)]
    """


@hookspec
def message_actions(claim: Claim, message: Message, user: User) -> list[MessageAction]:
    """Controls beside one message of the claim page's thread, as :class:`bayline.plugin_api.MessageAction`.

    Called for each message of the thread shown (only for plugins active for the shop).

    Arguments:
        claim: the claim shown.
        message: the thread's message (``direction`` ``"in"``: from the customer).
        user: the staff user.

    Commits:
        no.

    Example::

        @hookimpl
        def message_actions(claim, message, user):
            if message.direction != "in":
                return []
            return [MessageAction("ai_drafts", render_template("bayline_ai_drafts/_suggest.html", m=message))]
    """


@hookspec
def extra_template_vars(template_name: str) -> dict[str, Any]:
    """Extra variables for every rendered template (merged in plugin order).

    Called for each template rendered by a request of a shop with the plugin active; the view's
    own variables win over a plugin's of the same name.

    Arguments:
        template_name: the template being rendered (``staff/claim.html``, ``portal/page.html`` ...).

    Commits:
        no.

    Example::

        @hookimpl
        def extra_template_vars(template_name):
            return {"quotes_help_url": "https://example.com/help"} if template_name.startswith("staff/") else {}
    """


# -------------------------------------------------------------------------
# Messaging
# -------------------------------------------------------------------------


@hookspec(firstresult=True)
def deliver(outbox_item: OutboxItem, body: str, provider_key: str) -> dict[str, Any] | None:
    """Hand one outbox row to your provider, when ``outbox_item.channel`` is yours; else return None.

    Called by the core send task (``bayline.messaging.send``) after consent, suppression, quiet
    hours and rate limits passed, with the row in state ``sending``. First non-None result wins,
    so one plugin per channel answers. Report later provider events (webhooks) through
    ``bayline.plugin_api.outbox.report_state``.

    Arguments:
        outbox_item: the row (``channel``, ``recipient``, ``purpose``, ``kind``, ``subject``,
            ``options`` such as ``media_urls``); its stored ``body`` stays masked.
        body: the provider text, ``{portal_link}`` filled with the claim's live link.
        provider_key: send it as the provider's idempotency key: a task redelivered after a crash
            calls you again with the same key, a staff retry with a new one.

    Returns:
        ``{"state": "sending" | "sent" | "delivered" | "failed", "provider_id": ..., "reason": ...}``,
        or ``{"state": "retry", "retry_in": seconds, "reason": ...}`` for a temporary failure (the
        row is held and the scheduler tries again).

    Commits:
        no: the core commits the row's new state after the hook returns; an implementation may
        commit its own provider rows.

    Example::

        @hookimpl
        def deliver(outbox_item, body, provider_key):
            if outbox_item.channel != "sms":
                return None
            sent = client.messages.send(to=outbox_item.recipient, text=body, idempotency_key=provider_key)
            return {"state": "sending", "provider_id": sent.data.id}
    """


@hookspec
def link_fields(outbox_item: OutboxItem, claim: Claim | None, names: list[str]) -> dict[str, str] | None:
    """Fill your own link placeholders of an outbox row, like the core fills ``{portal_link}``: only
    in the provider request, so the stored row, the claim's thread and staff never see the link.

    A plugin names its placeholders when it enqueues (``outbox.enqueue(..., link_fields=["csi_tap_1"])``;
    each must appear as ``{name}`` in the body and start with the plugin's name). At send time the core
    asks the plugins active for the row's shop for the values; a name no plugin fills fails the row
    (``link_unavailable``) rather than sending a placeholder. Called again on a retried send: mint a
    fresh link each time, or find the one you minted for the row.

    Arguments:
        outbox_item: the row being sent (state ``sending``; ``id``, ``channel``, ``options``).
        claim: the row's claim, or None.
        names: the row's placeholder names (without braces); fill those that are yours.

    Returns:
        ``{name: absolute URL}`` for the names you fill (from ``public_url``), or None.

    Commits:
        no: add rows (e.g. a hashed one-use token) to the session; the core commits them with the
        send attempt before the provider request leaves.

    Example::

        @hookimpl
        def link_fields(outbox_item, claim, names):
            mine = [n for n in names if n.startswith("widget_")]
            if not mine:
                return None
            raw = secrets.token_urlsafe(16)
            get_session().add(WidgetLink(claim_id=claim.id, token_hash=sha256(raw)))
            return {n: public_url(f"/plugins/widget/l/{raw}") for n in mine}
    """


@hookspec
def channel_ready(shop: Shop, channel: str) -> bool | None:
    """Whether this plugin can send on ``channel`` (e.g. "sms") for ``shop`` now: active for the shop
    and configured (a sending number, credentials). Return None for channels it does not provide.
    The core asks through ``bayline.messages.channels.channel_ready`` before it offers a send (the
    portal's "text me a new link", the claim page's "Text link to customer"); a raising
    implementation counts as "not ready".

    Arguments:
        shop: the shop that would send.
        channel: the channel asked about ("sms").

    Commits:
        no: a read-only question; implementations must not write.

    Example::

        @hookimpl
        def channel_ready(shop, channel):
            return channel == "sms" and provider.configured() if channel == "sms" else None
    """


# -------------------------------------------------------------------------
# Payments and signatures: services one plugin provides and another uses
# -------------------------------------------------------------------------


@hookspec
def payment_provider(name: str) -> PaymentProvider | None:
    """Your :class:`bayline.plugin_api.PaymentProvider` when ``name`` is its name; else None.

    Asked through ``bayline.plugin_api.payments.provider(name)``: in a shop's request or task only the
    plugins active for the shop answer; a provider webhook (no shop yet) asks every installed plugin
    and checks the shop's features once the verified payload names the session. The first provider
    returned wins, so give each provider a distinct name (``"stripe"``). A plugin taking payments
    routes its webhook per provider name (``/plugins/<plugin>/webhooks/<name>``) and lets the
    provider verify the signature (``parse_webhook``).

    Arguments:
        name: the provider asked for (a shop setting such as ``quotes.payment_provider``, or the
            webhook path's last part).

    Commits:
        no: a lookup; the provider's methods talk to the provider, the caller records the result.

    Example::

        @hookimpl
        def payment_provider(name):
            return STRIPE if name == "stripe" else None
    """


@hookspec
def claim_facts(claim: Claim, audience: str) -> list[ClaimFact]:
    """Facts your plugin knows about ``claim`` that a drafted message may state, as
    :class:`bayline.plugin_api.ClaimFact` (a balance, a supplement's status, a pickup appointment).

    Asked through ``bayline.plugin_api.drafting.facts(claim, audience)`` (only plugins active for the
    shop answer): this is how a drafting plugin learns what other plugins know without importing
    them. Return only what ``audience`` may be told: a customer never gets what the shop hides from
    customers; mark figures for adjusters only with ``audience="adjuster"``.

    Arguments:
        claim: the claim a message is drafted for (tenant context set).
        audience: ``"customer"`` or ``"adjuster"``.

    Commits:
        no: a lookup.

    Example::

        @hookimpl
        def claim_facts(claim, audience):
            balance = balance_of(claim)
            return [ClaimFact("quotes.balance", "Balance due", f"${balance:,.2f}")] if balance else []
    """


@hookspec
def draft_provider(name: str) -> DraftProvider | None:
    """Your :class:`bayline.plugin_api.DraftProvider` when ``name`` is its name; else None.

    Asked through ``bayline.plugin_api.drafting.provider(name)`` (the shop's active plugins). The
    first provider returned wins, so give each a distinct name (``"template"``,
    ``"openai_compatible"``). A provider only writes text: sending stays a staff action on the
    outbox draft (``outbox.queue_draft``).

    Arguments:
        name: the provider asked for (a shop setting such as ``ai_drafts.provider``).

    Commits:
        no.

    Example::

        @hookimpl
        def draft_provider(name):
            return TEMPLATE if name == "template" else None
    """


@hookspec
def request_signature(claim: Claim, document: SignatureDocument) -> SignatureRequest | None:
    """Create a signing request for ``document`` for the customer of ``claim``; return it, or None
    when you do not provide signatures.

    Asked through ``bayline.plugin_api.signatures.request(claim, document)`` for the plugins active
    for the shop; the first request returned wins (``signatures.available()`` says whether an active
    plugin implements this hook, so a setting that needs signing can be refused without one). When
    every signer signed, the provider emits its signed event (an event type it registers and
    documents) with ``source`` and ``reference`` of the document, so the asker finalises in
    ``on_event`` without importing the provider.

    Arguments:
        claim: the claim whose customer signs (tenant context set).
        document: what to sign (:class:`bayline.plugin_api.SignatureDocument`).

    Commits:
        no: add the request's rows to the session; the caller commits them with its own change (or
        rolls all back).

    Example::

        @hookimpl
        def request_signature(claim, document):
            pkg = create_provided_package(claim, document)
            return SignatureRequest("esign", pkg.public_id, f"/c/s/esign/packages/{pkg.public_id}")
    """


# -------------------------------------------------------------------------
# Look and hosts: how a shop's customer pages read, and where they live
# -------------------------------------------------------------------------


@hookspec(firstresult=True)
def branding(shop: Shop) -> Brand | None:
    """The look of ``shop``'s customer pages, mails and printed documents, or None (neutral).

    Asked for the plugins active for the shop (so a shop moved to a plan without yours gets the
    neutral look on its next request) by the portal and e-sign pages (``portal/base.html``: the
    stylesheet, logo, favicon, welcome line and "Powered by Bayline"), the customer mail layout
    (``outbox.email_html``, colours inlined) and the printed work order, hang tag and receipt (logo
    and colour). The first brand returned wins. Keep it cheap: it runs on every portal page view.

    Arguments:
        shop: the shop whose pages are drawn (its tenant context is set).

    Commits:
        no: a page view or a print must not write.

    Example::

        @hookimpl
        def branding(shop):
            return Brand(shop.name, primary="#7a1f2b", stylesheet_url="/plugins/acme/brand.css")
    """


@hookspec(firstresult=True)
def resolve_host(host: str) -> TenantHost | None:
    """The shops a custom host name serves, or None when ``host`` is not yours.

    Asked of every installed plugin (no shop is known yet) for a request whose ``Host`` is neither
    ``BAYLINE_PUBLIC_URL``'s nor in ``BAYLINE_TRUSTED_HOSTS``. On a host you resolve, only the
    customer paths open (``/c/``, ``/p/``, ``/g/``, static files and ``/plugins/...`` assets), and
    only for the shops named (any other shop's link, session or landing is a 404); a host nobody
    resolves is a 404 where host checking is on (production, or ``BAYLINE_TRUSTED_HOSTS`` set).
    Name only shops for which your feature is active.

    Arguments:
        host: the request's host name, lower case, without the port.

    Commits:
        no: a lookup.

    Example::

        @hookimpl
        def resolve_host(host):
            row = find_host(host)
            return TenantHost(host, frozenset(row.shop_ids)) if row else None
    """


@hookspec(firstresult=True)
def tenant_host(shop: Shop) -> str | None:
    """The host name the customer links of ``shop`` carry (portal links, QR codes, texts, mails),
    or None for the deployment's (``BAYLINE_PUBLIC_URL``).

    Asked for the plugins active for the shop by ``bayline.urls.tenant_base_url`` whenever a link
    is built (the scheme stays ``BAYLINE_PUBLIC_URL``'s). Return only hosts your ``resolve_host``
    answers for this shop, or the link will not open.

    Arguments:
        shop: the shop the link is for.

    Commits:
        no: a lookup.

    Example::

        @hookimpl
        def tenant_host(shop):
            return "status.example-group.com" if shop.group_id == 7 else None
    """


# -------------------------------------------------------------------------
# Landing page: what other plugins put on a shop's public page /p/<slug>
# -------------------------------------------------------------------------


@hookspec
def landing_links(shop: Shop) -> list[LandingLink]:
    """Links for ``shop``'s public landing page (``/p/<slug>``, and beside the location on
    ``/g/<slug>``), as :class:`bayline.plugin_api.LandingLink` (label, url, kind, order).

    Asked through ``bayline.plugin_api.landing.links(shop)`` by the plugin drawing the landing page
    (the branding plugin), for the plugins active for the shop; check your own second feature with
    ``is_feature_active`` (a review link only with ``reviews``). Return ``[]`` when you have nothing
    to link (not configured). ``url`` is a same-origin path (opens on the shop's custom host too) or
    an ``https://`` address; others are dropped, and so is a second link to the same ``url``. The
    page is public and indexable: link public pages only, never a customer's.

    Arguments:
        shop: the shop (location) whose landing page is drawn (its tenant context is set).

    Commits:
        no: a page view must not write.

    Example::

        @hookimpl
        def landing_links(shop):
            url = url_for("plugin_widget_public.book", slug=shop.slug)
            return [LandingLink("Book an inspection", url, kind="booking", order=10)]
    """


@hookspec
def landing_referral(shop: Shop, code: str) -> str | None:
    """Where ``/p/<slug>?ref=<code>`` (a shared referral link) sends the visitor: a same-origin path
    (your public referral page for the code), or None when the code is not one of ``shop``'s.

    Asked through ``bayline.plugin_api.landing.referral(shop, code)`` by the landing page, for the
    plugins active for the shop; the first path wins (the page answers 302 to it). On None from
    every plugin the page renders exactly as without ``ref``: an unknown code is ignored silently,
    so answer only for codes of this shop and never say why a code was refused. ``code`` is already
    checked to be 1-40 letters, digits, ``-`` or ``_``.

    Arguments:
        shop: the shop whose landing page was opened (its tenant context is set).
        code: the ``ref`` query value.

    Commits:
        no: a page view must not write (record the referral when it is used, not when it is opened).

    Example::

        @hookimpl
        def landing_referral(shop, code):
            member = member_by_code(code)
            return f"/plugins/widget/r/{member.code}" if member is not None else None
    """


# -------------------------------------------------------------------------
# Lifecycle
# -------------------------------------------------------------------------


@hookspec
def on_event(event: Event) -> None:
    """React to a core or plugin event after its transaction committed.

    Called for plugins active for ``event.tenant_id`` with the tenant context
    set. The event types and their payloads are listed below; slow work belongs in a
    Celery task started from here. A raising handler is logged; the other handlers still run.

    Arguments:
        event: ``type``, ``tenant_id``, ``payload`` (see the event types), ``occurred_at``, ``id``.

    Commits:
        yes: the change that caused the event is already committed, so a handler that writes
        must commit itself (``bayline.events.commit()``, which also delivers the events it emits);
        rows added without a commit are lost.

    Example::

        @hookimpl
        def on_event(event):
            if event.type == "claim.delivered":
                get_session().add(QuoteReminder(claim_id=event.payload["claim_id"]))
                commit()
    """


@hookspec
def tenant_provisioned(shop: Shop) -> None:
    """A new shop was created (stages and settings are in place).

    Called inside the creating transaction, with the tenant context of the new shop, for the
    core plugins and the plugins active on the new shop's plan.

    Arguments:
        shop: the new shop (flushed, not committed yet).

    Commits:
        no: add your rows to the session; the creator commits them with the shop (or rolls all back).

    Example::

        @hookimpl
        def tenant_provisioned(shop):
            get_session().add(QuoteTemplate(tenant_id=shop.id, name="Standard"))
    """


@hookspec
def entitlements_changed(shop: Shop, before: set[str], after: set[str]) -> None:
    """The set of active features of ``shop`` changed (plan, add-on or toggle).

    Called for every installed plugin (a plugin just switched off hears it too) inside the
    changing transaction, with the shop's tenant context.

    Arguments:
        shop: the shop.
        before: active feature keys before the change.
        after: active feature keys after it.

    Commits:
        no: the change commits with the caller's transaction.

    Example::

        @hookimpl
        def entitlements_changed(shop, before, after):
            if "quotes" in after - before:
                get_session().add(QuoteTemplate(tenant_id=shop.id, name="Standard"))
    """


# -------------------------------------------------------------------------
# Operations: called by platform commands for every installed plugin
# -------------------------------------------------------------------------


@hookspec
def shop_archive_rules() -> ShopArchiveRules | list[ShopArchiveRules]:
    """Say how your tables travel in a shop archive (``flask bayline export-shop`` / ``import-shop``).

    Called by both commands for every installed plugin (core ones too). Tables with a ``tenant_id``,
    and tables reached from them through declared foreign keys, are carried without any rule (new
    primary keys, foreign keys remapped); implement this only for what the schema does not say:
    tables to skip, columns holding storage keys (their files go into the archive), integer columns
    naming rows without a foreign key, ids or keys inside JSON values, secrets to leave out.

    Arguments:
        none.

    Commits:
        no; return the rules only.

    Example::

        @hookimpl
        def shop_archive_rules():
            return ShopArchiveRules(
                storage_keys=("quotes_files.key",),
                id_columns={"quotes_decisions.version_ref": "quotes_versions"},
                json_columns={"quotes_decisions.line_ids":
                              lambda ids, row, remap: [remap.id("quotes_lines", i) for i in ids or []]})
    """
