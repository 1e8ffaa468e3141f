"""Staff login, logout, password reset and shop switching."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import login_required, login_user, logout_user
from sqlalchemy import select

from bayline.auth.context import staff_shops
from bayline.auth.models import User
from bayline.auth.passwords import check_strength, hash_password, verify_password
from bayline.auth.reset import make_reset_token, read_reset_token
from bayline.auth.roles import ROLES
from bayline.db import get_session, utcnow
from bayline.extensions import limiter
from bayline.mail import send_platform_mail
from bayline.urls import external_url_for, safe_redirect_target

bp = Blueprint("staff_auth", __name__)


def _safe_next(target: str | None) -> str:
    return safe_redirect_target(target, url_for("console.board"))


def _login_account() -> str:
    """The rate-limit key of the account a login (or reset request) is for: a distributed guesser
    shares one bucket per account, whatever their addresses."""
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])  # per client IP (BAYLINE_PROXY_HOPS behind proxies)
@limiter.limit("20 per hour", methods=["POST"], key_func=_login_account)
def login() -> Any:
    error = None
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        password = request.form.get("password") or ""
        db = get_session()
        user = db.scalar(select(User).where(User.email == email))
        # verify_password hashes even when there is no user, so timing does not reveal accounts
        password_ok = verify_password(user.password_hash if user else None, password)
        if user is not None and user.is_active and password_ok:
            session.clear()
            login_user(user)
            user.last_login_at = utcnow()
            db.commit()
            shops = staff_shops(user)
            if shops:
                session["shop_id"] = shops[0][0].id
            return redirect(_safe_next(request.args.get("next")))
        error = "That email and password don't match."
    return render_template("staff/login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout() -> Any:
    """Log out: the user's session epoch moves on, so this cookie -- and any copy of it, and every
    other login session of the user -- stops working (server-side revocation)."""
    from flask_login import current_user

    if current_user.is_authenticated:
        user = get_session().get(User, current_user.id)
        if user is not None:
            user.session_epoch = (user.session_epoch or 0) + 1
            get_session().commit()
    logout_user()
    session.clear()
    return redirect(url_for("staff_auth.login"))


@bp.post("/switch-shop")
@login_required
def switch_shop() -> Any:
    from flask_login import current_user

    wanted = request.form.get("shop_id", "")
    for shop, _role in staff_shops(current_user):
        if str(shop.id) == wanted:
            session["shop_id"] = shop.id
            return redirect(url_for("console.board"))
    abort(404)


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
@limiter.limit("5 per hour", methods=["POST"], key_func=_login_account)
def forgot() -> Any:
    sent = False
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        user = get_session().scalar(select(User).where(User.email == email))
        if user is not None and user.is_active:
            link = external_url_for("staff_auth.reset", token=make_reset_token(user))
            send_platform_mail(user.email, "Reset your Bayline password",
                               f"Open this link within an hour to choose a new password:\n{link}\n")
        sent = True  # same answer whether or not the address exists
    return render_template("staff/forgot.html", sent=sent)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset(token: str) -> Any:
    db = get_session()
    user = read_reset_token(token, lambda uid: db.get(User, uid) if isinstance(uid, int) else None)
    if user is None:
        return render_template("staff/reset.html", invalid=True), 400
    error = None
    if request.method == "POST":
        password = request.form.get("password") or ""
        error = check_strength(password)
        if password != request.form.get("confirm"):
            error = "The two passwords differ."
        if error is None:
            user.password_hash = hash_password(password)
            user.password_changed_at = utcnow()
            db.commit()
            flash("Password changed. Log in with the new one.")
            return redirect(url_for("staff_auth.login"))
    return render_template("staff/reset.html", invalid=False, error=error)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def invitation(token: str) -> Any:
    """Accept an invitation to a shop's staff: a new person chooses a name and their own password;
    someone with an account accepts while logged in as the invited address."""
    from flask_login import current_user

    from bayline.auth import invitations
    from bayline.tenancy import set_tenant
    from bayline.tenants.models import Shop

    db = get_session()
    invite = invitations.find(token)
    if invite is None:
        return render_template("staff/invitation.html", invalid=True), 400
    set_tenant(invite.tenant_id)  # this request works on the inviting shop's rows only
    shop = db.get(Shop, invite.tenant_id)
    account = db.scalar(select(User).where(User.email == invite.email))
    here = url_for("staff_auth.invitation", token=token)
    context = {"invalid": False, "invitation": invite, "shop": shop, "role_label": ROLES.get(invite.role, invite.role),
               "has_account": account is not None, "login_url": url_for("staff_auth.login", next=here),
               "signed_in_as": current_user.email if current_user.is_authenticated else None}
    if account is not None:
        if not current_user.is_authenticated or current_user.id != account.id:
            return render_template("staff/invitation.html", **context)
        if request.method == "POST":
            invitations.accept(invite, account)
            db.commit()
            session["shop_id"] = shop.id
            flash(f"You now work at {shop.name}.")
            return redirect(url_for("console.board"))
        return render_template("staff/invitation.html", **context)
    errors: dict[str, str] = {}
    draft = {"name": invite.name}
    if request.method == "POST":
        draft = {"name": (request.form.get("name") or "").strip()}
        password = request.form.get("password") or ""
        if not draft["name"] or len(draft["name"]) > 200:
            errors["name"] = "Enter your name (up to 200 characters)."
        weak = check_strength(password)
        if weak:
            errors["password"] = f"The password {weak}."
        elif password != request.form.get("confirm"):
            errors["password"] = "The two passwords differ."
        if not errors:
            from bayline.tenants import provisioning

            user = provisioning.create_user(invite.email, draft["name"], password)
            invitations.accept(invite, user)
            db.commit()
            session.clear()
            login_user(user)
            session["shop_id"] = shop.id
            return redirect(url_for("console.board"))
    return render_template("staff/invitation.html", **context, errors=errors, draft=draft), 422 if errors else 200
