"""Payments: staff record payments and refunds; the portal summary (total, your part, paid, balance);
Stripe Checkout for the customer's part through the official library against the local stand-in,
marked paid by a webhook the library's signature check verified."""
from __future__ import annotations

import json

import pytest
from bayline_quotes.testing.stripe_standin import sign

from bayline.testing.forms import csrf_token

PAY = "/api/v1/plugins/quotes/claims/{}/payments"


@pytest.fixture
def estimate(quotes_shop, q):
    r = quotes_shop.api.post("/api/v1/plugins/quotes/imports", json=q.bms("bms_original.xml"))
    assert r.status_code == 201
    return r.get_json()["version"]  # total 1030.00: insurer 470.00, customer 560.00 (deductible 500 + 60)


def summary(shop):
    return shop.api.get(f"/api/v1/plugins/quotes/claims/{shop.claim.id}/payment-summary").get_json()


def test_record_payments_and_refunds(quotes_shop, estimate):
    api, claim = quotes_shop.api, quotes_shop.claim
    assert summary(quotes_shop) == {"currency": "USD", "total": "1030.00", "customer_part": "560.00",
                                    "insurer_part": "470.00", "paid": "0.00", "insurer_paid": "0.00",
                                    "balance": "560.00"}
    r = api.post(PAY.format(claim.id), json={"payer": "deductible", "method": "check", "amount": "500.00",
                                             "reference": "chk 1042"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["amount"] == "500.00" and r.get_json()["reference"] == "chk 1042"
    api.post(PAY.format(claim.id), json={"payer": "insurer", "method": "insurer_check", "amount": "470.00"})
    api.post(PAY.format(claim.id), json={"payer": "customer", "method": "card", "amount": "80.00"})
    r = api.post(PAY.format(claim.id), json={"kind": "refund", "payer": "customer", "method": "card",
                                             "amount": "20.00", "reference": "overpaid"})
    assert r.status_code == 201
    s = summary(quotes_shop)
    assert (s["paid"], s["balance"], s["insurer_paid"]) == ("560.00", "0.00", "470.00")
    assert len(api.get(PAY.format(claim.id)).get_json()) == 4


@pytest.mark.parametrize("body,field", [
    ({"payer": "customer", "amount": "abc"}, "amount"),
    ({"payer": "customer", "amount": "-5"}, "amount"),
    ({"payer": "customer", "amount": "0"}, "amount"),
    ({"payer": "customer", "amount": "1.005"}, "amount"),
    ({"payer": "nobody", "amount": "5"}, "payer"),
    ({"payer": "customer", "amount": "5", "method": "gold"}, "method"),
])
def test_bad_payments_change_nothing(quotes_shop, estimate, body, field):
    r = quotes_shop.api.post(PAY.format(quotes_shop.claim.id), json=body)
    assert r.status_code == 422, r.get_json()
    assert field in json.dumps(r.get_json()["errors"])
    assert quotes_shop.api.get(PAY.format(quotes_shop.claim.id)).get_json() == []


def test_refund_cannot_exceed_what_was_paid(quotes_shop, estimate):
    r = quotes_shop.api.post(PAY.format(quotes_shop.claim.id), json={"kind": "refund", "payer": "customer",
                                                                      "amount": "1.00"})
    assert r.status_code == 422 and r.get_json()["code"] == "quotes_refund_too_large"


def test_console_payment_form_keeps_what_was_typed(quotes_shop, estimate, client_for):
    staff = client_for(quotes_shop.owner)
    page = staff.get(f"/console/claims/{quotes_shop.claim.id}")
    assert "Record" in page.get_data(as_text=True)
    r = staff.post(f"/plugins/quotes/claims/{quotes_shop.claim.id}/payments",
                   data={"csrf_token": csrf_token(page), "payer": "customer", "method": "cash",
                         "amount": "12,5x", "reference": "counter"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Nothing was changed" in html and 'value="12,5x"' in html and 'value="counter"' in html
    r = staff.post(f"/plugins/quotes/claims/{quotes_shop.claim.id}/payments",
                   data={"csrf_token": csrf_token(page), "payer": "customer", "method": "cash", "amount": "60.00"})
    assert r.status_code == 303
    assert summary(quotes_shop)["paid"] == "60.00"


def test_portal_summary_follows_payments(quotes_shop, estimate, portal_client, set_setting):
    phone = portal_client(quotes_shop.claim)
    assert "quotes-balance" not in phone.get("/c/s/").get_data(as_text=True)  # off until the shop enables it
    set_setting(quotes_shop.shop, "quotes.payment_summary", True)
    html = phone.get("/c/s/").get_data(as_text=True)
    assert 'quotes-balance">$560.00<' in html
    quotes_shop.api.post(PAY.format(quotes_shop.claim.id), json={"payer": "deductible", "amount": "500.00"})
    html = phone.get("/c/s/").get_data(as_text=True)  # the page cache knows a payment row changed
    assert 'quotes-balance">$60.00<' in html and 'quotes-s-paid">$500.00<' in html
    set_setting(quotes_shop.shop, "quotes.payment_summary", False)
    assert "quotes-balance" not in phone.get("/c/s/").get_data(as_text=True)


def checkout(quotes_shop, phone):
    token = csrf_token(phone.get("/c/s/"))
    return phone.post("/c/s/quotes/pay", data={"csrf_token": token}, headers={"Accept": "application/json"})


def test_stripe_checkout_marks_the_customer_part_paid(quotes_shop, estimate, portal_client, set_setting, stripe_api,
                                                      app):
    set_setting(quotes_shop.shop, "quotes.online_payment", True)
    set_setting(quotes_shop.shop, "quotes.payment_summary", True)
    quotes_shop.api.post(PAY.format(quotes_shop.claim.id), json={"payer": "deductible", "amount": "500.00"})
    phone = portal_client(quotes_shop.claim)
    assert "Pay $60.00 online" in phone.get("/c/s/").get_data(as_text=True)
    r = checkout(quotes_shop, phone)
    assert r.status_code == 200, r.get_json()
    ref = r.get_json()["ref"]
    assert r.get_json()["url"] == f"{stripe_api.base_url}/pay/{ref}"
    sent = stripe_api.requests[-1]["form"]  # what the official library sent on the wire
    assert sent["line_items[0][price_data][unit_amount]"] == "6000"
    assert sent["line_items[0][price_data][currency]"] == "usd"
    assert sent["success_url"] == "http://localhost/c/s/quotes/paid"

    payload, headers = stripe_api.complete(ref)
    webhook = app.test_client()
    forged = webhook.post("/plugins/quotes/webhooks/stripe", data=payload,
                          headers={**headers, "Stripe-Signature": sign(payload, "whsec_wrong")})
    assert forged.status_code == 400 and forged.get_json()["code"] == "quotes_bad_signature"
    assert summary(quotes_shop)["balance"] == "60.00"
    r = webhook.post("/plugins/quotes/webhooks/stripe", data=payload, headers=headers)
    assert r.status_code == 200 and r.get_json() == {"status": "recorded"}
    s = summary(quotes_shop)
    assert (s["paid"], s["balance"]) == ("560.00", "0.00")
    payments = quotes_shop.api.get(PAY.format(quotes_shop.claim.id)).get_json()
    assert payments[-1]["provider"] == "stripe" and payments[-1]["reference"].startswith("pi_test_")
    # Stripe retries deliveries: the same event again records nothing
    again = webhook.post("/plugins/quotes/webhooks/stripe", data=payload, headers=headers)
    assert again.status_code == 200 and again.get_json() == {"status": "duplicate"}
    assert len(quotes_shop.api.get(PAY.format(quotes_shop.claim.id)).get_json()) == 2
    assert "Pay $" not in phone.get("/c/s/").get_data(as_text=True)


def test_checkout_needs_the_shop_to_enable_it_and_a_balance(quotes_shop, estimate, portal_client, set_setting):
    phone = portal_client(quotes_shop.claim)
    assert checkout(quotes_shop, phone).status_code == 404  # online payment off by default
    set_setting(quotes_shop.shop, "quotes.online_payment", True)
    quotes_shop.api.post(PAY.format(quotes_shop.claim.id), json={"payer": "customer", "amount": "560.00"})
    r = checkout(quotes_shop, phone)
    assert r.status_code == 409 and r.get_json()["code"] == "quotes_nothing_to_pay"


def test_webhook_for_an_unknown_session_is_acknowledged_and_ignored(app, quotes_shop, estimate, stripe_api):
    body = json.dumps({"id": "evt_1", "object": "event", "type": "checkout.session.completed",
                       "data": {"object": {"id": "cs_test_unknown", "payment_status": "paid", "amount_total": 100,
                                           "currency": "usd"}}}).encode()
    r = app.test_client().post("/plugins/quotes/webhooks/stripe", data=body,
                               headers={"Stripe-Signature": sign(body), "Content-Type": "application/json"})
    assert r.status_code == 200 and r.get_json() == {"status": "unknown_session"}
    assert summary(quotes_shop)["paid"] == "0.00"


def test_payment_provider_is_a_core_hook_routed_by_name(app, quotes_shop, make_shop, set_setting, stripe_api):
    """Stripe reaches the portal and the webhook through the core ``payment_provider`` hook: an unknown
    provider name is a clear 404 on the webhook and a 503 in the portal, and a shop without the payments
    feature gets no provider at all."""
    from bayline.plugin_api import PaymentProvider, for_shop, payments

    with app.test_request_context(), for_shop(quotes_shop.shop.id):
        stripe = payments.provider("stripe")
        assert isinstance(stripe, PaymentProvider) and stripe.name == "stripe" and stripe.configured()
        assert payments.provider("paypal") is None and payments.provider("") is None
    bare = make_shop(plan="starter")
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop
    from bayline.testing.plugin import in_tenant

    with in_tenant(app) as session:
        provisioning.set_feature_enabled(session.get(Shop, bare.id), "quotes", False)
        session.commit()
    with app.test_request_context(), for_shop(bare.id):
        assert payments.provider("stripe") is None  # the providing plugin is not active there
    r = app.test_client().post("/plugins/quotes/webhooks/paypal", data=b"{}",
                               headers={"Content-Type": "application/json"})
    assert r.status_code == 404 and r.get_json()["code"] == "not_found"


def test_portal_checkout_uses_the_provider_the_shop_names(quotes_shop, estimate, portal_client, set_setting):
    set_setting(quotes_shop.shop, "quotes.online_payment", True)
    set_setting(quotes_shop.shop, "quotes.payment_provider", "paypal")  # no plugin provides it
    r = checkout(quotes_shop, portal_client(quotes_shop.claim))
    assert r.status_code == 503 and r.get_json()["code"] == "quotes_payments_unavailable"
    assert summary(quotes_shop)["paid"] == "0.00"
    bad = quotes_shop.api.patch("/api/v1/shop/settings", json={"quotes.payment_provider": "no such/thing"})
    assert bad.status_code == 422, bad.get_json()
