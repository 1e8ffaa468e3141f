"""Staff photos end to end: upload from the claim page, processing, metadata stripped, publishing."""
from __future__ import annotations

import hashlib
import io

from PIL import Image
from sqlalchemy import select

from bayline.live import channel, get_broker
from bayline.photos.models import FileAudit, Photo
from bayline.testing.plugin import in_tenant

from . import images
from .conftest import count_rows, stored_keys


def _photos(app, shop_id):
    with in_tenant(app, shop_id) as session:
        return session.scalars(select(Photo).order_by(Photo.id)).all()


def test_claim_page_has_camera_upload_panel(bay):
    html = bay.staff.get(f"/console/claims/{bay.claim.id}").get_data(as_text=True)
    assert 'data-panel="photos"' in html
    assert 'type="file"' in html and 'accept="image/*"' in html and "capture" in html and "multiple" in html
    for tag in ("before", "during", "after"):
        assert f'value="{tag}"' in html
    assert 'value="internal"' in html


def test_upload_processes_strips_metadata_and_publishes(app, bay, events, portal_client):
    original = images.jpeg(640, 480, orientation=6)
    assert images.exif_of(original)["gps"]  # the test file really carries a GPS position
    portal = portal_client(bay.claim)
    with app.app_context():
        subscription = get_broker().subscribe(channel(bay.shop.id, bay.claim.id))
    try:
        r = bay.upload([(original, "IMG_0001.JPG")], tag="before")
        assert r.status_code == 201, r.get_data(as_text=True)
        assert [p["status"] for p in r.json] == ["ready"]  # Celery is eager in tests
        live = subscription.get(timeout=60)
    finally:
        subscription.close()
    assert live is not None and live["type"] == "photo.published"

    [photo] = _photos(app, bay.shop.id)
    assert photo.status == "ready" and photo.tag == "before" and photo.visibility == "customer"
    assert photo.sha256 == hashlib.sha256(original).hexdigest() and photo.original_size == len(original)
    assert (photo.width, photo.height) == (480, 640)  # orientation 6 applied: portrait
    assert photo.published_at is not None and photo.uploaded_by_user_id == bay.owner.id
    published = [e for e in events if e.type == "photo.published"]
    assert [e.payload for e in published] == [{"claim_id": bay.claim.id, "photo_id": photo.id, "tag": "before"}]

    for url, fmt in ((f"/c/s/photos/{photo.id}/display", "JPEG"), (f"/c/s/photos/{photo.id}/thumb", "WEBP"),
                     (f"/console/photos/{photo.id}/display", "JPEG")):
        client = portal if url.startswith("/c/") else bay.staff
        served = client.get(url)
        assert served.status_code == 200, url
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        image = Image.open(io.BytesIO(served.data))
        assert image.format == fmt
        meta = images.exif_of(served.data)
        assert meta["exif"] == {} and meta["gps"] == {}, f"{url} still has EXIF {meta}"
        assert "exif" not in meta["info_keys"] and "xmp" not in meta["info_keys"]
        assert image.size[1] > image.size[0]  # rotated upright
        rgb = image.convert("RGB")
        # the blue marker was top-left of the sensor image; after a 90° clockwise turn it is top-right
        assert rgb.getpixel((image.size[0] - 3, 3))[2] > 150 and rgb.getpixel((3, 3))[0] > 150
    assert portal.get(f"/c/s/photos/{photo.id}/display").headers["Cache-Control"] == "no-store"

    # the original (with its metadata) is for staff only, as a download
    original_served = bay.staff.get(f"/console/photos/{photo.id}/original")
    assert original_served.status_code == 200 and original_served.data == original
    assert original_served.headers["Content-Disposition"].startswith("attachment")
    assert portal.get(f"/c/s/photos/{photo.id}/original").status_code == 404

    # the gallery shows it, grouped under its tag, with the viewer hooks
    page = portal.get("/c/s/").get_data(as_text=True)
    assert 'id="photos"' in page and "Before" in page and f"/c/s/photos/{photo.id}/thumb" in page
    assert "data-viewer" in page and "/assets/photos/gallery.js" in page


def test_several_photos_at_once_heic_and_png(app, bay):
    r = bay.upload([(images.heic(), "IMG_1.HEIC"), (images.png(), "dent.png"), (images.jpeg(gps=False), "x.jpg")],
                   tag="during")
    assert r.status_code == 201, r.get_data(as_text=True)
    photos = _photos(app, bay.shop.id)
    assert [p.original_content_type for p in photos] == ["image/heic", "image/png", "image/jpeg"]
    assert all(p.status == "ready" for p in photos)
    heic_display = bay.staff.get(f"/console/photos/{photos[0].id}/display")
    assert Image.open(io.BytesIO(heic_display.data)).format == "JPEG"  # converted for every browser
    assert [p.position for p in photos] == [1, 2, 3]


def test_internal_photos_never_reach_the_portal(app, bay, events, portal_client):
    r = bay.upload([(images.jpeg(), "internal.jpg")], tag="during", visibility="internal")
    assert r.status_code == 201
    [photo] = _photos(app, bay.shop.id)
    portal = portal_client(bay.claim)
    for variant in ("thumb", "display", "original"):
        assert portal.get(f"/c/s/photos/{photo.id}/{variant}").status_code == 404
    assert f"/c/s/photos/{photo.id}/" not in portal.get("/c/s/").get_data(as_text=True)
    assert not [e for e in events if e.type == "photo.published"]
    assert bay.staff.get(f"/console/photos/{photo.id}/thumb").status_code == 200


def test_retag_hide_publish_and_soft_delete_are_audited(app, bay, events, portal_client):
    bay.upload([(images.jpeg(), "a.jpg")], tag="during", visibility="internal")
    [photo] = _photos(app, bay.shop.id)
    portal = portal_client(bay.claim)
    edit = f"/console/photos/{photo.id}"

    r = bay.staff.post(edit, data={"csrf_token": bay.staff_csrf, "tag": "after", "visibility": "customer"})
    assert r.status_code == 303
    assert [e.type for e in events if e.type == "photo.published"] == ["photo.published"]
    assert portal.get(f"/c/s/photos/{photo.id}/thumb").status_code == 200
    page = portal.get("/c/s/").get_data(as_text=True)
    assert "After" in page

    bay.staff.post(edit, data={"csrf_token": bay.staff_csrf, "action": "hide"})
    assert portal.get(f"/c/s/photos/{photo.id}/thumb").status_code == 404
    bay.staff.post(edit, data={"csrf_token": bay.staff_csrf, "action": "unhide"})
    assert portal.get(f"/c/s/photos/{photo.id}/thumb").status_code == 200
    assert len([e for e in events if e.type == "photo.published"]) == 1  # published once only

    bad = bay.staff.post(edit, data={"csrf_token": bay.staff_csrf, "tag": "sideways"})
    assert bad.status_code == 303
    assert _photos(app, bay.shop.id)[0].tag == "after"

    bay.staff.post(edit, data={"csrf_token": bay.staff_csrf, "action": "delete"})
    assert portal.get(f"/c/s/photos/{photo.id}/thumb").status_code == 404
    assert bay.staff.get(f"/console/photos/{photo.id}/thumb").status_code == 404
    [row] = _photos(app, bay.shop.id)
    assert row.deleted_at is not None and row.deleted_by_user_id == bay.owner.id
    assert stored_keys(app)  # soft delete keeps the files for the record
    with in_tenant(app, bay.shop.id) as session:
        actions = [a.action for a in session.scalars(select(FileAudit).order_by(FileAudit.id))]
    assert actions == ["upload", "tag", "visibility", "hide", "unhide", "delete"]


def test_technician_uploads_and_retags_but_cannot_delete(app, bay, client_for):
    from .conftest import csrf_from

    tech = client_for(bay.tech, bay.shop)
    csrf = csrf_from(tech.get(f"/console/claims/{bay.claim.id}").get_data(as_text=True))
    assert bay.upload([(images.jpeg(), "t.jpg")], client=tech, csrf=csrf).status_code == 201
    [photo] = _photos(app, bay.shop.id)
    assert tech.post(f"/console/photos/{photo.id}", data={"csrf_token": csrf, "tag": "after"}).status_code == 303
    assert tech.post(f"/console/photos/{photo.id}", data={"csrf_token": csrf, "action": "delete"}).status_code == 403
    assert _photos(app, bay.shop.id)[0].tag == "after" and _photos(app, bay.shop.id)[0].deleted_at is None


def test_shop_defined_tag(app, bay, set_setting):
    set_setting(bay.shop, "photos.extra_tags", "Teardown, Parts")
    assert bay.upload([(images.jpeg(), "t.jpg")], tag="teardown").status_code == 201
    assert _photos(app, bay.shop.id)[0].tag == "teardown"
    r = bay.upload([(images.jpeg(), "t.jpg")], tag="nonsense")
    assert r.status_code == 422 and r.json["code"] == "invalid_tag"
    assert count_rows(app, bay.shop.id, Photo) == 1


def test_html_form_without_javascript_redirects_back(app, bay):
    r = bay.upload([(images.jpeg(), "a.jpg")], json=False)
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/console/claims/{bay.claim.id}#photos")
    page = bay.staff.get(f"/console/claims/{bay.claim.id}").get_data(as_text=True)
    assert "1 photo uploaded." in page
    r = bay.upload([(images.png_bomb(), "big.png")], json=False)
    assert r.status_code == 303
    assert "too many pixels" in bay.staff.get(f"/console/claims/{bay.claim.id}").get_data(as_text=True)


def test_reorder_from_the_claim_page(app, bay, portal_client):
    bay.upload([(images.jpeg(), "1.jpg"), (images.jpeg(), "2.jpg"), (images.jpeg(), "3.jpg")], tag="before")
    first, second, third = (p.id for p in _photos(app, bay.shop.id))
    r = bay.staff.post(f"/console/photos/{third}", data={"csrf_token": bay.staff_csrf, "action": "up"})
    assert r.status_code == 303
    assert [p.id for p in sorted(_photos(app, bay.shop.id), key=lambda p: p.position)] == [first, third, second]
    bay.staff.post(f"/console/photos/{first}", data={"csrf_token": bay.staff_csrf, "action": "up"})  # already first
    bay.staff.post(f"/console/photos/{first}", data={"csrf_token": bay.staff_csrf, "action": "down"})
    assert [p.id for p in sorted(_photos(app, bay.shop.id), key=lambda p: p.position)] == [third, first, second]
    page = portal_client(bay.claim).get("/c/s/").get_data(as_text=True)
    assert page.index(f"/c/s/photos/{third}/thumb") < page.index(f"/c/s/photos/{first}/thumb") < page.index(
        f"/c/s/photos/{second}/thumb")
