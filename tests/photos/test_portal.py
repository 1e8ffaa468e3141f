"""The portal side: gallery grouped by tag, customer uploads landing on the claim, quotas and limits."""
from __future__ import annotations

import re

from sqlalchemy import select

from bayline.photos.models import Attachment
from bayline.testing.plugin import in_tenant

from . import images
from .conftest import count_rows, customer_upload, portal_csrf


def test_gallery_groups_before_during_after_in_order(app, bay, portal_client):
    bay.upload([(images.jpeg(), "3.jpg")], tag="after")
    bay.upload([(images.jpeg(), "1.jpg"), (images.jpeg(), "2.jpg")], tag="before")
    bay.upload([(images.jpeg(), "x.jpg")], tag="during")
    portal = portal_client(bay.claim)
    page = portal.get("/c/s/").get_data(as_text=True)
    gallery = page[page.index('data-gallery'):]
    headings = re.findall(r'<h3 class="gallery-tag">(\w+)</h3>', gallery)
    assert headings == ["Before", "During", "After"]
    assert len(re.findall(r"data-viewer", gallery)) == 4
    # every thumbnail the page names is served to this session
    for src in re.findall(r'src="(/c/s/photos/\d+/thumb)"', page):
        assert portal.get(src).status_code == 200


def test_gallery_is_empty_politely_and_hidden_without_the_feature(app, bay, portal_client):
    portal = portal_client(bay.claim)
    assert "Photos of your vehicle will appear here" in portal.get("/c/s/").get_data(as_text=True)


def test_customer_uploads_land_on_the_claim_for_staff(app, bay, portal_client, events):
    portal = portal_client(bay.claim)
    csrf = portal_csrf(portal)
    files = [(images.jpeg(), "damage.jpg", "image/jpeg"), (images.png(mode="RGB"), "renamed.jpg", "image/jpeg"),
             (images.heic(), "IMG_7.HEIC", "image/heic"), (images.pdf(2), "estimate.pdf", "application/pdf")]
    r = customer_upload(portal, files, csrf, note="Scrape on the rear bumper")
    assert r.status_code == 201, r.get_data(as_text=True)
    assert [f["filename"] for f in r.json["received"]] == ["damage.jpg", "renamed.jpg", "IMG_7.HEIC", "estimate.pdf"]
    with in_tenant(app, bay.shop.id) as session:
        rows = session.scalars(select(Attachment).order_by(Attachment.id)).all()
        # the content decides the type: the PNG named .jpg is recorded (and served) as a PNG
        assert [a.content_type for a in rows] == ["image/jpeg", "image/png", "image/heic", "application/pdf"]
        assert {a.source for a in rows} == {"customer"} and all(a.portal_token_id for a in rows)
        assert rows[0].note == "Scrape on the rear bumper"
    received = [e for e in events if e.type == "upload.received"]
    assert [e.payload["attachment_id"] for e in received] == [a.id for a in rows]
    assert all(e.payload["claim_id"] == bay.claim.id for e in received)

    page = bay.staff.get(f"/console/claims/{bay.claim.id}").get_data(as_text=True)
    assert 'data-panel="attachments"' in page and "estimate.pdf" in page and "from the customer" in page
    pdf = bay.staff.get(f"/console/attachments/{rows[3].id}/file")
    assert pdf.status_code == 200 and pdf.data == files[3][0]
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert pdf.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    png = bay.staff.get(f"/console/attachments/{rows[1].id}/file")
    assert png.mimetype == "image/png"
    # the customer sees their own uploads listed, never a link to the bytes
    page = portal.get("/c/s/").get_data(as_text=True)
    assert "estimate.pdf" in page and "/console/attachments/" not in page


def test_another_claims_customer_never_sees_uploads_or_photos(app, bay, make_claim, portal_client):
    other = make_claim(bay.shop, customer_last_name="Other")
    bay.upload([(images.jpeg(), "a.jpg")], tag="before")
    mine = portal_client(bay.claim)
    customer_upload(mine, [(images.pdf(), "secret-estimate.pdf")], portal_csrf(mine))
    theirs = portal_client(other)
    page = theirs.get("/c/s/").get_data(as_text=True)
    assert "secret-estimate.pdf" not in page and "/c/s/photos/" not in page
    with in_tenant(app, bay.shop.id) as session:
        from bayline.photos.models import Photo

        photo_id = session.scalar(select(Photo.id))
    for variant in ("thumb", "display"):
        assert mine.get(f"/c/s/photos/{photo_id}/{variant}").status_code == 200
        assert theirs.get(f"/c/s/photos/{photo_id}/{variant}").status_code == 404
    assert app.test_client().get(f"/c/s/photos/{photo_id}/thumb").status_code == 404


def test_per_claim_quota(app, bay, portal_client, set_setting):
    set_setting(bay.shop, "uploads.claim_quota", 3)
    portal = portal_client(bay.claim)
    csrf = portal_csrf(portal)
    assert customer_upload(portal, [(images.pdf(), "a.pdf"), (images.pdf(), "b.pdf")], csrf).status_code == 201
    r = customer_upload(portal, [(images.pdf(), "c.pdf"), (images.pdf(), "d.pdf")], csrf)
    assert r.status_code == 422 and r.json["code"] == "quota_exceeded" and "1 left" in r.json["message"]
    assert customer_upload(portal, [(images.pdf(), "c.pdf")], csrf).status_code == 201
    assert count_rows(app, bay.shop.id, Attachment) == 3


def test_upload_rate_limit(app, bay, portal_client):
    portal = portal_client(bay.claim)
    csrf = portal_csrf(portal)
    statuses = [customer_upload(portal, [(images.SVG, "x.svg")], csrf).status_code for _ in range(11)]
    assert statuses[:10] == [415] * 10 and statuses[10] == 429


def test_uploads_card_and_script_on_the_portal(app, bay, portal_client):
    page = portal_client(bay.claim).get("/c/s/").get_data(as_text=True)
    assert 'id="uploads"' in page and 'enctype="multipart/form-data"' in page and "data-upload" in page
    assert "application/pdf" in page and "10 files" in page and "20 MB" in page
    js = app.test_client().get("/assets/photos/gallery.js")
    assert js.status_code == 200 and "XMLHttpRequest" in js.get_data(as_text=True)


def test_upload_notice_never_reaches_another_session_of_the_link(app, bay, portal_client):
    """L3. Before: the page one session rendered with its upload notice ("Thank you, we received 1
    file.") went into the page store and was served to every other session of the same link. Now a
    session carrying values of its own is rendered for itself and never stored."""
    from bayline.web.portal_cache import get_cache

    alice, bob = portal_client(bay.claim), portal_client(bay.claim)
    csrf = portal_csrf(alice)
    portal_csrf(bob)
    sent = customer_upload(alice, [(images.jpeg(), "door.jpg", "image/jpeg")], csrf, json=False)
    assert sent.status_code == 303
    notice = "Thank you, we received 1 file."
    assert notice not in bob.get("/c/s/").get_data(as_text=True)  # Bob's session is checked open now
    assert notice in alice.get("/c/s/").get_data(as_text=True)
    for _ in range(3):  # from the store (or rendered): never Alice's notice
        page = bob.get("/c/s/")
        assert page.status_code == 200 and notice not in page.get_data(as_text=True)
    assert len(get_cache(app)) == 1
    assert notice not in alice.get("/c/s/").get_data(as_text=True)  # shown once
