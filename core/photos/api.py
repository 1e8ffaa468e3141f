"""/api/v1/claims/<id>/photos and /attachments: list, upload (multipart), change, soft delete, content."""
from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from bayline.api.claims import load_claim
from bayline.auth.permissions import require
from bayline.db import get_session
from bayline.errors import Refused
from bayline.events import commit

from . import service
from .checks import Rejected
from .models import PHOTO_STATES, VISIBILITIES, Attachment, Photo
from .sending import send_file_bytes


class MultipartParser(FlaskParser):
    """Adds the ``multipart`` location: form fields and files of one multipart/form-data body."""

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def load_multipart(self, req: Any, schema: Any) -> Any:
        return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)


class UploadBlueprint(Blueprint):
    """A flask-smorest Blueprint whose multipart bodies document form fields and files together."""

    ARGUMENTS_PARSER = MultipartParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}


blp = UploadBlueprint("api_photos", __name__,
                      description="Photos and attachments (customer uploads, documents) of a claim")


def _feature(key: str) -> None:
    if key not in g.get("features", frozenset()):
        raise Refused(403, "feature_not_in_plan", f"The {key!r} feature is not on this shop's plan.")


def _abort_rejected(exc: Rejected) -> None:
    get_session().rollback()
    raise exc


def _files(form: dict[str, Any]) -> list[service.Incoming]:
    return [service.Incoming(f.filename or "", f.read()) for f in form["files"] if hasattr(f, "read")]


class PhotoSchema(Schema):
    id = fields.Int(dump_only=True)
    claim_id = fields.Int(dump_only=True)
    tag = fields.Str(metadata={"description": "before, during, after or a shop-defined tag"})
    visibility = fields.Str(metadata={"enum": list(VISIBILITIES)})
    status = fields.Str(metadata={"enum": list(PHOTO_STATES), "description": "processing until the sizes exist"})
    error = fields.Str(allow_none=True)
    hidden = fields.Bool()
    position = fields.Int()
    caption = fields.Str(allow_none=True)
    source = fields.Str()
    original_filename = fields.Str(allow_none=True)
    original_content_type = fields.Str()
    original_size = fields.Int()
    sha256 = fields.Str(metadata={"description": "SHA-256 of the original file"})
    width = fields.Int(allow_none=True)
    height = fields.Int(allow_none=True)
    uploaded_by_user_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()
    ready_at = fields.DateTime(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    deleted_at = fields.DateTime(allow_none=True)


class PhotoQuerySchema(Schema):
    include_deleted = fields.Bool(load_default=False)


class FilesSchema(Schema):
    files = fields.List(fields.Raw(metadata={"type": "string", "format": "binary"}), required=True,
                        metadata={"description": "one or more files (the same field repeated)"})


class PhotoUploadSchema(FilesSchema):
    tag = fields.Str(load_default="during", validate=validate.Length(max=30),
                     metadata={"description": "before, during, after or a shop-defined tag"})
    visibility = fields.Str(load_default="customer", validate=validate.OneOf(VISIBILITIES))
    caption = fields.Str(validate=validate.Length(max=300))


class PhotoPatchSchema(Schema):
    tag = fields.Str(validate=validate.Length(min=1, max=30))
    visibility = fields.Str(validate=validate.OneOf(VISIBILITIES))
    hidden = fields.Bool()
    caption = fields.Str(allow_none=True, validate=validate.Length(max=300))
    position = fields.Int(validate=validate.Range(min=0, max=1_000_000))


class ContentQuerySchema(Schema):
    variant = fields.Str(load_default="display", validate=validate.OneOf(("thumb", "display", "original")))


class AttachmentSchema(Schema):
    id = fields.Int(dump_only=True)
    claim_id = fields.Int(dump_only=True)
    filename = fields.Str()
    content_type = fields.Str()
    size = fields.Int()
    sha256 = fields.Str()
    source = fields.Str(metadata={"enum": ["customer", "staff"]})
    note = fields.Str(allow_none=True)
    uploaded_by_user_id = fields.Int(allow_none=True)
    created_at = fields.DateTime()
    deleted_at = fields.DateTime(allow_none=True)


class AttachmentUploadSchema(FilesSchema):
    note = fields.Str(validate=validate.Length(max=300))


class AttachmentPatchSchema(Schema):
    note = fields.Str(allow_none=True, validate=validate.Length(max=300))


def _photo(claim_id: int, photo_id: int) -> Photo:
    claim = load_claim(claim_id)
    photo = service.get_photo(photo_id, claim.id)
    if photo is None:
        raise Refused(404, "not_found", "No such photo.")
    return photo


def _attachment(claim_id: int, attachment_id: int) -> Attachment:
    claim = load_claim(claim_id)
    row = service.get_attachment(attachment_id, claim.id)
    if row is None:
        raise Refused(404, "not_found", "No such attachment.")
    return row


@blp.route("/claims/<int:claim_id>/photos")
class Photos(MethodView):
    @require("claims.read")
    @blp.arguments(PhotoQuerySchema, location="query")
    @blp.response(200, PhotoSchema(many=True))
    def get(self, args: dict[str, Any], claim_id: int) -> list[Photo]:
        """Photos of the claim in gallery order (soft-deleted ones with ``include_deleted``)."""
        return service.photos_of(load_claim(claim_id), include_deleted=args["include_deleted"])

    @require("photos.upload", "claims.write")
    @blp.arguments(PhotoUploadSchema, location="multipart")
    @blp.response(201, PhotoSchema(many=True))
    @blp.alt_response(413, description="A file (or the request) is over the size limit, or too many files")
    @blp.alt_response(415, description="Not a JPEG, PNG, HEIC or WebP image (decided by content)")
    @blp.alt_response(422, description="Damaged image, too many pixels, or an unknown tag")
    def post(self, form: dict[str, Any], claim_id: int) -> list[Photo]:
        """Upload photos (multipart ``files``, repeated). Each is checked by content, stored, and
        processed in the background: ``status`` is ``processing`` until the display sizes exist.
        All or nothing: one refused file refuses the request."""
        claim = load_claim(claim_id)
        _feature("photos")
        try:
            photos, batch = service.add_photos(claim, _files(form), tag=form["tag"], visibility=form["visibility"],
                                               caption=form.get("caption"), user_id=g.principal.user_id)
        except Rejected as exc:
            _abort_rejected(exc)
        try:
            commit()
        except BaseException:
            batch.discard()
            raise
        service.enqueue(photos)
        session = get_session()
        for photo in photos:
            session.refresh(photo)
        return photos


@blp.route("/claims/<int:claim_id>/photos/<int:photo_id>")
class PhotoById(MethodView):
    @require("claims.read")
    @blp.response(200, PhotoSchema)
    def get(self, claim_id: int, photo_id: int) -> Photo:
        """One photo (also a soft-deleted one, with ``deleted_at`` set)."""
        return _photo(claim_id, photo_id)

    @require("photos.manage", "claims.write")
    @blp.arguments(PhotoPatchSchema)
    @blp.response(200, PhotoSchema)
    def patch(self, data: dict[str, Any], claim_id: int, photo_id: int) -> Photo:
        """Retag, change visibility, hide/unhide, caption or reorder (audited). A ready photo that
        becomes customer-visible for the first time is published (``photo.published``)."""
        photo = _photo(claim_id, photo_id)
        try:
            service.update_photo(photo, dict(data), g.principal.user_id)
        except Rejected as exc:
            _abort_rejected(exc)
        commit()
        return photo

    @require("photos.manage", "claims.write")
    @blp.response(204)
    def delete(self, claim_id: int, photo_id: int) -> None:
        """Soft delete (audited): hidden everywhere, kept for the record."""
        service.delete_photo(_photo(claim_id, photo_id), g.principal.user_id)
        commit()


@blp.route("/claims/<int:claim_id>/photos/<int:photo_id>/content")
class PhotoContent(MethodView):
    @require("claims.read")
    @blp.arguments(ContentQuerySchema, location="query")
    @blp.response(200, description="The image bytes, or a 302 to a presigned URL (S3) valid for a minute")
    @blp.alt_response(404, description="No such photo, deleted, or that size is not ready yet")
    def get(self, args: dict[str, Any], claim_id: int, photo_id: int) -> Any:
        """``thumb`` (WebP) or ``display`` (JPEG): re-encoded, no EXIF/GPS. ``original``: as uploaded."""
        photo = _photo(claim_id, photo_id)
        if photo.deleted_at is not None:
            raise Refused(404, "not_found", "This photo was deleted.")
        variant = args["variant"]
        if variant == "original":
            return send_file_bytes(f"{photo.key}/{service.ORIGINAL}", photo.original_content_type,
                                   filename=photo.original_filename or f"photo-{photo.id}", download=True)
        if photo.status != "ready":
            raise Refused(404, "not_ready", f"The photo is {photo.status}.")
        name = service.THUMB if variant == "thumb" else service.DISPLAY
        return send_file_bytes(f"{photo.key}/{name}", "image/webp" if variant == "thumb" else "image/jpeg")


@blp.route("/claims/<int:claim_id>/attachments")
class Attachments(MethodView):
    @require("claims.read")
    @blp.arguments(PhotoQuerySchema, location="query")
    @blp.response(200, AttachmentSchema(many=True))
    def get(self, args: dict[str, Any], claim_id: int) -> list[Attachment]:
        """Files on the claim: customer uploads from the portal and staff documents."""
        return service.attachments_of(load_claim(claim_id), include_deleted=args["include_deleted"])

    @require("photos.upload", "claims.write")
    @blp.arguments(AttachmentUploadSchema, location="multipart")
    @blp.response(201, AttachmentSchema(many=True))
    @blp.alt_response(413, description="Over the size limit, or too many files")
    @blp.alt_response(415, description="Not a JPEG, PNG, HEIC or PDF file (decided by content)")
    @blp.alt_response(422, description="Damaged file or a PDF that does not parse")
    def post(self, form: dict[str, Any], claim_id: int) -> list[Attachment]:
        """Attach staff documents (JPEG, PNG, HEIC, PDF; checked by content; all or nothing)."""
        claim = load_claim(claim_id)
        try:
            rows, batch = service.add_attachments(claim, _files(form), source="staff", user_id=g.principal.user_id,
                                                  note=form.get("note"))
        except Rejected as exc:
            _abort_rejected(exc)
        try:
            commit()
        except BaseException:
            batch.discard()
            raise
        return rows


@blp.route("/claims/<int:claim_id>/attachments/<int:attachment_id>")
class AttachmentById(MethodView):
    @require("claims.read")
    @blp.response(200, AttachmentSchema)
    def get(self, claim_id: int, attachment_id: int) -> Attachment:
        """One attachment."""
        return _attachment(claim_id, attachment_id)

    @require("photos.manage", "claims.write")
    @blp.arguments(AttachmentPatchSchema)
    @blp.response(200, AttachmentSchema)
    def patch(self, data: dict[str, Any], claim_id: int, attachment_id: int) -> Attachment:
        """Change the note."""
        row = _attachment(claim_id, attachment_id)
        if "note" in data and data["note"] != row.note:
            row.note = data["note"]
            service.audit(row.claim_id, "note", attachment=row, user_id=g.principal.user_id)
        commit()
        return row

    @require("photos.manage", "claims.write")
    @blp.response(204)
    def delete(self, claim_id: int, attachment_id: int) -> None:
        """Soft delete (audited)."""
        service.delete_attachment(_attachment(claim_id, attachment_id), g.principal.user_id)
        commit()


@blp.route("/claims/<int:claim_id>/attachments/<int:attachment_id>/content")
class AttachmentContent(MethodView):
    @require("claims.read")
    @blp.response(200, description="The file as uploaded (PDFs as a download), or a 302 to a presigned URL")
    def get(self, claim_id: int, attachment_id: int) -> Any:
        """The file's bytes."""
        row = _attachment(claim_id, attachment_id)
        if row.deleted_at is not None:
            raise Refused(404, "not_found", "This attachment was deleted.")
        return send_file_bytes(f"{row.key}/{service.ORIGINAL}", row.content_type, filename=row.filename,
                               download=row.content_type == "application/pdf")
