"""Staff console: production board, claim page, new claim."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import login_required
from marshmallow import ValidationError
from sqlalchemy import select

from bayline.auth.permissions import need, staff_only
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
from bayline.plugins.calling import collect
from bayline.portal import printing
from bayline.portal import tokens as portal_tokens
from bayline.portal.models import PortalAttempt, PortalToken
from bayline.urls import safe_redirect_target
from bayline.web.sse import event_stream

bp = Blueprint("console", __name__, url_prefix="/console")

CLAIM_FORM_FIELDS = [
    ("number", "Claim / RO number"), ("customer_first_name", "Customer first name"),
    ("customer_last_name", "Customer last name"), ("customer_mobile", "Mobile"), ("customer_email", "Email"),
    ("vehicle_year", "Year"), ("vehicle_make", "Make"), ("vehicle_model", "Model"), ("vehicle_color", "Colour"),
    ("vin", "VIN"), ("plate", "Plate"), ("insurer", "Insurer"), ("insurer_claim_number", "Insurer claim #"),
    ("adjuster_name", "Adjuster"), ("adjuster_email", "Adjuster email"), ("adjuster_phone", "Adjuster phone"),
]


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
    stages = active_stages()
    claims = get_session().scalars(select(Claim).where(Claim.archived_at.is_(None))
                                   .order_by(Claim.stage_entered_at)).all()
    columns = {s.id: [] for s in stages}
    orphans = []
    for claim in claims:
        (columns[claim.stage_id] if claim.stage_id in columns else orphans).append(claim)
    return render_template("staff/board.html", stages=stages, columns=columns, orphans=orphans, now=utcnow(),
                           today=date.today())


PAGE_SIZE = service.SEARCH_PAGE_SIZE


@bp.get("/claims")
def claims() -> Any:
    """Claim list: search number, customer, VIN or plate; filter by stage; 25 a page, newest activity first."""
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
                           pages=pages, total=total, base=base, archived=args.get("archived") == "1")


@bp.route("/claims/new", methods=["GET", "POST"])
def new_claim() -> Any:
    need("claims.write")
    errors: dict[str, Any] = {}
    form = request.form
    if request.method == "POST":
        data = {k: form.get(k, "").strip() or None for k, _ in CLAIM_FORM_FIELDS}
        data["claim_type"] = form.get("claim_type") or "insurance"
        data["text_consent"] = form.get("text_consent") or None
        data["marketing_consent"] = form.getlist("marketing_consent")
        try:
            if data["vehicle_year"]:
                data["vehicle_year"] = int(data["vehicle_year"])
            if form.get("eta"):
                data["eta"] = date.fromisoformat(form["eta"])
            if data["claim_type"] not in CLAIM_TYPES:
                raise ValidationError({"claim_type": ["unknown claim type"]})
            claim = service.create_claim({k: v for k, v in data.items() if v is not None}, g.principal.user_id)
            link = claim.portal_link
            commit()
            flash(f"Claim {claim.number} opened.")
            # The staff-copy link exists in clear only now: this page shows it once.
            return _claim_page(claim, new_link=link.url, status=201)
        except (ValidationError, ValueError) as exc:
            errors = exc.messages if isinstance(exc, ValidationError) else {"form": [str(exc)]}
            get_session().rollback()
    return render_template("staff/new_claim.html", fields=CLAIM_FORM_FIELDS, form=form, errors=errors,
                           claim_types=CLAIM_TYPES, text_consent_choices=intake.TEXT_CONSENT,
                           marketing_wording=intake.marketing_wording(g.shop)[0]), 422 if errors else 200


PURPOSE_LABELS = {"work_order": "Work order", "hang_tag": "Hang tag", "receipt": "Receipt",
                  "qr_sticker": "QR sticker", "sms": "Text messages", "email": "Email", "esign_sms": "E-sign texts",
                  "staff_copy": "Staff copy"}


def _claim_page(claim: Claim, new_link: str | None = None, status: int = 200) -> Any:
    panels = sorted(collect(g.hooks.claim_panels, claim=claim, user=g.principal.user), key=lambda p: p.order)
    live = [t for t in portal_tokens.active_tokens(claim) if portal_tokens.is_usable(t, claim)]
    portal = {"active": bool(live), "links": live, "labels": PURPOSE_LABELS,
              "expires_at": portal_tokens.expires_at(claim), "new_link": new_link,
              "channels": [c for c in ("sms",) if channel_ready(g.shop, c)]}
    attempts = get_session().scalars(select(PortalAttempt).where(PortalAttempt.claim_id == claim.id)
                                     .order_by(PortalAttempt.at.desc(), PortalAttempt.id.desc()).limit(20)).all()
    return render_template("staff/claim.html", claim=claim, stages=active_stages(),
                           history=service.history(claim), panels=panels, thread=messages.thread(claim),
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
    need("messages.send")
    claim = _claim(claim_id)
    try:
        messages.send(claim, request.form.get("body"), g.principal.user_id)
    except ValidationError:
        get_session().rollback()
        flash("Write a message first (up to 2000 characters).")
        return redirect(url_for("console.claim", claim_id=claim.id) + "#messages")
    commit()
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
    try:
        item, _ = outbox.enqueue(channel="sms", purpose="transactional", recipient=claim.customer_mobile,
                                 body=body, idempotency_key=key, claim=claim, user_id=g.principal.user_id,
                                 confirm_quiet_hours=True)
    except Refused as refused:
        get_session().rollback()
        flash(f"Not sent: {refused.message}")
    else:
        if item.state == "failed":
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
