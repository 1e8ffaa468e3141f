"""Short-lived signed public URLs for customer-visible photo renditions.

For machine callers that cannot log in, such as an SMS provider fetching the picture of an MMS.
:func:`signed_url` returns the storage's own presigned URL when it has one (S3), otherwise a URL
on this app, ``/files/photos/<token>.jpg``, whose token is signed with the app's secret key
(itsdangerous, salt ``bayline.photos.public``) and carries the shop, the photo, the variant and an
expiry. The route answers 404 (all failures look the same) unless the signature is good, the
expiry has not passed, and the photo still is ready, customer-visible, not hidden and not deleted.
Only the re-encoded renditions (no metadata) are ever served, never the original.
"""
from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, abort, current_app
from itsdangerous import BadSignature, URLSafeSerializer

from bayline.db import get_session
from bayline.storage import FileMissing, get_storage
from bayline.tenancy import unscoped

from . import service
from .models import Photo

SALT = "bayline.photos.public"
MAX_TTL = 24 * 3600
VARIANTS = {"display": (service.DISPLAY, "image/jpeg"), "thumb": (service.THUMB, "image/webp")}

public = Blueprint("photos_public", __name__, url_prefix="/files/photos")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def signed_url(photo: Photo, variant: str = "display", expires: int = 900) -> str:
    """A URL anyone can fetch for ``expires`` seconds (at most a day). Raises ValueError for a
    photo the customer may not see, or an unknown variant."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    if not photo.customer_visible:
        raise ValueError("only ready, customer-visible photos get a public URL")
    expires = max(1, min(int(expires), MAX_TTL))
    name, content_type = VARIANTS[variant]
    direct = get_storage().url(f"{photo.key}/{name}", content_type=content_type, expires=expires)
    if direct:
        return direct
    token = _serializer().dumps({"s": photo.tenant_id, "p": photo.id, "v": variant, "e": int(time.time()) + expires})
    base = current_app.extensions["bayline.settings"].public_url.rstrip("/")
    extension = "jpg" if variant == "display" else "webp"
    return f"{base}{public.url_prefix}/{token}.{extension}"


def _load(token: str) -> tuple[Photo, str]:
    try:
        data: Any = _serializer().loads(token)
    except BadSignature:
        abort(404)
    if (not isinstance(data, dict) or data.get("v") not in VARIANTS or not isinstance(data.get("e"), int)
            or data["e"] < time.time()):
        abort(404)
    session = get_session()
    with unscoped(session):
        photo = session.get(Photo, int(data.get("p") or 0))
    if photo is None or photo.tenant_id != data.get("s") or not photo.customer_visible:
        abort(404)
    return photo, data["v"]


@public.get("/<token>")
def fetch(token: str) -> Response:
    """``<signed token>.jpg`` (the extension is cosmetic, for fetchers that look at it)."""
    photo, variant = _load(token.rsplit(".", 1)[0])
    name, content_type = VARIANTS[variant]
    try:
        data = get_storage().get(f"{photo.key}/{name}")
    except FileMissing:
        abort(404)
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
