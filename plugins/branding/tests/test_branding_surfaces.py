"""The brand shows where the plan says, and only there: the customer portal, the e-sign page, a
customer mail (styles inlined) and the printed work order (rendered and inspected); "Powered by
Bayline" on Starter, removable on paid tiers."""
from __future__ import annotations

import io

import pytest
from branding_helpers import BRAND, png, stylesheet_url

from bayline.testing.plugin import in_tenant

LOGO_RGB = (0, 200, 100)


def _branded(pro, logo=True):
    r = pro.api.put("/api/v1/plugins/branding/brand", json=BRAND)
    assert r.status_code == 200, r.get_json()
    if logo:
        r = pro.api.post("/api/v1/plugins/branding/images/logo",
                         data={"file": (io.BytesIO(png((200, 100), LOGO_RGB)), "logo.png")},
                         content_type="multipart/form-data")
        assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_starter_portal_is_neutral_with_name_phone_and_powered_by(app, shop_on, make_claim, portal_client):
    starter = shop_on("starter", name="Plain Auto Body")
    html = portal_client(make_claim(starter.shop)).get("/c/s/").get_data(as_text=True)
    assert stylesheet_url(html) is None and "shop-logo" not in html
    assert "Plain Auto Body" in html and "tel:+16175550199" in html
    assert "Powered by Bayline" in html
    # a Starter shop's brand rows (if any were left) are never served
    assert app.test_client().get(f"/plugins/branding/shops/{starter.shop.slug}/brand.css").status_code == 404


def test_professional_portal_carries_the_shop_brand(app, shop_on, make_claim, portal_client):
    pro = shop_on("professional", name="Harbor Collision")
    _branded(pro)
    html = portal_client(make_claim(pro.shop)).get("/c/s/").get_data(as_text=True)
    css_url = stylesheet_url(html)
    assert css_url and 'class="branded"' in html
    assert 'class="shop-logo" src="/plugins/branding/shops/' in html
    assert "Welcome to Harbor Collision" in html
    assert "Powered by Bayline" in html  # shown until the shop removes it
    css = app.test_client().get(css_url)
    assert css.mimetype == "text/css"
    text = css.get_data(as_text=True)
    assert "--accent:#7a1f2b" in text and "--surface:#fffdf8" in text and "--radius:12px" in text
    pro.api.put("/api/v1/plugins/branding/brand", json={"hide_powered_by": True})
    html = portal_client(make_claim(pro.shop)).get("/c/s/").get_data(as_text=True)
    assert "Powered by Bayline" not in html


def test_the_esign_page_carries_the_brand_or_not(app, shop_on, make_claim, portal_client, enable_plugin):
    pro, starter = shop_on("professional"), shop_on("starter")
    _branded(pro)
    for shop in (pro.shop, starter.shop):
        enable_plugin(shop, "esign")
    page = portal_client(make_claim(pro.shop)).get("/c/s/esign/", headers={"Accept": "text/html"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Documents to sign" in html
    css_url = stylesheet_url(html)
    assert css_url and "--accent:#7a1f2b" in app.test_client().get(css_url).get_data(as_text=True)
    assert 'class="shop-logo" src="/plugins/branding/shops/' in html
    plain = portal_client(make_claim(starter.shop)).get("/c/s/esign/", headers={"Accept": "text/html"})
    html = plain.get_data(as_text=True)
    assert plain.status_code == 200 and stylesheet_url(html) is None and "shop-logo" not in html


def test_customer_mail_inlines_the_brand(app, shop_on):
    from bayline.messaging.email_html import render

    pro, starter = shop_on("professional", name="Harbor Collision"), shop_on("starter", name="Plain Auto Body")
    _branded(pro)
    with in_tenant(app, pro.shop.id) as session:
        from bayline.tenants.models import Shop

        html = render(session.get(Shop, pro.shop.id), "Your car is ready.\n\nhttp://localhost/c/abc")
    assert "background:#7a1f2b" in html and "color:#ffffff" in html and "border-radius:12px" in html
    assert '<img src="http://localhost/plugins/branding/shops/' in html
    assert "<style" not in html and "<link" not in html  # every style inlined
    assert '<a href="http://localhost/c/abc">' in html and "Powered by Bayline" in html
    with in_tenant(app, starter.shop.id) as session:
        from bayline.tenants.models import Shop

        plain = render(session.get(Shop, starter.shop.id), "Your car is ready.")
    assert "#7a1f2b" not in plain and "<img" not in plain and "Plain Auto Body" in plain
    assert "Powered by Bayline" in plain


def _pdf_pixels(pdf: bytes) -> set[tuple[int, int, int]]:
    import pypdfium2

    doc = pypdfium2.PdfDocument(pdf)
    image = doc[0].render(scale=1.5).to_pil().convert("RGB")
    return {rgb for _, rgb in image.getcolors(maxcolors=1 << 24)}


def _near(colours: set[tuple[int, int, int]], rgb: tuple[int, int, int], tolerance: int = 6) -> bool:
    return any(all(abs(a - b) <= tolerance for a, b in zip(c, rgb, strict=True)) for c in colours)


@pytest.mark.parametrize("plan,branded", [("starter", False), ("professional", True)])
@pytest.mark.parametrize("document", ["work-order", "hang-tag", "receipt"])
def test_printed_documents_have_the_logo_and_colour_as_the_plan_says(app, shop_on, make_claim, plan, branded,
                                                                     document):
    from pypdf import PdfReader

    shop = shop_on(plan, name="Harbor Collision")
    if branded:
        _branded(shop)
    claim = make_claim(shop.shop)
    r = shop.api.post(f"/api/v1/claims/{claim.id}/documents", json={"document": document})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    pixels = _pdf_pixels(r.data)
    assert _near(pixels, (0x7A, 0x1F, 0x2B)) is branded  # the primary colour bar
    assert _near(pixels, LOGO_RGB) is branded  # the logo
    text = PdfReader(io.BytesIO(r.data)).pages[0].extract_text()
    assert "Harbor Collision" in text


def test_moving_to_starter_drops_the_brand_on_the_next_request(app, shop_on, make_claim, portal_client):
    pro = shop_on("professional")
    _branded(pro, logo=False)
    customer = portal_client(make_claim(pro.shop))
    assert stylesheet_url(customer.get("/c/s/").get_data(as_text=True))
    from bayline.events import commit
    from bayline.tenants import features
    from bayline.tenants.models import Shop

    with in_tenant(app) as session:
        features.change_plan(session.get(Shop, pro.shop.id), "starter")
        commit(session)
    html = customer.get("/c/s/").get_data(as_text=True)
    assert stylesheet_url(html) is None and "Powered by Bayline" in html
