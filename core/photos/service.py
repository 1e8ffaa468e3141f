"""Photos and attachments of a claim: validated intake, storage, processing hand-off, staff edits
with an audit trail, and what the portal may see.

Intake is all-or-nothing per request: every file is checked before anything is stored, the rows
are written after the bytes, and stored bytes are removed again if the transaction fails, so a
refused or failed request leaves no rows and no orphaned files.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, select

from bayline import settings_registry
from bayline.bundle import Prepared, prefetched, prepare
from bayline.claims.models import Claim
from bayline.db import get_session, utcnow
from bayline.events import emit
from bayline.storage import get_storage, new_key

from . import checks
from .models import PHOTO_TAGS, VISIBILITIES, Attachment, FileAudit, Photo

log = logging.getLogger(__name__)

ORIGINAL = "original"
DISPLAY = "display.jpg"
THUMB = "thumb.webp"


@dataclass
class Incoming:
    """One uploaded file, read into memory (its size is already bounded by the request limit)."""

    filename: str
    data: bytes


# -- settings -----------------------------------------------------------------------------------

def shop_tags(shop_id: int) -> tuple[str, ...]:
    extra = settings_registry.get(shop_id, "photos.extra_tags") or ""
    tags = [t.strip().lower() for t in extra.split(",") if t.strip()]
    return PHOTO_TAGS + tuple(t[:30] for t in tags if t not in PHOTO_TAGS)


def max_pixels(shop_id: int) -> int:
    return int(settings_registry.get(shop_id, "photos.max_megapixels") or 60) * 1_000_000


def max_file_bytes(shop_id: int) -> int:
    shop_limit = int(settings_registry.get(shop_id, "uploads.max_file_mb") or 20) * 1024 * 1024
    app_limit = current_app.config.get("MAX_CONTENT_LENGTH") or shop_limit
    return min(shop_limit, app_limit)


def max_files_per_request(shop_id: int) -> int:
    return int(settings_registry.get(shop_id, "uploads.max_files_per_request") or 10)


# -- audit ---------------------------------------------------------------------------------------

def audit(claim_id: int, action: str, *, photo: Photo | None = None, attachment: Attachment | None = None,
          user_id: int | None = None, actor: str = "staff", detail: str | None = None) -> None:
    get_session().add(FileAudit(claim_id=claim_id, photo=photo, attachment=attachment, action=action,
                                user_id=user_id, actor=actor, detail=detail))


def audit_trail(claim: Claim) -> list[FileAudit]:
    return list(get_session().scalars(select(FileAudit).where(FileAudit.claim_id == claim.id)
                                      .order_by(FileAudit.at, FileAudit.id)))


# -- intake --------------------------------------------------------------------------------------

def _check_batch(files: list[Incoming], allowed: frozenset[str], shop_id: int) -> list[checks.Checked]:
    if not files:
        raise checks.Rejected("no_files", "Choose at least one file.", 400)
    limit = max_files_per_request(shop_id)
    if len(files) > limit:
        raise checks.Rejected("too_many_files", f"Send at most {limit} files at once.", 413)
    size_limit = max_file_bytes(shop_id)
    pixels = max_pixels(shop_id)
    result = []
    for item in files:
        try:
            if len(item.data) > size_limit:
                raise checks.Rejected("file_too_large",
                                      f"This file is larger than {size_limit // (1024 * 1024)} MB.", 413)
            result.append(checks.check(item.data, allowed, pixels))
        except checks.Rejected as exc:
            exc.filename = item.filename
            raise
    return result


class _StoredBatch:
    """Bytes written for one request, removed again unless :meth:`keep` is called."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def put(self, key: str, data: bytes, content_type: str) -> None:
        get_storage().put(key, data, content_type)
        self.keys.append(key)

    def discard(self) -> None:
        storage = get_storage()
        for key in self.keys:
            try:
                storage.delete(key)
            except Exception:  # pragma: no cover - best effort; logged for the operator
                log.exception("could not remove %s after a failed upload", key)
        self.keys = []


def add_photos(claim: Claim, files: list[Incoming], *, tag: str = "during", visibility: str = "customer",
               user_id: int | None = None, caption: str | None = None) -> tuple[list[Photo], _StoredBatch]:
    """Check every file, store the originals, add Photo rows (status ``processing``).
    The caller commits (or calls ``batch.discard()`` on failure) and then :func:`enqueue`."""
    tag = validate_tag(claim.tenant_id, tag)
    if visibility not in VISIBILITIES:
        raise checks.Rejected("invalid_visibility", "Visibility must be 'customer' or 'internal'.")
    checked = _check_batch(files, checks.PHOTO_TYPES, claim.tenant_id)
    session = get_session()
    batch = _StoredBatch()
    photos = []
    position = session.scalar(select(func.coalesce(func.max(Photo.position), 0)).where(
        Photo.claim_id == claim.id)) or 0
    try:
        for item, info in zip(files, checked, strict=True):
            key = new_key(claim.tenant_id, "photos")
            batch.put(f"{key}/{ORIGINAL}", item.data, info.content_type)
            position += 1
            photo = Photo(claim_id=claim.id, tenant_id=claim.tenant_id, key=key, tag=tag, visibility=visibility,
                          status="processing", position=position, caption=caption, source="staff",
                          original_filename=_clean_name(item.filename), original_content_type=info.content_type,
                          original_size=len(item.data), sha256=hashlib.sha256(item.data).hexdigest(),
                          width=info.width, height=info.height, uploaded_by_user_id=user_id)
            session.add(photo)
            audit(claim.id, "upload", photo=photo, user_id=user_id, detail=f"{tag}, {visibility}")
            photos.append(photo)
        session.flush()
    except BaseException:
        batch.discard()
        raise
    return photos, batch


PROCESS_TASK = "bayline.photos.process_photo"  # defined in .tasks (which imports this module)


def enqueue(photos: Iterable[Photo]) -> None:
    """Hand committed photos to the processing task (inline when Celery is eager)."""
    from bayline.tasks import enqueue as start_task

    for photo in photos:
        start_task(PROCESS_TASK, photo.id)


def add_attachments(claim: Claim, files: list[Incoming], *, source: str, user_id: int | None = None,
                    portal_token_id: int | None = None, note: str | None = None
                    ) -> tuple[list[Attachment], _StoredBatch]:
    """Check and store customer uploads or staff documents; ``upload.received`` fires on commit."""
    checked = _check_batch(files, checks.UPLOAD_TYPES, claim.tenant_id)
    session = get_session()
    if source == "customer":
        quota = int(settings_registry.get(claim.tenant_id, "uploads.claim_quota") or 0)
        used = session.scalar(select(func.count(Attachment.id)).where(
            Attachment.claim_id == claim.id, Attachment.source == "customer", Attachment.deleted_at.is_(None)))
        if quota and used + len(files) > quota:
            left = max(quota - used, 0)
            raise checks.Rejected("quota_exceeded",
                                  f"This claim has reached its upload limit ({quota} files; {left} left).", 422)
    batch = _StoredBatch()
    rows = []
    try:
        for item, info in zip(files, checked, strict=True):
            key = new_key(claim.tenant_id, "files")
            batch.put(f"{key}/{ORIGINAL}", item.data, info.content_type)
            name = _clean_name(item.filename) or f"upload.{info.extension}"
            row = Attachment(claim_id=claim.id, tenant_id=claim.tenant_id, key=key, filename=name,
                             content_type=info.content_type, size=len(item.data),
                             sha256=hashlib.sha256(item.data).hexdigest(), source=source, note=note,
                             uploaded_by_user_id=user_id, portal_token_id=portal_token_id)
            session.add(row)
            audit(claim.id, "upload", attachment=row, user_id=user_id, actor=source, detail=name)
            rows.append(row)
        session.flush()
        for row in rows if source == "customer" else []:
            emit("upload.received", claim.tenant_id,
                 {"claim_id": claim.id, "attachment_id": row.id, "source": source,
                  "content_type": row.content_type, "size": row.size})
    except BaseException:
        batch.discard()
        raise
    return rows, batch


def _clean_name(name: str | None) -> str | None:
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:200] or None


# -- processing -----------------------------------------------------------------------------------

def process(photo: Photo) -> Photo:
    """Render the display and thumbnail sizes; mark ready (or failed with the reason) and publish."""
    from .processing import render

    storage = get_storage()
    if photo.status == "ready":
        return photo  # idempotent: a retried task does nothing twice
    try:
        rendition = render(storage.get(f"{photo.key}/{ORIGINAL}"), max_pixels(photo.tenant_id))
    except checks.Rejected as exc:
        photo.status, photo.error = "failed", exc.message[:300]
        audit(photo.claim_id, "failed", photo=photo, actor="system", detail=exc.code)
        return photo
    storage.put(f"{photo.key}/{DISPLAY}", rendition.display, "image/jpeg")
    storage.put(f"{photo.key}/{THUMB}", rendition.thumb, "image/webp")
    photo.status, photo.error, photo.ready_at = "ready", None, utcnow()
    photo.width, photo.height = rendition.width, rendition.height
    maybe_publish(photo)
    return photo


def maybe_publish(photo: Photo) -> None:
    """Fire ``photo.published`` the first time a photo becomes visible to the customer."""
    if photo.customer_visible and photo.published_at is None:
        photo.published_at = utcnow()
        emit("photo.published", photo.tenant_id,
             {"claim_id": photo.claim_id, "photo_id": photo.id, "tag": photo.tag})


# -- staff edits ------------------------------------------------------------------------------------

def validate_tag(shop_id: int, tag: str | None) -> str:
    tag = (tag or "").strip().lower()
    allowed = shop_tags(shop_id)
    if tag not in allowed:
        raise checks.Rejected("invalid_tag", f"Tag must be one of: {', '.join(allowed)}.")
    return tag


def update_photo(photo: Photo, changes: dict[str, Any], user_id: int | None) -> Photo:
    """Retag, change visibility, hide/unhide, caption, reorder; each change audited."""
    if photo.deleted_at is not None:
        raise checks.Rejected("deleted", "This photo was deleted.", 409)
    if "tag" in changes:
        changes["tag"] = validate_tag(photo.tenant_id, changes["tag"])
    if "visibility" in changes and changes["visibility"] not in VISIBILITIES:
        raise checks.Rejected("invalid_visibility", "Visibility must be 'customer' or 'internal'.")
    for field in ("tag", "visibility", "hidden", "caption", "position"):
        if field in changes and getattr(photo, field) != changes[field]:
            before = getattr(photo, field)
            setattr(photo, field, changes[field])
            action = {"hidden": "hide" if changes[field] else "unhide"}.get(field, field)
            audit(photo.claim_id, action, photo=photo, user_id=user_id, detail=f"{before} -> {changes[field]}")
    maybe_publish(photo)
    return photo


def move_photo(photo: Photo, direction: int, user_id: int | None) -> None:
    """Swap places with the previous (-1) or next (+1) photo of the claim's gallery order."""
    siblings = [p for p in get_session().scalars(
        select(Photo).where(Photo.claim_id == photo.claim_id, Photo.deleted_at.is_(None))
        .order_by(Photo.position, Photo.id))]
    index = siblings.index(photo)
    other = index + (1 if direction > 0 else -1)
    if not 0 <= other < len(siblings):
        return
    for position, item in enumerate(siblings, start=1):  # normalise (ties, gaps) before swapping
        item.position = position
    neighbour = siblings[other]
    photo.position, neighbour.position = neighbour.position, photo.position
    audit(photo.claim_id, "position", photo=photo, user_id=user_id,
          detail=f"{neighbour.position} -> {photo.position}")


def delete_photo(photo: Photo, user_id: int | None) -> None:
    """Soft delete: the row and files stay (for the audit), nobody is shown the photo again."""
    if photo.deleted_at is None:
        photo.deleted_at, photo.deleted_by_user_id = utcnow(), user_id
        audit(photo.claim_id, "delete", photo=photo, user_id=user_id)


def delete_attachment(row: Attachment, user_id: int | None) -> None:
    if row.deleted_at is None:
        row.deleted_at, row.deleted_by_user_id = utcnow(), user_id
        audit(row.claim_id, "delete", attachment=row, user_id=user_id)


# -- reading ----------------------------------------------------------------------------------------

PHOTOS, CUSTOMER_PHOTOS, ATTACHMENTS = "core.photos", "core.customer_photos", "core.attachments"  # bundle parts


def photos_stmt(claim: Claim, *, include_deleted: bool = False) -> Any:
    stmt = select(Photo).where(Photo.claim_id == claim.id)
    if not include_deleted:
        stmt = stmt.where(Photo.deleted_at.is_(None))
    return stmt.order_by(Photo.position, Photo.id)


def photos_of(claim: Claim, *, include_deleted: bool = False) -> list[Photo]:
    if include_deleted:
        return list(get_session().scalars(photos_stmt(claim, include_deleted=True)))
    return prefetched(PHOTOS, photos_stmt(claim))


def customer_photos_stmt(claim: Claim) -> Any:
    return (select(Photo).where(Photo.claim_id == claim.id, Photo.visibility == "customer", Photo.status == "ready",
                                Photo.hidden.is_(False), Photo.deleted_at.is_(None))
            .order_by(Photo.position, Photo.id))


@prepare
def _customer_photos() -> Any:
    return (select(Photo).where(Photo.claim_id == bindparam("claim_id"), Photo.visibility == "customer",
                                Photo.status == "ready", Photo.hidden.is_(False), Photo.deleted_at.is_(None))
            .order_by(Photo.position, Photo.id))


def customer_photos_part(claim: Claim) -> Prepared:
    """:func:`customer_photos_stmt`, prepared (:func:`bayline.bundle.prepare`)."""
    return _customer_photos(claim_id=claim.id)


def customer_photos(claim: Claim) -> list[Photo]:
    """What the claim's customer may see: ready, customer-visible, not hidden, not deleted."""
    return prefetched(CUSTOMER_PHOTOS, customer_photos_part(claim))


def grouped(photos: list[Photo], tags: tuple[str, ...]) -> list[tuple[str, list[Photo]]]:
    order = {t: i for i, t in enumerate(tags)}
    groups: dict[str, list[Photo]] = {}
    for photo in photos:
        groups.setdefault(photo.tag, []).append(photo)
    return sorted(groups.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


def attachments_stmt(claim: Claim, *, include_deleted: bool = False) -> Any:
    stmt = select(Attachment).where(Attachment.claim_id == claim.id)
    if not include_deleted:
        stmt = stmt.where(Attachment.deleted_at.is_(None))
    return stmt.order_by(Attachment.created_at, Attachment.id)


@prepare
def _attachments() -> Any:
    return (select(Attachment).where(Attachment.claim_id == bindparam("claim_id"), Attachment.deleted_at.is_(None))
            .order_by(Attachment.created_at, Attachment.id))


def attachments_part(claim: Claim) -> Prepared:
    """:func:`attachments_stmt` (without deleted ones), prepared (:func:`bayline.bundle.prepare`)."""
    return _attachments(claim_id=claim.id)


def attachments_of(claim: Claim, *, include_deleted: bool = False) -> list[Attachment]:
    if include_deleted:
        return list(get_session().scalars(attachments_stmt(claim, include_deleted=True)))
    return prefetched(ATTACHMENTS, attachments_part(claim))


def get_photo(photo_id: int, claim_id: int | None = None) -> Photo | None:
    photo = get_session().get(Photo, photo_id)
    if photo is None or (claim_id is not None and photo.claim_id != claim_id):
        return None
    return photo


def get_attachment(attachment_id: int, claim_id: int | None = None) -> Attachment | None:
    row = get_session().get(Attachment, attachment_id)
    if row is None or (claim_id is not None and row.claim_id != claim_id):
        return None
    return row
