"""Tenant isolation and plan gating of the SMS routes."""
from __future__ import annotations

from bayline_sms.testing.helpers import SHOP_NUMBER, post_webhook


def test_other_shop_gets_404_for_our_objects(app, sms_shop, make_shop, make_user, make_claim, client_for,
                                             api_client, telnyx_api) -> None:
    claim = make_claim(sms_shop.shop)
    payload = telnyx_api.inbound("+16175550177", SHOP_NUMBER, "to the inbox")
    post_webhook(app, payload, telnyx_api.sign(payload))
    inbound_id = sms_shop.api.get("/plugins/sms/inbox").get_json()["inbox"][0]["id"]
    other = make_shop(plan="starter")
    other_claim = make_claim(other)
    for client in (api_client(other), client_for(make_user(other, "owner"))):
        assert client.get(f"/plugins/sms/claims/{claim.id}/messages").status_code == 404
        assert client.get("/plugins/sms/inbox").get_json()["inbox"] == []
        assert client.get("/plugins/sms/number").get_json()["number"] is None
    b = api_client(other)
    assert b.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "x"}).status_code == 404
    assert b.post(f"/plugins/sms/inbox/{inbound_id}/attach", json={"claim_id": other_claim.id}).status_code == 404
    # shop B cannot take shop A's number
    assert b.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER}).status_code == 409
    assert len(telnyx_api.messages) == 0


def test_feature_switched_off_answers_403(app, sms_shop, make_claim, client_for, telnyx_api) -> None:
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop
    from bayline.testing.plugin import in_tenant

    claim = make_claim(sms_shop.shop)
    with in_tenant(app, sms_shop.shop.id) as session:
        provisioning.set_feature_enabled(session.get(Shop, sms_shop.shop.id), "sms", False)
        commit(session)
    resp = sms_shop.api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "x"})
    assert resp.status_code == 403 and resp.get_json()["code"] == "feature_not_in_plan"
    assert sms_shop.api.get("/plugins/sms/inbox").status_code == 403
    page = client_for(sms_shop.owner).get(f"/console/claims/{claim.id}")
    assert page.status_code == 200 and b"Text messages" not in page.data
    # automatic notifications are off too
    with in_tenant(app, sms_shop.shop.id):
        from bayline import settings_registry

        settings_registry.set_values(sms_shop.shop.id, {"sms.stage_notifications": True}, None)
        commit()
    stages = sms_shop.api.get("/api/v1/stages").get_json()
    moved = sms_shop.api.post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": stages[1]["id"]})
    assert moved.status_code == 200
    assert telnyx_api.requests == []
