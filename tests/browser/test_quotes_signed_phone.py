"""Issue 21, signed approval in a real browser at phone size (390 x 844): with ``quotes.signed_approval``
on and the e-sign plugin active, the customer approves a line of supplement 2, is sent to sign it,
consents, draws a signature and signs; the approval counts only then, and the staff claim page (open
the whole time) shows the pending signature and then the signed approval without a reload."""
from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import WAIT_MS, consent_and_draw, log_in

pytestmark = pytest.mark.browser
FIXTURES = Path(__file__).resolve().parents[2] / "plugins" / "quotes" / "tests" / "fixtures"


@pytest.fixture
def phone390(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                   device_scale_factor=3)
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


def test_customer_approves_and_signs_on_a_phone_staff_see_it(app, live_server, phone390, desktop, artifacts,
                                                            db_backend, make_shop, make_user, make_claim,
                                                            api_client, set_setting, enable_plugin):
    plugins = app.extensions["bayline.plugins"].plugins
    if "quotes" not in plugins or "esign" not in plugins:
        pytest.skip("the quotes and esign plugins are not both installed")
    base = live_server
    shop = make_shop(plan="starter", name="Harbor Collision")
    enable_plugin(shop, "esign")
    owner = make_user(shop, email=f"quotes-signed-{db_backend}@example.com")
    claim = make_claim(shop, number="RO-4471", customer_first_name="Dana", customer_last_name="Reyes",
                       vin="1HGCM82633A004352")
    set_setting(shop, "quotes.tax_parts", "10")
    staff_api = api_client(shop)
    r = staff_api.patch("/api/v1/shop/settings", json={"quotes.signed_approval": True})
    assert r.status_code == 200, r.get_json()
    for name in ("bms_original.xml", "bms_supplement1.xml", "bms_supplement2.xml"):
        content = base64.b64encode((FIXTURES / name).read_bytes()).decode()
        r = staff_api.post("/api/v1/plugins/quotes/imports",
                           json={"format": "bms", "encoding": "base64", "content": content})
        assert r.status_code == 201, r.get_json()
    s2 = r.get_json()["version"]
    wheel = next(ln["id"] for ln in s2["lines"] if ln["description"].startswith("Wheel lock"))

    console = desktop.new_page()
    log_in(console, base, owner.email)
    console.goto(f"{base}/console/claims/{claim.id}")
    console.wait_for_selector("body[data-live=connected]")
    console.evaluate("window.__sameDocument = true")
    version_box = f".quotes-version[data-version='{s2['id']}']"

    portal = phone390.new_page()
    portal.goto(f"{base}/c/{claim.portal_link.raw}")
    portal.fill("#last_name", "reyes")
    portal.fill("#claim_number", claim.number.lower())
    portal.click("button:has-text('Show my repair')")
    portal.wait_for_url(f"{base}/c/s/")
    portal.click("#quotes a:has-text('Review and approve')")
    portal.wait_for_selector("h1:has-text('Supplement 2')")
    portal.check(f"input[name=lines][value='{wheel}']")
    portal.select_option("select[name=reason]", "price")
    portal.click("button[value=approve_selected]")

    # not approved yet: the customer is asked to sign, staff see the pending signature
    portal.wait_for_selector("h2:has-text('Sign to finish your approval')")
    assert portal.locator(f"li[data-line='{wheel}'] .quotes-badge").count() == 0
    assert portal.evaluate("document.documentElement.scrollWidth") <= 390
    portal.screenshot(path=str(artifacts / f"quotes-signed-phone-asked-{db_backend}.png"), full_page=True)
    console.wait_for_selector(f"{version_box} .quotes-signature-pending")
    assert console.evaluate("window.__sameDocument === true")
    assert "pending" in console.inner_text(f"{version_box} tr[data-line='{wheel}'] .quotes-decision")
    api_sig = staff_api.get(f"/api/v1/plugins/quotes/versions/{s2['id']}").get_json()["signature"]
    assert api_sig["status"] == "pending" and api_sig["line_ids"] == [wheel]

    portal.click("a:has-text('Sign the approval')")
    portal.wait_for_selector("text=Repair approval: Supplement 2")
    assert "Wheel lock set" in portal.inner_text("body")
    consent_and_draw(portal)
    portal.check("input[name=intent]")
    assert portal.evaluate("document.documentElement.scrollWidth") <= 390
    portal.click("#sign button[type=submit]")
    portal.wait_for_selector("text=This request is completed")

    # the signature was the last step: the line is approved now, on both sides
    portal.goto(f"{base}/c/s/quotes/versions/{s2['id']}")
    portal.wait_for_selector(f"li[data-line='{wheel}'] .quotes-badge:has-text('Approved')")
    assert portal.locator(".quotes-signed").inner_text() == "You signed your approval."
    portal.screenshot(path=str(artifacts / f"quotes-signed-phone-done-{db_backend}.png"), full_page=True)
    console.wait_for_selector(f"{version_box} .quotes-signature-signed")
    console.wait_for_function(
        f"document.querySelector(\"{version_box} .quotes-approval\").textContent === 'partly'")
    assert console.evaluate("window.__sameDocument === true")
    assert "approved" in console.inner_text(f"{version_box} tr[data-line='{wheel}'] .quotes-decision")
    v = staff_api.get(f"/api/v1/plugins/quotes/versions/{s2['id']}").get_json()
    assert v["signature"]["status"] == "signed" and v["approval"] == "partly"
