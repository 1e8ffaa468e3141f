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
    enqueue,
    external_url_for,
    get_session,
    outbox,
    public_blueprint,
    rate_limit,
    require,
    staff_blueprint,
    unscoped,
)

from . import NAME, health, service, syncing
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
                           forwarding=forwarding_address(), can_manage=current_principal().can("email.manage"))


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
    from . import oauth

    conns = list(get_session().scalars(select(EmailConnection).order_by(EmailConnection.id)))
    return render_template("bayline_email/connections.html", connections=conns, health=health,
                           errors=error or {}, typed=typed or {}, forwarding=forwarding_address(),
                           providers=oauth.available(), kinds=KIND_LABELS), status


KIND_LABELS = {"imap": "IMAP/SMTP", "gmail": "Gmail", "graph": "Microsoft 365", "forward": "Forwarding"}
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
    syncing.sync(conn)
    flash(f"{conn.address}: " + ("connected and synced." if conn.status == "ok" else health.banner(conn)))
    return redirect(url_for("plugin_email.connections"))


@staff.post("/connections/<int:connection_id>/sync")
@require("email.manage")
def sync_now(connection_id: int) -> Any:
    conn = get_session().get(EmailConnection, connection_id)
    if conn is None:
        abort(404)
    imported = syncing.sync(conn)
    flash(f"{conn.address}: {imported} new message(s)." if conn.status == "ok" else health.banner(conn))
    return redirect(url_for("plugin_email.connections"))


@staff.post("/connections/<int:connection_id>/disconnect")
@require("email.manage")
def disconnect(connection_id: int) -> Any:
    conn = get_session().get(EmailConnection, connection_id)
    if conn is None:
        abort(404)
    syncing.stop_push(conn)
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

OAUTH_FIELDS = ("provider", "address", "imap_host", "imap_port", "smtp_host", "smtp_port")


def _start_oauth(typed: dict[str, str]) -> Any:
    import secrets

    from flask import session as browser

    from . import oauth

    provider = typed.get("provider") or "oauth"
    if provider not in oauth.PROVIDERS:
        return connections(error={"oauth_address": "Choose Gmail, Microsoft 365 or another provider."}, typed=typed,
                           status=422)
    if provider == "oauth" and "@" not in typed.get("address", ""):
        return connections(error={"oauth_address": "Enter the mailbox's email address."}, typed=typed, status=422)
    if typed.get("address") and ("@" not in typed["address"] or len(typed["address"]) > 254):
        return connections(error={"oauth_address": "Enter the mailbox's email address."}, typed=typed, status=422)
    if not oauth.configured(provider):
        return connections(error={"oauth_address": f"{oauth.PROVIDERS[provider].label} is not set up on this "
                                  "platform; connect with a password or use the forwarding address."},
                           typed=typed, status=422)
    state = secrets.token_urlsafe(24)
    try:
        url, keep = oauth.start(provider, external_url_for("plugin_email.oauth_callback"), state,
                                login_hint=typed.get("address") or None)
    except Exception as exc:  # the provider's discovery document did not answer
        return connections(error={"oauth_address": f"{oauth.PROVIDERS[provider].label} did not answer "
                                  f"({type(exc).__name__}); try again in a minute."}, typed=typed, status=422)
    browser["email_oauth"] = {"state": state, **typed, **keep}
    return redirect(url)


@staff.post("/oauth/start")
@require("email.manage")
def oauth_start() -> Any:
    """Send the owner to the provider to approve access; what they typed waits in the browser session."""
    return _start_oauth({k: (request.form.get(k) or "").strip() for k in OAUTH_FIELDS})


@staff.post("/connections/<int:connection_id>/reconnect")
@require("email.manage")
def reconnect(connection_id: int) -> Any:
    """One click: the provider's approval again for an OAuth mailbox (same address, same cursor); the
    password form filled in for the others."""
    conn = get_session().get(EmailConnection, connection_id)
    if conn is None:
        abort(404)
    if conn.auth == "oauth":
        return _start_oauth({"provider": conn.oauth_provider or "oauth", "address": conn.address,
                             "imap_host": conn.imap_host or "", "imap_port": str(conn.imap_port or ""),
                             "smtp_host": conn.smtp_host or "", "smtp_port": str(conn.smtp_port or "")})
    typed = {"address": conn.address, "imap_host": conn.imap_host or "", "imap_port": str(conn.imap_port or ""),
             "smtp_host": conn.smtp_host or "", "smtp_port": str(conn.smtp_port or ""),
             "username": conn.username or "", "smtp_security": conn.smtp_security}
    return connections(error={"password": "Enter the mailbox's current password to reconnect it."}, typed=typed)


@staff.get("/oauth/callback")
@require("email.manage")
def oauth_callback() -> Any:
    """The provider's redirect: a page with one button that finishes the connection (a GET never writes)."""
    return render_template("bayline_email/oauth_finish.html", args=request.args.to_dict(),
                           error=request.args.get("error"))


@staff.post("/oauth/finish")
@require("email.manage")
def oauth_finish() -> Any:
    import hmac

    from flask import session as browser

    from . import gmail, graph, oauth, syncing

    pending = browser.pop("email_oauth", None) or {}
    args = {k: v for k, v in request.form.items() if k not in ("csrf_token",)}
    state, code = args.get("state") or "", args.get("code") or ""
    typed = {k: str(pending.get(k) or "") for k in OAUTH_FIELDS}
    if not pending or not code or not hmac.compare_digest(str(pending.get("state", "")), state):
        return connections(error={"oauth_address": "That approval did not come from this browser's request; "
                                  "start again."}, typed=typed, status=422)
    provider = str(pending.get("provider") or "oauth")
    if provider not in oauth.PROVIDERS:
        return connections(error={"oauth_address": "Unknown provider; start again."}, status=422)
    try:
        token = oauth.exchange(provider, external_url_for("plugin_email.oauth_callback"), pending, args)
    except Exception as exc:  # the provider refused the code (expired, reused), or a bad PKCE / nonce
        get_session().rollback()
        why = exc.error if isinstance(exc, oauth.GrantRefused) else type(exc).__name__
        return connections(error={"oauth_address": f"The provider refused the approval ({why}); start again."},
                           typed=typed, status=422)
    address = typed["address"]
    try:  # the mailbox is the one the provider says was approved, whatever was typed
        if provider == "google":
            address = gmail.profile_with(token["access_token"])["emailAddress"]
        elif provider == "microsoft":
            found = graph.me_with(token["access_token"])
            address = str(found.get("mail") or found.get("userPrincipalName") or "")
    except Exception as exc:
        return connections(error={"oauth_address": f"The provider did not show the approved mailbox "
                                  f"({type(exc).__name__}); start again."}, typed=typed, status=422)
    if "@" not in address:
        return connections(error={"oauth_address": "The provider named no email address for that account."},
                           typed=typed, status=422)
    conn = oauth.connect(provider, token, address,
                         imap_host=typed["imap_host"] or None,
                         imap_port=int(typed["imap_port"]) if typed["imap_port"].isdigit() else None,
                         smtp_host=typed["smtp_host"] or None,
                         smtp_port=int(typed["smtp_port"]) if typed["smtp_port"].isdigit() else None)
    if conn.kind in ("gmail", "graph"):
        syncing.sync(conn)
        syncing.start_push(conn)
    flash(f"{conn.address} connected ({oauth.PROVIDERS[provider].label}).")
    return redirect(url_for("plugin_email.connections"))


# -- push notifications (public: Pub/Sub for Gmail, Graph change notifications) ----------------------

push = public_blueprint(NAME, csrf_protect=False)


def _refuse(status: int, code: str, message: str) -> Any:
    """The core's JSON error shape, whatever the caller's Accept header (providers read the status)."""
    return Refused(status, code, message).payload(), status


def _json_body() -> Any:
    data = request.get_json(silent=True, force=True)
    if data is None:
        raise ValueError("The body is not JSON.")
    return data


def _start_sync(conn: EmailConnection, task: str = "bayline_email.sync", *args: Any) -> bool:
    from bayline.plugin_api import Shop, for_shop, is_feature_active

    with for_shop(conn.tenant_id) as shop:
        if not isinstance(shop, Shop) or not is_feature_active(shop, "email"):
            return False
        enqueue(task, conn.id, *args)
        return True


@push.post("/push/gmail")
@rate_limit("600/minute")
def push_gmail() -> Any:
    """Pub/Sub's push of a Gmail notification: ``?token=`` must be the platform's push token. The body
    names a mailbox and a historyId, no mail: each matching mailbox syncs from its own cursor."""
    import hmac

    from . import gmail, oauth

    expected = oauth.setting("google_push_token") or ""
    given = request.args.get("token") or ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return _refuse(401, "invalid_token", "The push token is missing or wrong.")
    try:
        address, _history = gmail.decode_push(_json_body())
    except ValueError as exc:
        return _refuse(400, "malformed", str(exc))
    session = get_session()
    with unscoped(session):
        conns = list(session.scalars(select(EmailConnection).where(
            EmailConnection.kind == "gmail", EmailConnection.address == address,
            EmailConnection.status != "disconnected")))
    started = sum(_start_sync(c) for c in conns)
    return {"status": "accepted", "mailboxes": started}, 200


def _graph_validation() -> Any:
    token = request.args.get("validationToken")
    if token is None:
        return None
    response = make_response(token[:1000], 200)
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response


def _graph_notifications(lifecycle: bool) -> Any:
    from . import graph

    echo = _graph_validation()
    if echo is not None:
        return echo
    try:
        data = _json_body()
    except ValueError as exc:
        return _refuse(400, "malformed", str(exc))
    items = data.get("value") if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return _refuse(400, "malformed", 'Expected {"value": [notification, ...]}.')
    session = get_session()
    accepted = refused = 0
    for item in items:
        with unscoped(session):
            conn = session.scalars(select(EmailConnection).where(
                EmailConnection.kind == "graph", EmailConnection.push_id == str(item.get("subscriptionId") or ""),
                EmailConnection.status != "disconnected")).first() if item.get("subscriptionId") else None
        if conn is None or not graph.client_state_ok(conn, item.get("clientState")):
            refused += 1
            continue
        event = str(item.get("lifecycleEvent") or "")
        if lifecycle and event:
            accepted += _start_sync(conn, "bayline_email.graph_lifecycle", event)
        elif not lifecycle:
            accepted += _start_sync(conn)
    if items and not accepted and refused:
        return _refuse(401, "invalid_client_state", "No notification named a subscription with its clientState.")
    return {"status": "accepted", "accepted": accepted, "ignored": refused}, 202


@push.post("/push/graph")
@rate_limit("600/minute")
def push_graph() -> Any:
    """Graph change notifications for the inbox subscriptions (and the validationToken handshake)."""
    return _graph_notifications(lifecycle=False)


@push.post("/push/graph/lifecycle")
@rate_limit("600/minute")
def push_graph_lifecycle() -> Any:
    """Graph lifecycle notifications (reauthorizationRequired, subscriptionRemoved, missed)."""
    return _graph_notifications(lifecycle=True)
