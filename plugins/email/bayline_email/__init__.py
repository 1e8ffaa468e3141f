"""Bayline email hub: the shop's mailboxes synced onto the right claim, replies from the shop's address.

distribution ``bayline-email`` · package ``bayline_email`` · entry point ``email`` · feature key
``email`` · blueprint ``plugin_email`` under ``/plugins/email/`` · Alembic branch ``email`` · tables
``email_*`` · Celery tasks ``bayline_email.*``. Outbound email is the ``email`` channel of the core
outbox (hook ``deliver``); inbound mail comes from Gmail's API (watch + history), Microsoft Graph
(change notifications + delta), IMAP (IDLE), a periodic reconciler behind all three, and our own SMTP
endpoint for the forwarding address (``flask email serve-inbound``).
"""
from __future__ import annotations

import threading
from typing import Any

import click
from flask import Flask, render_template, url_for

from bayline.plugin_api import (
    ClaimPanel,
    Feature,
    MenuItem,
    Permission,
    ShopArchiveRules,
    hookimpl,
)

from . import models, tasks  # noqa: F401  (tables join the metadata; tasks register with Celery)

__version__ = "0.1.0"
NAME = "email"
_PAID = ("starter", "professional", "elite", "enterprise")
_OFFICE = ("owner", "admin", "advisor", "estimator", "production_manager")


@hookimpl
def register_features() -> list[Feature]:
    return [Feature(NAME, "Email hub", "The shop's mailbox and forwarding address on the right claim; replies "
                    "from the shop's own address", default_tiers=_PAID)]


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission("email.read", _OFFICE, ("read",), "Read the shop's email inbox and claim email"),
            Permission("email.file", _OFFICE, ("write",), "File an email on a claim"),
            Permission("email.send", _OFFICE, ("write",), "Email the adjuster from the claim page"),
            Permission("email.manage", ("owner", "admin"), (), "Connect and disconnect mailboxes")]


@hookimpl
def register_blueprints(app: Flask) -> list[Any]:
    from .views import staff

    return [staff]


@hookimpl
def register_public_blueprints(app: Flask) -> list[Any]:
    from .views import push

    return [push]


@hookimpl
def register_periodic_tasks(celery: Any) -> dict[str, dict[str, Any]]:
    return {"bayline_email.reconcile": {"task": "bayline_email.reconcile", "schedule": 300.0},
            "bayline_email.renew_push": {"task": "bayline_email.renew_push", "schedule": 3600.0}}


@hookimpl
def register_commands(cli: click.Group) -> None:
    group = click.Group("email", help="Email hub: the inbound SMTP endpoint and IMAP IDLE watchers.")

    @group.command("serve-inbound")
    @click.option("--host", default="0.0.0.0", show_default=True)
    @click.option("--port", default=2525, show_default=True, type=int)
    def serve_inbound(host: str, port: int) -> None:
        """Receive mail for the forwarding and reply addresses (until interrupted)."""
        from flask import current_app

        from .inbound import controller

        ctl = controller(current_app._get_current_object(), host, port)  # type: ignore[attr-defined]
        ctl.start()
        click.echo(f"inbound SMTP on {host}:{port}")
        try:
            threading.Event().wait()
        finally:
            ctl.stop()

    @group.command("idle")
    def idle() -> None:
        """Keep an IMAP IDLE session per connected mailbox (until interrupted)."""
        from flask import current_app

        from bayline.plugin_api import get_session, unscoped

        from .imap import watch
        from .models import EmailConnection

        app = current_app._get_current_object()  # type: ignore[attr-defined]
        session = get_session()
        with unscoped(session):
            pairs = [(c.tenant_id, c.id) for c in session.query(EmailConnection).filter(
                EmailConnection.kind == "imap", EmailConnection.status != "disconnected")]
        stop = threading.Event()
        threads = [threading.Thread(target=watch, args=(app, s, c, stop), daemon=True) for s, c in pairs]
        for t in threads:
            t.start()
        click.echo(f"watching {len(threads)} mailbox(es)")
        try:
            stop.wait()
        finally:
            stop.set()

    cli.add_command(group)


@hookimpl
def deliver(outbox_item: Any, body: str, provider_key: str) -> dict[str, Any] | None:
    from .channel import deliver as send

    return send(outbox_item, body, provider_key)


@hookimpl
def channel_ready(shop: Any, channel: str) -> bool | None:
    """Email works for the shop when a mailbox that can send is connected (Gmail, Microsoft 365, SMTP)."""
    if channel != "email":
        return None
    from .service import sending_connection

    return sending_connection() is not None


@hookimpl
def menu_items(user: Any, shop: Any) -> list[MenuItem]:
    return [MenuItem("Email", url_for("plugin_email.inbox"), order=310)]


@hookimpl
def prefetch(claim: Any, view: str, bundle: Any) -> None:
    if view == "staff":
        from . import service

        service.want_claim_rows(claim.id, bundle)


@hookimpl
def claim_panels(claim: Any, user: Any) -> list[ClaimPanel]:
    import uuid

    from bayline.plugin_api import current_principal

    from . import health, service

    conns = [c for c in service.connections() if health.needs_attention(c)]
    html = render_template("bayline_email/panel.html", claim=claim, adjuster=service.thread(claim, "adjuster"),
                           customer=service.thread(claim, "customer"), broken=conns, health=health,
                           can_manage=current_principal().can("email.manage"),
                           can_send=service.sending_connection() is not None, key=uuid.uuid4().hex)
    return [ClaimPanel(NAME, "Email", html, order=140)]


@hookimpl
def shop_archive_rules() -> ShopArchiveRules:
    return ShopArchiveRules(storage_keys=("email_messages.raw_key",), redact=("email_connections.secret_sealed",),
                            id_columns={}, json_columns={"email_messages.attachment_ids": _attachment_ids})


def _attachment_ids(ids: Any, row: dict[str, Any], remap: Any) -> Any:
    return [remap.id("attachments", i) for i in ids or [] if remap.id("attachments", i) is not None]
