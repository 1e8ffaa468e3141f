"""Claiming an account with a one-time code sent to the claim's own contact (issue 26, acceptance 1
and the bad-input line: expired, reused and brute-forced codes)."""
from __future__ import annotations

import re
from datetime import timedelta

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

from bayline_accounts import service
from bayline_accounts.models import AccountsAccount, AccountsCode, AccountsContact

MOBILE = "+16175550100"


def code_in(text: str) -> str:
    found = re.findall(r"\b(\d{6})\b", text)
    assert found, text
    return found[-1]


def _accounts(app, shop):
    from sqlalchemy import select

    with in_tenant(app, shop.id) as db:
        return list(db.scalars(select(AccountsAccount)))


def test_conformance(app):
    from bayline.testing.conformance import check_plugin

    assert check_plugin(app, "accounts") == []


def test_two_claims_with_the_same_mobile_make_one_account_listing_both(app, shop, make_claim, portal_client,
                                                                        claim_account, sms_outbox):
    first = make_claim(shop, number="RO-1001", customer_mobile="617-555-0100")
    second = make_claim(shop, number="RO-1002", customer_mobile="(617) 555 0100", vehicle_make="Subaru")
    other = make_claim(shop, number="RO-1003", customer_mobile="+16175550199")
    customer = portal_client(first)
    card = customer.get("/c/s/").get_data(as_text=True)
    assert "Save my repairs" in card
    start = customer.get("/c/s/accounts/").get_data(as_text=True)
    assert "mobile ending 0100" in start and "5550100" not in start  # the number is never shown whole
    r = claim_account(customer)
    assert r.status_code == 303 and r.headers["Location"].endswith("/c/s/accounts/")
    text = sms_outbox[-1]
    assert text.to == MOBILE and "Harbor Collision" in text.body
    home = customer.get("/c/s/accounts/").get_data(as_text=True)
    assert "RO-1001" in home and "RO-1002" in home and "RO-1003" not in home
    # the same mobile from the second claim's portal: the same account, not a new one
    again = portal_client(second)
    assert claim_account(again).status_code == 303
    assert len(_accounts(app, shop)) == 1
    assert "RO-1001" in again.get("/c/s/accounts/").get_data(as_text=True)
    assert "2 repairs saved" in again.get("/c/s/").get_data(as_text=True)
    # the third claim's customer (another mobile) sees only their own repair
    third = portal_client(other)
    assert claim_account(third).status_code == 303
    listing = third.get("/c/s/accounts/").get_data(as_text=True)
    assert "RO-1003" in listing and "RO-1001" not in listing
    assert len(_accounts(app, shop)) == 2


def test_a_code_sent_to_another_contact_cannot_claim(app, shop, make_claim, portal_client, claim_account,
                                                      sms_outbox):
    mine = make_claim(shop, number="RO-2001", customer_mobile="+16175550111")
    theirs = make_claim(shop, number="RO-2002", customer_mobile="+16175550122")
    attacker = portal_client(mine)
    victim = portal_client(theirs)
    token = csrf_token(victim, "/c/s/accounts/")
    assert victim.post("/c/s/accounts/code", data={"via": "mobile", "csrf_token": token}).status_code == 303
    their_code = code_in(sms_outbox[-1].body)
    assert sms_outbox[-1].to == "+16175550122"
    # the attacker's own claim has no code yet: the victim's code opens nothing
    r = attacker.post("/c/s/accounts/verify", data={"code": their_code, "csrf_token": csrf_token(attacker, "/c/s/")})
    assert r.status_code == 409 and "Ask for a code first" in r.get_data(as_text=True)
    # with a code of their own in flight, the victim's code is still wrong for the attacker's claim
    r = claim_account(attacker, code=their_code)
    assert r.status_code == 422 and "not right" in r.get_data(as_text=True)
    assert _accounts(app, shop) == []
    assert "RO-2002" not in attacker.get("/c/s/accounts/").get_data(as_text=True)


def test_a_code_stops_working_when_the_claims_contact_changes(app, shop, make_claim, portal_client, sms_outbox,
                                                               api_client):
    claim = make_claim(shop, number="RO-2101", customer_mobile="+16175550133")
    customer = portal_client(claim)
    token = csrf_token(customer, "/c/s/accounts/")
    customer.post("/c/s/accounts/code", data={"via": "mobile", "csrf_token": token})
    code = code_in(sms_outbox[-1].body)
    r = api_client(shop).patch(f"/api/v1/claims/{claim.id}", json={"customer_mobile": "+16175550144"})
    assert r.status_code == 200, r.get_json()
    r = customer.post("/c/s/accounts/verify", data={"code": code, "csrf_token": token})
    assert r.status_code == 409 and "contact on this repair changed" in r.get_data(as_text=True)
    assert _accounts(app, shop) == []


def test_email_codes_go_to_the_claims_own_email(app, shop, make_claim, portal_client, claim_account, mails):
    claim = make_claim(shop, number="RO-2201", customer_mobile=None, customer_email="Dana.Reyes@Example.com")
    customer = portal_client(claim)
    assert "d•••@example.com" in customer.get("/c/s/accounts/").get_data(as_text=True)
    assert claim_account(customer, via="email").status_code == 303
    assert mails[-1]["to"] == "dana.reyes@example.com"
    assert "RO-2201" in customer.get("/c/s/accounts/").get_data(as_text=True)
    with in_tenant(app, shop.id) as db:
        from sqlalchemy import select

        assert [(c.kind, c.value) for c in db.scalars(select(AccountsContact))] == [("email", "dana.reyes@example.com")]


def test_no_contact_or_a_made_up_channel_is_a_clear_error(app, shop, make_claim, portal_client):
    claim = make_claim(shop, number="RO-2301", customer_mobile=None, customer_email=None)
    customer = portal_client(claim)
    page = customer.get("/c/s/accounts/").get_data(as_text=True)
    assert "has no mobile or email" in page
    token = csrf_token(customer, "/c/s/")
    r = customer.post("/c/s/accounts/code", data={"via": "mobile", "csrf_token": token})
    assert r.status_code == 422 and "There is no mobile on this repair" in r.get_data(as_text=True)
    r = customer.post("/c/s/accounts/code", data={"via": "pigeon", "csrf_token": token})
    assert r.status_code == 422 and "Choose where to send the code" in r.get_data(as_text=True)


def test_codes_are_stored_hashed_and_never_logged(app, shop, make_claim, portal_client, sms_outbox, caplog):
    claim = make_claim(shop, number="RO-2401")
    customer = portal_client(claim)
    customer.post("/c/s/accounts/code", data={"via": "mobile", "csrf_token": csrf_token(customer, "/c/s/")})
    code = code_in(sms_outbox[-1].body)
    with in_tenant(app, shop.id) as db:
        from sqlalchemy import select

        from bayline.messaging.models import OutboxItem

        row = db.scalars(select(AccountsCode)).one()
        assert code not in row.code_hash and len(row.code_hash) == 64
        item = db.get(OutboxItem, row.outbox_item_id)
        assert code not in item.body and "{code}" in item.body
        assert code not in repr(item.options)
    assert code not in caplog.text


def test_an_expired_code_is_refused_and_nothing_is_claimed(app, shop, make_claim, portal_client, sms_outbox,
                                                           monkeypatch):
    claim = make_claim(shop, number="RO-3001")
    customer = portal_client(claim)
    token = csrf_token(customer, "/c/s/")
    customer.post("/c/s/accounts/code", data={"via": "mobile", "csrf_token": token})
    code = code_in(sms_outbox[-1].body)
    later = service.utc() + timedelta(minutes=11)
    monkeypatch.setattr(service, "utc", lambda: later)
    r = customer.post("/c/s/accounts/verify", data={"code": code, "csrf_token": token})
    assert r.status_code == 422 and "expired" in r.get_data(as_text=True)
    assert code in r.get_data(as_text=True)  # what was typed stays in the box
    assert _accounts(app, shop) == []


def test_a_used_code_cannot_claim_again(app, shop, make_claim, portal_client, claim_account, sms_outbox):
    claim = make_claim(shop, number="RO-3101")
    customer = portal_client(claim)
    assert claim_account(customer).status_code == 303
    code = code_in(sms_outbox[-1].body)
    other_browser = portal_client(claim)
    token = csrf_token(other_browser, "/c/s/")
    r = other_browser.post("/c/s/accounts/verify", data={"code": code, "csrf_token": token})
    assert r.status_code == 409 and "already used" in r.get_data(as_text=True)
    assert "Save my repairs" in other_browser.get("/c/s/").get_data(as_text=True)  # not signed in


def test_brute_forcing_a_code_locks_it(app, shop, make_claim, portal_client, sms_outbox):
    claim = make_claim(shop, number="RO-3201")
    customer = portal_client(claim)
    token = csrf_token(customer, "/c/s/")
    customer.post("/c/s/accounts/code", data={"via": "mobile", "csrf_token": token})
    code = code_in(sms_outbox[-1].body)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    statuses = [customer.post("/c/s/accounts/verify", data={"code": wrong, "csrf_token": token}).status_code
                for _ in range(5)]
    assert statuses == [422, 422, 422, 422, 429]
    r = customer.post("/c/s/accounts/verify", data={"code": code, "csrf_token": token})
    assert r.status_code == 429 and "Too many wrong codes" in r.get_data(as_text=True)
    assert _accounts(app, shop) == []
    with in_tenant(app, shop.id) as db:
        from sqlalchemy import select

        assert db.scalars(select(AccountsCode)).one().attempts == 5


def test_asking_for_codes_is_limited(app, shop, make_claim, portal_client, sms_outbox):
    claim = make_claim(shop, number="RO-3301")
    customer = portal_client(claim)
    token = csrf_token(customer, "/c/s/")
    statuses = [customer.post("/c/s/accounts/code", data={"via": "mobile", "csrf_token": token}).status_code
                for _ in range(6)]
    assert statuses == [303] * 5 + [429]
    assert len(sms_outbox) == 5


def test_guessing_is_rate_limited_per_address(app, shop, make_claim, portal_client, sms_outbox):
    claim = make_claim(shop, number="RO-3401")
    customer = portal_client(claim)
    token = csrf_token(customer, "/c/s/")
    statuses = {customer.post("/c/s/accounts/verify", data={"code": "000000", "csrf_token": token}).status_code
                for _ in range(21)}
    assert 429 in statuses
    r = customer.post("/c/s/accounts/verify", data={"code": "000000", "csrf_token": token})
    assert r.status_code == 429


def test_an_opted_out_mobile_gets_a_clear_error_without_the_number(app, shop, make_claim, portal_client, sms_outbox):
    claim = make_claim(shop, number="RO-3501")
    with in_tenant(app, shop.id):
        from bayline.plugin_api import commit, consent

        consent.opt_out(MOBILE, "sms", "test")
        commit()
    customer = portal_client(claim)
    r = customer.post("/c/s/accounts/code", data={"via": "mobile", "csrf_token": csrf_token(customer, "/c/s/")})
    text = r.get_data(as_text=True)
    assert r.status_code == 502 and "mobile ending 0100: it opted out" in text and "5550100" not in text
    assert len(sms_outbox) == 0
