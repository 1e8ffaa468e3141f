"""Bayline SMS plugin: two-way texting through Telnyx, threaded to the claim, with a consent ledger.

distribution ``bayline-sms`` · package ``bayline_sms`` · entry point ``sms`` · feature key ``sms`` ·
blueprint ``plugin_sms`` under ``/plugins/sms/`` (plus the public, signed ``/plugins/sms/webhook``) ·
Alembic branch ``sms`` · tables ``sms_*`` · settings ``sms.*`` · Celery tasks ``bayline_sms.*``.
"""
from __future__ import annotations

import uuid
from typing import Any

import click
from flask import Flask, g, url_for
from markupsafe import escape

from bayline.plugin_api import (
    ArchiveRemap,
    ClaimPanel,
    Event,
    Feature,
    MenuItem,
    Permission,
    Refused,
    SettingDef,
    Shop,
    ShopArchiveRules,
    files,
    for_shop,
    get_session,
    hookimpl,
    phones,
    shop_settings,
    unscoped,
)

from . import models, tasks  # noqa: F401  (tables join the metadata; tasks register with Celery)

__version__ = "0.1.0"
NAME = "sms"
_OFFICE = ("owner", "admin", "advisor", "estimator", "production_manager")


def _template(value: Any) -> str:
    from .templates import validate

    return validate(str(value))


def _milestone_stages(value: Any) -> str:
    from .templates import parse_milestone_stages

    parse_milestone_stages(str(value))
    return str(value)


def _stage_templates(value: Any) -> str:
    from .templates import parse_stage_templates

    parse_stage_templates(str(value))
    return str(value)


@hookimpl
def register_features() -> list[Feature]:
    return [Feature(NAME, "Two-way SMS", "Texts from the shop's own number threaded onto the claim (Telnyx)")]


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission("sms.send", _OFFICE, ("write",), "Text the customer from the shop's number"),
            Permission("sms.manage", ("owner", "admin"), (), "Order numbers and change texting setup")]


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    from .templates import DEFAULT_MILESTONE_STAGES, DEFAULT_STAGE_TEMPLATE, MILESTONES, VARIABLES

    names = ", ".join("{" + v + "}" for v in VARIABLES)
    return [
        SettingDef("sms.stage_notifications",
                   "Text the customer automatically when a claim is opened and when it changes stage",
                   "bool", False, feature=NAME),
        SettingDef("sms.notify_stages", "Stages that send a text (comma-separated names; empty = every visible "
                   "stage)", "str", "", feature=NAME),
        SettingDef("sms.stage_template", "Stage notification text", "text", DEFAULT_STAGE_TEMPLATE,
                   help=f"Variables: {names}", validate=_template, feature=NAME, message_template=True),
        SettingDef("sms.stage_templates", "Per-stage texts (one per line: Stage name: text)", "text", "",
                   help="e.g. 'Supp Appr: Good news {first_name}, the insurer approved the supplement.' "
                        f"Stages not listed use the stage notification text. Variables: {names}",
                   validate=_stage_templates, feature=NAME),
        SettingDef("sms.cooldown_minutes", "Minimum minutes between two texts for the same claim and stage",
                   "int", 240, feature=NAME),
        *[SettingDef(f"sms.template_{key}", f"Milestone text: {label}", "text", default, validate=_template,
                     help=f"Variables: {names}. {{portal_link}} sends the customer's texting link (the "
                          "same one each time while it works; printed links are not touched).", feature=NAME,
                     message_template=True)
          for key, (label, default) in MILESTONES.items()],
        SettingDef("sms.milestone_stages", "Stages that are milestones (one per line: milestone: Stage, Stage)",
                   "text", DEFAULT_MILESTONE_STAGES, validate=_milestone_stages,
                   help=f"Milestones: {', '.join(MILESTONES)}. A stage listed here sends the milestone text "
                        "(unless it has its own per-stage text).", feature=NAME),
        SettingDef("sms.mms_photo_visibility", "Pictures customers text in become claim photos visible to",
                   "choice", "internal", ("internal", "customer"), feature=NAME,
                   choice_labels=("Staff only", "Staff and the customer (on the portal)")),
    ]


@hookimpl
def register_blueprints(app: Flask) -> list[Any]:
    from .views import bp

    return [bp]


@hookimpl
def register_public_blueprints(app: Flask) -> list[Any]:
    # The Telnyx webhook serves every shop's number and is authenticated by its signature, so it is
    # not plan-gated and is exempted from CSRF (see views.py).
    from .views import webhook_bp

    return [webhook_bp]


@hookimpl
def register_commands(cli: click.Group) -> None:
    """``flask sms assign-number`` / ``release-number``: the platform operator's number mapping
    (run on the server, so platform administrators only; shop admins order or assign through the
    staff routes, which only accept numbers of the platform's Telnyx account)."""
    from flask.cli import AppGroup

    group = AppGroup("sms", help="Texting numbers of shops (platform administration).")

    def _shop(slug: str) -> Shop:
        from sqlalchemy import select

        session = get_session()
        with unscoped(session):
            shop = session.scalars(select(Shop).where(Shop.slug == slug)).first()
        if shop is None:
            raise click.ClickException(f"no shop {slug!r}")
        return shop

    @group.command("assign-number")
    @click.option("--shop", "slug", required=True, help="The shop's slug.")
    @click.option("--messaging-profile-id", default=None, help="Telnyx messaging profile of the number.")
    @click.option("--ignore-quarantine", is_flag=True,
                  help="Assign even though another shop released the number less than the quarantine ago.")
    @click.argument("number")
    def assign_number(slug: str, messaging_profile_id: str | None, ignore_quarantine: bool, number: str) -> None:
        """Map NUMBER to the shop (its previous number, if any, is released into quarantine)."""
        from .numbers import assign

        try:
            phone = phones.to_e164(number, "US")
        except ValueError as exc:
            raise click.ClickException(f"the number {exc}") from None
        with for_shop(_shop(slug)) as shop:
            try:
                assign(phone, source="platform", by="platform (cli)", messaging_profile_id=messaging_profile_id,
                       ignore_quarantine=ignore_quarantine)
            except Refused as refused:
                raise click.ClickException(f"{refused.code}: {refused.message}") from None
            click.echo(f"{shop.slug}: texts now go out from {phone}")

    @group.command("release-number")
    @click.option("--shop", "slug", required=True, help="The shop's slug.")
    def release_number(slug: str) -> None:
        """Release the shop's number (quarantined before another shop may take it)."""
        from .numbers import release

        with for_shop(_shop(slug)) as shop:
            released = release("platform (cli)")
            if released is None:
                raise click.ClickException(f"{shop.slug} has no texting number")
            click.echo(f"{shop.slug}: released {released.phone_number}, quarantined until "
                       f"{released.quarantined_until:%Y-%m-%d %H:%M} UTC")

    cli.add_command(group)


@hookimpl
def register_periodic_tasks(celery: Any) -> dict[str, dict[str, Any]]:
    return {"bayline_sms.release_held": {"task": "bayline_sms.release_held", "schedule": 60.0}}


@hookimpl
def deliver(outbox_item: Any, body: str, provider_key: str) -> dict[str, Any] | None:
    from .channel import deliver as send

    return send(outbox_item, body, provider_key)


@hookimpl
def channel_ready(shop: Any, channel: str) -> bool | None:
    """Texting works for the shop when it has a sending number and the Telnyx key is set."""
    if channel != "sms":
        return None
    import os

    from bayline.plugin_api import plugin_config

    from .service import shop_number

    key = plugin_config("sms").get_str("telnyx_api_key") or os.environ.get("TELNYX_API_KEY")
    return bool(key) and shop_number() is not None


@hookimpl
def menu_items(user: Any, shop: Any) -> list[MenuItem]:
    return [MenuItem("Texts", url_for("plugin_sms.console"), order=300)]


@hookimpl
def on_event(event: Event) -> None:
    if event.type == "claim.stage_changed":
        from .notify import stage_changed

        stage_changed(event)
    elif event.type == "claim.created":
        from .notify import claim_created

        claim_created(event)


def _media_state(item: dict[str, Any]) -> str:
    status = str(item.get("status") or "")
    text = {"pending": "downloading", "held": "waiting in the inbox until the text is filed",
            "stored": "on the claim" + (" (photos)" if item.get("photo_id") else " (files)"),
            "failed": "download failed, retrying", "refused": "not stored"}.get(status, status)
    return f"{text}: {item['error']}" if item.get("error") else text


@hookimpl
def claim_panels(claim: Any, user: Any) -> list[ClaimPanel]:
    from flask_wtf.csrf import generate_csrf
    from sqlalchemy import select

    from .models import SmsInbound
    from .service import is_opted_out, shop_number

    session = get_session()
    number = shop_number()
    if number is None:
        setup = escape(url_for("plugin_sms.console"))
        return [ClaimPanel(NAME, "Text messages", f'<p>Texting is not set up yet: the shop has no texting number. '
                           f'An owner or admin picks one on the <a href="{setup}">Texts</a> page.</p>', order=150)]
    # Texts themselves are in the claim's one conversation (core); this panel keeps what only texting
    # has: pictures received by text and their download state, guessed matches, milestone texts.
    items: list[tuple[Any, str]] = []
    for inn in session.scalars(select(SmsInbound).where(SmsInbound.claim_id == claim.id)):
        if not inn.needs_refile and not inn.media_files:
            continue
        flag = ' <small class="sms-flag">matched by guess: re-file if wrong</small>' if inn.needs_refile else ""
        shown = "".join(f' <small class="sms-media sms-media-{escape(m.get("status"))}">picture {n}: '
                        f'{escape(_media_state(m))}</small>' for n, m in enumerate(inn.media_files or [], 1))
        items.append((inn.received_at, f'<li class="sms-in">{escape(inn.body)}{flag}{shown}</li>'))
    items.sort(key=lambda i: i[0])
    to = claim.customer_mobile or ""
    opted_out = bool(to) and is_opted_out(to)
    notice = (f'<p class="sms-optout">{escape(phones.pretty(to))} has opted out (STOP): texts are not sent.</p>'
              if opted_out else "")
    action = url_for("plugin_sms.send_message", claim_id=claim.id)
    from .templates import MILESTONES, PORTAL_LINK

    settings = shop_settings("sms", claim.tenant_id)

    options, with_link = "", []
    for key, (label, _) in MILESTONES.items():
        text = settings.get_str(f"template_{key}")
        if PORTAL_LINK in text:
            with_link.append(label)
        marker = " (with portal link)" if PORTAL_LINK in text else ""
        options += f'<option value="{key}">{escape(label)}{marker}</option>'
    pictures = ""
    if "photos" in g.get("features", frozenset()):
        shareable = files.customer_photos(claim)
        if shareable:
            boxes = "".join(
                f'<label class="sms-photo"><input type="checkbox" name="photo_ids" value="{p.id}">'
                f'<img src="{escape(url_for("photos_console.staff_thumb", photo_id=p.id))}" alt="" width="80"> '
                f'{escape(p.caption or p.tag)}</label>' for p in shareable[:30])
            pictures = (f'<fieldset class="sms-photos"><legend>Attach photos (customer-visible only; sent as '
                        f'links valid for minutes)</legend>{boxes}</fieldset>')
    form = (f'<form method="post" action="{escape(action)}" class="sms-send">'
            f'<input type="hidden" name="csrf_token" value="{escape(generate_csrf())}">'
            f'<input type="hidden" name="idempotency_key" value="{uuid.uuid4().hex}">'
            f'<p class="muted">Texts to {escape(phones.pretty(to) or "(no mobile)")} from '
            f'{escape(phones.pretty(number.phone_number))} are written in the conversation.</p>'
            f'<label for="sms-template-{claim.id}">Send a milestone text</label>'
            f'<select id="sms-template-{claim.id}" name="template" required><option value="">Pick one</option>'
            f'{options}</select>'
            f'<p class="sms-link-note"><small>A text containing {{portal_link}} (in the chosen template: '
            f'{escape(", ".join(with_link) or "none")}) carries the customer\'s texting link; printed and other '
            f'links keep working.</small></p>{pictures}'
            f'<label class="check"><input type="checkbox" name="confirm_quiet_hours" value="1"> Send even during '
            f'quiet hours</label><button type="submit" class="btn secondary">Send milestone text</button></form>')
    received = (f'<h3>Pictures and guessed matches</h3><ul class="sms-thread">{"".join(h for _, h in items)}</ul>'
                if items else "")
    html = f'{received}{notice}{form}'
    return [ClaimPanel(NAME, "Text messages", html, order=150)]


def _media_files(items: Any, row: dict[str, Any], remap: ArchiveRemap) -> Any:
    """Inbound MMS media: a held item's storage ``key``, a stored one's ``photo_id`` / ``attachment_id``."""
    if not isinstance(items, list):
        return items
    out = []
    for item in items:
        if isinstance(item, dict):
            item = dict(item)
            if item.get("key"):
                item["key"] = remap.key(item["key"])
            for name, table in (("photo_id", "photos"), ("attachment_id", "attachments")):
                if item.get(name) is not None:
                    item[name] = remap.id(table, item[name])
        out.append(item)
    return out


@hookimpl
def shop_archive_rules() -> ShopArchiveRules:
    return ShopArchiveRules(json_columns={"sms_inbound.media_files": _media_files})
