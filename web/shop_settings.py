"""Staff console: shop settings (core and plugin settings) and feature switches."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_login import login_required
from marshmallow import ValidationError
from sqlalchemy import select

from bayline import settings_registry
from bayline.claims.models import Claim
from bayline.db import get_session
from bayline.events import commit
from bayline.messaging import templates as message_templates
from bayline.plugins.types import SettingDef
from bayline.tenants import hours as shop_hours
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
            return int((raw or "").strip())
        except ValueError:
            raise ValidationError({defn.key: ["must be a whole number"]}) from None
    return raw or ""


def _editable(defn: SettingDef) -> bool:
    return g.principal.can("*") or g.principal.role in defn.roles


def textarea_rows(value: Any, minimum: int = 3, maximum: int = 24, width: int = 72) -> int:
    """Rows a textarea needs to show ``value`` without scrolling (long lines wrap at ~``width``)."""
    lines = str(value or "").split("\n")
    needed = sum(max(1, -(-len(line) // width)) for line in lines) + 1
    return max(minimum, min(maximum, needed))


def _preview_claims() -> list[Claim]:
    """Claims a template preview can be filled from: the shop's open ones, latest activity first."""
    return list(get_session().scalars(select(Claim).where(Claim.archived_at.is_(None))
                                      .order_by(Claim.updated_at.desc(), Claim.id.desc()).limit(20)))


def _preview(defn: SettingDef, text: str, claim_id: str | None, claims: list[Claim]) -> dict[str, Any]:
    """The message ``text`` would make (core template service), filled from the chosen claim (or the
    most recent one); raises ValidationError naming the setting when the template is wrong."""
    claim = next((c for c in claims if str(c.id) == (claim_id or "")), claims[0] if claims else None)
    try:
        shown = message_templates.preview(text, claim, g.principal.shop)
    except ValueError as exc:
        raise ValidationError({defn.key: [str(exc)]}) from None
    return {"key": defn.key, "claim": claim, **shown}


def feature_rows(shop: Any) -> list[dict[str, Any]]:
    """Installed features only (a plan row for a plugin that is not installed is never shown), each
    with what it does, whether the shop's plan (or an add-on) includes it and whether it is on."""
    features = current_app.extensions["bayline.features"]
    plan = set(shop.plan.feature_keys) if shop.plan is not None else set()
    entitled, active = entitled_features(shop), active_features(shop)
    rows = []
    for key, feature in sorted(features.items(), key=lambda kv: kv[1].name.lower()):
        rows.append({"key": key, "name": feature.name, "description": feature.description,
                     "included": "plan" if key in plan else ("addon" if key in entitled else None),
                     "on": key in active})
    return rows


@bp.route("/", methods=["GET", "POST"])
def edit() -> Any:
    """The shop's settings, by area, with words for choices, sized editors for long texts and a
    preview of message templates. A mistake comes back next to its field with everything typed
    kept (422); nothing is saved until every field is right. ``preview=<key>`` (the template's
    Preview button) shows what that template makes for a real claim and saves nothing."""
    shop = g.principal.shop
    defs: dict[str, SettingDef] = settings_registry.definitions()
    active = active_features(shop)
    visible = {k: d for k, d in defs.items() if d.feature is None or d.feature in active}
    errors: dict[str, Any] = {}
    preview: dict[str, Any] | None = None
    claims = _preview_claims() if any(d.message_template for d in visible.values()) else []
    values = settings_registry.get_all(shop.id)
    if request.method == "POST":
        form = request.form
        shown = set(form.getlist("shown"))  # fields the form displayed (unchecked boxes send nothing)
        for key, defn in visible.items():
            if key in shown and not defn.secret:  # what was typed comes back, right or wrong
                values[key] = (form.get(key) == "on") if defn.type == "bool" else form.get(key, "")
        wanted = form.get("preview")
        if wanted:
            defn = visible.get(wanted)
            if defn is None or not defn.message_template:
                abort(400, "That setting has no preview.")
            try:
                preview = _preview(defn, form.get(wanted, ""), form.get("preview_claim"), claims)
            except ValidationError as exc:
                errors.update(exc.messages)  # type: ignore[arg-type]
        else:
            changes = {}
            role = None if g.principal.can("*") else g.principal.role
            for key, defn in visible.items():
                if key not in shown or not _editable(defn) or (defn.secret and not form.get(key)):
                    continue
                try:
                    changes[key] = _parse(defn, form)
                except ValidationError as exc:
                    errors.update(exc.messages)  # type: ignore[arg-type]
            try:  # every other field is checked too: all the mistakes show at once
                settings_registry.validate(changes, role)
            except ValidationError as exc:
                errors.update(exc.messages)  # type: ignore[arg-type]
            if not errors:
                settings_registry.set_values(shop.id, changes, role)
                commit()
                flash("Settings saved.")
                return redirect(url_for("shop_settings.edit"))
    errors = {k: [m[:1].upper() + m[1:] for m in v] for k, v in errors.items()}
    return render_template("staff/settings.html", groups=settings_registry.grouped(visible), defs=visible,
                           values=values, errors=errors, editable=_editable, preview=preview,
                           preview_claims=claims, rows_for=textarea_rows, features=feature_rows(shop),
                           field_id=lambda key: "s-" + key.replace(".", "-")), 422 if errors else 200


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
    """The shop profile printed on every portal page and document: name, phone, address, time zone,
    hours per weekday and holiday closures (``PATCH /api/v1/shop``'s schema and service); errors
    inline, typed values kept."""
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
        closures, where = _closure_rows(form)
        payload["closures"] = [{"date": r["date"], "label": r["label"]} for r in closures if r["send"]]
        try:
            provisioning.update_profile(shop, ShopPatchSchema().load(payload))
        except ValidationError as exc:
            get_session().rollback()
            errors = {k: list(v) for k, v in exc.messages.items()}  # type: ignore[union-attr]
            # a closure's error names its row of the form (the list sent skips removed and empty rows)
            errors = {(f"closures.{where[int(k.split('.')[1])]}" if k.startswith("closures.") else k): v
                      for k, v in errors.items()}
        else:
            commit()
            flash("Shop profile saved: the portal and new documents show it now.")
            return redirect(url_for("shop_settings.profile"))
        values: Any = form
        rows = {day: {"days": day, "open": form.get(f"open_{day}", ""), "close": form.get(f"close_{day}", ""),
                      "closed": bool(form.get(f"closed_{day}"))} for day in provisioning.WEEKDAYS}
        # every row as typed, in its place (errors name the form row), and room for a few more
        closures = closures + _blank_closures(max(0, 3 - sum(1 for r in closures if not r["send"])))
    else:
        values = {name: getattr(shop, name) or "" for name, _, _ in PROFILE_FIELDS}
        values["timezone"] = shop.timezone
        rows = _hours_rows(shop.hours)
        others = [h for h in shop.hours or [] if h.get("days") not in provisioning.WEEKDAYS]
        closures = [{"date": c["date"], "label": c.get("label", ""), "remove": False}
                    for c in shop.closures or []] + _blank_closures(3)
    return render_template("staff/profile.html", fields=PROFILE_FIELDS, form=values, errors=errors,
                           zones=_zones(shop.timezone), weekdays=provisioning.WEEKDAYS, rows=rows,
                           others=others, closures=closures, labels={n: label for n, label, _ in PROFILE_FIELDS}
                           | {"timezone": "Time zone", "closures": "Closed days"}
                           | {f"closures.{i}": f"Closed day {i + 1}" for i in range(len(closures))}
                           | {f"hours.{d}": f"Hours on {d}" for d in provisioning.WEEKDAYS}), 422 if errors else 200


def _blank_closures(count: int) -> list[dict[str, Any]]:
    return [{"date": "", "label": "", "remove": False} for _ in range(count)]


def _closure_rows(form: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """The closed-day rows of the profile form as typed (``closure_date_<n>``, ``closure_label_<n>``,
    ``closure_remove_<n>``), and for each row sent to the service the form row it came from."""
    try:
        count = min(int(form.get("closure_rows", "0")), shop_hours.MAX_CLOSURES + 10)
    except ValueError:
        count = 0
    rows, where = [], []
    for n in range(count):
        row = {"date": (form.get(f"closure_date_{n}") or "").strip(),
               "label": (form.get(f"closure_label_{n}") or "").strip(),
               "remove": bool(form.get(f"closure_remove_{n}"))}
        row["send"] = bool(row["date"] or row["label"]) and not row["remove"]
        if row["send"]:
            where.append(len(rows))
        rows.append(row)
    return rows, where
