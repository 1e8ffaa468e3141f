"""The files API for plugins: claim photos and attachments through the core's pipeline.

Every file goes through the same checks as a staff or customer upload (magic bytes, size and
pixel limits, PDF parse); a refused file raises :class:`Rejected` (a ``Refused``, 4xx) and stores
nothing. Adding is two-phase, like the core's own upload routes::

    photos, batch = files.add_photos(claim, [files.Incoming("car.jpg", data)], tag="before")
    try:
        commit()
    except BaseException:
        batch.discard()          # the stored bytes go again
        raise
    files.process(photos)        # renditions are made in the background, after the commit
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from bayline.photos.checks import DEFAULT_MAX_PIXELS, PHOTO_TYPES, Rejected, check_image, open_image, sniff
from bayline.photos.models import Attachment, Photo
from bayline.photos.public import signed_url
from bayline.photos.service import (
    Incoming,
    add_attachments,
    add_photos,
    attachments_of,
    audit,
    customer_photos,
    get_attachment,
    get_photo,
    max_file_bytes,
    photos_of,
)
from bayline.photos.service import enqueue as process

__all__ = [
    "Attachment", "ImageAsset", "Incoming", "Photo", "Rejected", "add_attachments", "add_photos", "attachments_of",
    "audit", "customer_photos", "get_attachment", "get_photo", "image_png", "max_file_bytes", "photos_of", "process",
    "signed_url",
]


@dataclass(frozen=True)
class ImageAsset:
    """An image re-encoded by :func:`image_png`: PNG bytes (alpha kept, no metadata) and its size."""

    png: bytes
    width: int
    height: int


def image_png(data: bytes, max_side: int, max_pixels: int = DEFAULT_MAX_PIXELS, filename: str | None = None
              ) -> ImageAsset:
    """A shop's image that is not a claim's (a logo, an icon) through the same checks as a photo:
    the bytes must prove JPEG, PNG, HEIC or WebP (magic bytes), decode fully under ``max_pixels``
    (decompression bombs and truncated files raise :class:`Rejected`), then are redrawn into a
    fresh PNG of at most ``max_side`` pixels a side (no EXIF, GPS, ICC or comments travel). Nothing
    is stored: the caller puts the bytes in storage."""
    from PIL import Image, ImageOps

    try:
        check_image(data, sniff(data, PHOTO_TYPES), max_pixels)
        image = open_image(data, max_pixels)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
            image = ImageOps.exif_transpose(image) or image
    except Rejected as exc:
        exc.filename = filename
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Rejected("image_too_large", "This image has too many pixels.", filename=filename) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Rejected("unreadable_image", "This image is incomplete or damaged.", filename=filename) from exc
    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB"
    image = image.convert(mode)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    clean = Image.new(mode, image.size)
    clean.paste(image)
    out = io.BytesIO()
    clean.save(out, format="PNG", optimize=True)
    return ImageAsset(out.getvalue(), clean.width, clean.height)
