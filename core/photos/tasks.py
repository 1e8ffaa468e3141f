"""Celery task: process one uploaded photo (runs in the photo's tenant, restored from the headers)."""
from __future__ import annotations

from celery import shared_task

from bayline.db import get_session
from bayline.events import commit

from . import service
from .models import Photo


@shared_task(name="bayline.photos.process_photo", ignore_result=True)
def process_photo(photo_id: int) -> str | None:
    """Render display/thumbnail sizes of ``photo_id``; idempotent (a ready photo is left alone)."""
    photo = get_session().get(Photo, photo_id)
    if photo is None:
        return None
    service.process(photo)
    commit()
    return photo.status
