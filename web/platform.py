"""Staff console for plans: a shop's plan tier and add-ons (grant, revoke) and the audit of every
change (who, when, from, to). ``/console/platform`` is for platform admins (every shop);
``/console/group/plans`` is the same for a group admin, on the locations of their own group only
(any other shop is a 404)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from marshmallow import ValidationError
from sqlalchemy import or_, select

from bayline.auth.permissions import need, staff_only
from bayline.db import get_session
from bayline.events import commit
from bayline.tenants import features
from bayline.tenants.models import Shop

bp = Blueprint("console_platform", __name__, url_prefix="/console/platform")
group_bp = Blueprint("console_group_plans", __name__, url_prefix="/console/group/plans")
LIST_LIMIT = 50


def group_scope() -> int | None:
    """The group a group admin's page is limited to (None on the platform admins' pages)."""
    from flask import g, request

    return g.principal.shop.group_id if request.blueprint == "console_group_plans" else None


def _endpoint(name: str) -> str:
    from flask import request

    return f"{request.blueprint}.{name}"


@group_bp.before_request
@login_required
def _need_group_admin() -> Any:
    from flask import g

    from bayline.errors import Refused

    staff_only()
    if g.principal.role != "group_admin":
        raise Refused(403, "permission_denied", "Only group admins manage the plans of their locations.")


@bp.before_request
@login_required
def _need_platform_admin() -> Any:
    staff_only()
    need("platform.manage")


@group_bp.get("/")
@bp.get("/")
def shops() -> Any:
    """Shops by name or slug (the first 50 matches)."""
    q = (request.args.get("q") or "").strip()[:80]
    stmt = select(Shop).where(Shop.archived_at.is_(None)).order_by(Shop.name, Shop.id).limit(LIST_LIMIT)
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(Shop.name.ilike(like, escape="\\"), Shop.slug.ilike(like, escape="\\")))
    if group_scope() is not None:
        stmt = stmt.where(Shop.group_id == group_scope())
    return render_template("staff/platform_shops.html", shops=list(get_session().scalars(stmt)), q=q,
                           limit=LIST_LIMIT)


def _shop(slug: str) -> Shop:
    try:
        shop = features.find_shop(slug)
    except ValidationError:
        abort(404)
    if group_scope() is not None and shop.group_id != group_scope():
        abort(404)
    return shop


def _page(shop: Shop, errors: dict[str, Any] | None = None, form: dict[str, str] | None = None) -> Any:
    return render_template("staff/platform_shop.html", target=shop, states=features.states(shop),
                           plans=features.plans(), errors=errors or {}, form=form or {},
                           installed=sorted(features.registered().items()), changes=features.changes(shop),
                           ), 422 if errors else 200


def _messages(exc: ValidationError) -> dict[str, Any]:
    return exc.messages if isinstance(exc.messages, dict) else {"form": exc.messages}


@group_bp.get("/shops/<string(maxlength=80):slug>")
@bp.get("/shops/<string(maxlength=80):slug>")
def shop(slug: str) -> Any:
    return _page(_shop(slug))


@group_bp.post("/shops/<string(maxlength=80):slug>/plan")
@bp.post("/shops/<string(maxlength=80):slug>/plan")
def change_plan(slug: str) -> Any:
    target = _shop(slug)
    plan = (request.form.get("plan") or "").strip()
    try:
        features.change_plan(target, plan)
    except ValidationError as exc:
        get_session().rollback()
        return _page(_shop(slug), _messages(exc), {"plan": plan})
    commit()
    flash(f"{target.name} is on the {plan} plan now.")
    return redirect(url_for(_endpoint("shop"), slug=slug))


@group_bp.post("/shops/<string(maxlength=80):slug>/features")
@bp.post("/shops/<string(maxlength=80):slug>/features")
def change_feature(slug: str) -> Any:
    target = _shop(slug)
    key = (request.form.get("feature") or "").strip()
    action = request.form.get("action")
    try:
        if not key:
            raise ValidationError({"feature": ["name the feature key"]})
        if action not in ("grant", "revoke"):
            raise ValidationError({"action": ["choose grant or revoke"]})
        (features.grant if action == "grant" else features.revoke)(target, key)
    except ValidationError as exc:
        get_session().rollback()
        return _page(_shop(slug), _messages(exc), {"feature": key, "action": action or ""})
    commit()
    flash(f"{'Granted' if action == 'grant' else 'Revoked'} {key} {'to' if action == 'grant' else 'from'} "
          f"{target.name}.")
    return redirect(url_for(_endpoint("shop"), slug=slug))
