"""Group brands: every location inherits logo, tokens, sender identity and review link from the group
and overrides only the fields the group allows (explicit per-field flags); contact, hours, time zone
and the Google Place ID stay the location's. Group admins manage the brand and see every location."""
from __future__ import annotations

import io

from branding_helpers import png, stylesheet_url

from bayline.testing.forms import csrf_token

GROUP_BRAND = {"primary": "#1d3557", "text_on_primary": "#ffffff", "accent": "#e76f51",
               "display_name": "Harbor Auto Group", "sender_name": "Harbor Auto Group", "review_url": "https://example.com/harbor/reviews",
               "welcome": "Welcome to Harbor Auto Group"}


def _group(app, make_shop, make_user, client_for, api_client):
    downtown = make_shop(plan="enterprise", name="Harbor Downtown", phone="+16175550101", timezone="America/New_York")
    quincy = make_shop(plan="enterprise", name="Harbor Quincy", group_id=downtown.group_id, phone="+16175550102",
                       timezone="America/Chicago")
    admin = make_user(downtown, group_admin=True)
    client = client_for(admin, downtown)
    return downtown, quincy, client, api_client(downtown), api_client(quincy)


def _put_group(client, body):
    token = csrf_token(client, "/console/")
    return client.put("/api/v1/plugins/branding/group", json=body, headers={"X-CSRFToken": token})


def test_locations_inherit_and_override_only_what_the_group_allows(app, make_shop, make_user, client_for,
                                                                   api_client, make_claim, portal_client):
    downtown, quincy, admin, _, quincy_key = _group(app, make_shop, make_user, client_for, api_client)
    r = _put_group(admin, {**GROUP_BRAND, "overridable": ["welcome"]})
    assert r.status_code == 200, r.get_json()
    # Quincy sets its own colour and welcome line: only the welcome line is allowed
    r = quincy_key.put("/api/v1/plugins/branding/brand", json={"primary": "#22577a", "welcome": "Hi from Quincy",
                                                                "place_id": "ChIJquincy"})
    assert r.status_code == 200
    report = quincy_key.get("/api/v1/plugins/branding/brand").get_json()
    assert report["values"]["primary"] == "#1d3557" and report["sources"]["primary"] == "group"
    assert report["values"]["welcome"] == "Hi from Quincy" and report["sources"]["welcome"] == "shop"
    assert report["values"]["sender_name"] == "Harbor Auto Group" and report["sources"]["review_url"] == "group"
    assert report["name"] == "Harbor Auto Group"
    # the portal: the group brand with the location's own contact
    html = portal_client(make_claim(quincy)).get("/c/s/").get_data(as_text=True)
    assert "Harbor Auto Group" in html and "Harbor Quincy" in html and "tel:+16175550102" in html
    assert "Hi from Quincy" in html
    css = app.test_client().get(stylesheet_url(html)).get_data(as_text=True)
    assert "--accent:#1d3557" in css and "#22577a" not in css
    # the group allows the colour too: now Quincy's own colour shows
    assert _put_group(admin, {"overridable": ["welcome", "primary"]}).status_code == 200
    html = portal_client(make_claim(quincy)).get("/c/s/").get_data(as_text=True)
    assert "--accent:#22577a" in app.test_client().get(stylesheet_url(html)).get_data(as_text=True)
    # Downtown, which set nothing, shows the group brand with its own phone
    html = portal_client(make_claim(downtown)).get("/c/s/").get_data(as_text=True)
    assert "tel:+16175550101" in html and "Welcome to Harbor Auto Group" in html


def test_group_logo_is_inherited(app, make_shop, make_user, client_for, api_client, make_claim, portal_client):
    _, quincy, admin, _, _ = _group(app, make_shop, make_user, client_for, api_client)
    token = csrf_token(admin, "/plugins/branding/")
    r = admin.post("/plugins/branding/images", data={"csrf_token": token, "field": "logo", "scope": "group",
                                                      "file": (io.BytesIO(png((90, 90), (29, 53, 87))), "g.png")},
                   content_type="multipart/form-data")
    assert r.status_code == 303
    html = portal_client(make_claim(quincy)).get("/c/s/").get_data(as_text=True)
    assert f'src="/plugins/branding/shops/{quincy.slug}/logo.png' in html


def test_only_group_admins_change_the_group_brand(app, make_shop, make_user, client_for, api_client):
    _, quincy, admin, downtown_key, _ = _group(app, make_shop, make_user, client_for, api_client)
    owner = client_for(make_user(quincy, "owner"), quincy)
    assert _put_group(owner, GROUP_BRAND).status_code == 403
    assert downtown_key.put("/api/v1/plugins/branding/group", json=GROUP_BRAND).status_code == 403
    token = csrf_token(owner, "/plugins/branding/")
    assert owner.post("/plugins/branding/group", data={"csrf_token": token, "primary": "#000000"}).status_code == 403
    assert _put_group(admin, {**GROUP_BRAND, "overridable": ["colour"]}).status_code == 422  # unknown field
    # the group admin's page lists every location
    page = admin.get("/plugins/branding/").get_data(as_text=True)
    assert 'id="brand-group"' in page and "Harbor Downtown" in page and "Harbor Quincy" in page


def test_group_brand_form_errors_keep_what_was_typed(app, make_shop, make_user, client_for, api_client):
    _, _, admin, _, _ = _group(app, make_shop, make_user, client_for, api_client)
    token = csrf_token(admin, "/plugins/branding/")
    r = admin.post("/plugins/branding/group", data={"csrf_token": token, "primary": "#f1faee",
                                                     "display_name": "Harbor Group"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "contrast" in html and 'value="#f1faee"' in html and 'value="Harbor Group"' in html


def test_a_professional_shop_has_no_group_brand(app, shop_on, make_user, client_for):
    pro = shop_on("professional")
    admin = client_for(make_user(pro.shop, group_admin=True), pro.shop)
    r = _put_group(admin, GROUP_BRAND)
    assert r.status_code == 403 and r.get_json()["code"] == "feature_not_in_plan"
