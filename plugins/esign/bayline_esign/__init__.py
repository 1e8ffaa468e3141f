"""Bayline e-signature plugin: templates, signing packages, PAdES-sealed PDFs with audit page,
public verification. Feature key, plugin name and Alembic branch: ``esign``."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, TypedDict

import click
from flask import Flask, g, url_for
from markupsafe import escape

from bayline.plugin_api import ClaimPanel, EventType, Feature, Permission, PortalSection, SettingDef, hookimpl

from . import models  # noqa: F401  (register the tables on the shared metadata)

__version__ = "0.1.0"
NAME = "esign"

_OFFICE = ("owner", "admin", "advisor", "estimator", "production_manager")


@hookimpl
def register_features() -> list[Feature]:
    return [Feature(NAME, "E-signature", "Templates, signing from the phone, PAdES-signed PDFs, verification")]


@hookimpl
def register_permissions() -> list[Permission]:
    # Sending and cancelling packages is everyday office work an integration (write key) may do;
    # editing the legal templates is for the shop's admins and admin keys only.
    return [Permission("esign.send", _OFFICE, ("write",), "Send, resend and cancel signing packages"),
            Permission("esign.templates", ("owner", "admin"), (), "Edit the signing templates")]


class DocumentSigned(TypedDict):
    claim_id: int
    package_id: str
    """Public id of the signing package."""
    document_id: str
    title: str
    signer: str
    """The signers' names, comma-separated."""
    signers: list[str]
    sha256: str
    """SHA-256 of the sealed PDF."""
    package_completed: bool
    """Every document of the package is signed now."""


class EsignDeclined(TypedDict):
    claim_id: int
    package_id: str
    title: str
    signer: str
    reason: str


@hookimpl
def register_event_types() -> list[EventType]:
    return [
        EventType("document.signed", DocumentSigned,
                  "Every signer signed a document of a package and the sealed PDF is stored.", staff_live=True),
        EventType("esign.declined", EsignDeclined, "The customer declined to sign a package, with a reason.",
                  staff_live=True),
    ]


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    return [SettingDef("esign.require_otp", "E-signature: require a one-time code texted to the signer's mobile",
                       "bool", False, help="Needs texting (SMS) and a mobile number for every signer.",
                       feature=NAME)]


@hookimpl
def tenant_provisioned(shop: Any) -> None:
    """A new shop on a plan with e-signature gets the built-in templates with its creation."""
    from .service import ensure_builtin_templates

    ensure_builtin_templates()


@hookimpl
def entitlements_changed(shop: Any, before: set[str], after: set[str]) -> None:
    """A shop that just got e-signature gets the built-in templates it does not have yet."""
    if NAME in after - before:
        from .service import ensure_builtin_templates

        ensure_builtin_templates()


@hookimpl
def register_blueprints(app: Flask) -> list[Any]:
    from .views import portal_routes, staff_routes

    return [staff_routes(), portal_routes()]


@hookimpl
def register_public_blueprints(app: Flask) -> list[Any]:
    # The verification page is public and belongs to no shop, so it is not plan-gated.
    from .views import public_routes

    return [public_routes()]


@hookimpl
def register_commands(cli: click.Group) -> None:
    from flask.cli import AppGroup

    group = AppGroup("esign", help="E-signature: platform keys and verification.")

    @group.command("init-keys")
    @click.option("--force", is_flag=True, help="Replace existing keys (old documents stop validating).")
    def init_keys(force: bool) -> None:
        """Create the platform CA and document-signing certificate under the instance dir."""
        from flask import current_app

        from .keys import generate_keys, key_dir

        made = generate_keys(key_dir(), current_app.config["SECRET_KEY"].encode(), force=force)
        click.echo(f"{'created' if made else 'kept existing'} keys in {key_dir()}")

    @group.command("verify")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def verify_cmd(file: Path) -> None:
        """Validate a signed PDF against the platform CA (exit 1 when not intact/valid)."""
        from .keys import verify

        verdict = verify(file.read_bytes())
        for k, v in verdict.as_dict().items():
            click.echo(f"{k}: {v}")
        click.echo("VALID" if verdict.ok else "NOT INTACT OR NOT VALID")
        raise SystemExit(0 if verdict.ok else 1)

    cli.add_command(group)


def _status_list(claim_id: int, portal: bool) -> list[tuple[Any, str]]:
    from .service import package_state, packages_for_claim

    out = []
    for pkg in packages_for_claim(claim_id, documents_only=portal):
        state = package_state(pkg)
        if portal and state in ("cancelled", "expired"):
            continue
        out.append((pkg, state))
    return out


@hookimpl
def portal_sections(claim: Any, viewer: Any) -> list[PortalSection]:
    items = _status_list(claim.id, portal=True)
    if not items:
        return []
    rows = []
    for pkg, state in items:
        for doc in pkg.documents:
            href = url_for("plugin_esign_portal.document", public_id=doc.public_id)
            label = "Signed" if doc.status == "signed" else ("Sign now" if state == "sent" else state)
            if doc.status == "partially_signed" and state == "sent":
                label = "Signed by some, waiting for the others"
            rows.append(f'<li><a href="{escape(href)}">{escape(doc.title)}</a> &mdash; {escape(label)}</li>')
    html = f"<ul class=\"esign-docs\">{''.join(rows)}</ul>"
    return [PortalSection(key="esign", title="Documents to sign", html=html, order=40)]


@hookimpl
def claim_panels(claim: Any, user: Any) -> list[ClaimPanel]:
    from flask_wtf.csrf import generate_csrf

    from .service import latest_templates, signer_state

    rows = []
    for pkg, state in _status_list(claim.id, portal=False):
        docs = []
        for doc in pkg.documents:
            link = ""
            if doc.status == "signed":
                href = url_for("plugin_esign.signed_pdf", public_id=doc.public_id)
                link = f' (<a href="{escape(href)}">signed PDF</a>)'
            docs.append(f"<li>{escape(doc.title)}: <span class=\"esign-status\">{escape(doc.status)}</span>{link}</li>")
        cancel = ""
        if state == "sent":
            action = url_for("plugin_esign.cancel", public_id=pkg.public_id)
            cancel = (f'<form method="post" action="{escape(action)}"><input type="hidden" name="csrf_token" '
                      f'value="{escape(generate_csrf())}"><button type="submit">Cancel</button></form>')
            if "sms" in g.get("features", ()):
                action = url_for("plugin_esign.send", public_id=pkg.public_id)
                label = "Re-send by text" if pkg.last_sent_at else "Send link by text"
                cancel += (f'<form method="post" action="{escape(action)}"><input type="hidden" name="csrf_token" '
                           f'value="{escape(generate_csrf())}"><input type="hidden" name="idempotency_key" '
                           f'value="{uuid.uuid4().hex}"><button type="submit">{label}</button></form>')
        who = ", ".join(f"{s.name} ({signer_state(pkg, s)})" for s in pkg.signers)
        declined = ""
        if state == "declined":
            declined = (f'<p class="esign-declined">Declined by {escape(pkg.declined_by or "")}: '
                        f'{escape(pkg.decline_reason or "")}</p>')
        rows.append(f"<div class=\"esign-package\"><strong>{escape(pkg.title)}</strong> &mdash; "
                    f"<span class=\"esign-state\">{escape(state)}</span><p>Signers: {escape(who)}</p>{declined}"
                    f"<ul>{''.join(docs)}</ul>{cancel}</div>")
    options = "".join(f'<label><input type="checkbox" name="templates" value="{escape(t.key)}"> '
                      f"{escape(t.title)}</label><br>" for t in latest_templates())
    action = url_for("plugin_esign.create_package", claim_id=claim.id)
    form = (f'<form method="post" action="{escape(action)}"><input type="hidden" name="csrf_token" '
            f'value="{escape(generate_csrf())}">{options}'
            '<label>Second signer (optional) <input name="second_signer_name" maxlength="200"></label> '
            '<label>their mobile <input name="second_signer_mobile" type="tel" maxlength="32"></label><br>'
            '<button type="submit">Prepare for signature</button></form>')
    html = "".join(rows) or "<p>No documents sent for signature yet.</p>"
    return [ClaimPanel(key="esign", title="E-signature", html=html + form, order=50)]
