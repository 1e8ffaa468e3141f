"""The accounts and loyalty plugins together, through events only (plugins never import each other):
claiming an account tells loyalty the customer is an account holder, whose portal then shows the
points balance and the referral link; deleting the account takes the cards away."""
from __future__ import annotations

import re

from bayline.testing.forms import csrf_token


def _claim_account(customer, sms_outbox):
    token = csrf_token(customer, "/c/s/accounts/")
    assert customer.post("/c/s/accounts/code", data={"via": "mobile", "csrf_token": token}).status_code == 303
    code = re.findall(r"\b(\d{6})\b", sms_outbox[-1].body)[-1]
    assert customer.post("/c/s/accounts/verify", data={"code": code, "csrf_token": token}).status_code == 303
    return token


def test_account_holders_see_points_and_their_referral_link(app, make_shop, enable_plugin, make_claim, api_client,
                                                             portal_client, sms_outbox):
    shop = make_shop(name="Harbor Collision")
    for feature in ("accounts", "loyalty", "referrals"):
        enable_plugin(shop, feature)
    first = make_claim(shop, number="RO-8001")
    make_claim(shop, number="RO-8002", vehicle_make="Mazda")
    api = api_client(shop)
    r = api.post(f"/api/v1/plugins/quotes/claims/{first.id}/payments",
                 json={"kind": "payment", "payer": "deductible", "method": "card", "amount": "500.00"})
    assert r.status_code == 201
    customer = portal_client(first)
    page = customer.get("/c/s/").get_data(as_text=True)
    assert "Your points" not in page  # not an account holder yet
    token = _claim_account(customer, sms_outbox)
    page = customer.get("/c/s/").get_data(as_text=True)
    assert 'id="loyalty-balance"' in page and "<strong>500</strong> points" in page and "worth 25.00" in page
    link = re.search(r'id="loyalty-link" type="text" readonly value="([^"]+)"', page).group(1)
    assert link.startswith("http://localhost/plugins/loyalty/r/")
    shared = app.test_client().get(link.replace("http://localhost", ""))
    assert shared.status_code == 200 and "Harbor Collision" in shared.get_data(as_text=True)
    member = api.get(f"/api/v1/plugins/loyalty/claims/{first.id}/points").get_json()["member"]
    assert member["has_account"] is True and member["referral_url"] == link
    customer.post("/c/s/accounts/delete", data={"csrf_token": token, "confirm": "yes"})
    assert "Your points" not in customer.get("/c/s/").get_data(as_text=True)
    assert api.get(f"/api/v1/plugins/loyalty/claims/{first.id}/points").get_json()["member"]["balance"] == 500
