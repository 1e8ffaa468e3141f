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

from bayline.photos.checks import Rejected
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
    "Attachment", "Incoming", "Photo", "Rejected", "add_attachments", "add_photos", "attachments_of", "audit",
    "customer_photos", "get_attachment", "get_photo", "max_file_bytes", "photos_of", "process", "signed_url",
]
