"""Staff console: shop settings (core and plugin settings) and feature switches."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import login_required
from marshmallow import ValidationError

from bayline import settings_registry
from bayline.events import commit
from bayline.plugins.types import SettingDef
from bayline.tenants import provisioning
from bayline.tenants.entitlements import active_features, entitled_features

bp = Blueprint("shop_settings", __name__, url_prefix="/console/settings")


@bp.before_request
@login_required
def _need_admin() -> Any:
    if g.get("principal") is None or not g.principal.can("settings.manage"):
        abort(403, "Only the shop's owners and admins change settings.")


def _parse(defn: SettingDef, form: Any) -> Any:
    raw = form.get(defn.key)
    if defn.type == "bool":
        return raw == "on"
    if defn.type == "int":
        try:
            return int(raw or "")
        except ValueError:
            raise ValidationError({defn.key: ["must be a whole number"]}) from None
    return raw or ""


def _editable(defn: SettingDef) -> bool:
    return g.principal.can("*") or g.principal.role in defn.roles


@bp.route("/", methods=["GET", "POST"])
def edit() -> Any:
    shop = g.principal.shop
    defs: dict[str, SettingDef] = settings_registry.definitions()
    active = active_features(shop)
    visible = {k: d for k, d in defs.items() if d.feature is None or d.feature in active}
    errors: dict[str, Any] = {}
    if request.method == "POST":
        changes = {}
        shown = set(request.form.getlist("shown"))  # fields the form displayed (unchecked boxes send nothing)
        for key, defn in visible.items():
            if key not in shown or not _editable(defn) or (defn.secret and not request.form.get(key)):
                continue
            try:
                changes[key] = _parse(defn, request.form)
            except ValidationError as exc:
                errors.update(exc.messages)  # type: ignore[arg-type]
        if not errors:
            try:
                role = None if g.principal.can("*") else g.principal.role
                settings_registry.set_values(shop.id, changes, role)
                commit()
                flash("Settings saved.")
                return redirect(url_for("shop_settings.edit"))
            except ValidationError as exc:
                errors = exc.messages  # type: ignore[assignment]
    values = settings_registry.get_all(shop.id)
    if request.method == "POST":
        values.update({k: request.form.get(k) for k in visible if k in request.form})
    features = current_app.extensions["bayline.features"]
    entitled = entitled_features(shop)
    return render_template("staff/settings.html", defs=visible, values=values, errors=errors,
                           editable=_editable, features=features, entitled=entitled, active=active), (
        422 if errors else 200)


@bp.post("/features/<key>")
def toggle_feature(key: str) -> Any:
    shop = g.principal.shop
    if key not in entitled_features(shop):
        abort(403, "That feature is not on this shop's plan.")
    provisioning.set_feature_enabled(shop, key, request.form.get("enabled") == "1")
    commit()
    flash("Feature switched " + ("on." if request.form.get("enabled") == "1" else "off."))
    return redirect(url_for("shop_settings.edit"))
