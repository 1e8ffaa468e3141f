"""Passkey registration and sign-in (issue 26, acceptance 1) with a software authenticator, checked by
the ``webauthn`` library; bad answers are refused with a clear error and change nothing."""
from __future__ import annotations

from accounts_authenticator import SoftAuthenticator

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

from bayline_accounts.models import AccountsPasskey

BASE = "/c/s/accounts/passkeys"


def _post(client, url, token, body=None):
    return client.post(url, json=body if body is not None else {}, headers={"X-CSRFToken": token})


def _register(customer, token, device, name="My phone"):
    options = _post(customer, f"{BASE}/register/options", token)
    assert options.status_code == 200, options.get_data(as_text=True)
    return _post(customer, f"{BASE}/register", token, {"credential": device.create(options.get_json()), "name": name})


def test_register_a_passkey_then_sign_in_with_it_on_another_browser(app, shop, make_claim, portal_client,
                                                                     claim_account):
    first = make_claim(shop, number="RO-9001")
    second = make_claim(shop, number="RO-9002")
    phone = portal_client(first)
    claim_account(phone)
    token = csrf_token(phone, "/c/s/accounts/")
    device = SoftAuthenticator()
    r = _register(phone, token, device)
    assert r.status_code == 201 and r.get_json()["name"] == "My phone"
    assert "My phone" in phone.get("/c/s/accounts/").get_data(as_text=True)
    # later, the second repair's link on a browser without the account: a passkey instead of a code
    browser = portal_client(second)
    token2 = csrf_token(browser, "/c/s/accounts/")
    options = _post(browser, f"{BASE}/sign-in/options", token2).get_json()
    r = _post(browser, f"{BASE}/sign-in", token2, device.get(options))
    assert r.status_code == 200 and r.get_json()["next"] == "/c/s/accounts/"
    page = browser.get("/c/s/accounts/").get_data(as_text=True)
    assert "RO-9001" in page and "RO-9002" in page
    with in_tenant(app, shop.id) as db:
        from sqlalchemy import select

        row = db.scalars(select(AccountsPasskey)).one()
        assert row.sign_count == device.sign_count and row.last_used_at is not None


def test_bad_passkey_answers_are_refused(app, shop, make_claim, portal_client, claim_account):
    claim = make_claim(shop, number="RO-9101")
    phone = portal_client(claim)
    token = csrf_token(phone, "/c/s/accounts/")
    r = _post(phone, f"{BASE}/register/options", token)
    assert r.status_code == 401 and r.get_json()["code"] == "accounts_sign_in"  # no account yet
    claim_account(phone)
    device = SoftAuthenticator()
    options = _post(phone, f"{BASE}/register/options", token).get_json()
    r = _post(phone, f"{BASE}/register", token, {"credential": device.create(options, origin="https://evil.example")})
    assert r.status_code == 422 and r.get_json()["code"] == "accounts_passkey_invalid"
    r = _post(phone, f"{BASE}/register", token, {"credential": device.create(options)})
    assert r.status_code == 409 and r.get_json()["code"] == "accounts_passkey_no_challenge"  # used once
    assert _register(phone, token, device).status_code == 201
    browser = portal_client(claim)
    token2 = csrf_token(browser, "/c/s/accounts/")
    options = _post(browser, f"{BASE}/sign-in/options", token2).get_json()
    answer = device.get(options)
    forged = dict(answer, response=dict(answer["response"], signature=answer["response"]["signature"][::-1]))
    r = _post(browser, f"{BASE}/sign-in", token2, forged)
    assert r.status_code == 401 and r.get_json()["code"] == "accounts_passkey_invalid"
    r = _post(browser, f"{BASE}/sign-in", token2, answer)  # the challenge went with the failed try
    assert r.status_code == 409
    stranger = SoftAuthenticator()
    options = _post(browser, f"{BASE}/sign-in/options", token2).get_json()
    r = _post(browser, f"{BASE}/sign-in", token2, stranger.get(options))
    assert r.status_code == 401 and r.get_json()["code"] == "accounts_passkey_unknown"
    r = browser.post(f"{BASE}/sign-in", data="not json", content_type="application/json",
                     headers={"X-CSRFToken": token2})
    assert r.status_code in (400, 409)
    assert "Send me a code" in browser.get("/c/s/accounts/").get_data(as_text=True)


def test_another_shops_passkey_signs_in_nothing(app, shop, make_shop, enable_plugin, make_claim, portal_client,
                                                claim_account):
    claim = make_claim(shop, number="RO-9201")
    phone = portal_client(claim)
    claim_account(phone)
    token = csrf_token(phone, "/c/s/accounts/")
    device = SoftAuthenticator()
    assert _register(phone, token, device).status_code == 201
    other = make_shop(name="Other")
    enable_plugin(other, "accounts")
    visitor = portal_client(make_claim(other, number="RO-9202"))
    token2 = csrf_token(visitor, "/c/s/accounts/")
    options = _post(visitor, f"{BASE}/sign-in/options", token2).get_json()
    r = _post(visitor, f"{BASE}/sign-in", token2, device.get(options))
    assert r.status_code == 401 and r.get_json()["code"] == "accounts_passkey_unknown"


def test_removing_a_passkey(app, shop, make_claim, portal_client, claim_account):
    claim = make_claim(shop, number="RO-9301")
    phone = portal_client(claim)
    claim_account(phone)
    token = csrf_token(phone, "/c/s/accounts/")
    device = SoftAuthenticator()
    passkey_id = _register(phone, token, device).get_json()["id"]
    r = phone.post(f"{BASE}/{passkey_id}/delete", data={"csrf_token": token})
    assert r.status_code == 303 and "Passkey removed" in phone.get(r.headers["Location"]).get_data(as_text=True)
    assert phone.post(f"{BASE}/{passkey_id}/delete", data={"csrf_token": token}).status_code == 404
