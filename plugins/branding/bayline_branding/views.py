"""Console page (``/plugins/branding/``) and the public brand assets (stylesheet, logo, favicon)."""
from __future__ import annotations

from typing import Any

from flask import abort, g, make_response, redirect, render_template, request, url_for
from sqlalchemy import select

from bayline.plugin_api import (
    Refused,
    Shop,
    commit,
    current_principal,
    for_shop,
    get_session,
    is_feature_active,
    public_blueprint,
    require,
    staff_blueprint,
    storage,
    unscoped,
)

from . import css, hosts, landing_slugs, service
from .models import BRAND_FIELDS, TOKEN_FIELDS

staff = staff_blueprint("branding")
public = public_blueprint("branding", static_folder="static", static_url_path="/static")
FORM_FIELDS = (*TOKEN_FIELDS, "display_name", "welcome", "sender_name", "review_url", "place_id", "custom_css")


def is_group_admin() -> bool:
    principal = current_principal()
    return principal is not None and (principal.role in ("group_admin", "platform_admin")
                                      or bool(principal.user and principal.user.is_platform_admin))


def _values(row: Any) -> dict[str, Any]:
    if row is None:
        return {}
    out = {k: getattr(row, k, None) for k in FORM_FIELDS if hasattr(row, k)}
    out["hide_powered_by"] = bool(getattr(row, "hide_powered_by", False))
    if hasattr(row, "overridable"):
        out["overridable"] = list(row.overridable or [])
    return {k: ("" if v is None else v) for k, v in out.items()}


def page(errors: dict[str, Any] | None = None, typed: dict[str, Any] | None = None, form: str = "") -> Any:
    shop: Shop = g.shop
    own, group = service.profile(shop), service.group_brand(shop)
    values = {"shop": _values(own), "group": _values(group)}
    if typed is not None:
        values[form or "shop"] = typed
    html = render_template(
        "bayline_branding/console.html", shop=shop, eff=service.effective(shop), values=values,
        errors=errors or {}, form=form, group=group, group_admin=is_group_admin(),
        group_on=is_feature_active(shop, service.GROUP_FEATURE), css_on=is_feature_active(shop, service.CSS_FEATURE),
        host_on=is_feature_active(shop, hosts.FEATURE), hosts=hosts.hosts_of(shop),
        slugs=landing_slugs.current(shop), fields=BRAND_FIELDS, locations=service.group_shops(shop))
    return html, 422 if errors else 200


def _form_data(for_group: bool = False) -> dict[str, Any]:
    form = request.form
    data: dict[str, Any] = {k: form.get(k, "") for k in FORM_FIELDS if k in form}
    data["hide_powered_by"] = form.get("hide_powered_by") == "on"
    if for_group:
        data["overridable"] = form.getlist("overridable")
        data.pop("place_id", None)
    return data


def _field_errors(refused: Refused) -> dict[str, Any]:
    errors = (refused.errors or {}).get("json") or (refused.errors or {}).get("files") or {}
    return errors or {"form": [refused.message]}


@staff.get("/")
@require("branding.manage")
def index() -> Any:
    return page()


@staff.post("/")
@require("branding.manage")
def save() -> Any:
    data = _form_data()
    try:
        service.save_profile(g.shop, data)
    except Refused as refused:
        get_session().rollback()
        return page(_field_errors(refused), {k: v for k, v in data.items()}, "shop")
    commit()
    return redirect(url_for("plugin_branding.index"), 303)


@staff.post("/group")
@require("branding.group")
def save_group() -> Any:
    if not is_group_admin():
        raise Refused(403, "permission_denied", "Only group admins change the group brand.")
    data = _form_data(for_group=True)
    try:
        service.save_group(g.shop, data)
    except Refused as refused:
        get_session().rollback()
        if refused.status == 403:
            raise
        return page(_field_errors(refused), data, "group")
    commit()
    return redirect(url_for("plugin_branding.index"), 303)


@staff.post("/images")
@require("branding.manage")
def upload_image() -> Any:
    field = request.form.get("field") if request.form.get("field") in ("logo", "favicon") else "logo"
    scope_group = request.form.get("scope") == "group"
    if scope_group and not is_group_admin():
        raise Refused(403, "permission_denied", "Only group admins change the group brand.")
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise Refused(422, "validation_error", "Choose a file.", errors={"json": {field: ["choose a file"]}})
        service.set_image(g.shop, field, upload.read(), upload.filename, group=scope_group)
    except Refused as refused:
        get_session().rollback()
        errors = _field_errors(refused)
        return page({field: [m for msgs in errors.values() for m in (msgs if isinstance(msgs, list) else [msgs])]},
                    None, "group" if scope_group else "shop")
    commit()
    return redirect(url_for("plugin_branding.index"), 303)


@staff.post("/images/remove")
@require("branding.manage")
def remove_image() -> Any:
    field = request.form.get("field") if request.form.get("field") in ("logo", "favicon") else "logo"
    scope_group = request.form.get("scope") == "group"
    if scope_group and not is_group_admin():
        raise Refused(403, "permission_denied", "Only group admins change the group brand.")
    service.remove_image(g.shop, field, group=scope_group)
    commit()
    return redirect(url_for("plugin_branding.index"), 303)


@staff.post("/host")
@require("branding.manage")
def save_host() -> Any:
    scope_group = request.form.get("scope") == "group"
    if scope_group and not is_group_admin():
        raise Refused(403, "permission_denied", "Only group admins change the group's host.")
    typed = (request.form.get("host") or "").strip()
    try:
        hosts.set_host(g.shop, typed, group=scope_group)
    except Refused as refused:
        get_session().rollback()
        if refused.status == 403:
            raise
        key = "host_group" if scope_group else "host_shop"
        return page({key: _field_errors(refused).get("host") or [refused.message]}, {key: typed}, "host")
    commit()
    return redirect(url_for("plugin_branding.index"), 303)


@staff.post("/slug")
@require("branding.manage")
def save_slug() -> Any:
    kind = "g" if request.form.get("kind") == "g" else "p"
    if kind == "g" and not is_group_admin():
        raise Refused(403, "permission_denied", "Only group admins change the group's page address.")
    typed = (request.form.get("slug") or "").strip()
    try:
        landing_slugs.change(g.shop, kind, typed)
    except Refused as refused:
        get_session().rollback()
        return page({f"slug_{kind}": _field_errors(refused).get("slug") or [refused.message]},
                    {f"slug_{kind}": typed}, "slug")
    commit()
    return redirect(url_for("plugin_branding.index"), 303)


# -- public brand assets -------------------------------------------------------------------------

def _branded_shop(slug: str) -> Shop:
    session = get_session()
    with unscoped(session):
        shop = session.scalar(select(Shop).where(Shop.slug == slug, Shop.archived_at.is_(None)))
    if shop is None:
        abort(404)
    return shop


def _asset(body: bytes | str, mimetype: str) -> Any:
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@public.get("/shops/<string(maxlength=80):slug>/brand.css")
def stylesheet(slug: str) -> Any:
    with for_shop(_branded_shop(slug)) as shop:
        if not is_feature_active(shop, service.NAME):
            abort(404)
        eff = service.effective(shop)
        return _asset(css.stylesheet(eff.values, eff.custom_css), "text/css")


@public.get("/shops/<string(maxlength=80):slug>/<any(logo, favicon):field>.png")
def image(slug: str, field: str) -> Any:
    with for_shop(_branded_shop(slug)) as shop:
        if not is_feature_active(shop, service.NAME):
            abort(404)
        value = service.effective(shop).values.get(field) or (
            service.effective(shop).values.get("logo") if field == "favicon" else None)
        if not value:
            abort(404)
        return _asset(storage.get_storage().get(value[0]), "image/png")
