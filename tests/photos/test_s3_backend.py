"""The whole photo pipeline on the S3 backend (a real moto server): staff get presigned redirects,
the portal streams through the app (its CSP allows same-origin images only)."""
from __future__ import annotations

import io
import urllib.request

import pytest
from PIL import Image

from bayline.storage import S3Storage, get_storage

from . import images
from .conftest import customer_upload, portal_csrf, stored_keys


@pytest.fixture
def app_config(s3_url):
    return {"storage_url": s3_url}


def test_photos_and_uploads_on_s3(app, bay, api_client, portal_client):
    with app.app_context():
        assert isinstance(get_storage(), S3Storage)
    original = images.jpeg(800, 600, orientation=6)
    r = bay.upload([(original, "bay.jpg")], tag="before")
    assert r.status_code == 201 and r.json[0]["status"] == "ready", r.get_data(as_text=True)
    photo_id = r.json[0]["id"]
    keys = stored_keys(app)
    assert len(keys) == 3 and {k.rsplit("/", 1)[1] for k in keys} == {"original", "display.jpg", "thumb.webp"}

    staff = bay.staff.get(f"/console/photos/{photo_id}/display")
    assert staff.status_code == 302 and "X-Amz-Signature=" in staff.headers["Location"]
    assert staff.headers["Cache-Control"] == "no-store"
    with urllib.request.urlopen(staff.headers["Location"]) as fetched:
        data = fetched.read()
        assert fetched.headers["Content-Type"] == "image/jpeg"
    assert images.exif_of(data)["gps"] == {} and Image.open(io.BytesIO(data)).size == (600, 800)

    portal = portal_client(bay.claim)
    streamed = portal.get(f"/c/s/photos/{photo_id}/display")
    assert streamed.status_code == 200 and streamed.data == data

    key = api_client(bay.shop)
    content = key.get(f"/api/v1/claims/{bay.claim.id}/photos/{photo_id}/content?variant=original")
    assert content.status_code == 302
    with urllib.request.urlopen(content.headers["Location"]) as fetched:
        assert fetched.read() == original

    up = customer_upload(portal, [(images.pdf(), "estimate.pdf")], portal_csrf(portal))
    assert up.status_code == 201
    assert len(stored_keys(app)) == 4


def test_refused_upload_leaves_nothing_in_the_bucket(app, bay):
    r = bay.upload([(images.jpeg(), "ok.jpg"), (images.png_bomb(), "bomb.png")])
    assert r.status_code == 422 and r.json["code"] == "image_too_large"
    assert stored_keys(app) == []
