"""The fake providers of ``bayline.testing`` for plugin authors: ``sms_outbox`` captures what the
core hands the SMS channel with no SMS plugin installed; ``storage`` is the test's own local store."""
from __future__ import annotations

import re

import pytest

from bayline import plugin_api
from bayline.claims.models import Claim
from bayline.events import commit
from bayline.portal import tokens
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant
from tests.photos.images import jpeg

MOBILE = "+16175550123"


@pytest.fixture
def app_config():
    return {"plugins_deny": ["sms", "esign"]}  # no plugin provides texting here


def _replaced_link(app, make_shop, make_claim):
    shop = make_shop(name="Harbor Collision", phone="+16175550111")
    claim = make_claim(shop, customer_mobile=MOBILE)
    old = claim.portal_link.raw
    with in_tenant(app, shop.id) as session:
        tokens.issue(session.get(Claim, claim.id))
        commit(session)
    return shop, old


def _not_working_page(client, old):
    page = client.get(f"/c/{old}")
    assert page.status_code == 404
    return page.get_data(as_text=True)


def test_sms_outbox_captures_the_core_text(app, make_shop, make_claim, sms_outbox):
    assert "sms" not in app.extensions["bayline.plugins"].plugins
    shop, old = _replaced_link(app, make_shop, make_claim)
    client = app.test_client()
    html = _not_working_page(client, old)
    assert "Text me a new link" in html  # the capture is an active sender
    action = re.search(r'<form method="post" action="([^"]+)" class="relink">', html).group(1)
    assert client.post(action, data={"csrf_token": csrf_token(html)}).status_code == 200
    [text] = sms_outbox
    assert (text.shop_id, text.to, text.media) == (shop.id, MOBILE, ())
    assert "here is your link" in text.body and text.idempotency_key.startswith("portal-relink:")
    assert sms_outbox.to(MOBILE) == [text] and sms_outbox.to("+15550000000") == []
    # the texted link works
    url = re.search(r"http://localhost(/c/[A-Za-z0-9_-]+)", text.body).group(1)
    assert app.test_client().get(url).status_code == 200


def test_without_a_sender_nothing_is_offered(app, make_shop, make_claim):
    _, old = _replaced_link(app, make_shop, make_claim)
    assert "Text me a new link" not in _not_working_page(app.test_client(), old)


def test_sms_outbox_keeps_the_hook_contract(app, make_shop, make_claim, sms_outbox):
    shop = make_shop()
    claim = make_claim(shop, customer_mobile=MOBILE)
    with app.app_context(), plugin_api.for_shop(shop):
        current = plugin_api.get_session().get(plugin_api.Claim, claim.id)
        first, created = plugin_api.outbox.enqueue(
            channel="sms", purpose="transactional", recipient=MOBILE, body="one: {portal_link}",
            idempotency_key="k1", claim=current, kind="requested", options={"media_urls": ["https://x/1.jpg"]})
        again, created_again = plugin_api.outbox.enqueue(
            channel="sms", purpose="transactional", recipient=MOBILE, body="one", idempotency_key="k1",
            claim=current, kind="requested")
        assert (created, created_again) == (True, False) and first.id == again.id
        assert first.state == "sent" and first.provider_id == sms_outbox[0].provider_id
    assert len(sms_outbox) == 1 and sms_outbox[0].media == ("https://x/1.jpg",)
    assert sms_outbox[0].body.startswith("one: http://localhost/c/")  # the link filled for the provider only
    sms_outbox.clear()
    assert len(sms_outbox) == 0


def test_sms_outbox_is_gone_after_the_test(app):
    assert "bayline_testing_sms_outbox" not in app.extensions["bayline.plugins"].plugins


def test_storage_fixture_holds_what_the_files_api_stored(app, make_shop, make_claim, enable_plugin, storage):
    shop = make_shop()
    enable_plugin(shop, "photos")
    claim = make_claim(shop)
    assert list(storage.keys()) == []
    with app.app_context(), plugin_api.for_shop(shop):
        current = plugin_api.get_session().get(plugin_api.Claim, claim.id)
        photos, _ = plugin_api.files.add_photos(current, [plugin_api.files.Incoming("car.jpg", jpeg())])
        plugin_api.commit()
        key = photos[0].key
    assert f"{key}/original" in set(storage.keys())
    assert storage.get(f"{key}/original") == jpeg()  # the original, as received
