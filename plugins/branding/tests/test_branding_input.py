"""Bad input gets a clear error and stores nothing: colours that are not colours or fail contrast
(with the measured ratio and a suggestion), logos that are bombs, too big, not images or SVG with
script, CSS with url(javascript:...), a duplicate slug."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant


def _profile_count(app, shop):
    from bayline_branding.models import BrandingProfile

    with in_tenant(app, shop.id) as session:
        return session.scalar(select(func.count()).select_from(BrandingProfile))


def test_wcag_contrast_ratios_are_the_published_ones():
    from bayline_branding import tokens

    assert tokens.contrast("#ffffff", "#000000") == pytest.approx(21.0)
    assert tokens.contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic near miss
    assert tokens.contrast("#0a56e0", "#ffffff") >= 4.5
    fixed = tokens.suggest("#ffdd00", "#ffffff", 4.5)
    assert tokens.contrast(fixed, "#ffffff") >= 4.5


@pytest.mark.parametrize("body,field,words", [
    ({"primary": "reddish"}, "primary", "is not a colour"),
    ({"accent": "#12345"}, "accent", "is not a colour"),
    ({"surface": "javascript:alert(1)"}, "surface", "is not a colour"),
    ({"radius": 99}, "radius", "0 to 24"),
    ({"primary": "#ffdd00"}, "primary", "contrast 1.35:1 is below 4.5:1"),
    ({"primary": "#7a1f2b", "text_on_primary": "#8a2f3b"}, "text_on_primary", "below 4.5:1"),
])
def test_bad_tokens_are_refused_with_the_reason_and_nothing_is_stored(app, shop_on, body, field, words):
    pro = shop_on("professional")
    r = pro.api.put("/api/v1/plugins/branding/brand", json=body)
    assert r.status_code == 422, r.get_json()
    answer = r.get_json()
    assert answer["code"] == "validation_error"
    message = " ".join(answer["errors"]["json"][field])
    assert words in message
    if "contrast" in words:
        assert "try #" in message  # a suggested adjustment
    assert _profile_count(app, pro.shop) == 0


def test_console_form_keeps_what_was_typed_next_to_the_error(app, shop_on):
    pro = shop_on("professional")
    token = csrf_token(pro.client, "/plugins/branding/")
    r = pro.client.post("/plugins/branding/", data={"csrf_token": token, "primary": "#ffee00",
                                                    "welcome": "Hello there"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "contrast" in html and 'value="#ffee00"' in html and 'value="Hello there"' in html
    assert _profile_count(app, pro.shop) == 0


def _bomb() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, "PNG")  # 144 megapixels, a few kB on disk
    return out.getvalue()


SVG_SCRIPT = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script>'
              b'<rect width="10" height="10"/></svg>')
SVG_ONLOAD = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)" width="10" height="10"/>'
SVG_EXTERNAL = (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
                b'<image xlink:href="file:///etc/passwd" width="10" height="10"/></svg>')


@pytest.mark.parametrize("data,status,code", [
    (_bomb(), 422, "image_too_large"),
    (b"\x89PNG\r\n\x1a\n" + b"0" * (2 * 1024 * 1024 + 10), 413, "file_too_large"),
    (b"%PDF-1.4 not a logo at all", 415, "unsupported_file_type"),
    (b"just some text", 415, "unsupported_file_type"),
    (SVG_SCRIPT, 422, "branding_unsafe_svg"),
    (SVG_ONLOAD, 422, "branding_unsafe_svg"),
    (SVG_EXTERNAL, 422, "branding_unsafe_svg"),
])
def test_bad_logos_are_refused_and_nothing_is_stored(app, shop_on, storage, data, status, code):
    pro = shop_on("professional")
    before = set(storage.keys())
    r = pro.api.post("/api/v1/plugins/branding/images/logo", data={"file": (io.BytesIO(data), "logo.png")},
                     content_type="multipart/form-data")
    assert r.status_code == status, r.get_json()
    assert r.get_json()["code"] == code
    assert set(storage.keys()) == before
    assert _profile_count(app, pro.shop) == 0


def test_console_logo_refusal_is_shown_on_the_page(app, shop_on, storage):
    pro = shop_on("professional")
    token = csrf_token(pro.client, "/plugins/branding/")
    r = pro.client.post("/plugins/branding/images", data={"csrf_token": token, "field": "logo",
                                                          "file": (io.BytesIO(SVG_SCRIPT), "logo.svg")},
                        content_type="multipart/form-data")
    assert r.status_code == 422
    assert "cannot be used as a logo" in r.get_data(as_text=True)
    assert list(storage.keys()) == []


def test_svg_logo_is_rasterised_and_never_served_as_svg(app, shop_on, storage):
    pro = shop_on("professional")
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" width="300000" height="100000" viewBox="0 0 300 100">'
           b'<rect width="300" height="100" fill="#7a1f2b"/></svg>')
    r = pro.api.post("/api/v1/plugins/branding/images/logo", data={"file": (io.BytesIO(svg), "logo.svg")},
                     content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    url = r.get_json()["logo_url"]
    logo = app.test_client().get(url)
    assert logo.status_code == 200 and logo.mimetype == "image/png"
    assert logo.data.startswith(b"\x89PNG") and b"<svg" not in logo.data
    from PIL import Image

    assert Image.open(io.BytesIO(logo.data)).size == (512, 171)  # our size, never the file's claim
    assert all(not key.endswith(".svg") for key in storage.keys())


@pytest.mark.parametrize("css,words", [
    (".card{background-color:url(javascript:alert(1))}", "url(...) is not allowed"),
    ("@import url(https://evil.example/x.css);", "@import is not allowed"),
    (".card{color:expression(alert(1))}", "expression(...) is not allowed"),
    (".card{behavior:url(x.htc)}", "property 'behavior' is not allowed"),
    ("body{color:red}", "not html, body or :root"),
    (".card{color:red !important}", "!important"),
])
def test_custom_css_is_refused_on_save_with_the_reason(app, shop_on, css, words):
    ent = shop_on("enterprise")
    r = ent.api.put("/api/v1/plugins/branding/brand", json={"custom_css": css})
    assert r.status_code == 422, r.get_json()
    assert words in " ".join(r.get_json()["errors"]["json"]["custom_css"])
    assert _profile_count(app, ent.shop) == 0


def test_custom_css_is_enterprise_only_and_served_scoped(app, shop_on):
    pro = shop_on("professional")
    r = pro.api.put("/api/v1/plugins/branding/brand", json={"custom_css": ".card h2{color:#123456}"})
    assert r.status_code == 422 and "Enterprise" in r.get_json()["errors"]["json"]["custom_css"][0]
    ent = shop_on("enterprise")
    r = ent.api.put("/api/v1/plugins/branding/brand", json={"custom_css": ".card h2{color:#123456}"})
    assert r.status_code == 200
    css = app.test_client().get(r.get_json()["stylesheet_url"]).get_data(as_text=True)
    assert ".branded .card h2{color:#123456}" in css


def test_a_duplicate_slug_is_refused(app, shop_on):
    first, second = shop_on("professional"), shop_on("professional")
    assert first.api.put("/api/v1/plugins/branding/slug", json={"value": "harbor-collision"}).status_code == 200
    r = second.api.put("/api/v1/plugins/branding/slug", json={"value": "harbor-collision"})
    assert r.status_code == 409 and r.get_json()["code"] == "branding_slug_taken"
    r = second.api.put("/api/v1/plugins/branding/slug", json={"value": first.shop.slug})  # another's Bayline slug
    assert r.status_code == 409
    r = second.api.put("/api/v1/plugins/branding/slug", json={"value": "Not A Slug!"})
    assert r.status_code == 422 and "lowercase" in r.get_json()["errors"]["json"]["slug"][0]
