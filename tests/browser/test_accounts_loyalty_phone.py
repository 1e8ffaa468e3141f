"""Issue 26 in a real browser, at phone size: the customer opens their repair's link, saves their
repairs to an account with the code texted to the mobile on the claim, sees both repairs, goes back
to the repair, sees their points balance and shares their referral link."""
from __future__ import annotations

import re

import pytest

from .conftest import WAIT_MS

pytestmark = pytest.mark.browser
pytest.importorskip("bayline_accounts", reason="the accounts plugin is not installed")
pytest.importorskip("bayline_loyalty", reason="the loyalty plugin is not installed")


def test_claim_an_account_see_both_repairs_points_and_share(app, live_server, phone, chromium, artifacts, db_backend,
                                                            make_shop, make_claim, enable_plugin, api_client,
                                                            sms_outbox):
    base = live_server
    shop = make_shop(plan="starter", name="Harbor Collision")
    for feature in ("accounts", "loyalty", "referrals"):
        enable_plugin(shop, feature)
    first = make_claim(shop, number="RO-8801", customer_first_name="Dana", customer_last_name="Reyes",
                       vehicle_make="Subaru", vehicle_model="Outback", vehicle_year=2021)
    make_claim(shop, number="RO-8802", customer_first_name="Dana", customer_last_name="Reyes",
               vehicle_make="Honda", vehicle_model="Fit", vehicle_year=2015)
    r = api_client(shop).post(f"/api/v1/plugins/quotes/claims/{first.id}/payments",
                              json={"kind": "payment", "payer": "deductible", "method": "card", "amount": "500.00"})
    assert r.status_code == 201

    phone.add_init_script("window.__shared = null; navigator.share = function (data) {"
                          " window.__shared = data; return Promise.resolve(); };")
    page = phone.new_page()
    page.goto(f"{base}/c/{first.portal_link.raw}")
    page.fill("#last_name", "Reyes")
    page.fill("#claim_number", "8801")
    page.click("button:has-text('Show my repair')")
    page.wait_for_url(f"{base}/c/s/")
    page.click("#accounts-start")
    page.wait_for_selector("h1:has-text('Save your repairs')")
    assert "mobile ending 0100" in page.content()
    page.click("button:has-text('Send me a code')")
    page.wait_for_selector("h1:has-text('Enter your code')")
    code = re.findall(r"\b(\d{6})\b", sms_outbox[-1].body)[-1]
    page.fill("#code", code)
    page.screenshot(path=str(artifacts / f"accounts-phone-code-{db_backend}.png"), full_page=True)
    page.click("button:has-text('Save my repairs')")
    page.wait_for_selector("h1:has-text('Your repairs')")
    repairs = page.inner_text("#accounts-repairs")
    assert "RO-8801" in repairs and "RO-8802" in repairs and "Honda Fit" in repairs
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(artifacts / f"accounts-phone-repairs-{db_backend}.png"), full_page=True)

    page.click("a:has-text('Back to this repair')")
    page.wait_for_selector("#loyalty-balance")
    assert "500" in page.inner_text("#loyalty-balance")
    link = page.input_value("#loyalty-link")
    assert link.startswith("http://localhost/plugins/loyalty/r/")
    page.click("#loyalty-share")
    page.wait_for_function("window.__shared !== null")
    shared = page.evaluate("window.__shared")
    assert shared["url"] == link and page.inner_text("#loyalty-code") in shared["text"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.locator("#loyalty").screenshot(path=str(artifacts / f"loyalty-phone-card-{db_backend}.png"))

    # the friend's own phone: the shared link (served under the app's own address here), then, once the
    # shop opened their repair, its portal with the code filled in
    friend_claim = make_claim(shop, number="RO-8803", customer_first_name="Sam", customer_last_name="Ortiz",
                              customer_mobile="+16175550333")
    other_phone = chromium.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    other_phone.set_default_timeout(WAIT_MS)
    try:
        friend = other_phone.new_page()
        friend.goto(base + link.removeprefix("http://localhost"))
        assert "A friend recommends Harbor Collision" in friend.content()
        code = page.inner_text("#loyalty-code")
        assert code in friend.inner_text("#loyalty-code")
        friend.goto(f"{base}/c/{friend_claim.portal_link.raw}")
        friend.fill("#last_name", "Ortiz")
        friend.fill("#claim_number", "8803")
        friend.click("button:has-text('Show my repair')")
        friend.wait_for_url(f"{base}/c/s/")
        friend.wait_for_function(f"document.getElementById('loyalty-friend-code').value === '{code}'")
        friend.click("#loyalty-referral-form button[type=submit]")
        friend.wait_for_selector("#loyalty-referred")
        assert friend.evaluate("document.documentElement.scrollWidth") <= 360
        friend.screenshot(path=str(artifacts / f"loyalty-phone-referred-{db_backend}.png"), full_page=True)
    finally:
        other_phone.close()
    referral = api_client(shop).get(f"/api/v1/plugins/loyalty/claims/{friend_claim.id}/points").get_json()["referral"]
    assert referral["state"] == "pending" and referral["source"] == "portal"
