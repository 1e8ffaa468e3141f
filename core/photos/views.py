"""Routes that move photo and upload bytes: staff console (``/console``), the customer's portal
session (``/c/s``) and the gallery's static assets. Every file route loads the row through the
tenant-scoped session and checks who may see it before a byte leaves storage."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask_login import login_required

from bayline.auth.permissions import need, staff_only
from bayline.db import get_session
from bayline.errors import wants_json
from bayline.events import commit
from bayline.extensions import limiter
from bayline.portal.current import current_portal_claim

from . import service
from .checks import Rejected
from .models import Attachment, Photo
from .sending import send_file_bytes

HERE = Path(__file__).parent
assets = Blueprint("photos_assets", __name__, static_folder=str(HERE / "static"),
                   static_url_path="/assets/photos")
console = Blueprint("photos_console", __name__, url_prefix="/console", template_folder="templates")
portal = Blueprint("photos_portal", __name__, url_prefix="/c/s", template_folder="templates")

def incoming(field: str = "files") -> list[service.Incoming]:
    return [service.Incoming(f.filename or "", f.read()) for f in request.files.getlist(field)
            if f is not None and (f.filename or f.content_length)]


def rejected_json(exc: Rejected) -> tuple[dict[str, Any], int]:
    payload: dict[str, Any] = {"code": exc.code, "status": exc.status, "message": exc.message}
    if exc.filename:
        payload["errors"] = {"files": {exc.filename: [exc.message]}}
    return payload, exc.status


# -- staff console --------------------------------------------------------------------------------

@console.before_request
@login_required
def _staff_only() -> None:
    staff_only()



def _claim_or_404(claim_id: int) -> Any:
    from bayline.claims.models import Claim

    claim = get_session().get(Claim, claim_id)
    if claim is None:
        abort(404)
    return claim


def _staff_photo(photo_id: int) -> Photo:
    photo = service.get_photo(photo_id)
    if photo is None or photo.deleted_at is not None:
        abort(404)
    return photo


def _photos_feature() -> None:
    if "photos" not in g.get("features", frozenset()):
        abort(403, "Photos are not on this shop's plan.")


@console.post("/claims/<int:claim_id>/photos")
def upload(claim_id: int) -> Any:
    """Staff upload from the claim page (several files; camera on phones and tablets)."""
    claim = _claim_or_404(claim_id)
    _photos_feature()
    need("photos.upload")
    back = url_for("console.claim", claim_id=claim.id) + "#photos"
    files = incoming()
    if not files and not wants_json():
        flash("Choose or take at least one photo.")
        return redirect(back, 303)
    try:
        photos, batch = service.add_photos(claim, files, tag=request.form.get("tag") or "during",
                                           visibility=request.form.get("visibility") or "customer",
                                           user_id=g.principal.user_id)
    except Rejected as exc:
        get_session().rollback()
        if wants_json():
            return rejected_json(exc)
        flash(f"{exc.filename + ': ' if exc.filename else ''}{exc.message} Nothing was uploaded.")
        return redirect(back, 303)
    try:
        commit()
    except BaseException:
        batch.discard()
        raise
    service.enqueue(photos)
    if wants_json():
        for photo in photos:
            get_session().refresh(photo)  # processed by the task in its own session
        return jsonify([{"id": p.id, "status": p.status, "tag": p.tag, "visibility": p.visibility}
                        for p in photos]), 201
    flash(f"{len(photos)} photo{'s' if len(photos) != 1 else ''} uploaded.")
    return redirect(back, 303)


@console.post("/photos/<int:photo_id>")
def edit(photo_id: int) -> Any:
    """Retag, change who sees it, hide/unhide or delete (soft) one photo."""
    photo = _staff_photo(photo_id)
    form = request.form
    back = url_for("console.claim", claim_id=photo.claim_id) + "#photos"
    action = form.get("action", "save")
    if action == "delete":
        need("photos.manage")
        service.delete_photo(photo, g.principal.user_id)
        commit()
        flash("Photo deleted.")
        return redirect(back, 303)
    if action in ("up", "down"):
        need("photos.upload")
        service.move_photo(photo, -1 if action == "up" else 1, g.principal.user_id)
        commit()
        return redirect(back, 303)
    changes: dict[str, Any] = {}
    if form.get("tag"):
        changes["tag"] = form["tag"]
    if form.get("visibility"):
        changes["visibility"] = form["visibility"]
    if action in ("hide", "unhide"):
        changes["hidden"] = action == "hide"
    if "caption" in form:
        changes["caption"] = form["caption"].strip()[:300] or None
    if changes:
        need("photos.manage" if set(changes) - {"tag", "caption"} else "photos.upload")
    try:
        service.update_photo(photo, changes, g.principal.user_id)
    except Rejected as exc:
        get_session().rollback()
        flash(exc.message)
        return redirect(back, 303)
    commit()
    return redirect(back, 303)


def _variant(photo: Photo, variant: str) -> Response:
    if variant == service.ORIGINAL:
        return send_file_bytes(f"{photo.key}/{service.ORIGINAL}", photo.original_content_type,
                               filename=photo.original_filename or f"photo-{photo.id}", download=True)
    if photo.status != "ready":
        abort(404)
    content_type = "image/webp" if variant == service.THUMB else "image/jpeg"
    return send_file_bytes(f"{photo.key}/{variant}", content_type)


@console.get("/photos/<int:photo_id>/thumb")
def staff_thumb(photo_id: int) -> Response:
    return _variant(_staff_photo(photo_id), service.THUMB)


@console.get("/photos/<int:photo_id>/display")
def staff_display(photo_id: int) -> Response:
    return _variant(_staff_photo(photo_id), service.DISPLAY)


@console.get("/photos/<int:photo_id>/original")
def staff_original(photo_id: int) -> Response:
    """The file as uploaded (with its metadata): staff only, always as a download."""
    return _variant(_staff_photo(photo_id), service.ORIGINAL)


def _staff_attachment(attachment_id: int) -> Attachment:
    row = service.get_attachment(attachment_id)
    if row is None or row.deleted_at is not None:
        abort(404)
    return row


@console.get("/attachments/<int:attachment_id>/file")
def attachment_file(attachment_id: int) -> Response:
    row = _staff_attachment(attachment_id)
    return send_file_bytes(f"{row.key}/{service.ORIGINAL}", row.content_type, filename=row.filename,
                           download=row.content_type == "application/pdf")


@console.post("/attachments/<int:attachment_id>")
def attachment_edit(attachment_id: int) -> Any:
    row = _staff_attachment(attachment_id)
    back = url_for("console.claim", claim_id=row.claim_id) + "#attachments"
    if request.form.get("action") == "delete":
        need("photos.manage")
        service.delete_attachment(row, g.principal.user_id)
        commit()
        flash("File deleted.")
    return redirect(back, 303)


# -- customer portal --------------------------------------------------------------------------------

def _portal_claim() -> Any:
    return current_portal_claim()


def _portal_photo(photo_id: int) -> Photo:
    claim = _portal_claim()
    if "photos" not in g.features:
        abort(404)
    photo = service.get_photo(photo_id, claim.id)
    if photo is None or not photo.customer_visible:
        abort(404)  # another claim's, internal, hidden, deleted or not ready: all look the same
    return photo


@portal.get("/photos/<int:photo_id>/thumb")
@limiter.limit("600 per minute")
def portal_thumb(photo_id: int) -> Response:
    return _variant(_portal_photo(photo_id), service.THUMB)


@portal.get("/photos/<int:photo_id>/display")
@limiter.limit("300 per minute")
def portal_display(photo_id: int) -> Response:
    return _variant(_portal_photo(photo_id), service.DISPLAY)


@portal.post("/uploads")
@limiter.limit("10 per minute; 60 per hour")
def portal_upload() -> Any:
    """Customer photos and documents (JPEG, PNG, HEIC, PDF), checked by content, onto the claim."""
    claim = _portal_claim()
    if "uploads" not in g.features:
        abort(404)
    back = url_for("portal.home") + "#uploads"
    try:
        rows, batch = service.add_attachments(claim, incoming(), source="customer",
                                              portal_token_id=session["portal"]["t"],
                                              note=(request.form.get("note") or "").strip()[:300] or None)
    except Rejected as exc:
        get_session().rollback()
        if wants_json():
            return rejected_json(exc)
        session["photos.upload_notice"] = {"ok": False, "text": exc.message}
        return redirect(back, 303)
    try:
        commit()
    except BaseException:
        batch.discard()
        raise
    if wants_json():
        return jsonify({"received": [{"id": r.id, "filename": r.filename} for r in rows]}), 201
    count = len(rows)
    session["photos.upload_notice"] = {"ok": True, "text": f"Thank you, we received {count} file"
                                       f"{'s' if count != 1 else ''}."}
    return redirect(back, 303)
