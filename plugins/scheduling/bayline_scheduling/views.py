"""Pages: the customer's booking under ``/c/s/scheduling``, the shop calendar under
``/plugins/scheduling``, and the public estimate request and ICS feed (``public`` blueprint).

Refusals: customer pages re-render with the message and fresh alternatives (nothing booked); staff
forms re-render the calendar with the error next to the form and what was typed kept."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from bayline.plugin_api import (
    Claim,
    Refused,
    claims,
    commit,
    current_portal_claim,
    current_principal,
    files,
    for_shop,
    get_session,
    is_feature_active,
    portal_blueprint,
    public_blueprint,
    rate_limit,
    require,
    staff_blueprint,
    unscoped,
    utcnow,
)

from . import NAME, calendar, service
from .engine import exists
from .models import LIVE, SchedulingAppointment, SchedulingRequest

staff = staff_blueprint(NAME, static_folder="static", static_url_path="/static")
portal = portal_blueprint(NAME, static_folder="static", static_url_path="/static")
public = public_blueprint(NAME)


def _day_arg(name: str = "day") -> date | None:
    raw = request.args.get(name, "")
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _type_names() -> dict[str, str]:
    return {t.key: t.name for t in service.types()}


# -- customer portal ---------------------------------------------------------------------------


def _own(appointment_id: int) -> SchedulingAppointment:
    claim = current_portal_claim()
    appt = get_session().get(SchedulingAppointment, appointment_id) if appointment_id < 2**31 else None
    if appt is None or appt.claim_id != claim.id:
        abort(404)
    return appt


def _slots_page(spec: Any, *, appt: SchedulingAppointment | None = None, error: str | None = None,
                code: str | None = None, status: int = 200, chosen: str = "") -> Any:
    first = _day_arg() or service.local(utcnow()).date()
    slots = service.availability(spec, first=first, last=first + timedelta(days=6),
                                 ignore_appointment=appt.id if appt else None,
                                 labour_hours=appt.labour_hours if appt else None)
    days: dict[date, list[Any]] = {}
    for s in slots:
        days.setdefault(s.local.date(), []).append(s)
    return render_template("bayline_scheduling/portal_book.html", shop=g.shop, spec=spec, days=days, appt=appt,
                           error=error, code=code, first=first, prev=first - timedelta(days=7),
                           next=first + timedelta(days=7), chosen=chosen, back="/c/s/"), status


@portal.get("/")
def index() -> Any:
    claim = current_portal_claim()
    rows = service.appointments_for_claim(claim.id)
    return render_template("bayline_scheduling/portal_index.html", shop=g.shop, rows=rows,
                           offer=service.bookable_types(claim), types=_type_names(), zone=service.zone(g.shop),
                           ready=service.is_ready(claim), back="/c/s/")


@portal.get("/book/<type_key>")
def book_form(type_key: str) -> Any:
    claim = current_portal_claim()
    spec = service.get_type(type_key)
    if spec is None:
        return _message("No such appointment", service.CODES["scheduling_unknown_type"][1], 404)
    if spec.kind == "pickup" and not service.is_ready(claim):
        return _message("Not ready yet", service.CODES["scheduling_pickup_not_ready"][1], 409)
    return _slots_page(spec)


@portal.post("/book/<type_key>")
def book(type_key: str) -> Any:
    claim = current_portal_claim()
    chosen = request.form.get("start", "")
    try:
        appt = service.book(claim, type_key, chosen, source="portal")
    except Refused as refused:
        get_session().rollback()
        spec = service.get_type(type_key)
        if spec is None or refused.code == "scheduling_pickup_not_ready":
            return _message("Not booked", refused.message, refused.status)
        return _slots_page(spec, error=refused.message, code=refused.code, status=refused.status, chosen=chosen)
    return redirect(url_for("plugin_scheduling_portal.appointment", appointment_id=appt.id), code=303)


@portal.get("/appointments/<int:appointment_id>")
def appointment(appointment_id: int) -> Any:
    appt = _own(appointment_id)
    spec = service.get_type(appt.type_key)
    can_change = appt.status in LIVE and utcnow() <= appt.starts_at - timedelta(
        hours=service.shop_settings(NAME).get_int("cutoff_hours"))
    return render_template("bayline_scheduling/portal_appointment.html", shop=g.shop, appt=appt, spec=spec,
                           zone=service.zone(g.shop), can_change=can_change, back="/c/s/")


@portal.get("/appointments/<int:appointment_id>/move")
def move_form(appointment_id: int) -> Any:
    appt = _own(appointment_id)
    spec = service.get_type(appt.type_key)
    if spec is None or appt.status not in LIVE:  # nothing to move: the appointment says why
        return redirect(url_for("plugin_scheduling_portal.appointment", appointment_id=appt.id), code=303)
    return _slots_page(spec, appt=appt)


@portal.post("/appointments/<int:appointment_id>/move")
def move(appointment_id: int) -> Any:
    appt = _own(appointment_id)
    chosen = request.form.get("start", "")
    try:
        service.reschedule(appt, chosen, by_customer=True)
    except Refused as refused:
        get_session().rollback()
        spec = service.get_type(appt.type_key)
        if spec is None or refused.code in ("scheduling_past_cutoff", "scheduling_invalid_state"):
            return _message("Not moved", refused.message, refused.status)
        return _slots_page(spec, appt=appt, error=refused.message, code=refused.code, status=refused.status,
                           chosen=chosen)
    return redirect(url_for("plugin_scheduling_portal.appointment", appointment_id=appt.id), code=303)


@portal.post("/appointments/<int:appointment_id>/cancel")
def cancel(appointment_id: int) -> Any:
    appt = _own(appointment_id)
    try:
        service.cancel(appt, by_customer=True)
    except Refused as refused:
        get_session().rollback()
        return _message("Not cancelled", refused.message, refused.status)
    return redirect(url_for("plugin_scheduling_portal.appointment", appointment_id=appt.id), code=303)


@portal.get("/appointments/<int:appointment_id>/invite.ics")
def portal_ics(appointment_id: int) -> Any:
    appt = _own(appointment_id)
    return _ics_response(appt)


def _ics_response(appt: SchedulingAppointment) -> Response:
    claim = get_session().get(Claim, appt.claim_id)
    body = calendar.appointment_ics(appt, claim, g.shop, _type_names().get(appt.type_key, appt.type_key),
                                    service.zone(g.shop), method="auto")
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f"attachment; filename=appointment-{appt.id}.ics"})


def _message(title: str, text: str, status: int) -> Any:
    return render_template("bayline_scheduling/portal_message.html", shop=g.shop, title=title, text=text,
                           back="/c/s/"), status


# -- staff calendar ----------------------------------------------------------------------------


def _staff_appt(appointment_id: int) -> SchedulingAppointment:
    appt = get_session().get(SchedulingAppointment, appointment_id) if appointment_id < 2**31 else None
    if appt is None:
        abort(404)
    return appt


def parse_local(raw: str) -> datetime:
    """A ``datetime-local`` value (shop wall time) → UTC; a wall time in a DST gap is refused."""
    tz = service.zone(g.shop)
    try:
        naive = datetime.fromisoformat((raw or "").strip())
    except ValueError:
        raise service.refuse("scheduling_invalid_time", {"start": ["enter a date and time"]}) from None
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    if not exists(naive, tz):
        raise service.refuse("scheduling_outside_hours", {"start": ["that time does not exist (clocks change)"]})
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _calendar_page(error: str | None = None, form: dict[str, Any] | None = None, status: int = 200,
                   day: date | None = None) -> Any:
    tz = service.zone(g.shop)
    view = "week" if request.args.get("view") == "week" else "day"
    first = day or _day_arg() or utcnow().astimezone(tz).date()
    if view == "week":
        first = first - timedelta(days=first.weekday())
    span = 7 if view == "week" else 1
    type_key = request.args.get("type") or None
    begin, end = service.day_bounds(first, tz, span)
    rows = service.between(begin, end, type_key, statuses=("pending", "confirmed"))
    ids = {a.claim_id for a in rows}
    from sqlalchemy import select

    claims_by_id = {c.id: c for c in get_session().scalars(select(Claim).where(Claim.id.in_(ids)))} if ids else {}
    days: dict[date, list[Any]] = {first + timedelta(days=i): [] for i in range(span)}
    for a in rows:
        days.setdefault(a.starts_at.astimezone(tz).date(), []).append(a)
    busy: dict[date, list[Any]] = {}
    for b in service.busy_rows(begin, end):
        busy.setdefault(max(b.starts_at, begin).astimezone(tz).date(), []).append(b)
    from . import caldav_sync as sync
    return render_template("bayline_scheduling/calendar.html", shop=g.shop, view=view, first=first, days=days,
                           claims=claims_by_id, zone=tz, types=service.types(), type_key=type_key,
                           prev=first - timedelta(days=span), next=first + timedelta(days=span),
                           error=error, form=form or {}, feed=calendar.active_feed(), busy=busy,
                           caldav=sync.configured(g.shop), principal=current_principal()), status


@staff.get("/")
@require("scheduling.view")
def calendar_view() -> Any:
    return _calendar_page()


def _back() -> Any:
    from bayline.plugin_api import safe_redirect_target

    return redirect(safe_redirect_target(request.form.get("back"), url_for("plugin_scheduling.calendar_view"),
                                         prefix="/"), code=303)


@staff.post("/appointments/<int:appointment_id>/confirm")
@require("scheduling.manage")
def staff_confirm(appointment_id: int) -> Any:
    appt = _staff_appt(appointment_id)
    try:
        service.confirm(appt)
    except Refused as refused:
        get_session().rollback()
        return _calendar_page(error=refused.message, status=refused.status)
    return _back()


@staff.post("/appointments/<int:appointment_id>/decline")
@require("scheduling.manage")
def staff_decline(appointment_id: int) -> Any:
    appt = _staff_appt(appointment_id)
    try:
        service.decline(appt)
    except Refused as refused:
        get_session().rollback()
        return _calendar_page(error=refused.message, status=refused.status)
    return _back()


@staff.post("/appointments/<int:appointment_id>/move")
@require("scheduling.manage")
def staff_move(appointment_id: int) -> Any:
    appt = _staff_appt(appointment_id)
    raw = request.form.get("start", "")
    try:
        service.reschedule(appt, parse_local(raw))
    except Refused as refused:
        get_session().rollback()
        if request.is_json or request.accept_mimetypes.best == "application/json":
            raise
        return _calendar_page(error=f"Not moved: {refused.message}", status=refused.status,
                              form={"appointment_id": appt.id, "start": raw},
                              day=service.local(appt.starts_at).date())
    if request.accept_mimetypes.best == "application/json":
        return {"id": appt.id, "start": appt.starts_at.isoformat(), "status": appt.status}
    return _back()


def _hours(raw: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise Refused(422, "validation_error", "Labour hours are a whole number from 1 to 200.",
                      errors={"labour_hours": ["a whole number from 1 to 200"]})
    return int(raw)


@staff.post("/claims/<int:claim_id>/book")
@require("scheduling.manage")
def staff_book(claim_id: int) -> Any:
    claim = get_session().get(Claim, claim_id) if claim_id < 2**31 else None
    if claim is None:
        abort(404)
    raw, type_key = request.form.get("start", ""), request.form.get("type", "")
    raw_hours = request.form.get("labour_hours", "").strip()
    form = {"claim_id": claim.id, "type": type_key, "start": raw, "labour_hours": raw_hours}
    try:
        hours = _hours(raw_hours)
        appt = service.book(claim, type_key, parse_local(raw), source="staff", staff=True, labour_hours=hours)
    except Refused as refused:
        get_session().rollback()
        return _calendar_page(error=f"Not booked: {refused.message}", status=refused.status, form=form)
    return redirect(url_for("plugin_scheduling.calendar_view", day=service.local(appt.starts_at).date().isoformat()),
                    code=303)


@staff.get("/appointments/<int:appointment_id>/invite.ics")
@require("scheduling.view")
def staff_ics(appointment_id: int) -> Any:
    return _ics_response(_staff_appt(appointment_id))


@staff.post("/feed")
@require("scheduling.configure")
def feed_issue() -> Any:
    from bayline.plugin_api import public_url

    token = calendar.issue_feed()
    return render_template("bayline_scheduling/feed_issued.html", shop=g.shop,
                           url=public_url(f"/plugins/scheduling/public/feed/{token}.ics")), 201


@staff.post("/feed/revoke")
@require("scheduling.configure")
def feed_revoke() -> Any:
    calendar.revoke_feeds()
    return redirect(url_for("plugin_scheduling.calendar_view"), code=303)


@staff.post("/caldav/sync")
@require("scheduling.configure")
def caldav_sync() -> Any:
    from . import caldav_sync as sync

    try:
        done = sync.sync(g.shop)
    except Refused as refused:
        get_session().rollback()
        return _calendar_page(error=refused.message, status=refused.status)
    flash(f"Synced with the staff calendar: {done['pushed']} appointment(s) put there, {done['removed']} "
          f"taken off, {done['busy']} busy period(s) read.")
    return redirect(url_for("plugin_scheduling.calendar_view"), code=303)


# -- public: estimate request landing and the private ICS feed ---------------------------------


def _public_shop(slug: str) -> Any:
    from bayline.plugin_api import Shop

    session = get_session()
    with unscoped(session):
        from sqlalchemy import select

        shop = session.scalar(select(Shop).where(Shop.slug == slug[:80], Shop.archived_at.is_(None)))
    if shop is None:
        abort(404)
    return shop


ESTIMATE_FIELDS = ("first_name", "last_name", "mobile", "email", "vehicle_year", "vehicle_make", "vehicle_model",
                   "damage")


@public.get("/public/estimate/<slug>")
def estimate_form(slug: str) -> Any:
    with for_shop(_public_shop(slug)) as shop:
        if not is_feature_active(shop, NAME):
            abort(404)
        return render_template("bayline_scheduling/estimate.html", shop=shop, values={}, errors={})


def _estimate_clean(form: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    values = {k: (form.get(k) or "").strip() for k in ESTIMATE_FIELDS}
    errors: dict[str, list[str]] = {}
    for k in ("first_name", "last_name"):
        if not values[k]:
            errors[k] = ["Please enter your name."]
        elif len(values[k]) > 100:
            errors[k] = ["At most 100 characters."]
    if not values["mobile"] and not values["email"]:
        errors["mobile"] = ["Give a mobile number or an email so we can reach you."]
    if values["email"] and ("@" not in values["email"] or len(values["email"]) > 254):
        errors["email"] = ["Enter an email address like name@example.com."]
    if values["vehicle_year"]:
        if not values["vehicle_year"].isdigit() or not 1950 <= int(values["vehicle_year"]) <= utcnow().year + 1:
            errors["vehicle_year"] = ["Enter the model year, e.g. 2019."]
    for k in ("vehicle_make", "vehicle_model"):
        if len(values[k]) > 60:
            errors[k] = ["At most 60 characters."]
    if len(values["damage"]) > 2000:
        errors["damage"] = ["At most 2000 characters."]
    return values, errors


@public.post("/public/estimate/<slug>")
@rate_limit("10/hour", methods=["POST"])
def estimate_submit(slug: str) -> Any:
    import secrets

    from marshmallow import ValidationError

    with for_shop(_public_shop(slug)) as shop:
        if not is_feature_active(shop, NAME):
            abort(404)
        values, errors = _estimate_clean(request.form)
        uploads = [f for f in request.files.getlist("photos") if f and f.filename][:10]
        if errors:
            return render_template("bayline_scheduling/estimate.html", shop=shop, values=values, errors=errors), 422
        data: dict[str, Any] = {"number": f"WEB-{secrets.token_hex(3).upper()}", "claim_type": "customer_pay",
                                "customer_first_name": values["first_name"], "customer_last_name": values["last_name"],
                                "customer_mobile": values["mobile"] or None, "customer_email": values["email"] or None,
                                "vehicle_year": int(values["vehicle_year"]) if values["vehicle_year"] else None,
                                "vehicle_make": values["vehicle_make"] or None,
                                "vehicle_model": values["vehicle_model"] or None,
                                "internal_notes": "Estimate requested online."}
        if values["mobile"] and request.form.get("text_ok"):
            data["text_consent"] = "written"
        session = get_session()
        try:
            claim = claims.create_claim(data)
        except ValidationError as exc:
            session.rollback()
            msgs = exc.messages if isinstance(exc.messages, dict) else {}
            mapped = {"mobile" if k == "customer_mobile" else k.replace("customer_", ""): v for k, v in msgs.items()}
            return render_template("bayline_scheduling/estimate.html", shop=shop, values=values,
                                   errors=mapped or {"first_name": ["Check the form."]}), 422
        session.add(SchedulingRequest(claim_id=claim.id, state="estimate_requested",
                                      damage=values["damage"] or None))
        photos: list[Any] = []
        batch = None
        if uploads:
            try:
                photos, batch = files.add_photos(claim, [files.Incoming(f.filename, f.read()) for f in uploads],
                                                 tag="before", visibility="customer")
            except files.Rejected as rejected:
                session.rollback()
                return render_template("bayline_scheduling/estimate.html", shop=shop, values=values,
                                       errors={"photos": [rejected.message]}), rejected.status
        try:
            commit(session)
        except BaseException:
            if batch is not None:
                batch.discard()
            raise
        if photos:
            files.process(photos)
        link = getattr(claim, "portal_link", None)
        return render_template("bayline_scheduling/estimate_thanks.html", shop=shop, claim=claim,
                               link=getattr(link, "url", None)), 201


@public.get("/public/feed/<token>.ics")
def feed(token: str) -> Any:
    shop_id = calendar.feed_shop_id(token)
    if shop_id is None:
        abort(404)
    with for_shop(shop_id) as shop:
        if not is_feature_active(shop, NAME):
            abort(404)
        body = calendar.feed_ics(shop, service.zone(shop), _type_names())
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"})
