"""Staff console pages of the messaging core: the outbox (per shop, per claim) and consent per contact."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import login_required
from marshmallow import ValidationError

from bayline.api.outbox import ConsentChangeSchema, change_consent, consent_view, items
from bayline.auth.permissions import need, staff_only
from bayline.db import get_session
from bayline.errors import Refused
from bayline.events import commit
from bayline.messaging import service as messaging
from bayline.messaging.links import display_body
from bayline.messaging.models import PURPOSES, STATES, OutboxItem

bp = Blueprint("console_outbox", __name__, url_prefix="/console")


@bp.before_request
@login_required
def _need_shop() -> None:
    staff_only()


def _item(item_id: int) -> OutboxItem:
    item = get_session().get(OutboxItem, item_id)
    if item is None:
        raise Refused(404, "not_found", "No such outbox message.")
    return item


def _back(item: OutboxItem) -> Any:
    if request.form.get("back") == "claim" and item.claim_id:
        return redirect(url_for("console.claim", claim_id=item.claim_id) + "#outbox")
    return redirect(url_for("console_outbox.outbox", **({"claim_id": item.claim_id} if item.claim_id else {})))


@bp.get("/outbox")
def outbox() -> Any:
    """The shop's outbox with filters (state, purpose, channel, claim)."""
    need("claims.read")
    filters: dict[str, Any] = {}
    for name, allowed in (("state", STATES), ("purpose", PURPOSES)):
        value = request.args.get(name) or ""
        if value in allowed:
            filters[name] = value
    channel = (request.args.get("channel") or "").strip()[:20]
    if channel:
        filters["channel"] = channel
    claim_id = request.args.get("claim_id", type=int)
    if claim_id:
        filters["claim_id"] = claim_id
    return render_template("staff/outbox.html", rows=items({**filters, "limit": 200}), filters=filters,
                           states=STATES, purposes=PURPOSES, display_body=display_body)


def _act(item: OutboxItem, action: Any, done: str) -> Any:
    try:
        action()
    except Refused as refused:
        get_session().rollback()
        flash(refused.message, "error")
    else:
        flash(done)
    return _back(item)


@bp.post("/outbox/<int:item_id>/cancel")
def cancel(item_id: int) -> Any:
    need("messages.send")
    item = _item(item_id)
    return _act(item, lambda: messaging.cancel(item), "Message cancelled.")


@bp.post("/outbox/<int:failed_item_id>/retry")
def retry(failed_item_id: int) -> Any:
    need("messages.send")
    item = _item(failed_item_id)
    return _act(item, lambda: messaging.retry(item, g.principal.user_id), "Sending again.")


@bp.post("/outbox/<int:draft_id>/queue")
def queue(draft_id: int) -> Any:
    """A staff member sends a draft (the only path from draft to queued)."""
    need("messages.send")
    item = _item(draft_id)
    confirm = request.form.get("confirm_quiet_hours") == "1"
    return _act(item, lambda: messaging.queue_draft(item, g.principal.user_id, confirm), "Draft sent.")


@bp.route("/consent", methods=["GET", "POST"])
def consent() -> Any:
    """Consent of one contact (phone or email): per channel and purpose, suppression, history; staff
    record a grant or a revocation. Errors show inline and keep what was typed."""
    need("claims.read")
    contact = (request.values.get("contact") or "").strip()
    errors: dict[str, list[str]] = {}
    form = request.form.to_dict() if request.method == "POST" else {}
    if request.method == "POST":
        need("messages.send")
        try:
            data = ConsentChangeSchema().load({k: v for k, v in form.items() if k != "csrf_token" and v != ""})
            change_consent(data, g.principal.user_id)
        except ValidationError as exc:
            get_session().rollback()
            errors = {k: list(v) for k, v in exc.messages.items()} if isinstance(exc.messages, dict) else {}
        except ValueError as exc:
            get_session().rollback()
            errors = {"wording": [str(exc)]}
        else:
            commit()
            flash("Consent recorded.")
            return redirect(url_for("console_outbox.consent", contact=data["contact"]))
    view = consent_view(contact) if len(contact) >= 3 else None
    status = 422 if errors else 200
    return render_template("staff/consent.html", contact=contact, view=view, errors=errors, form=form,
                           purposes=("transactional", "marketing")), status
