"""Staff routes under ``/plugins/ai_drafts``: draft a reply (the composer's "Draft reply" and the
thread's "Suggest"), send or discard a draft, the quality page and the endpoint check.

Every form comes back to the claim page with the draft in the composer (``?ai_draft=<id>``): a
refusal keeps what staff typed in the draft row and shows the reason there."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for

from bayline.plugin_api import Claim, Refused, current_principal, get_session, require, staff_blueprint, wants_json

from . import NAME, service
from .models import AiDraft
from .providers import OPENAI_COMPATIBLE

staff = staff_blueprint(NAME)


def _claim(claim_id: int) -> Claim:
    claim = get_session().get(Claim, claim_id)
    if claim is None:
        abort(404)
    return claim


def _draft(draft_id: int) -> AiDraft:
    draft = service.get(draft_id)
    if draft is None:
        abort(404)
    return draft


def _staff_user() -> int:
    user_id = current_principal().user_id
    if user_id is None:
        raise Refused(403, "staff_only", "Only a logged-in staff member can send a draft.")
    return user_id


def _back(claim_id: int, draft_id: int | None = None, adjuster: bool = False) -> Any:
    args = {"ai_draft": draft_id} if draft_id else {}
    anchor = "#panel-ai_drafts" if adjuster else "#messages"
    return redirect(url_for("console.claim", claim_id=claim_id, **args) + anchor, code=303)


@staff.post("/claims/<int:claim_id>/draft")
@require("ai_drafts.use")
def draft(claim_id: int) -> Any:
    claim = _claim(claim_id)
    form = request.form
    message_id = form.get("message_id", "")
    try:
        row = service.create(claim, g.shop, current_principal().user_id, channel=form.get("channel") or "sms",
                             mode=form.get("mode") or "customer",
                             message_id=int(message_id) if message_id.isdigit() else None,
                             typed=(form.get("body") or "").strip())
    except Refused as refused:
        draft_id = getattr(refused, "draft_id", None)
        if draft_id is None or wants_json():
            raise
        return _back(claim.id, draft_id, form.get("mode") == "adjuster")
    if wants_json():
        return {"id": row.id, "text": row.draft_text, "one_click_send": service.one_click(row)}, 201
    return _back(claim.id, row.id, row.mode == "adjuster")


@staff.post("/drafts/<int:ai_draft_id>/send")
@require("ai_drafts.use")
def send(ai_draft_id: int) -> Any:
    row = _draft(ai_draft_id)
    claim = _claim(row.claim_id)
    user_id = _staff_user()
    form = request.form
    body = (form.get("body") or "").strip()
    try:
        note = service.send(row, claim, g.shop, body, user_id, confirm_facts=form.get("confirm_facts") in ("1", "on"),
                            confirm_quiet_hours=form.get("confirm_quiet_hours") in ("1", "on"))
    except Refused as refused:
        if wants_json():
            raise
        get_session().rollback()
        row = _draft(ai_draft_id)  # keep what was typed, with the reason, for the composer
        if row.state == "drafted":
            row.pending_text, row.error = body, refused.message[:500]
            get_session().commit()
        return _back(claim.id, row.id, row.mode == "adjuster")
    flash(note)
    return _back(claim.id, adjuster=row.mode == "adjuster")


@staff.post("/drafts/<int:ai_draft_id>/discard")
@require("ai_drafts.use")
def discard(ai_draft_id: int) -> Any:
    row = _draft(ai_draft_id)
    service.discard(row)
    flash("Draft discarded.")
    return _back(row.claim_id)


@staff.get("/")
@require("ai_drafts.use")
def index() -> Any:
    from sqlalchemy import select

    recent = get_session().scalars(select(AiDraft).order_by(AiDraft.id.desc()).limit(20)).all()
    return render_template("bayline_ai_drafts/index.html", stats=service.stats(), recent=recent,
                           provider=service.settings(g.shop).get_str("provider"), check=None)


@staff.post("/check-endpoint")
@require("ai_drafts.use")
def check_endpoint() -> Any:
    """Ask the configured endpoint for its models and say which configured ones it lacks."""
    from sqlalchemy import select

    config = service.provider_config(g.shop, "sms_reply")
    s = service.settings(g.shop)
    result: dict[str, Any] = {"ok": False, "error": None, "models": [], "missing": []}
    try:
        result["models"] = OPENAI_COMPATIBLE.models(config)
        wanted = {k: s.get_str(f"model_{k}") for k in ("sms_reply", "email_reply", "adjuster_email",
                                                       "classification")}
        result["missing"] = [f"{k}: {v}" for k, v in wanted.items() if v and v not in result["models"]]
        result["ok"] = not result["missing"]
    except Refused as refused:
        result["error"] = refused.message
    recent = get_session().scalars(select(AiDraft).order_by(AiDraft.id.desc()).limit(20)).all()
    return render_template("bayline_ai_drafts/index.html", stats=service.stats(), recent=recent,
                           provider=s.get_str("provider"), check=result), 200 if result["ok"] else 422
