"""Staff console: production board, claim page, new claim."""
from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required
from marshmallow import ValidationError
from sqlalchemy import case, func, or_, select

from bayline.auth.permissions import need, staff_only
from bayline.bundle import prefetched, request_bundle
from bayline.claims import service
from bayline.claims.models import CLAIM_TYPES, Claim
from bayline.claims.stages import active_stages
from bayline.db import get_session, utcnow
from bayline.errors import Refused, wants_json
from bayline.events import commit
from bayline.extensions import limiter
from bayline.live import shop_channel, staff_event_types
from bayline.messages import service as messages
from bayline.messages.channels import channel_ready
from bayline.messaging import intake
from bayline.messaging import service as outbox
from bayline.plugins.calling import call_each, collect
from bayline.portal import printing
from bayline.portal import tokens as portal_tokens
from bayline.portal.models import PortalAttempt, PortalToken
from bayline.portal.page import shop_side_cache
from bayline.tenants import hours as shop_hours
from bayline.urls import safe_redirect_target
from bayline.web import conversation
from bayline.web.sse import event_stream

bp = Blueprint("console", __name__, url_prefix="/console")

# (name, label, input attributes): the claim form's fields, in the order a front desk asks for them.
CLAIM_FORM_FIELDS: list[tuple[str, str, dict[str, str]]] = [
    ("number", "Claim / RO number", {"required": "", "autocomplete": "off", "maxlength": "40"}),
    ("customer_first_name", "Customer first name", {"required": "", "autocomplete": "off", "maxlength": "100"}),
    ("customer_last_name", "Customer last name", {"required": "", "autocomplete": "off", "maxlength": "100"}),
    ("customer_mobile", "Mobile", {"type": "tel", "inputmode": "tel", "autocomplete": "off"}),
    ("customer_email", "Email", {"type": "email", "inputmode": "email", "autocomplete": "off", "maxlength": "254"}),
    ("vehicle_year", "Year", {"inputmode": "numeric", "maxlength": "4"}),
    ("vehicle_make", "Make", {"maxlength": "60"}), ("vehicle_model", "Model", {"maxlength": "60"}),
    ("vehicle_color", "Colour", {"maxlength": "40"}),
    ("vin", "VIN", {"autocapitalize": "characters", "maxlength": "40", "spellcheck": "false"}),
    ("plate", "Plate", {"autocapitalize": "characters", "maxlength": "15"}),
    ("insurer", "Insurer", {"maxlength": "120"}), ("insurer_claim_number", "Insurer claim #", {"maxlength": "60"}),
    ("adjuster_name", "Adjuster", {"maxlength": "120"}),
    ("adjuster_email", "Adjuster email", {"type": "email", "inputmode": "email", "maxlength": "254"}),
    ("adjuster_phone", "Adjuster phone", {"type": "tel", "inputmode": "tel"}),
]
FIELD_LABELS = {name: label for name, label, _ in CLAIM_FORM_FIELDS} | {
    "claim_type": "Type", "eta": "ETA", "text_consent": "Texts about this repair",
    "marketing_consent": "Marketing", "internal_notes": "Internal notes", "stage_id": "Stage", "reason": "Reason",
    "estimator_id": "Estimator"}
REQUIRED = ("number", "customer_first_name", "customer_last_name")
_FRIENDLY = {"Shorter than minimum length 1.": "Required.", "Missing data for required field.": "Required.",
             "Not a valid integer.": "Enter the year as a number, e.g. 2021.",
             "Not a valid date.": "Enter a date.",
             "Not a valid email address.": "Enter an email like name@example.com."}


def _between(message: str) -> str | None:
    found = re.fullmatch(r"Length must be between 1 and (\d+)\.", message)
    return f"Required (at most {found.group(1)} characters)." if found else None


def _friendly(errors: dict[str, Any]) -> dict[str, list[str]]:
    """Field errors of the API's schema and the claim service, in words a front desk reads."""
    out: dict[str, list[str]] = {}
    for field, found in errors.items():
        if isinstance(found, dict):  # a list field's per-item errors
            found = [m for ms in found.values() for m in ms]
        if field == "estimator_id":  # a tampered select: not a number, or nobody of this shop
            out[field] = ["Pick someone of this shop's staff."]
            continue
        out[field] = [_FRIENDLY.get(m) or _between(m) or m[:1].upper() + m[1:] for m in found]
    return out


def claim_form_data(form: Any, create: bool) -> dict[str, Any]:
    """The claim form loaded through the API's own schema (``ClaimCreateSchema`` /
    ``ClaimPatchSchema``): the same field rules as ``POST``/``PATCH /api/v1/claims``; the claim
    service then checks numbers, VIN and phones. Raises ``ValidationError`` with field messages."""
    from bayline.api.schemas import ClaimCreateSchema, ClaimPatchSchema

    payload: dict[str, Any] = {}
    for name, _label, _attrs in CLAIM_FORM_FIELDS:
        value = (form.get(name) or "").strip()
        payload[name] = value if (value or name in REQUIRED) else None
    payload["claim_type"] = form.get("claim_type") or "insurance"
    notes = (form.get("internal_notes") or "").strip()
    if "internal_notes" in form:
        payload["internal_notes"] = notes or None
    if "estimator_id" in form:  # the select's value: a user id, or "" for nobody
        payload["estimator_id"] = (form.get("estimator_id") or "").strip() or None
    if create:
        if form.get("eta"):
            payload["eta"] = form["eta"]
        if form.get("text_consent"):
            payload["text_consent"] = form["text_consent"]
        payload["marketing_consent"] = form.getlist("marketing_consent")
        data = ClaimCreateSchema().load(payload)
    else:
        data = ClaimPatchSchema().load(payload)
    return data


def _claim_form(template: str, claim: Claim | None, errors: dict[str, list[str]], status: int) -> Any:
    """The new-claim and edit-claim forms: what was typed comes back with each error next to its field."""
    if request.method == "POST":
        values = request.form
    elif claim is not None:
        values = {name: ("" if getattr(claim, name) is None else str(getattr(claim, name)))
                  for name in (*FIELD_LABELS, "claim_type") if hasattr(claim, name)}
        values = _Values(values)
    else:
        values = _Values({})
    return render_template(template, fields=CLAIM_FORM_FIELDS, form=values, errors=errors, labels=FIELD_LABELS,
                           claim=claim, claim_types=CLAIM_TYPES, text_consent_choices=intake.TEXT_CONSENT,
                           staff=service.staff_choices(),
                           marketing_wording=intake.marketing_wording(g.shop)[0]), status


class _Values(dict):  # type: ignore[type-arg]
    """A stored claim's values, read like a submitted form (``get`` and ``getlist``)."""

    def getlist(self, key: str) -> list[str]:
        return []


@bp.before_request
@login_required
def _need_shop() -> None:
    staff_only()



def _claim(claim_id: int) -> Claim:
    claim = get_session().get(Claim, claim_id)
    if claim is None:
        abort(404)
    return claim


@bp.get("/")
def board() -> Any:
    """The production board: open work, plus claims delivered within the shop's last
    ``claims.board_delivered_days`` days; filters by insurer, estimator (a user id, or ``none`` for
    unassigned claims) and overdue ETA; counts per column."""
    stages, values = shop_side_cache(current_app).stages_and_settings(g.shop.id)
    days = int(values["claims.board_delivered_days"] or 0)
    now = utcnow()
    stmt = select(Claim).where(Claim.archived_at.is_(None),
                               or_(Claim.delivered_at.is_(None), Claim.delivered_at >= now - timedelta(days=days)))
    insurer = (request.args.get("insurer") or "").strip()[:120]
    overdue = request.args.get("overdue") == "1"
    today = now.astimezone(_zone()).date()
    if insurer:
        stmt = stmt.where(Claim.insurer == insurer)
    if overdue:
        stmt = stmt.where(Claim.eta < today, Claim.delivered_at.is_(None))
    staff = service.staff_choices()
    estimator = request.args.get("estimator") or ""
    if estimator == "none":
        stmt = stmt.where(Claim.estimator_id.is_(None))
    elif estimator:
        if not estimator.isdigit() or int(estimator) not in {uid for uid, _ in staff}:
            abort(400, "Pick an estimator of this shop.")
        stmt = stmt.where(Claim.estimator_id == int(estimator))
    claims = get_session().scalars(stmt.order_by(Claim.stage_entered_at)).all()
    # One statement for the insurer filter's choices and the count of delivered claims kept off the board.
    per_insurer = get_session().execute(select(
        Claim.insurer, func.count(case((Claim.delivered_at < now - timedelta(days=days), 1)))
    ).where(Claim.archived_at.is_(None)).group_by(Claim.insurer)).all()
    hidden = sum(count for _, count in per_insurer)
    insurers = sorted(insurer for insurer, _ in per_insurer if insurer)
    columns: dict[int, list[Claim]] = {s.id: [] for s in stages}
    orphans = []
    for claim in claims:
        (columns[claim.stage_id] if claim.stage_id in columns else orphans).append(claim)
    return render_template("staff/board.html", stages=stages, columns=columns, orphans=orphans, now=now,
                           today=today, days=days, hidden=hidden, insurer=insurer, insurers=insurers,
                           overdue=overdue, total=len(claims), staff=staff, estimator=estimator,
                           filtered=bool(insurer or overdue or estimator),
                           waiting=conversation.waiting([c.id for c in claims]))


def _zone() -> Any:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(g.shop.timezone) if g.shop.timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


PAGE_SIZE = service.SEARCH_PAGE_SIZE


@bp.get("/claims")
def claims() -> Any:
    """Claim list: search RO, name, phone (any format), VIN, plate, insurer claim #, make/model; filter by
    stage; 25 a page, newest activity first."""
    args = request.args
    q = (args.get("q") or "").strip()[:100]
    stages = active_stages()
    stage_id = args.get("stage_id", "")
    if stage_id and (not stage_id.isdigit() or int(stage_id) not in {s.id for s in stages}):
        abort(400, "Pick a stage of this shop.")
    try:
        page = int(args.get("page", "1"))
    except ValueError:
        abort(400, "Page must be a number.")
    found = service.search(q, int(stage_id) if stage_id else None, args.get("archived") == "1", page, PAGE_SIZE)
    if page < 1 or page > found.pages:
        abort(404)
    rows, total, pages = found.claims, found.total, found.pages
    base = {k: v for k, v in {"q": q, "stage_id": stage_id, "archived": args.get("archived")}.items() if v}
    return render_template("staff/claims.html", claims=rows, stages=stages, q=q, stage_id=stage_id, page=page,
                           pages=pages, total=total, base=base, archived=args.get("archived") == "1",
                           waiting=conversation.waiting([c.id for c in rows]))


@bp.route("/claims/new", methods=["GET", "POST"])
def new_claim() -> Any:
    """Open a claim. Every mistake (a used RO number, a bad VIN, phone, year or email) comes back
    next to its field with everything typed still there (422)."""
    need("claims.write")
    if request.method == "GET":
        return _claim_form("staff/new_claim.html", None, {}, 200)
    try:
        data = claim_form_data(request.form, create=True)
        claim = service.create_claim(data, g.principal.user_id)
    except ValidationError as exc:
        get_session().rollback()
        return _claim_form("staff/new_claim.html", None, _friendly(exc.messages), 422)
    link = claim.portal_link
    commit()
    flash(f"Claim {claim.number} opened.")
    # The staff-copy link exists in clear only now: this page shows it once.
    return _claim_page(claim, new_link=link.url, status=201)


@bp.route("/claims/<int:claim_id>/edit", methods=["GET", "POST"])
def edit_claim(claim_id: int) -> Any:
    """Correct a claim's customer, vehicle and insurer fields (the API's schema and the claim
    service: the same rules as ``PATCH /api/v1/claims/<id>``); errors inline, typed values kept."""
    need("claims.write")
    claim = _claim(claim_id)
    if request.method == "GET":
        return _claim_form("staff/edit_claim.html", claim, {}, 200)
    try:
        service.update_claim(claim, claim_form_data(request.form, create=False), g.principal.user_id)
    except ValidationError as exc:
        get_session().rollback()
        return _claim_form("staff/edit_claim.html", _claim(claim_id), _friendly(exc.messages), 422)
    commit()
    flash("Claim saved.")
    return redirect(url_for("console.claim", claim_id=claim.id))


@bp.post("/claims/<int:claim_id>/close")
def close_claim(claim_id: int) -> Any:
    """Close (archive) the claim with a reason: it leaves the board and the claim list."""
    need("claims.write")
    claim = _claim(claim_id)
    reason = request.form.get("reason") or ""
    if not reason.strip():
        flash("Say why the claim is closed (e.g. picked up, total loss, customer went elsewhere).", "error")
        return redirect(url_for("console.claim", claim_id=claim.id) + "#close")
    try:
        service.archive_claim(claim, g.principal.user_id, reason)
    except ValidationError as exc:
        get_session().rollback()
        flash(" ".join(_friendly(exc.messages)["reason"]), "error")
        return redirect(url_for("console.claim", claim_id=claim.id) + "#close")
    commit()
    flash(f"Claim {claim.number} closed. It left the board; find it with \u201cInclude closed\u201d in Claims.")
    return redirect(url_for("console.claim", claim_id=claim.id))


@bp.post("/claims/<int:claim_id>/reopen")
def reopen_claim(claim_id: int) -> Any:
    need("claims.write")
    claim = _claim(claim_id)
    service.reopen_claim(claim, g.principal.user_id)
    commit()
    flash(f"Claim {claim.number} reopened: it is back on the board.")
    return redirect(url_for("console.claim", claim_id=claim.id))


PURPOSE_LABELS = {"work_order": "Work order", "hang_tag": "Hang tag", "receipt": "Receipt",
                  "qr_sticker": "QR sticker", "sms": "Text messages", "email": "Email", "esign_sms": "E-sign texts",
                  "staff_copy": "Staff copy", "account": "Customer account"}


ATTEMPTS = "core.portal_attempts"


def _attempts_stmt(claim: Claim) -> Any:
    return (select(PortalAttempt).where(PortalAttempt.claim_id == claim.id)
            .order_by(PortalAttempt.at.desc(), PortalAttempt.id.desc()).limit(20))


def _claim_page(claim: Claim, new_link: str | None = None, status: int = 200,
                composer: conversation.Composer | None = None) -> Any:
    stages, _ = shop_side_cache(current_app).stages_and_settings(g.shop.id)  # settings: read once, shared
    bundle = request_bundle()  # the page's reads, the core's and every panel's: one statement
    parts = {messages.THREAD: messages.thread_stmt(claim), conversation.OUTBOX: conversation.outbox_stmt(claim),
             portal_tokens.ACTIVE: portal_tokens.active_tokens_stmt(claim), ATTEMPTS: _attempts_stmt(claim),
             **service.history_stmts(claim)}
    for key, stmt in parts.items():
        bundle.want(key, stmt)
    call_each(g.hooks.prefetch, claim=claim, view="staff", bundle=bundle)
    panels = sorted(collect(g.hooks.claim_panels, claim=claim, user=g.principal.user), key=lambda p: p.order)
    live = [t for t in portal_tokens.active_tokens(claim) if portal_tokens.is_usable(t, claim)]
    portal = {"active": bool(live), "links": live, "labels": PURPOSE_LABELS,
              "expires_at": portal_tokens.expires_at(claim), "new_link": new_link,
              "channels": [c for c in ("sms",) if channel_ready(g.shop, c)]}
    attempts = prefetched(ATTEMPTS, _attempts_stmt(claim))
    channels = conversation.channels(claim)
    entries = conversation.entries(claim)
    user = g.principal.user
    extensions = sorted(collect(g.hooks.composer_extensions, claim=claim, user=user, args=dict(request.args)),
                        key=lambda e: e.order)
    actions = {e.message.id: sorted(collect(g.hooks.message_actions, claim=claim, message=e.message, user=user),
                                    key=lambda a: a.order) for e in entries}
    if composer is None:
        composer = conversation.Composer("", conversation.default_channel(entries, channels))
        conversation.prefill(composer, extensions, channels)
    eta_closed = shop_hours.closed_reason(g.shop, claim.eta) if claim.eta else None
    return render_template("staff/claim.html", claim=claim, stages=stages, eta_closed=eta_closed,
                           next_open=shop_hours.next_open_day(g.shop, claim.eta) if eta_closed else None,
                           history=service.history(claim), panels=panels, thread=entries,
                           channels=channels, composer=composer, reply_key=uuid.uuid4().hex,
                           composer_extensions=extensions, message_actions=actions,
                           replaces_send=any(e.replaces_send for e in extensions),
                           portal=portal, printing_docs=printing.DOCUMENTS, attempts=attempts), status


@bp.get("/events")
@limiter.limit("30 per minute")
def events() -> Any:
    """Server-Sent Events for the staff pages of the current shop: the type and claim of each change
    to any of its claims (the board and claim pages refetch themselves)."""
    return event_stream(shop_channel(g.shop.id), staff_event_types(),
                        lambda message: {"type": message["type"], "claim_id": message.get("claim_id")})


@bp.get("/claims/<int:claim_id>")
def claim(claim_id: int) -> Any:
    return _claim_page(_claim(claim_id))


@bp.post("/claims/<int:claim_id>/messages")
def reply(claim_id: int) -> Any:
    """The claim's one composer: ``channel`` ``portal`` posts to the customer page (and, when texting
    is set up and allowed, texts a short "new message" notice with the link); ``sms`` texts the
    customer through the core outbox (purpose ``conversational``). A refusal keeps what was typed."""
    need("messages.send")
    claim = _claim(claim_id)
    form = request.form
    channel = form.get("channel") or "portal"
    body = (form.get("body") or "").strip()
    key = (form.get("idempotency_key") or "").strip()[:80] or uuid.uuid4().hex
    ready = conversation.channels(claim)
    if channel not in ready:
        return _claim_page(claim, composer=conversation.Composer(body, channel, "That channel is not set up for "
                                                                 "this shop; pick another."), status=422)
    if not body or len(body) > messages.MAX_BODY:
        return _claim_page(claim, composer=conversation.Composer(
            body, channel, f"Write a message first (up to {messages.MAX_BODY} characters)."), status=422)
    try:
        note = conversation.send(claim, channel, body, key, g.principal.user_id,
                                 confirm_quiet_hours=form.get("confirm_quiet_hours") in ("1", "on"))
    except Refused as refused:
        get_session().rollback()
        return _claim_page(claim, composer=conversation.Composer(body, channel, refused.message,
                                                                 quiet=refused.code == "quiet_hours"),
                           status=409)
    except ValidationError:
        get_session().rollback()
        return _claim_page(claim, composer=conversation.Composer(body, channel, "Write a message first."),
                           status=422)
    flash(note)
    return redirect(url_for("console.claim", claim_id=claim.id) + "#messages")


@bp.post("/claims/<int:claim_id>/portal-link")
def portal_link(claim_id: int) -> Any:
    """Issue a new staff-copy link (only the previous staff copy stops). Shown once, in this response."""
    need("portal.manage")
    claim = _claim(claim_id)
    link = portal_tokens.issue(claim, g.principal.user_id, purpose="staff_copy")
    commit()
    return _claim_page(claim, new_link=link.url)


@bp.post("/claims/<int:claim_id>/portal-link/revoke")
def revoke_portal_link(claim_id: int) -> Any:
    """Revoke all links of the claim: every link and every open portal session of it stops."""
    need("portal.manage")
    claim = _claim(claim_id)
    portal_tokens.revoke_all(claim, g.principal.user_id)
    commit()
    flash("Every customer link of this claim was revoked; open portal pages stopped working.")
    return redirect(url_for("console.claim", claim_id=claim.id))


@bp.post("/claims/<int:claim_id>/portal-links/<int:link_id>/revoke")
def revoke_one_link(claim_id: int, link_id: int) -> Any:
    """Revoke one link; the portal sessions opened with it stop, the claim's other links keep working."""
    need("portal.manage")
    claim = _claim(claim_id)
    token = get_session().get(PortalToken, link_id)
    if token is None or token.claim_id != claim.id:
        abort(404)
    portal_tokens.revoke_link(claim, link_id, g.principal.user_id)
    commit()
    flash(f"The {PURPOSE_LABELS.get(token.purpose, token.purpose).lower()} link was revoked; "
          "the claim's other links keep working.")
    return redirect(url_for("console.claim", claim_id=claim.id) + "#portal-link")


@bp.post("/claims/<int:claim_id>/portal-link/send")
def send_portal_link(claim_id: int) -> Any:
    """Text the customer the claim's SMS link (the channel's live link; no other link changes)."""
    need("portal.manage")
    claim = _claim(claim_id)
    if request.form.get("channel", "sms") != "sms" or not channel_ready(g.shop, "sms"):
        abort(409, "Texting is not set up for this shop.")
    if not claim.customer_mobile:
        flash("The claim has no mobile number: nothing was sent.")
        return redirect(url_for("console.claim", claim_id=claim.id) + "#portal-link")
    # ``{portal_link}`` becomes the SMS channel's live link only in the provider request.
    body = f"{g.shop.name}: follow your repair {claim.number} here: {{portal_link}}"
    key = f"portal-link:{claim.id}:{request.form.get('idempotency_key') or uuid.uuid4().hex}"
    item = outbox.text_portal_link(claim, body, key, user_id=g.principal.user_id, confirm_quiet_hours=True)
    if isinstance(item, Refused):
        flash(f"Not sent: {item.message}")
    elif item.state == "failed":
        flash(f"Not sent: {item.reason or 'the texting channel did not accept the text.'}")
    else:
        flash(f"The link was texted to the customer ({item.reason or item.state}).")
    return redirect(url_for("console.claim", claim_id=claim.id) + "#portal-link")


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/claims/<int:claim_id>/stage")
def move(claim_id: int) -> Any:
    """Move a claim (the board's arrow buttons and drag and drop, the claim page's select). A fetch
    asking for JSON gets ``{claim_id, stage_id, stage}`` instead of a redirect."""
    need("claims.stage")
    claim = _claim(claim_id)
    try:
        service.change_stage(claim, service.get_stage(int(request.form.get("stage_id", "0"))), g.principal.user_id)
        commit()
    except (ValueError, ValidationError):
        get_session().rollback()
        if wants_json():
            return jsonify(code="invalid_stage", status=400, message="Pick a stage of this shop."), 400
        abort(400, "Pick a stage of this shop.")
    if wants_json():
        return jsonify(claim_id=claim.id, stage_id=claim.stage_id, stage=claim.stage.name)
    return redirect(safe_redirect_target(request.form.get("back"), url_for("console.claim", claim_id=claim.id),
                                         prefix="/console/"))


@bp.post("/claims/<int:claim_id>/eta")
def eta(claim_id: int) -> Any:
    need("claims.eta")
    claim = _claim(claim_id)
    raw = request.form.get("eta", "")
    try:
        new = date.fromisoformat(raw) if raw else None
    except ValueError:
        abort(400, "ETA must be a date.")
    service.set_eta(claim, new, g.principal.user_id, request.form.get("reason") or None)
    commit()
    return redirect(url_for("console.claim", claim_id=claim.id))


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})


def _reissue() -> bool:
    return request.form.get("reissue") in ("1", "on", "true")


def _paper() -> str | None:
    paper = request.form.get("paper") or None
    if paper is not None and paper not in ("letter", "a4"):
        abort(400, "Paper is letter or a4.")
    return paper


@bp.post("/claims/<int:claim_id>/print")
def print_document(claim_id: int) -> Any:
    """Work order / hang tag / receipt PDF with that document's current link (the paper printed
    before keeps working); ``reissue`` replaces only that document's link."""
    need("portal.manage")
    claim = _claim(claim_id)
    kind = request.form.get("document", "work-order")
    if kind not in printing.DOCUMENTS:
        abort(400, "Unknown document.")
    link = printing.document_link(claim, kind, _reissue(), g.principal.user_id)
    data = printing.render(kind, [(claim, g.shop, link.url)], _paper())
    commit()
    return _pdf(data, f"{claim.number}-{kind}.pdf")


@bp.post("/claims/<int:claim_id>/print-set")
def print_check_in_set(claim_id: int) -> Any:
    """The check-in set: work order, hang tag and receipt in one PDF, each with its own link."""
    need("portal.manage")
    claim = _claim(claim_id)
    data = printing.check_in_set(claim, g.shop, g.principal.user_id, _paper())
    commit()
    return _pdf(data, f"{claim.number}-check-in-set.pdf")


@bp.post("/claims/<int:claim_id>/qr")
def qr_code(claim_id: int) -> Any:
    """The QR-sticker link as SVG or PNG (its current link; ``reissue`` replaces only it)."""
    need("portal.manage")
    claim = _claim(claim_id)
    fmt = request.form.get("format", "svg")
    if fmt not in ("svg", "png"):
        abort(400, "Format is svg or png.")
    link = printing.document_link(claim, "qr_sticker", _reissue(), g.principal.user_id)
    data = printing.qr_svg(link.url) if fmt == "svg" else printing.qr_png(link.url)
    commit()
    return Response(data, mimetype="image/svg+xml" if fmt == "svg" else "image/png",
                    headers={"Cache-Control": "no-store"})


@bp.post("/print")
def batch_print() -> Any:
    """One PDF for many claims, each page with that claim's current link for the document."""
    need("portal.manage")
    kind = request.form.get("document", "work-order")
    if kind not in printing.DOCUMENTS:
        abort(400, "Unknown document.")
    try:
        ids = sorted({int(i) for i in request.form.getlist("claim_id")})
    except ValueError:
        abort(400, "Pick claims to print.")
    if not ids or len(ids) > 200:
        abort(400, "Pick between 1 and 200 claims to print.")
    claims = [_claim(i) for i in ids]
    pages = [(c, g.shop, printing.document_link(c, kind, user_id=g.principal.user_id).url) for c in claims]
    data = printing.render(kind, pages, _paper())
    commit()
    return _pdf(data, f"batch-{kind}.pdf")
