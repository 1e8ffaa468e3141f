"""Browser acceptance (issue 6): a technician uploads a photo on the claim page; the customer's portal,
open in a phone-size browser, shows it without a reload, and the full-screen viewer opens and closes.
Debian's Chromium driven by Playwright against a real threaded server (SSE included)."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from . import images

pytestmark = pytest.mark.browser

@pytest.fixture
def server(app):
    app.config["BAYLINE_SSE_HEARTBEAT"] = 1
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


@pytest.fixture
def browser(chromium):
    """The session's one Chromium (tests/conftest.py)."""
    return chromium


def test_staff_photo_appears_live_on_the_phone_portal(app, db_backend, server, browser, make_shop, make_user,
                                                      make_claim, set_setting):
    if db_backend != "sqlite":
        pytest.skip("one backend is enough for the browser path")
    shop = make_shop()
    set_setting(shop, "portal.verification", "off")
    owner = make_user(shop, email="tech-browser@example.com")
    claim = make_claim(shop)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                device_scale_factor=2)
    portal = phone.new_page()
    portal.goto(f"{server}/c/{claim.portal_link.raw}")
    portal.wait_for_url(f"{server}/c/s/")
    assert portal.locator("#photos").inner_text().find("will appear here") >= 0
    portal.evaluate("window.__notReloaded = true")
    portal.wait_for_timeout(500)  # the EventSource connects

    desk = browser.new_context()
    staff = desk.new_page()
    staff.goto(f"{server}/login")
    staff.fill("input[name=email]", owner.email)
    staff.fill("input[name=password]", "correct-horse-42")
    staff.click("button[type=submit]")
    staff.goto(f"{server}/console/claims/{claim.id}")
    staff.set_input_files("form.photo-upload input[name=files]",
                          files=[{"name": "IMG_0420.JPG", "mimeType": "image/jpeg",
                                  "buffer": images.jpeg(1200, 900, orientation=6)}])
    staff.select_option("form.photo-upload select[name=tag]", "before")
    staff.click("form.photo-upload button[type=submit]")
    staff.wait_for_selector("li.photo.ready img")

    thumb = portal.locator("#photos a[data-viewer] img")
    thumb.wait_for(timeout=10_000)
    assert portal.evaluate("window.__notReloaded") is True  # updated in place, no reload
    assert portal.locator("#photos h3.gallery-tag").inner_text() == "Before"
    assert portal.evaluate("document.querySelector('#photos img').naturalWidth") > 0

    thumb.click()
    viewer = portal.locator(".viewer")
    viewer.wait_for(state="visible")
    box = viewer.bounding_box()
    assert box["width"] == 390 and box["height"] == 844  # full screen on the phone
    big = portal.locator(".viewer img")
    for _ in range(50):  # the page's CSP forbids eval, so poll from here rather than wait_for_function
        if portal.evaluate("document.querySelector('.viewer img').naturalWidth") > 0:
            break
        portal.wait_for_timeout(100)
    assert portal.evaluate("document.querySelector('.viewer img').naturalWidth") > 0
    assert "/c/s/photos/" in big.get_attribute("src") and big.get_attribute("src").endswith("/display")
    portal.keyboard.press("Escape")
    viewer.wait_for(state="hidden")

    # the customer sends a document from the phone: XHR upload, status in place, lands on the claim
    portal.set_input_files("form[data-upload] input[name=files]",
                           files=[{"name": "estimate.pdf", "mimeType": "application/pdf", "buffer": images.pdf()}])
    portal.fill("form[data-upload] input[name=note]", "From the insurer")
    portal.click("form[data-upload] button[type=submit]")
    portal.locator("form[data-upload] [data-status]", has_text="we received 1 file").wait_for(timeout=10_000)
    assert portal.evaluate("window.__notReloaded") is True
    staff.goto(f"{server}/console/claims/{claim.id}")
    assert "estimate.pdf" in staff.locator("[data-panel=attachments]").inner_text()
    phone.close()
    desk.close()
