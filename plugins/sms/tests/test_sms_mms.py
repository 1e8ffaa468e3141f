"""MMS both ways: inbound media downloaded from the stand-in over HTTP into the core photo pipeline,
outbound claim photos sent as short-lived signed URLs (core ``bayline.photos.public``)."""
from __future__ import annotations

import io
import time

from bayline_sms.models import SmsInbound
from bayline_sms.testing.helpers import CUSTOMER, SHOP_NUMBER, post_webhook
from sqlalchemy import select

from bayline.messaging.models import OutboxItem
from bayline.photos.models import Attachment, Photo
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant


def jpeg(size: tuple[int, int] = (320, 240), colour: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=90)
    return out.getvalue()


def pdf() -> bytes:
    from pypdf import PdfWriter

    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=200, height=200)
    writer.write(out)
    return out.getvalue()


def _mms(app, api, urls: list[str], sender: str = CUSTOMER, text: str = "", types=None) -> None:
    body = api.inbound(sender, SHOP_NUMBER, text, media=urls, content_types=types)
    resp = post_webhook(app, body, api.sign(body))
    assert resp.status_code == 200 and resp.get_json()["status"] == "accepted", resp.get_json()


def _inbound(app, shop_id: int) -> SmsInbound:
    with in_tenant(app, shop_id) as session:
        row = session.scalars(select(SmsInbound).order_by(SmsInbound.id.desc())).first()
        session.expunge(row)
        return row


def _settings(app, shop_id: int, values: dict) -> None:
    from bayline import settings_registry
    from bayline.events import commit

    with in_tenant(app, shop_id):
        settings_registry.set_values(shop_id, values, None)
        commit()


def test_inbound_mms_photo_and_pdf_land_on_the_claim_internal_by_default(app, sms_shop, make_claim,
                                                                          telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    telnyx_api.media["dent.jpg"] = (jpeg(), "image/jpeg")
    telnyx_api.media["estimate.pdf"] = (pdf(), "application/pdf")
    _mms(app, telnyx_api, [telnyx_api.media_url("dent.jpg"), telnyx_api.media_url("estimate.pdf")],
         text="Here's the damage", types=["image/jpeg", "application/pdf"])
    inbound = _inbound(app, sms_shop.shop.id)
    assert [m["status"] for m in inbound.media_files] == ["stored", "stored"], inbound.media_files
    with in_tenant(app, sms_shop.shop.id) as session:
        photo = session.scalars(select(Photo)).one()
        assert (photo.claim_id, photo.visibility, photo.status, photo.source) == (claim.id, "internal", "ready",
                                                                                 "customer")
        assert (photo.width, photo.height) == (320, 240)
        attachment = session.scalars(select(Attachment)).one()
        assert (attachment.claim_id, attachment.content_type) == (claim.id, "application/pdf")
    # the staff thread shows what became of each picture (storage keys never leave the server)
    staff_page = sms_shop.api.get(f"/plugins/sms/claims/{claim.id}/messages").get_json()
    assert staff_page["inbound"][0]["media_files"][0]["photo_id"] == photo.id
    assert "key" not in staff_page["inbound"][0]["media_files"][0]
    media_gets = [r for r in telnyx_api.requests if r["path"].startswith("/media/")]
    assert len(media_gets) == 2 and media_gets[0]["headers"]["User-Agent"] == "bayline-sms"


def test_shop_can_make_texted_pictures_customer_visible(app, sms_shop, make_claim, telnyx_api) -> None:
    make_claim(sms_shop.shop)
    _settings(app, sms_shop.shop.id, {"sms.mms_photo_visibility": "customer"})
    telnyx_api.media["a.jpg"] = (jpeg(), "image/jpeg")
    _mms(app, telnyx_api, [telnyx_api.media_url("a.jpg")])
    with in_tenant(app, sms_shop.shop.id) as session:
        photo = session.scalars(select(Photo)).one()
        assert photo.visibility == "customer" and photo.published_at is not None
    bad = sms_shop.api.patch("/api/v1/shop/settings", json={"sms.mms_photo_visibility": "everyone"})
    assert bad.status_code == 422


def test_expired_media_url_is_recorded_and_retried_with_backoff(app, sms_shop, make_claim, telnyx_api) -> None:
    from bayline_sms.tasks import release_held

    from bayline.db import utcnow

    claim = make_claim(sms_shop.shop)
    url = telnyx_api.media_url("late.jpg")  # not served (yet): 404 like an expired Telnyx link
    _mms(app, telnyx_api, [url], text="pic")
    inbound = _inbound(app, sms_shop.shop.id)
    [item] = inbound.media_files
    assert item["status"] == "failed" and "HTTP 404" in item["error"]
    assert inbound.media_attempts == 1 and inbound.media_retry_at is not None
    assert (inbound.media_retry_at - utcnow()).total_seconds() > 20  # backoff, not a hot loop
    # the text itself is on the claim; the panel says the picture is being retried
    staff = sms_shop.api.get(f"/plugins/sms/claims/{claim.id}/messages").get_json()
    assert staff["inbound"][0]["body"] == "pic"
    with app.app_context():
        assert release_held.apply().get() == 0  # back-off not over
    telnyx_api.media["late.jpg"] = (jpeg(), "image/jpeg")
    with in_tenant(app, sms_shop.shop.id) as session:
        session.get(SmsInbound, inbound.id).media_retry_at = utcnow()
        session.commit()
    with app.app_context():
        assert release_held.apply().get() == 1
    inbound = _inbound(app, sms_shop.shop.id)
    assert inbound.media_files[0]["status"] == "stored" and inbound.media_attempts == 2
    assert inbound.media_retry_at is None
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.scalars(select(Photo)).one().claim_id == claim.id


def test_media_that_never_comes_back_is_given_up(app, sms_shop, make_claim, telnyx_api) -> None:
    from bayline_sms import media
    from bayline_sms.tasks import fetch_media

    make_claim(sms_shop.shop)
    _mms(app, telnyx_api, [telnyx_api.media_url("gone.jpg")])
    inbound = _inbound(app, sms_shop.shop.id)
    for _ in range(media.MAX_ATTEMPTS - 1):
        with in_tenant(app, sms_shop.shop.id):
            fetch_media.apply(args=[inbound.id], headers={"bayline_tenant_id": sms_shop.shop.id})
    inbound = _inbound(app, sms_shop.shop.id)
    assert inbound.media_attempts == media.MAX_ATTEMPTS and inbound.media_retry_at is None
    assert inbound.media_files[0]["status"] == "refused" and "gave up after 5 attempts" in \
        inbound.media_files[0]["error"]
    assert [media.backoff(n) for n in (1, 2, 3, 8)] == [30, 60, 120, 3600]


def test_oversized_and_unsupported_media_are_refused_not_retried(app, sms_shop, make_claim, telnyx_api) -> None:
    make_claim(sms_shop.shop)
    _settings(app, sms_shop.shop.id, {"uploads.max_file_mb": 1})
    telnyx_api.media["huge.bin"] = (b"\xff\xd8\xff" + b"0" * (2 * 1024 * 1024), "image/jpeg")
    telnyx_api.media["clip.mp4"] = (b"\x00\x00\x00\x18ftypmp42" + b"0" * 100, "video/mp4")
    _mms(app, telnyx_api, [telnyx_api.media_url("huge.bin"), telnyx_api.media_url("clip.mp4")])
    inbound = _inbound(app, sms_shop.shop.id)
    assert [m["status"] for m in inbound.media_files] == ["refused", "refused"], inbound.media_files
    assert "larger than 1 MB" in inbound.media_files[0]["error"]
    assert inbound.media_retry_at is None
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.scalars(select(Photo)).all() == []


def test_only_allowed_schemes_are_fetched(app, sms_shop, make_claim, telnyx_api) -> None:
    make_claim(sms_shop.shop)
    app.config["BAYLINE_PLUGIN_SMS_MEDIA_SCHEMES"] = ("https",)
    telnyx_api.media["a.jpg"] = (jpeg(), "image/jpeg")
    _mms(app, telnyx_api, [telnyx_api.media_url("a.jpg")])
    inbound = _inbound(app, sms_shop.shop.id)
    assert inbound.media_files[0]["status"] == "refused" and "only https" in inbound.media_files[0]["error"]
    assert not [r for r in telnyx_api.requests if r["path"].startswith("/media/")]


def test_inbox_mms_waits_then_moves_onto_the_filed_claim(app, sms_shop, make_claim, telnyx_api) -> None:
    from bayline.storage import get_storage

    telnyx_api.media["a.jpg"] = (jpeg(), "image/jpeg")
    _mms(app, telnyx_api, [telnyx_api.media_url("a.jpg")], sender="+16175550177", text="new customer")
    inbound = _inbound(app, sms_shop.shop.id)
    [item] = inbound.media_files
    assert item["status"] == "held" and inbound.claim_id is None
    with app.app_context():
        assert get_storage().exists(item["key"])
    claim = make_claim(sms_shop.shop, customer_mobile="+16175550177")
    resp = sms_shop.api.post(f"/plugins/sms/inbox/{inbound.id}/attach", json={"claim_id": claim.id})
    assert resp.status_code == 200
    assert resp.get_json()["media_files"][0]["status"] == "stored"
    with in_tenant(app, sms_shop.shop.id) as session:
        photo = session.scalars(select(Photo)).one()
        assert photo.claim_id == claim.id and photo.status == "ready"
    with app.app_context():
        assert not get_storage().exists(item["key"])


def test_refiled_guess_moves_its_photos(app, sms_shop, make_claim, telnyx_api) -> None:
    from bayline.claims.models import Claim
    from bayline.db import utcnow

    older = make_claim(sms_shop.shop)
    newer = make_claim(sms_shop.shop)
    with in_tenant(app, sms_shop.shop.id) as session:
        session.get(Claim, newer.id).updated_at = utcnow()
        session.commit()
    telnyx_api.media["a.jpg"] = (jpeg(), "image/jpeg")
    _mms(app, telnyx_api, [telnyx_api.media_url("a.jpg")])
    inbound = _inbound(app, sms_shop.shop.id)
    assert inbound.claim_id == newer.id and inbound.needs_refile
    assert sms_shop.api.post(f"/plugins/sms/inbox/{inbound.id}/attach",
                             json={"claim_id": older.id}).status_code == 200
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.scalars(select(Photo)).one().claim_id == older.id


# -- outbound ------------------------------------------------------------------------------------

def _photo(app, shop_id: int, claim_id: int, visibility: str = "customer") -> int:
    from bayline.claims.models import Claim
    from bayline.events import commit
    from bayline.photos import service as photos

    with in_tenant(app, shop_id) as session:
        [photo], _ = photos.add_photos(session.get(Claim, claim_id), [photos.Incoming("p.jpg", jpeg())],
                                       tag="after", visibility=visibility)
        commit(session)
        photos.enqueue([photo])
        return photo.id


def test_staff_text_claim_photos_as_signed_urls(app, sms_shop, make_claim, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    photo_id = _photo(app, sms_shop.shop.id, claim.id)
    resp = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages",
                             json={"body": "All done!", "photo_ids": [photo_id], "idempotency_key": "m1"})
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["photo_ids"] == [photo_id]
    sent = telnyx_api.message_posts()[0]["json"]
    assert sent["type"] == "MMS" and len(sent["media_urls"]) == 1
    url = sent["media_urls"][0]
    assert url.startswith("http://localhost/files/photos/") and url.endswith(".jpg")
    path = url.removeprefix("http://localhost")
    anonymous = app.test_client()
    got = anonymous.get(path)
    assert got.status_code == 200 and got.mimetype == "image/jpeg" and got.data[:3] == b"\xff\xd8\xff"
    assert got.headers["Cache-Control"] == "no-store"
    token = path.rsplit("/", 1)[1]
    assert anonymous.get(path.replace(token, "x" + token)).status_code == 404  # tampered
    # hidden after the text went out: the link stops working
    with in_tenant(app, sms_shop.shop.id) as session:
        session.get(Photo, photo_id).hidden = True
        session.commit()
    assert anonymous.get(path).status_code == 404


def test_signed_photo_url_expires_and_refuses_internal_photos(app, sms_shop, make_claim, monkeypatch) -> None:
    import types

    import pytest

    from bayline.photos import public
    from bayline.photos.public import signed_url

    claim = make_claim(sms_shop.shop)
    visible = _photo(app, sms_shop.shop.id, claim.id)
    internal = _photo(app, sms_shop.shop.id, claim.id, visibility="internal")
    with in_tenant(app, sms_shop.shop.id) as session:
        url = signed_url(session.get(Photo, visible), expires=60)
        with pytest.raises(ValueError):
            signed_url(session.get(Photo, internal))
        with pytest.raises(ValueError):
            signed_url(session.get(Photo, visible), variant="original")
    path = url.removeprefix("http://localhost")
    assert app.test_client().get(path).status_code == 200
    # a minute later by the URL's own clock (never by sleeping: a slow run must not expire it early)
    later = time.time() + 61
    monkeypatch.setattr(public, "time", types.SimpleNamespace(time=lambda: later))
    assert app.test_client().get(path).status_code == 404


def test_outbound_photos_must_be_customer_visible_photos_of_the_claim(app, sms_shop, make_claim, make_shop,
                                                                     api_client, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    other = make_claim(sms_shop.shop, customer_mobile="+16175550142")
    internal = _photo(app, sms_shop.shop.id, claim.id, visibility="internal")
    elsewhere = _photo(app, sms_shop.shop.id, other.id)
    url = f"/plugins/sms/claims/{claim.id}/messages"
    for photo_ids in ([internal], [elsewhere], [999999], ["x"], "1", list(range(11))):
        resp = sms_shop.api.post(url, json={"body": "x", "photo_ids": photo_ids})
        assert resp.status_code == 422, (photo_ids, resp.get_json())
    # shop B cannot send A's photo from its own claim either
    shop_b = make_shop(plan="starter")
    b_claim = make_claim(shop_b)
    b = api_client(shop_b)
    b.put("/plugins/sms/number", json={"phone_number": "+16175550198"})
    mine = _photo(app, sms_shop.shop.id, claim.id)
    resp = b.post(f"/plugins/sms/claims/{b_claim.id}/messages", json={"body": "x", "photo_ids": [mine]})
    assert resp.status_code == 422
    assert telnyx_api.message_posts() == []


def test_claim_panel_offers_customer_visible_photos(app, sms_shop, make_claim, client_for, telnyx_api) -> None:
    import re

    claim = make_claim(sms_shop.shop)
    visible = _photo(app, sms_shop.shop.id, claim.id)
    internal = _photo(app, sms_shop.shop.id, claim.id, visibility="internal")
    staff = client_for(sms_shop.owner)
    page = staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert f'name="photo_ids" value="{visible}"' in page and f'name="photo_ids" value="{internal}"' not in page
    token = csrf_token(page)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    resp = staff.post(f"/plugins/sms/claims/{claim.id}/messages",
                      data={"csrf_token": token, "idempotency_key": key, "body": "Look", "photo_ids": [visible]})
    assert resp.status_code == 302
    assert len(telnyx_api.message_posts()[0]["json"]["media_urls"]) == 1
    with in_tenant(app, sms_shop.shop.id) as session:
        assert session.scalars(select(OutboxItem)).one().options["photo_ids"] == [visible]
