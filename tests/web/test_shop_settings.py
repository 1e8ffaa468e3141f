"""Shop settings page: core and plugin settings are validated and saved; features switch on and off."""
from __future__ import annotations

from bayline import settings_registry
from bayline.tenants.entitlements import is_feature_active
from bayline.tenants.models import Shop
from bayline.testing.forms import csrf_token

_csrf = csrf_token


def test_admin_edits_settings(app, make_shop, make_user, client_for):
    shop = make_shop()
    client = client_for(make_user(shop, "admin"))
    token = _csrf(client, "/console/settings/")
    shown = ["portal.verification", "portal.link_expiry_days", "portal.show_eta", "portal.show_insurer",
             "claims.phone_region"]
    r = client.post("/console/settings/", data={
        "csrf_token": token, "shown": shown, "portal.verification": "off", "portal.link_expiry_days": "30",
        "portal.show_eta": "on", "claims.phone_region": "CA"})
    assert r.status_code == 302
    with app.app_context():
        values = settings_registry.get_all(shop.id)
    assert values["portal.verification"] == "off" and values["portal.link_expiry_days"] == 30
    assert values["portal.show_eta"] is True and values["portal.show_insurer"] is False


def test_invalid_setting_is_refused_and_nothing_saved(app, make_shop, make_user, client_for):
    shop = make_shop()
    client = client_for(make_user(shop, "owner"))
    token = _csrf(client, "/console/settings/")
    shown = ["portal.link_expiry_days", "portal.verification"]
    r = client.post("/console/settings/", data={"csrf_token": token, "shown": shown,
                                                "portal.link_expiry_days": "soon", "portal.verification": "off"})
    assert r.status_code == 422 and "whole number" in r.get_data(as_text=True)
    r = client.post("/console/settings/", data={"csrf_token": token, "shown": shown,
                                                "portal.link_expiry_days": "7", "portal.verification": "bogus"})
    assert r.status_code == 422
    with app.app_context():
        assert settings_registry.get(shop.id, "portal.verification") == "name_claim"
        assert settings_registry.get(shop.id, "portal.link_expiry_days") == 14


def test_technician_cannot_open_settings(app, make_shop, make_user, client_for):
    shop = make_shop()
    assert client_for(make_user(shop, "technician")).get("/console/settings/").status_code == 403


def test_feature_switch_and_plan_bound(app, make_shop, make_user, client_for):
    shop = make_shop(plan="starter")
    client = client_for(make_user(shop, "owner"))
    token = _csrf(client, "/console/settings/")
    assert client.post("/console/settings/features/sms", data={"csrf_token": token, "enabled": "0"}).status_code == 302
    with app.app_context():
        from bayline.db import get_session

        assert not is_feature_active(get_session().get(Shop, shop.id), "sms")
    assert client.post("/console/settings/features/branding",
                       data={"csrf_token": token, "enabled": "1"}).status_code == 403


def test_settings_isolated_between_shops(app, make_shop, make_user, client_for):
    a, b = make_shop(), make_shop()
    client = client_for(make_user(a, "owner"))
    token = _csrf(client, "/console/settings/")
    client.post("/console/settings/", data={"csrf_token": token, "shown": ["portal.link_expiry_days"],
                                            "portal.link_expiry_days": "3"})
    with app.app_context():
        assert settings_registry.get(a.id, "portal.link_expiry_days") == 3
    with app.app_context():
        assert settings_registry.get(b.id, "portal.link_expiry_days") == 14


def test_settings_api_validates(app, make_shop, api_client):
    shop = make_shop()
    client = api_client(shop)
    r = client.patch("/api/v1/shop/settings", json={"portal.link_expiry_days": "x", "nope.key": 1})
    assert r.status_code == 422
    assert set(r.json["errors"]["json"]) == {"portal.link_expiry_days", "nope.key"}
    r = client.patch("/api/v1/shop/settings", json={"portal.link_expiry_days": 21})
    assert r.status_code == 200 and r.json["portal.link_expiry_days"] == 21
