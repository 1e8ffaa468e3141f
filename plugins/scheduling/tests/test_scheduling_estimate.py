"""The public landing: a new customer requests an estimate (name, phone, email, vehicle, damage photos
through the core files pipeline); a claim is created in the "estimate requested" state and the
customer gets a link to follow it and book the inspection. Bad input comes back inline with what was
typed kept and nothing created; a shop without the feature has no such page."""
from __future__ import annotations

import io

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


GOOD = {"first_name": "Ana", "last_name": "Silva", "mobile": "617-555-0199", "email": "ana@example.com",
        "vehicle_year": "2019", "vehicle_make": "Honda", "vehicle_model": "Civic",
        "damage": "Rear bumper pushed in at a light", "text_ok": "1"}


def _claims(app, shop_id):
    from sqlalchemy import select

    from bayline.claims.models import Claim

    with in_tenant(app, shop_id) as session:
        return list(session.scalars(select(Claim).order_by(Claim.id)))


def test_estimate_request_creates_a_claim_with_its_photos(app, sched, storage, client_for):
    from bayline_scheduling.models import SchedulingRequest
    from sqlalchemy import select

    from bayline.plugin_api import Photo

    client = app.test_client()
    url = f"/plugins/scheduling/public/estimate/{sched.shop.slug}"
    page = client.get(url)
    assert page.status_code == 200 and "Request an estimate" in page.get_data(as_text=True)
    before = len(_claims(app, sched.shop.id))
    r = client.post(url, data={**GOOD, "csrf_token": csrf_token(page), "photos": (io.BytesIO(_png()), "bumper.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.get_data(as_text=True)
    text = r.get_data(as_text=True)
    assert "We received your estimate request" in text and "/c/" in text  # the link to follow it
    claims = _claims(app, sched.shop.id)
    assert len(claims) == before + 1
    claim = claims[-1]
    assert (claim.customer_first_name, claim.customer_last_name) == ("Ana", "Silva")
    assert claim.customer_mobile == "+16175550199" and claim.vehicle_make == "Honda" and claim.vehicle_year == 2019
    with in_tenant(app, sched.shop.id) as session:
        [req] = session.scalars(select(SchedulingRequest)).all()
        assert req.claim_id == claim.id and req.state == "estimate_requested" and "bumper" in req.damage
        photos = session.scalars(select(Photo).where(Photo.claim_id == claim.id)).all()
        assert len(photos) == 1 and photos[0].visibility == "customer"
    assert f"{photos[0].key}/original" in storage.keys()  # stored by the core's files pipeline
    panel = client_for(sched.owner).get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert "Estimate requested online" in panel and "Rear bumper pushed in" in panel


def test_bad_estimate_input_is_inline_keeps_what_was_typed_and_creates_nothing(app, sched):
    client = app.test_client()
    url = f"/plugins/scheduling/public/estimate/{sched.shop.slug}"
    page = client.get(url)
    before = len(_claims(app, sched.shop.id))
    bad = {**GOOD, "first_name": "", "email": "not-an-email", "vehicle_year": "19", "csrf_token": csrf_token(page)}
    r = client.post(url, data=bad)
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert "Please enter your name." in text and "Enter an email address" in text and "model year" in text
    assert 'value="Silva"' in text and 'value="Civic"' in text and "Rear bumper pushed in" in text
    assert len(_claims(app, sched.shop.id)) == before
    # neither a mobile nor an email
    r = client.post(url, data={**GOOD, "mobile": "", "email": "", "csrf_token": csrf_token(page)})
    assert r.status_code == 422 and "Give a mobile number or an email" in r.get_data(as_text=True)
    # a file that is not a photo: refused by the core's files pipeline, nothing kept
    r = client.post(url, data={**GOOD, "csrf_token": csrf_token(page),
                               "photos": (io.BytesIO(b"%PDF-1.4 not a photo"), "damage.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code in (400, 415, 422), r.get_data(as_text=True)
    assert 'id="err-photos"' in r.get_data(as_text=True) and 'value="Silva"' in r.get_data(as_text=True)
    assert len(_claims(app, sched.shop.id)) == before


def test_no_landing_page_for_an_unknown_shop_or_with_the_feature_switched_off(app, sched):
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop

    client = app.test_client()
    assert client.get("/plugins/scheduling/public/estimate/no-such-shop").status_code == 404
    with in_tenant(app) as session:
        provisioning.set_feature_enabled(session.get(Shop, sched.shop.id), "scheduling", False)
        commit(session)
    assert client.get(f"/plugins/scheduling/public/estimate/{sched.shop.slug}").status_code == 404
