"""Console pages under ``/plugins/email``: the shop inbox (mail no claim matched), one message with
its sanitised HTML in a sandboxed frame, one-click re-linking, the mailboxes and their health, and
the adjuster thread's composer. Bad input re-renders the form with the error and what was typed."""
from __future__ import annotations

import uuid
from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from sqlalchemy import select

from bayline.plugin_api import (
    Claim,
    Refused,
    commit,
    current_principal,
    external_url_for,
    get_session,
    outbox,
    require,
    staff_blueprint,
)

from . import NAME, health, imap, service
from .models import AUDIENCES, EmailConnection, EmailMessage
from .tokens import inbound_domain

staff = staff_blueprint(NAME)
# The message frame: no scripts, no remote loads at all (trackers), no forms; the iframe is sandboxed too.
FRAME_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; " \
            "frame-ancestors 'self'"


def _message(email_message_id: int) -> EmailMessage:
    row = get_session().get(EmailMessage, email_message_id)
    if row is None:
        abort(404)
    return row


def _claim(claim_id: int) -> Claim:
    claim = get_session().get(Claim, claim_id)
    if claim is None:
        abort(404)
    return claim


def forwarding_address() -> str:
    shop = service.shop()
    return f"{shop.slug if shop else 'shop'}@{inbound_domain()}"


@staff.get("/")
@require("email.read")
def inbox() -> Any:
    conns = list(get_session().scalars(select(EmailConnection).order_by(EmailConnection.id)))
    return render_template("bayline_email/inbox.html", rows=service.inbox(), connections=conns, health=health,
                           forwarding=forwarding_address())


@staff.get("/messages/<int:email_message_id>")
@require("email.read")
def message(email_message_id: int, error: str | None = None, typed: str = "", status: int = 200) -> Any:
    row = _message(email_message_id)
    claim = get_session().get(Claim, row.claim_id) if row.claim_id else None
    return render_template("bayline_email/message.html", row=row, claim=claim, error=error, typed=typed,
                           audiences=AUDIENCES), status


@staff.get("/messages/<int:email_message_id>/html")
@require("email.read")
def message_html(email_message_id: int) -> Any:
    row = _message(email_message_id)
    response = make_response(render_template("bayline_email/frame.html", html=row.body_html or ""))
    response.headers["Content-Security-Policy"] = FRAME_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@staff.post("/messages/<int:email_message_id>/link")
@require("email.file")
def link(email_message_id: int) -> Any:
    row = _message(email_message_id)
    number = (request.form.get("claim_number") or "").strip()
    audience = request.form.get("audience") or "customer"
    if audience not in AUDIENCES:
        return message(email_message_id, error="Choose the customer or the adjuster thread.", typed=number,
                       status=422)
    claim = get_session().scalars(select(Claim).where(Claim.number == number)).first() if number else None
    if claim is None:
        return message(email_message_id, error=f"No claim numbered “{number}” in this shop." if number
                       else "Enter the claim (RO) number.", typed=number, status=422)
    service.relink(row, claim, audience, current_principal().user_id)
    flash(f"Filed on claim {claim.number} ({audience} thread); later mail of this conversation follows.")
    return redirect(url_for("plugin_email.message", email_message_id=row.id))


@staff.get("/connections")
@require("email.manage")
def connections(error: dict[str, str] | None = None, typed: dict[str, str] | None = None, status: int = 200) -> Any:
    conns = list(get_session().scalars(select(EmailConnection).order_by(EmailConnection.id)))
    return render_template("bayline_email/connections.html", connections=conns, health=health,
                           errors=error or {}, typed=typed or {}, forwarding=forwarding_address()), status


FIELDS = ("address", "imap_host", "imap_port", "smtp_host", "smtp_port", "username", "smtp_security")


@staff.post("/connections")
@require("email.manage")
def connect() -> Any:
    typed = {k: (request.form.get(k) or "").strip() for k in FIELDS}
    errors: dict[str, str] = {}
    if "@" not in typed["address"] or len(typed["address"]) > 254:
        errors["address"] = "Enter the mailbox's email address."
    if not typed["imap_host"]:
        errors["imap_host"] = "Enter the IMAP server."
    ports: dict[str, int | None] = {}
    for name, required in (("imap_port", True), ("smtp_port", False)):
        value = typed[name]
        if not value and not required:
            ports[name] = None
            continue
        if not value.isdigit() or not 0 < int(value) < 65536:
            errors[name] = "A port from 1 to 65535."
        else:
            ports[name] = int(value)
    if typed["smtp_security"] not in ("ssl", "starttls", "none"):
        errors["smtp_security"] = "Choose SSL, STARTTLS or none."
    password = request.form.get("password") or ""
    if not password:
        errors["password"] = "Enter the mailbox password (or app password)."
    if errors:
        return connections(error=errors, typed=typed, status=422)
    conn = service.connect_imap(address=typed["address"], imap_host=typed["imap_host"],
                                imap_port=ports["imap_port"] or 993, username=typed["username"] or typed["address"],
                                password=password, smtp_host=typed["smtp_host"] or None,
                                smtp_port=ports.get("smtp_port"), imap_ssl=request.form.get("imap_ssl") == "1",
                                smtp_security=typed["smtp_security"])
    imap.sync(conn)
    flash(f"{conn.address}: " + ("connected and synced." if conn.status == "ok" else health.banner(conn)))
    return redirect(url_for("plugin_email.connections"))


@staff.post("/connections/<int:connection_id>/sync")
@require("email.manage")
def sync_now(connection_id: int) -> Any:
    conn = get_session().get(EmailConnection, connection_id)
    if conn is None:
        abort(404)
    imported = imap.sync(conn)
    flash(f"{conn.address}: {imported} new message(s)." if conn.status == "ok" else health.banner(conn))
    return redirect(url_for("plugin_email.connections"))


@staff.post("/connections/<int:connection_id>/disconnect")
@require("email.manage")
def disconnect(connection_id: int) -> Any:
    conn = get_session().get(EmailConnection, connection_id)
    if conn is None:
        abort(404)
    if conn.auth == "oauth":
        from . import oauth

        oauth.disconnect(conn)
    service.disconnect(conn)
    flash(f"{conn.address} disconnected; its stored password or tokens were deleted.")
    return redirect(url_for("plugin_email.connections"))


@staff.post("/claims/<int:claim_id>/adjuster")
@require("email.send")
def send_adjuster(claim_id: int) -> Any:
    """The adjuster thread's composer: an email to the claim's adjuster through the outbox (purpose
    conversational, off the customer conversation), idempotent per rendered form."""
    claim = _claim(claim_id)
    body = (request.form.get("body") or "").strip()
    key = request.form.get("idempotency_key") or uuid.uuid4().hex
    back = f"/console/claims/{claim.id}"
    if not body:
        flash("Write the email to the adjuster first.")
        return redirect(back)
    if not claim.adjuster_email:
        flash("The claim has no adjuster email address.")
        return redirect(back)
    try:
        item, created = outbox.enqueue(channel="email", purpose="conversational", recipient=claim.adjuster_email,
                                       body=body, idempotency_key=f"adjuster:{claim.id}:{key}", claim=claim,
                                       user_id=current_principal().user_id, thread=False,
                                       options={"audience": "adjuster"},
                                       confirm_quiet_hours=True)
    except Refused as refused:
        get_session().rollback()
        flash(f"Not sent: {refused.message}")
        return redirect(back)
    commit(get_session())
    flash(f"Email to the adjuster: {item.state}." if created else "Already sent (a second click changes nothing).")
    return redirect(back)


# -- OAuth 2.0 connections (authorization code flow) --------------------------------------------


@staff.post("/oauth/start")
@require("email.manage")
def oauth_start() -> Any:
    """Send the owner to the provider to approve access; the mailbox details wait in the session."""
    import secrets

    from flask import session as browser

    from . import oauth

    typed = {k: (request.form.get(k) or "").strip() for k in ("address", "imap_host", "imap_port", "smtp_host",
                                                             "smtp_port")}
    if "@" not in typed["address"]:
        return connections(error={"oauth_address": "Enter the mailbox's email address."}, typed=typed, status=422)
    if not oauth.configured():
        return connections(error={"oauth_address": "OAuth is not set up on this platform; connect with a "
                                  "password or use the forwarding address."}, typed=typed, status=422)
    state = secrets.token_urlsafe(24)
    browser["email_oauth"] = {"state": state, **typed}
    return redirect(oauth.authorization_url(external_url_for("plugin_email.oauth_callback"), state))


@staff.get("/oauth/callback")
@require("email.manage")
def oauth_callback() -> Any:
    """The provider's redirect: a page with one button that finishes the connection (a GET never writes)."""
    return render_template("bayline_email/oauth_finish.html", code=request.args.get("code") or "",
                           state=request.args.get("state") or "", error=request.args.get("error"))


@staff.post("/oauth/finish")
@require("email.manage")
def oauth_finish() -> Any:
    import hmac

    from flask import session as browser

    from . import oauth

    pending = browser.pop("email_oauth", None) or {}
    state, code = request.form.get("state") or "", request.form.get("code") or ""
    if not pending or not code or not hmac.compare_digest(str(pending.get("state", "")), state):
        return connections(error={"oauth_address": "That approval did not come from this browser's request; "
                                  "start again."}, status=422)
    try:
        conn = oauth.connect(code, external_url_for("plugin_email.oauth_callback"), pending["address"],
                             imap_host=pending.get("imap_host") or None,
                             imap_port=int(pending["imap_port"]) if str(pending.get("imap_port", "")).isdigit()
                             else None, smtp_host=pending.get("smtp_host") or None,
                             smtp_port=int(pending["smtp_port"]) if str(pending.get("smtp_port", "")).isdigit()
                             else None)
    except Exception as exc:  # the provider refused the code (expired, reused)
        get_session().rollback()
        return connections(error={"oauth_address": f"The provider refused the approval ({type(exc).__name__}); "
                                  "start again."}, typed=pending, status=422)
    flash(f"{conn.address} connected over OAuth.")
    return redirect(url_for("plugin_email.connections"))
