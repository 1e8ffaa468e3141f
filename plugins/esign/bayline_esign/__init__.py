"""Bayline e-signature plugin: templates, signing packages, PAdES-sealed PDFs with audit page,
public verification. Feature key, plugin name and Alembic branch: ``esign``."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, TypedDict

import click
from flask import Flask, g, url_for
from markupsafe import escape

from bayline.plugin_api import (
    Claim,
    ClaimPanel,
    EventType,
    Feature,
    MenuItem,
    Permission,
    PortalSection,
    SettingDef,
    ShopArchiveRules,
    SignatureDocument,
    SignatureRequest,
    hookimpl,
    plugin_config,
)

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
    source: str
    """The plugin that asked for the signature (hook ``request_signature``); empty for staff packages."""
    reference: str
    """That plugin's own id of what was signed (e.g. ``version:12``); empty for staff packages."""


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
def request_signature(claim: Claim, document: SignatureDocument) -> SignatureRequest:
    """Another plugin's document for the claim's customer to sign (core hook ``request_signature``):
    a package of that one document; ``document.signed`` carries its ``source`` and ``reference``."""
    from flask import g

    from .service import create_provided_package

    pkg = create_provided_package(claim, source=document.source, reference=document.reference,
                                  title=document.title, body=document.body, shop_name=g.shop.name,
                                  signer_name=document.signer_name, expires_in_days=document.expires_in_days)
    return SignatureRequest(NAME, pkg.public_id,
                            url_for("plugin_esign_portal.document", public_id=pkg.documents[0].public_id))


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

    def ca_dir_option(fn: Any) -> Any:
        return click.option(
            "--ca-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
            help="Where the CA key lives, outside the runtime key directory (default: "
                 "BAYLINE_PLUGIN_ESIGN_CA_DIR). Keep it offline.")(fn)

    def passphrase_option(confirm: bool) -> Any:
        return click.option("--passphrase", envvar="BAYLINE_ESIGN_CA_PASSPHRASE", prompt="CA key passphrase",
                            hide_input=True, confirmation_prompt=confirm,
                            help="Encrypts the CA key (env BAYLINE_ESIGN_CA_PASSPHRASE); not the app's secret.")

    def resolve_ca_dir(given: Path | None) -> Path:
        value = given or plugin_config(NAME).get_str("ca_dir")
        if not value:
            raise click.UsageError("give --ca-dir or set BAYLINE_PLUGIN_ESIGN_CA_DIR")
        return Path(value)

    @group.command("init-keys")
    @click.option("--force", is_flag=True, help="Replace the signing key (earlier documents keep validating).")
    def init_keys(force: bool) -> None:
        """Set up the runtime key directory with a CA whose key is discarded at once (for a CA you keep
        offline, to issue later certificates from: init-ca, then issue-signing-cert)."""
        from flask import current_app

        from .keys import generate_keys, key_dir

        made = generate_keys(key_dir(), current_app.config["SECRET_KEY"].encode(), force=force)
        click.echo(f"{'created' if made else 'kept existing'} keys in {key_dir()} (no CA key stored)")

    @group.command("init-ca")
    @ca_dir_option
    @passphrase_option(confirm=True)
    @click.option("--force", is_flag=True, help="Replace an existing CA in the CA directory.")
    def init_ca_cmd(ca_dir: Path | None, passphrase: str, force: bool) -> None:
        """Create the platform CA in a separate directory (or move an older version's CA key out of
        the runtime key directory there). The app never reads it."""
        from flask import current_app

        from .keys import CaProblem, init_ca, key_dir

        target = resolve_ca_dir(ca_dir)
        try:
            done = init_ca(key_dir(), target, passphrase.encode(), current_app.config["SECRET_KEY"].encode(),
                           force=force)
        except CaProblem as exc:
            raise click.ClickException(str(exc)) from None
        words = {"created": "created a CA in", "moved": "moved the CA key out of the runtime directory to",
                 "kept": "kept the existing CA in"}
        click.echo(f"{words[done]} {target}; next: flask esign issue-signing-cert, then keep {target} offline")

    @group.command("issue-signing-cert")
    @ca_dir_option
    @passphrase_option(confirm=False)
    def issue_cmd(ca_dir: Path | None, passphrase: str) -> None:
        """Issue a new document-signing key and certificate from the CA into the runtime key directory."""
        from flask import current_app

        from .keys import CaProblem, issue_signing_cert, key_dir

        try:
            issue_signing_cert(key_dir(), resolve_ca_dir(ca_dir), passphrase.encode(),
                               current_app.config["SECRET_KEY"].encode())
        except CaProblem as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"issued a signing certificate into {key_dir()} (restart the app workers to use it)")

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
def prefetch(claim: Any, view: str, bundle: Any) -> None:
    from .service import want_claim_rows

    want_claim_rows(claim.id, bundle, portal=view == "portal")


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
    from flask import render_template

    from bayline.plugin_api import current_principal

    from .service import latest_sends, latest_templates, masked, signer_state

    packages = [{"pkg": pkg, "state": state, "sends": latest_sends(pkg),
                 "signer_states": {s.id: signer_state(pkg, s) for s in pkg.signers}}
                for pkg, state in _status_list(claim.id, portal=False)]
    principal = current_principal()
    from flask import session

    from .views import FORM_KEY

    typed = session.pop(FORM_KEY, None) if FORM_KEY in session else None  # after a refusal: what was typed
    typed = typed if isinstance(typed, dict) and typed.get("claim_id") == claim.id else {}
    html = render_template("bayline_esign/claim_panel.html", claim=claim, packages=packages, typed=typed,
                           templates=latest_templates(), texting="sms" in g.get("features", ()), masked=masked,
                           new_key=lambda: uuid.uuid4().hex,
                           can_edit_templates=principal is not None and principal.can("esign.templates"))
    return [ClaimPanel(key="esign", title="E-signature", html=html, order=50)]


@hookimpl
def menu_items(user: Any, shop: Any) -> list[MenuItem]:
    return [MenuItem("Signing templates", url_for("plugin_esign.templates"), order=310)]


@hookimpl
def shop_archive_rules() -> ShopArchiveRules:
    """Signed PDFs live in core storage; a consent names its signer without a foreign key."""
    return ShopArchiveRules(storage_keys=("esign_documents.signed_pdf_key",),
                            id_columns={"esign_consents.signer_id": "esign_signers"})
