"""The Telnyx webhook: signature, timestamp tolerance, dedupe, malformed bodies, unknown numbers."""
from __future__ import annotations

import time

import pytest
from bayline_sms.models import SmsInbound, SmsWebhookEvent
from bayline_sms.testing.helpers import CUSTOMER, SHOP_NUMBER, post_webhook
from nacl.signing import SigningKey
from sqlalchemy import func, select

from bayline.messages.models import Message
from bayline.testing.plugin import in_tenant


def _counts(app, shop_id: int) -> tuple[int, int, int]:
    with in_tenant(app, shop_id) as session:
        return (session.scalar(select(func.count()).select_from(SmsWebhookEvent)),
                session.scalar(select(func.count()).select_from(SmsInbound)),
                session.scalar(select(func.count()).select_from(Message)))


def test_valid_inbound_is_accepted(app, sms_shop, make_claim, telnyx_api) -> None:
    make_claim(sms_shop.shop)
    body = telnyx_api.inbound(CUSTOMER, SHOP_NUMBER, "On my way")
    resp = post_webhook(app, body, telnyx_api.sign(body))
    assert resp.status_code == 200 and resp.get_json()["status"] == "accepted"
    assert _counts(app, sms_shop.shop.id) == (1, 1, 1)


@pytest.mark.parametrize("case", ["bad_signature", "wrong_key", "stale", "future", "missing_headers"])
def test_rejected_webhooks_store_nothing(app, sms_shop, make_claim, telnyx_api, case, caplog) -> None:
    make_claim(sms_shop.shop)
    body = telnyx_api.inbound(CUSTOMER, SHOP_NUMBER, "hello")
    headers = telnyx_api.sign(body)
    if case == "bad_signature":
        headers = telnyx_api.sign(body.replace("hello", "hellO"))
    elif case == "wrong_key":
        headers = telnyx_api.sign(body, key=SigningKey.generate())
    elif case == "stale":
        headers = telnyx_api.sign(body, timestamp=int(time.time()) - 301)
    elif case == "future":
        headers = telnyx_api.sign(body, timestamp=int(time.time()) + 900)  # stays > 300 s ahead on a slow run
    else:
        headers = {"Content-Type": "application/json"}
    resp = post_webhook(app, body, headers)
    assert resp.status_code == 401
    assert _counts(app, sms_shop.shop.id) == (0, 0, 0)
    assert "sms webhook rejected" in caplog.text


def test_replayed_event_is_processed_once(app, sms_shop, make_claim, telnyx_api) -> None:
    make_claim(sms_shop.shop)
    body = telnyx_api.inbound(CUSTOMER, SHOP_NUMBER, "Is it done?", event_id="evt-1")
    assert post_webhook(app, body, telnyx_api.sign(body)).get_json()["status"] == "accepted"
    again = post_webhook(app, body, telnyx_api.sign(body))
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert _counts(app, sms_shop.shop.id) == (1, 1, 1)


def test_malformed_json_with_valid_signature_is_400(app, sms_shop, telnyx_api) -> None:
    for body in ("{not json", "[1, 2]", '{"data": {"event_type": "message.received", "payload": {}}}'):
        resp = post_webhook(app, body, telnyx_api.sign(body))
        assert resp.status_code == 400, body
    assert _counts(app, sms_shop.shop.id) == (0, 0, 0)


def test_unknown_number_is_acknowledged_and_ignored(app, sms_shop, telnyx_api) -> None:
    body = telnyx_api.inbound(CUSTOMER, "+16175550188", "wrong shop")
    resp = post_webhook(app, body, telnyx_api.sign(body))
    assert resp.status_code == 200 and resp.get_json()["status"] == "ignored"
    assert _counts(app, sms_shop.shop.id) == (0, 0, 0)


def test_webhook_ignores_shop_without_the_feature(app, sms_shop, make_claim, telnyx_api) -> None:
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop

    make_claim(sms_shop.shop)
    with in_tenant(app, sms_shop.shop.id) as session:
        provisioning.set_feature_enabled(session.get(Shop, sms_shop.shop.id), "sms", False)
        commit(session)
    body = telnyx_api.inbound(CUSTOMER, SHOP_NUMBER, "hello")
    assert post_webhook(app, body, telnyx_api.sign(body)).get_json()["status"] == "ignored"
    assert _counts(app, sms_shop.shop.id) == (0, 0, 0)
