"""The customer's account pages under ``/c/s/accounts`` (inside a verified portal session: the token
link stays the front door) and the staff action under ``/plugins/accounts``.

Refusals are friendly pages: a wrong, expired or used code re-renders the form with the message and
what was typed; too many tries is a 429 page that says to ask for a new code."""
from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, g, redirect, render_template, request, url_for

from bayline.plugin_api import (
    Claim,
    Refused,
    channel_link,
    commit,
    current_portal_claim,
    for_shop,
    get_session,
    portal_blueprint,
    rate_limit,
    require,
    staff_blueprint,
)

from . import NAME, passkeys, service
from .models import AccountsAccount

portal = portal_blueprint(NAME, static_folder="static", static_url_path="/static")
staff = staff_blueprint(NAME)


def _claim_key() -> str:
    claim = current_portal_claim()
    return f"accounts:{claim.tenant_id}:{claim.id}"


def _start(error: str | None = None, status: int = 200, via: str | None = None) -> Any:
    claim = current_portal_claim()
    return render_template("bayline_accounts/start.html", shop=g.shop, claim=claim,
                           options=service.options(claim, g.shop), error=error, via=via), status


def _home(account: AccountsAccount, message: str | None = None) -> Any:
    claims = service.claims_of(account, g.shop)
    shops = service.shops_by_id({c.tenant_id for c in claims})
    rows = [(c, shops[c.tenant_id], service.summary(c)) for c in claims]
    return render_template("bayline_accounts/home.html", shop=g.shop, account=account, rows=rows,
                           contacts=[(c, service.masked(c.kind, c.value)) for c in service.contacts(account)],
                           current=current_portal_claim(), passkeys=passkeys.passkeys_of(account), message=message,
                           sessions=service.active_sessions(account))


@portal.get("/")
def index() -> Any:
    account = service.current_account(g.shop)
    if account is None:
        return _start()
    return _home(account, message=request.args.get("done"))


@portal.post("/code")
@rate_limit("10/hour", methods=["POST"], key=_claim_key)
@rate_limit("20/hour", methods=["POST"])
def send_code() -> Any:
    claim = current_portal_claim()
    via = request.form.get("via")
    try:
        service.send_code(claim, g.shop, via or "")
    except Refused as refused:
        get_session().rollback()
        return _start(refused.message, refused.status, via)
    return redirect(url_for("plugin_accounts_portal.verify_form", via=via), 303)


def _verify_page(error: str | None = None, status: int = 200, typed: str = "") -> Any:
    claim = current_portal_claim()
    code = service.latest_code(claim)
    sent_to = service.masked(code.kind, code.value) if code is not None else None
    return render_template("bayline_accounts/verify.html", shop=g.shop, sent_to=sent_to, error=error,
                           typed=typed[:12]), status


@portal.get("/verify")
def verify_form() -> Any:
    return _verify_page()


@portal.post("/verify")
@rate_limit("30/hour", methods=["POST"], key=_claim_key)
@rate_limit("20/minute", methods=["POST"])
def verify() -> Any:
    claim = current_portal_claim()
    typed = request.form.get("code") or ""
    try:
        service.claim_with_code(claim, g.shop, typed)
    except Refused as refused:
        get_session().rollback()
        return _verify_page(refused.message, refused.status, typed)
    return redirect(url_for("plugin_accounts_portal.index"), 303)


def _signed_in() -> AccountsAccount | None:
    return service.current_account(g.shop)


@portal.post("/claims/<int:claim_id>/open")
def open_claim(claim_id: int) -> Any:
    """Open one of the account's repairs: through that repair's ``account`` link (the shop's
    verification, if any, applies as for every link)."""
    account = _signed_in()
    if account is None:
        # another shop's claim is a 404 for anyone; one of this shop's needs the account first
        if get_session().get(Claim, claim_id) is None:
            abort(404)
        return redirect(url_for("plugin_accounts_portal.index"), 303)
    claim = service.claim_of(account, g.shop, claim_id)
    if claim is None:
        abort(404)
    if claim.id == current_portal_claim().id:
        return redirect("/c/s/", 303)
    with for_shop(claim.tenant_id):
        url = channel_link(claim, "account")
        commit()
    return redirect(url, 303)


@portal.post("/sign-out")
def sign_out() -> Any:
    service.sign_out(g.shop)
    return redirect("/c/s/", 303)


@portal.post("/sign-out-everywhere")
def sign_out_everywhere() -> Any:
    account = _signed_in()
    if account is not None:
        service.sign_out_everywhere(account)
    return render_template("bayline_accounts/signed_out.html", shop=g.shop), 200


@portal.get("/export")
def export() -> Any:
    account = _signed_in()
    if account is None:
        return redirect(url_for("plugin_accounts_portal.index"), 303)
    body = json.dumps(service.export(account, g.shop), indent=2, ensure_ascii=False)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="my-repairs.json"'})


@portal.get("/delete")
def delete_form() -> Any:
    if _signed_in() is None:
        return redirect(url_for("plugin_accounts_portal.index"), 303)
    return render_template("bayline_accounts/delete.html", shop=g.shop, error=None)


@portal.post("/delete")
def delete() -> Any:
    account = _signed_in()
    if account is None:
        return redirect(url_for("plugin_accounts_portal.index"), 303)
    if request.form.get("confirm") != "yes":
        return render_template("bayline_accounts/delete.html", shop=g.shop,
                               error="Tick the box to confirm; nothing was deleted."), 422
    service.delete_account(account)
    return render_template("bayline_accounts/deleted.html", shop=g.shop), 200


# -- passkeys (JSON, from accounts.js) ----------------------------------------------------------------


def _json_refusal(refused: Refused) -> Any:
    get_session().rollback()
    return {"code": refused.code, "status": refused.status, "message": refused.message}, refused.status


@portal.post("/passkeys/register/options")
def passkey_register_options() -> Any:
    account = _signed_in()
    if account is None:
        return _json_refusal(Refused(401, "accounts_sign_in", "Sign in to your account first."))
    try:
        return Response(passkeys.registration_options(account), mimetype="application/json")
    except Refused as refused:
        return _json_refusal(refused)


@portal.post("/passkeys/register")
@rate_limit("20/hour", methods=["POST"])
def passkey_register() -> Any:
    account = _signed_in()
    if account is None:
        return _json_refusal(Refused(401, "accounts_sign_in", "Sign in to your account first."))
    try:
        body = passkeys.json_body()
        if not isinstance(body, dict):
            raise Refused(422, "accounts_passkey_invalid", "That is not a passkey answer.")
        row = passkeys.register(account, body.get("credential"), body.get("name"))
    except Refused as refused:
        return _json_refusal(refused)
    return {"id": row.id, "name": row.name}, 201


@portal.post("/passkeys/sign-in/options")
@rate_limit("30/hour", methods=["POST"])
def passkey_sign_in_options() -> Any:
    return Response(passkeys.authentication_options(), mimetype="application/json")


@portal.post("/passkeys/sign-in")
@rate_limit("20/minute", methods=["POST"])
@rate_limit("60/hour", methods=["POST"])
def passkey_sign_in() -> Any:
    try:
        passkeys.sign_in(passkeys.json_body() or {})
    except Refused as refused:
        return _json_refusal(refused)
    return {"next": url_for("plugin_accounts_portal.index")}, 200


@portal.post("/passkeys/<int:passkey_id>/delete")
def passkey_delete(passkey_id: int) -> Any:
    account = _signed_in()
    if account is None:
        # another shop's passkey is a 404 for anyone; this shop's needs its account signed in
        if get_session().get(passkeys.AccountsPasskey, passkey_id) is None:
            abort(404)
        return redirect(url_for("plugin_accounts_portal.index"), 303)
    if not passkeys.remove(account, passkey_id):
        abort(404)
    return redirect(url_for("plugin_accounts_portal.index", done="Passkey removed."), 303)


# -- staff --------------------------------------------------------------------------------------------


@staff.post("/accounts/<int:account_id>/sign-out")
@require("accounts.read")
def staff_sign_out(account_id: int) -> Any:
    """End every session of a customer's account (on the customer's request, e.g. a lost phone)."""
    account = get_session().get(AccountsAccount, account_id)
    if account is None:
        abort(404)
    service.sign_out_everywhere(account)
    back = request.form.get("claim_id", type=int)
    return redirect(f"/console/claims/{back}#panel-{NAME}" if back else "/console/", 303)
