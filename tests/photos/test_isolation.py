"""Tenant isolation for photo and file routes: another shop's staff, API key and customers get 404
for shop A's photos, thumbnails, originals and attachments, even knowing the ids."""
from __future__ import annotations

from sqlalchemy import select

from bayline.photos.models import Attachment, Photo
from bayline.testing.plugin import in_tenant

from . import images
from .conftest import csrf_from, customer_upload, portal_csrf


def test_other_shop_cannot_reach_shop_a_files(app, bay, make_shop, make_user, make_claim, client_for, api_client,
                                              portal_client):
    bay.upload([(images.jpeg(), "a.jpg")], tag="before")
    portal_a = portal_client(bay.claim)
    customer_upload(portal_a, [(images.pdf(), "a-estimate.pdf")], portal_csrf(portal_a))
    with in_tenant(app, bay.shop.id) as session:
        photo_id = session.scalar(select(Photo.id))
        attachment_id = session.scalar(select(Attachment.id))

    shop_b = make_shop()
    owner_b = make_user(shop_b)
    claim_b = make_claim(shop_b)
    staff_b = client_for(owner_b, shop_b)
    csrf_b = csrf_from(staff_b.get(f"/console/claims/{claim_b.id}").get_data(as_text=True))
    key_b = api_client(shop_b)
    portal_b = portal_client(claim_b)

    for url in (f"/console/photos/{photo_id}/thumb", f"/console/photos/{photo_id}/display",
                f"/console/photos/{photo_id}/original", f"/console/attachments/{attachment_id}/file"):
        assert staff_b.get(url).status_code == 404, url
        assert bay.staff.get(url).status_code == 200, url  # control: shop A's own staff
    for url in (f"/console/photos/{photo_id}", f"/console/attachments/{attachment_id}"):
        assert staff_b.post(url, data={"csrf_token": csrf_b, "action": "delete"}).status_code == 404, url
    assert staff_b.post(f"/console/claims/{bay.claim.id}/photos", data={"csrf_token": csrf_b}).status_code == 404

    a_claim = f"/api/v1/claims/{bay.claim.id}"
    for url in (f"{a_claim}/photos", f"{a_claim}/photos/{photo_id}", f"{a_claim}/photos/{photo_id}/content",
                f"{a_claim}/attachments", f"{a_claim}/attachments/{attachment_id}",
                f"{a_claim}/attachments/{attachment_id}/content"):
        r = key_b.get(url)
        assert r.status_code == 404 and r.json["code"] == "not_found", url
    # shop A's photo id under shop B's own claim is not found either
    b_claim = f"/api/v1/claims/{claim_b.id}"
    assert key_b.get(f"{b_claim}/photos/{photo_id}").status_code == 404
    assert key_b.get(f"{b_claim}/photos/{photo_id}/content?variant=original").status_code == 404
    assert key_b.patch(f"{b_claim}/photos/{photo_id}", json={"hidden": True}).status_code == 404
    assert key_b.delete(f"{b_claim}/photos/{photo_id}").status_code == 404
    assert key_b.delete(f"{b_claim}/attachments/{attachment_id}").status_code == 404
    assert key_b.get(f"{b_claim}/photos").json == []

    for variant in ("thumb", "display", "original"):
        assert portal_b.get(f"/c/s/photos/{photo_id}/{variant}").status_code == 404
    assert portal_a.get(f"/c/s/photos/{photo_id}/thumb").status_code == 200

    with in_tenant(app, bay.shop.id) as session:  # nothing was changed by the attempts
        photo = session.get(Photo, photo_id)
        assert photo.deleted_at is None and not photo.hidden
        assert session.get(Attachment, attachment_id).deleted_at is None


def test_staff_of_shop_a_cannot_upload_to_shop_b_claim(app, bay, make_shop, make_claim):
    shop_b = make_shop()
    claim_b = make_claim(shop_b)
    import io

    r = bay.staff.post(f"/console/claims/{claim_b.id}/photos", headers={"Accept": "application/json"},
                       data={"csrf_token": bay.staff_csrf, "files": [(io.BytesIO(images.jpeg()), "x.jpg")]},
                       content_type="multipart/form-data")
    assert r.status_code == 404
    with in_tenant(app, shop_b.id) as session:
        assert session.scalars(select(Photo)).all() == []
