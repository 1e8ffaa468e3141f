"""Fixtures: a running Telnyx stand-in and an app whose SDK client points at it."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bayline_sms.testing.helpers import SHOP_NUMBER
from bayline_sms.testing.telnyx_standin import TelnyxStandIn


@pytest.fixture
def telnyx_api() -> Iterator[TelnyxStandIn]:
    server = TelnyxStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def app_config(telnyx_api: TelnyxStandIn) -> dict[str, Any]:
    return {**telnyx_api.app_settings(),
            "BAYLINE_PLUGIN_SMS_MEDIA_SCHEMES": ("http", "https")}  # the stand-in serves media over plain HTTP


@pytest.fixture
def sms_shop(app, make_shop, make_user, api_client, telnyx_api) -> Any:
    """A starter shop with a texting number, quiet hours off, an owner and an API client.
    ``telnyx_api.requests`` starts empty afterwards (assigning the number asked Telnyx whether the
    platform account holds it)."""
    shop = make_shop(plan="starter", name="Harbor Collision", phone="+16175550111")
    owner = make_user(shop, "owner")
    client = api_client(shop)
    resp = client.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER, "messaging_profile_id": "mp-1"})
    assert resp.status_code == 200, resp.get_json()
    resp = client.patch("/api/v1/shop/settings", json={"messaging.quiet_hours_start": "",
                                                         "messaging.quiet_hours_end": ""})
    assert resp.status_code == 200, resp.get_json()
    telnyx_api.requests.clear()
    return type("SmsShop", (), {"shop": shop, "owner": owner, "api": client})
