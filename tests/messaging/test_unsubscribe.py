"""RFC 8058 one-click unsubscribe for marketing email: an email channel adds the headers the core
gives it; the provider's one-click POST revokes marketing by email at once, nothing else."""
from __future__ import annotations

import re

import pytest

from bayline import plugin_api
from bayline.messaging import consent
from bayline.testing.plugin import in_tenant

EMAIL = "dana@example.com"
MOBILE = "+16175550142"


class EmailCapture:
    """A minimal email channel: records what it would send (subject, body, headers)."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    @plugin_api.hookimpl
    def deliver(self, outbox_item, body, provider_key):
        if outbox_item.channel != "email":
            return None
        self.sent.append({"to": outbox_item.recipient, "body": body,
                          "headers": plugin_api.outbox.unsubscribe_headers(outbox_item)})
        return {"state": "sent", "provider_id": f"mail-{len(self.sent)}"}


@pytest.fixture
def email_channel(app):
    capture = EmailCapture()
    registry = app.extensions["bayline.plugins"]
    registry.register(capture, "test_email_capture", core=True)
    yield capture
    registry.unregister("test_email_capture")


def _grant_marketing(app, shop_id):
    with in_tenant(app, shop_id) as session:
        for contact, channel in ((EMAIL, "email"), (MOBILE, "sms")):
            consent.set_consent(contact, channel, "marketing", "granted", "intake_form", wording="offers",
                                wording_version="v1")
        plugin_api.commit(session)


def _send(app, shop_id, purpose, key, channel="email", recipient=EMAIL):
    with in_tenant(app, shop_id):
        item, _ = plugin_api.outbox.enqueue(channel=channel, purpose=purpose, recipient=recipient,
                                            body="Tell us how we did", idempotency_key=key, kind="requested")
        return item.state, item.reason


def test_marketing_email_carries_one_click_headers_and_the_post_unsubscribes(app, make_shop, email_channel,
                                                                             sms_outbox):
    shop = make_shop(name="Harbor Collision")
    _grant_marketing(app, shop.id)
    assert _send(app, shop.id, "transactional", "t1")[0] == "sent"
    assert email_channel.sent[0]["headers"] == {}  # only marketing gets the unsubscribe headers
    assert _send(app, shop.id, "marketing", "m1")[0] == "sent"
    headers = email_channel.sent[1]["headers"]
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(http://localhost(/u/[^>]+))>", headers["List-Unsubscribe"])
    assert url, headers
    path = url.group(2)
    assert EMAIL not in path  # the token names ids only

    client = app.test_client()
    page = client.get(path)  # a link scanner opening the URL changes nothing
    assert page.status_code == 200 and "Unsubscribe from Harbor Collision" in page.get_data(as_text=True)
    with in_tenant(app, shop.id):
        assert consent.check(EMAIL, "email", "marketing").allowed

    done = client.post(path, data={"List-Unsubscribe": "One-Click"})  # no cookie, no CSRF token (RFC 8058)
    assert done.status_code == 200 and "You are unsubscribed" in done.get_data(as_text=True)
    with in_tenant(app, shop.id):
        decision = consent.check(EMAIL, "email", "marketing")
        assert not decision.allowed and decision.code == "no_marketing_consent"
        assert consent.check(EMAIL, "email", "transactional").allowed  # repair emails still go
        assert consent.check(MOBILE, "sms", "marketing").allowed  # texts are another channel
    assert client.post(path).status_code == 200  # a second click is harmless
    before = len(email_channel.sent)
    try:
        _send(app, shop.id, "marketing", "m2")
    except plugin_api.Refused as refused:
        assert refused.code == "no_marketing_consent"
    else:
        raise AssertionError("marketing email went out after the unsubscribe")
    assert len(email_channel.sent) == before


@pytest.mark.parametrize("token", ["nonsense-token-value", "WzEsMV0.forged-signature-here"])
def test_bad_or_forged_unsubscribe_tokens_get_a_friendly_page_and_change_nothing(app, token):
    client = app.test_client()
    for resp in (client.get(f"/u/{token}"), client.post(f"/u/{token}")):
        assert resp.status_code == 404
        assert "unsubscribe link isn't working" in resp.get_data(as_text=True)


def test_another_shops_token_cannot_be_rewritten(app, make_shop, email_channel, sms_outbox):
    one, two = make_shop(), make_shop()
    _grant_marketing(app, one.id)
    _grant_marketing(app, two.id)
    _send(app, one.id, "marketing", "m1")
    path = re.search(r"/u/[^>]+", email_channel.sent[0]["headers"]["List-Unsubscribe"]).group(0)
    assert app.test_client().post(path).status_code == 200
    with in_tenant(app, two.id):
        assert consent.check(EMAIL, "email", "marketing").allowed  # only the sending shop's list changed
