""""Text me a new link" on the not-working page: only for a known link that was replaced (never one
staff revoked), only to the mobile on file, through the SMS plugin (its Telnyx stand-in here); the
page never says whether or where a text went. Without SMS the page asks the customer to call."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bayline.claims.models import Claim
from bayline.db import utcnow
from bayline.events import commit
from bayline.portal import tokens
from bayline.testing.plugin import in_tenant

from .conftest import csrf_from

bayline_sms = pytest.importorskip("bayline_sms", reason="the SMS plugin (plugins/sms) is not installed")
from bayline_sms.testing.telnyx_standin import TelnyxStandIn  # noqa: E402

SHOP_NUMBER = "+16175550199"
MOBILE = "+16175550123"
SENT = "Thanks, we have your request."


@pytest.fixture
def telnyx_api() -> Iterator[TelnyxStandIn]:
    server = TelnyxStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def app_config(telnyx_api: TelnyxStandIn) -> dict[str, Any]:
    return telnyx_api.app_settings()


@pytest.fixture
def texting_shop(app, make_shop, api_client):
    shop = make_shop(name="Harbor Collision", phone="+16175550111")
    api = api_client(shop)
    assert api.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER,
                                                "messaging_profile_id": "mp-1"}).status_code == 200
    assert api.patch("/api/v1/shop/settings", json={"messaging.quiet_hours_start": "",
                                                    "messaging.quiet_hours_end": ""}).status_code == 200
    return shop


def _rotate(app, claim) -> str:
    with in_tenant(app, claim.tenant_id) as session:
        link = tokens.issue(session.get(Claim, claim.id))
        commit(session)
        return link.raw


def _ask(app, raw):
    client = app.test_client()
    page = client.get(f"/c/{raw}")
    assert page.status_code == 404
    html = page.get_data(as_text=True)
    match = re.search(r'<form method="post" action="([^"]+)" class="relink">', html)
    if match is None:
        return page, None
    return page, client.post(match.group(1), data={"csrf_token": csrf_from(html)})


def test_replaced_link_texts_a_working_link_to_the_mobile_on_file(app, texting_shop, make_claim, telnyx_api):
    claim = make_claim(texting_shop, customer_mobile=MOBILE, vehicle_make="Subaru")
    old = claim.portal_link.raw
    _rotate(app, claim)
    page, answer = _ask(app, old)
    html = page.get_data(as_text=True)
    assert "Text me a new link" in html and "tel:+16175550111" in html
    assert MOBILE not in html and "0123" not in html and claim.number not in html and "Subaru" not in html
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and SENT in text and "0123" not in text and claim.number not in text
    [sent] = telnyx_api.message_posts()
    assert sent["json"]["to"] == MOBILE and sent["json"]["from"] == SHOP_NUMBER
    url = re.search(r"http://localhost(/c/[A-Za-z0-9_-]+)", sent["json"]["text"]).group(1)
    # the texted link (the SMS channel's) works; the old one still does not; nothing else changed
    client = app.test_client()
    assert client.get(url).status_code == 200
    assert client.get(f"/c/{old}").status_code == 404
    with in_tenant(app, claim.tenant_id) as session:
        current = session.get(Claim, claim.id)
        assert tokens.hash_token(url.rsplit("/", 1)[1]) == tokens.active_token(current, "sms").token_hash
        assert tokens.active_token(current, "staff_copy") is not None
    assert "on its way" not in text


def test_no_text_for_revoked_expired_mobile_less_or_unknown(app, texting_shop, make_claim, telnyx_api):
    revoked = make_claim(texting_shop, customer_mobile=MOBILE)
    with in_tenant(app, texting_shop.id) as session:
        tokens.revoke(session.get(Claim, revoked.id))
        commit(session)
    replaced_then_revoked = make_claim(texting_shop, customer_mobile=MOBILE)
    old = replaced_then_revoked.portal_link.raw
    _rotate(app, replaced_then_revoked)
    with in_tenant(app, texting_shop.id) as session:
        tokens.revoke(session.get(Claim, replaced_then_revoked.id))
        commit(session)
    expired = make_claim(texting_shop, customer_mobile=MOBILE)
    with in_tenant(app, texting_shop.id) as session:
        session.get(Claim, expired.id).delivered_at = utcnow() - timedelta(days=60)
        commit(session)
    no_mobile = make_claim(texting_shop, customer_mobile=None)
    old_no_mobile = no_mobile.portal_link.raw
    _rotate(app, no_mobile)
    for raw in (revoked.portal_link.raw, old, expired.portal_link.raw):
        page, answer = _ask(app, raw)  # revoked or expired: no offer at all
        assert answer is None and "Text me a new link" not in page.get_data(as_text=True)
        client = app.test_client()  # a crafted request gets the same answer and sends nothing
        token = csrf_from(client.get("/login").get_data(as_text=True))
        crafted = client.post(f"/c/{raw}/new-link", data={"csrf_token": token})
        assert crafted.status_code == 200 and SENT in crafted.get_data(as_text=True)
    _, answer = _ask(app, old_no_mobile)  # replaced: offered, but there is no number to text
    assert answer.status_code == 200 and SENT in answer.get_data(as_text=True)
    assert telnyx_api.message_posts() == []
    # a revoked claim keeps no working link either
    with in_tenant(app, texting_shop.id) as session:
        assert tokens.active_token(session.get(Claim, revoked.id)) is None
    # an unknown link offers no form (no shop to text from) and posting anyway sends nothing
    page, answer = _ask(app, "C" * 43)
    assert answer is None and "call the shop" in page.get_data(as_text=True)
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    answer = client.post("/c/" + "C" * 43 + "/new-link", data={"csrf_token": token})
    assert answer.status_code == 200 and SENT in answer.get_data(as_text=True)
    assert telnyx_api.message_posts() == []


def test_relink_is_rate_limited_per_link(app, texting_shop, make_claim, telnyx_api):
    claim = make_claim(texting_shop, customer_mobile=MOBILE)
    old = claim.portal_link.raw
    _rotate(app, claim)
    client = app.test_client()
    html = client.get(f"/c/{old}").get_data(as_text=True)
    token = csrf_from(html)
    codes = [client.post(f"/c/{old}/new-link", data={"csrf_token": token}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert len(telnyx_api.message_posts()) == 3
    # every text carries the SMS channel's one live link (asking again replaces nothing)
    urls = [re.search(r"(/c/[A-Za-z0-9_-]+)", m["json"]["text"]).group(1) for m in telnyx_api.message_posts()]
    assert len(set(urls)) == 1
    assert app.test_client().get(urls[-1]).status_code == 200


def test_relink_bad_input(app, texting_shop, make_claim, telnyx_api):
    claim = make_claim(texting_shop, customer_mobile=MOBILE)
    old = claim.portal_link.raw
    _rotate(app, claim)
    client = app.test_client()
    html = client.get(f"/c/{old}").get_data(as_text=True)
    assert client.post(f"/c/{old}/new-link").status_code == 400  # no CSRF token
    token = csrf_from(html)
    assert client.post(f"/c/{'x' * 500}/new-link", data={"csrf_token": token}).status_code == 200
    assert client.get(f"/c/{old}/new-link").status_code == 405
    assert telnyx_api.message_posts() == []


def test_without_sms_the_page_asks_to_call(app, make_shop, make_claim, telnyx_api):
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop

    shop = make_shop(name="Quiet Body Shop", phone="+16175550144")
    with in_tenant(app) as session:
        provisioning.set_feature_enabled(session.get(Shop, shop.id), "sms", False)
        commit(session)
    claim = make_claim(shop, customer_mobile=MOBILE)
    old = claim.portal_link.raw
    _rotate(app, claim)
    page, answer = _ask(app, old)
    html = page.get_data(as_text=True)
    assert answer is None and "Text me a new link" not in html
    assert "Please call Quiet Body Shop" in html and "tel:+16175550144" in html
    client = app.test_client()  # posting anyway (a crafted request) sends nothing
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post(f"/c/{old}/new-link", data={"csrf_token": token}).status_code == 200
    assert telnyx_api.message_posts() == []
