"""Staff console: shop settings (core and plugin settings) and feature switches."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import login_required
from marshmallow import ValidationError

from bayline import settings_registry
from bayline.db import get_session
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


PROFILE_FIELDS: list[tuple[str, str, dict[str, str]]] = [
    ("name", "Shop name", {"required": "", "maxlength": "200"}),
    ("phone", "Phone", {"type": "tel", "inputmode": "tel", "maxlength": "40"}),
    ("email", "Email", {"type": "email", "inputmode": "email", "maxlength": "254"}),
    ("address_line1", "Address", {"maxlength": "200", "autocomplete": "address-line1"}),
    ("address_line2", "Address line 2", {"maxlength": "200", "autocomplete": "address-line2"}),
    ("city", "City", {"maxlength": "100"}), ("region", "State / region", {"maxlength": "100"}),
    ("postal_code", "ZIP / postal code", {"maxlength": "20", "inputmode": "numeric"}),
]


def _zones(current: str) -> list[str]:
    from zoneinfo import available_timezones

    areas = ("America/", "Europe/", "Pacific/", "Australia/", "Asia/", "Africa/", "Atlantic/")
    return sorted({z for z in available_timezones() if z.startswith(areas)} | {current, "UTC"})


def _hours_rows(hours: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The stored hours by weekday (rows whose ``days`` is one weekday); others are kept as they are."""
    return {str(h.get("days")): h for h in hours or [] if h.get("days") in provisioning.WEEKDAYS}


@bp.route("/profile", methods=["GET", "POST"])
def profile() -> Any:
    """The shop profile printed on every portal page and document: name, phone, address, time zone
    and hours per weekday (``PATCH /api/v1/shop``'s schema and service); errors inline, typed values kept."""
    from bayline.api.schemas import ShopPatchSchema

    shop = g.principal.shop
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = request.form
        hours = []
        for day in provisioning.WEEKDAYS:
            if form.get(f"closed_{day}"):
                hours.append({"days": day, "closed": True})
            elif form.get(f"open_{day}") or form.get(f"close_{day}"):
                hours.append({"days": day, "open": form.get(f"open_{day}", ""), "close": form.get(f"close_{day}", "")})
        others = [h for h in shop.hours or [] if h.get("days") not in provisioning.WEEKDAYS]
        if form.get("keep_other_hours"):
            hours = others + hours
        payload: dict[str, Any] = {name: (form.get(name) or "").strip() or None for name, _, _ in PROFILE_FIELDS}
        payload["name"] = (form.get("name") or "").strip()
        payload["timezone"] = form.get("timezone") or shop.timezone
        payload["hours"] = hours
        try:
            provisioning.update_profile(shop, ShopPatchSchema().load(payload))
        except ValidationError as exc:
            get_session().rollback()
            errors = {k: list(v) for k, v in exc.messages.items()}  # type: ignore[union-attr]
        else:
            commit()
            flash("Shop profile saved: the portal and new documents show it now.")
            return redirect(url_for("shop_settings.profile"))
        values: Any = form
        rows = {day: {"days": day, "open": form.get(f"open_{day}", ""), "close": form.get(f"close_{day}", ""),
                      "closed": bool(form.get(f"closed_{day}"))} for day in provisioning.WEEKDAYS}
    else:
        values = {name: getattr(shop, name) or "" for name, _, _ in PROFILE_FIELDS}
        values["timezone"] = shop.timezone
        rows = _hours_rows(shop.hours)
        others = [h for h in shop.hours or [] if h.get("days") not in provisioning.WEEKDAYS]
    return render_template("staff/profile.html", fields=PROFILE_FIELDS, form=values, errors=errors,
                           zones=_zones(shop.timezone), weekdays=provisioning.WEEKDAYS, rows=rows,
                           others=others, labels={n: label for n, label, _ in PROFILE_FIELDS}
                           | {"timezone": "Time zone"}), 422 if errors else 200
