"""Issue 20 in a real browser, at phone size: the same claim's portal on Starter (neutral), Professional
(the shop's brand) and Enterprise (the group brand with the location's own contact), and the public
landing pages /p/<slug> and /g/<slug>. Screenshots in test-artifacts/; the brand colour and logo are
checked in the rendered page (computed styles), present or absent as the plan says."""
from __future__ import annotations

import io

import pytest

pytestmark = pytest.mark.browser
pytest.importorskip("bayline_branding", reason="the branding plugin is not installed")

SHOP_PRIMARY, GROUP_PRIMARY = "rgb(122, 31, 43)", "rgb(29, 53, 87)"


def _logo(rgb):
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((8, 8, 152, 152), fill=rgb)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _header(page):
    return page.evaluate("""() => { const h = document.querySelector('header.shop');
        const logo = document.querySelector('header.shop img.shop-logo');
        return {bg: getComputedStyle(h).backgroundColor, logo: !!(logo && logo.naturalWidth > 0),
                text: h.innerText, width: document.documentElement.scrollWidth,
                powered: !!document.querySelector('.powered-by')}; }""")


def test_the_same_claims_portal_on_each_plan_and_the_landing_pages(app, live_server, phone, artifacts, db_backend,
                                                                    make_shop, make_claim, make_user, client_for,
                                                                    api_client, set_setting):
    from bayline.events import commit
    from bayline.tenants import features
    from bayline.tenants.models import Group, Shop
    from bayline.testing.forms import csrf_token
    from bayline.testing.plugin import in_tenant

    with in_tenant(app) as session:
        features.apply_default_tiers()  # what `flask db upgrade` does after the migrations
        commit(session)
    hours = [{"days": "Mon–Fri", "open": "07:30", "close": "17:30"}, {"days": "Sat", "closed": True},
             {"days": "Sun", "closed": True}]
    shop = make_shop(plan="starter", name="Harbor Quincy", phone="+16175550102", address_line1="12 Harbor St",
                     city="Quincy", region="MA", postal_code="02169", hours=hours)
    sibling = make_shop(plan="starter", name="Harbor Downtown", group_id=shop.group_id, phone="+16175550101",
                        address_line1="1 Main St", city="Boston", region="MA", hours=hours)
    set_setting(shop, "portal.verification", "off")
    claim = make_claim(shop, number="RO-24204", vehicle_year=2021, vehicle_make="Subaru", vehicle_model="Outback")

    def move(plan):
        with in_tenant(app) as session:
            for s in (shop, sibling):
                features.change_plan(session.get(Shop, s.id), plan)
            commit(session)

    page = phone.new_page()
    page.goto(f"{live_server}/c/{claim.portal_link.raw}")
    page.wait_for_url(f"{live_server}/c/s/")
    starter = _header(page)
    assert not starter["logo"] and starter["bg"] == "rgb(255, 255, 255)" and starter["powered"]
    assert "Harbor Quincy" in starter["text"] and starter["width"] <= 360
    page.screenshot(path=str(artifacts / f"branding-portal-starter-{db_backend}.png"), full_page=True)

    move("professional")
    key = api_client(shop)
    assert key.put("/api/v1/plugins/branding/brand", json={
        "primary": "#7a1f2b", "text_on_primary": "#ffffff", "accent": "#b8860b", "surface": "#fffdf8",
        "radius": 14, "welcome": "Thanks for trusting Harbor Quincy with your car"}).status_code == 200
    assert key.post("/api/v1/plugins/branding/images/logo", data={"file": (io.BytesIO(_logo((184, 134, 11))), "l.png")},
                    content_type="multipart/form-data").status_code == 200
    page.reload()
    pro = _header(page)
    assert pro["bg"] == SHOP_PRIMARY and pro["logo"] and "Harbor Quincy" in pro["text"] and pro["width"] <= 360
    page.screenshot(path=str(artifacts / f"branding-portal-professional-{db_backend}.png"), full_page=True)

    move("enterprise")
    admin = client_for(make_user(shop, group_admin=True), shop)
    token = csrf_token(admin, "/console/")
    assert admin.put("/api/v1/plugins/branding/group", headers={"X-CSRFToken": token}, json={
        "primary": "#1d3557", "text_on_primary": "#ffffff", "accent": "#e76f51", "display_name": "Harbor Auto Group",
        "welcome": "Harbor Auto Group: three generations of collision repair", "overridable": []}).status_code == 200
    r = admin.post("/api/v1/plugins/branding/images/logo", headers={"X-CSRFToken": token},
                   data={"file": (io.BytesIO(_logo((231, 111, 81))), "g.png"), "scope": "group"},
                   content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    page.reload()
    ent = _header(page)
    assert ent["bg"] == GROUP_PRIMARY and ent["logo"] and ent["width"] <= 360
    assert "Harbor Auto Group" in ent["text"] and "Harbor Quincy" in ent["text"]  # the location keeps its name
    assert "(617) 555-0102" in ent["text"]  # and its own phone
    page.screenshot(path=str(artifacts / f"branding-portal-enterprise-{db_backend}.png"), full_page=True)

    landing = phone.new_page()
    landing.goto(f"{live_server}/p/{shop.slug}")
    assert _header(landing)["bg"] == GROUP_PRIMARY and landing.is_visible("text=Find my repair")
    assert landing.evaluate("document.documentElement.scrollWidth") <= 360
    landing.screenshot(path=str(artifacts / f"branding-landing-shop-{db_backend}.png"), full_page=True)
    landing.fill("#claim_number", "24204")
    landing.fill("#last_name", "Reyes")
    landing.click("button:has-text('Send me the link')")
    landing.wait_for_selector("text=we'll text the link")
    with in_tenant(app) as session:
        group_slug = session.get(Group, shop.group_id).slug
    landing.goto(f"{live_server}/g/{group_slug}")
    assert landing.locator("section.location").count() == 2
    assert landing.evaluate("document.documentElement.scrollWidth") <= 360
    landing.screenshot(path=str(artifacts / f"branding-landing-group-{db_backend}.png"), full_page=True)
