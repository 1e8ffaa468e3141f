"""Referrals (issue 26, acceptance 3): a referral → the referred claim delivered and paid → one reward;
a refund claws it back; self-referrals and duplicate contacts are refused."""
from __future__ import annotations

import re

from bayline.testing.forms import csrf_token

API = "/api/v1/plugins/loyalty"


def _referrer(programme, make_claim, pay, member_of):
    claim = make_claim(programme.shop, number="RO-6001", customer_first_name="Ana", customer_last_name="Lopez",
                       customer_mobile="+16175550201", customer_email="ana@example.com")
    pay(claim, "100.00")
    return claim, member_of(claim)


def test_referral_delivered_and_paid_rewards_once_and_a_refund_claws_back(app, programme, make_claim, pay,
                                                                        member_of, deliver):
    _, referrer = _referrer(programme, make_claim, pay, member_of)
    friend = make_claim(programme.shop, number="RO-6002", customer_mobile="+16175550202", customer_email=None)
    r = programme.api.post(f"{API}/claims/{friend.id}/referral", json={"code": referrer.code.lower()})
    assert r.status_code == 201 and r.get_json()["state"] == "pending"
    pay(friend, "500.00", payer="deductible")  # paid but not delivered yet: nothing
    assert member_of(_claim_of(app, referrer)).balance == 100
    deliver(friend)  # delivered and paid: the reward
    after = member_of(_claim_of(app, referrer))
    assert after.ledger[-1] == ("referral", 500) and after.balance == after.total == 600
    pay(friend, "10.00")  # another payment and a replayed delivery: still one reward
    deliver(friend)
    assert [k for k, _ in member_of(_claim_of(app, referrer)).ledger].count("referral") == 1
    r = programme.api.get(f"{API}/claims/{friend.id}/points").get_json()
    assert r["referral"]["state"] == "rewarded"
    pay(friend, "10.00", kind="refund")  # a refund on the referred repair claws the reward back
    back = member_of(_claim_of(app, referrer))
    assert back.ledger[-1] == ("referral_clawback", -500) and back.balance == back.total == 100
    assert programme.api.get(f"{API}/claims/{friend.id}/points").get_json()["referral"]["state"] == "clawed_back"
    report = programme.api.get(f"{API}/report").get_json()
    assert report["referrals"] == 1 and report["rewarded"] == 1 and report["referrals_clawed_back"] == 1


def _claim_of(app, member):
    """A claim of the member (the referrer's first claim), to read them back."""
    from sqlalchemy import select

    from bayline.claims.models import Claim
    from bayline.testing.plugin import in_tenant

    from bayline_loyalty.models import LoyaltyMember

    with in_tenant(app) as db:
        row = db.get(LoyaltyMember, member.id)
        return db.scalars(select(Claim).where(Claim.tenant_id == row.tenant_id,
                                              Claim.customer_mobile == row.contact)).first()


def test_an_unpaid_or_insurer_only_repair_earns_the_referrer_nothing(app, programme, make_claim, pay, member_of,
                                                                    deliver):
    _, referrer = _referrer(programme, make_claim, pay, member_of)
    friend = make_claim(programme.shop, number="RO-6003", customer_mobile="+16175550203", customer_email=None)
    assert programme.api.post(f"{API}/claims/{friend.id}/referral", json={"code": referrer.code}).status_code == 201
    pay(friend, "4000.00", payer="insurer")
    deliver(friend)
    assert member_of(_claim_of(app, referrer)).balance == 100


def test_self_referral_is_refused(app, programme, make_claim, pay, member_of):
    _, referrer = _referrer(programme, make_claim, pay, member_of)
    # a second repair of the same person, by mobile or by email
    for number, mobile, email in (("RO-6004", "+16175550201", None), ("RO-6005", "+16175550299", "ANA@example.com")):
        own = make_claim(programme.shop, number=number, customer_mobile=mobile, customer_email=email)
        r = programme.api.post(f"{API}/claims/{own.id}/referral", json={"code": referrer.code})
        assert r.status_code == 422 and r.get_json()["code"] == "loyalty_self_referral", r.get_json()
        assert r.get_json()["errors"]["json"]["code"]


def test_duplicate_contacts_are_refused(app, programme, make_claim, pay, member_of):
    _, referrer = _referrer(programme, make_claim, pay, member_of)
    first = make_claim(programme.shop, number="RO-6006", customer_mobile="+16175550210", customer_email=None)
    assert programme.api.post(f"{API}/claims/{first.id}/referral", json={"code": referrer.code}).status_code == 201
    again = programme.api.post(f"{API}/claims/{first.id}/referral", json={"code": referrer.code})
    assert again.status_code == 409 and again.get_json()["code"] == "loyalty_already_referred"
    # the same friend on a second repair: already referred
    second = make_claim(programme.shop, number="RO-6007", customer_mobile="+16175550210", customer_email=None)
    r = programme.api.post(f"{API}/claims/{second.id}/referral", json={"code": referrer.code})
    assert r.status_code == 409 and r.get_json()["code"] == "loyalty_duplicate_contact"
    # somebody who was a customer before is not a new referral
    regular = make_claim(programme.shop, number="RO-6008", customer_mobile="+16175550220", customer_email=None)
    later = make_claim(programme.shop, number="RO-6009", customer_mobile="+16175550220", customer_email=None)
    r = programme.api.post(f"{API}/claims/{later.id}/referral", json={"code": referrer.code})
    assert r.status_code == 409 and "already had a repair" in r.get_json()["message"]
    assert regular.id
    r = programme.api.post(f"{API}/claims/{later.id}/referral", json={"code": "NOPE1234"})
    assert r.status_code == 422 and r.get_json()["code"] == "loyalty_unknown_code"


def test_the_claim_panel_records_a_referral_and_keeps_a_bad_code(app, programme, make_claim, pay, member_of):
    _, referrer = _referrer(programme, make_claim, pay, member_of)
    friend = make_claim(programme.shop, number="RO-6010", customer_mobile="+16175550230", customer_email=None)
    page = programme.staff.get(f"/console/claims/{friend.id}")
    assert page.status_code == 200 and "Referral code the customer gave" in page.get_data(as_text=True)
    r = programme.staff.post(f"/plugins/loyalty/claims/{friend.id}/referral",
                             data={"code": "ZZZZ9999", "csrf_token": csrf_token(page)})
    assert r.status_code == 422 and 'value="ZZZZ9999"' in r.get_data(as_text=True)
    assert "No customer has that referral code" in r.get_data(as_text=True)
    r = programme.staff.post(f"/plugins/loyalty/claims/{friend.id}/referral",
                             data={"code": referrer.code, "csrf_token": csrf_token(page)})
    assert r.status_code == 303
    assert "referral pending" in programme.staff.get(f"/console/claims/{friend.id}").get_data(as_text=True)


def test_the_referral_link_shows_the_shop_and_code_never_the_referrer(app, programme, make_claim, pay, member_of):
    _, referrer = _referrer(programme, make_claim, pay, member_of)
    page = app.test_client().get(f"/plugins/loyalty/r/{referrer.code}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and referrer.code in text and "Harbor Collision" in text
    assert "Ana" not in text and "Lopez" not in text and "0201" not in text
    assert page.headers["Cache-Control"] == "no-store"
    assert app.test_client().get("/plugins/loyalty/r/NOPE1234").status_code == 404


def test_the_referred_customer_enters_the_code_on_their_portal(app, programme, make_claim, pay, member_of,
                                                               portal_client, deliver):
    _, referrer = _referrer(programme, make_claim, pay, member_of)
    friend = make_claim(programme.shop, number="RO-6020", customer_mobile="+16175550240", customer_email=None)
    customer = portal_client(friend)
    page = customer.get("/c/s/").get_data(as_text=True)
    assert "If a friend sent you, enter their code" in page
    token = csrf_token(customer, "/c/s/")
    r = customer.post("/c/s/loyalty/referral", data={"code": "WRONG123", "csrf_token": token})
    assert r.status_code == 422 and 'value="WRONG123"' in r.get_data(as_text=True)
    r = customer.post("/c/s/loyalty/referral", data={"code": referrer.code, "csrf_token": token})
    assert r.status_code == 303
    page = customer.get("/c/s/").get_data(as_text=True)
    assert "Thanks for coming to us on a friend's recommendation" in page and "enter their code" not in page
    r = programme.api.get(f"{API}/claims/{friend.id}/points").get_json()
    assert r["referral"]["state"] == "pending" and r["referral"]["source"] == "portal"
    pay(friend, "250.00")
    deliver(friend)
    assert member_of(_claim_of(app, referrer)).ledger[-1] == ("referral", 500)


def test_returning_customers_and_delivered_repairs_get_no_code_box(app, programme, make_claim, pay, member_of,
                                                                    portal_client, deliver):
    _, referrer = _referrer(programme, make_claim, pay, member_of)
    again = make_claim(programme.shop, number="RO-6030", customer_mobile="+16175550201", customer_email=None)
    assert "enter their code" not in portal_client(again).get("/c/s/").get_data(as_text=True)
    customer = portal_client(again)
    token = csrf_token(customer, "/c/s/")
    r = customer.post("/c/s/loyalty/referral", data={"code": referrer.code, "csrf_token": token})
    assert r.status_code == 422 and "cannot refer themselves" in r.get_data(as_text=True)
    done = make_claim(programme.shop, number="RO-6031", customer_mobile="+16175550250", customer_email=None)
    deliver(done)
    assert "enter their code" not in portal_client(done).get("/c/s/").get_data(as_text=True)


def _page(response):
    """The page without its form's CSRF token (fresh each request)."""
    return re.sub(rb'name="csrf_token" value="[^"]*"', b"", response.data)


def test_a_shared_landing_link_with_ref_opens_the_referral_page(app, programme, make_claim, pay, member_of,
                                                                 make_shop, enable_plugin):
    """``/p/<shop>?ref=CODE`` (hook ``landing_referral``): this shop's code lands on the referral page; an
    unknown code, another shop's, or referrals switched off are ignored silently: the landing page as
    without ``ref``, nothing about the code said, nothing written."""
    _, referrer = _referrer(programme, make_claim, pay, member_of)
    enable_plugin(programme.shop, "branding")  # the landing page's plugin
    client = app.test_client()
    slug = programme.shop.slug
    r = client.get(f"/p/{slug}?ref={referrer.code.lower()}")
    assert r.status_code == 302 and r.headers["Location"] == f"/plugins/loyalty/r/{referrer.code}"
    assert client.get(r.headers["Location"]).status_code == 200
    plain = client.get(f"/p/{slug}")
    assert plain.status_code == 200
    for code in ("NOPE2345", "ZZ", "<script>", "../../x", referrer.code + "X"):
        r = client.get(f"/p/{slug}", query_string={"ref": code})
        assert (r.status_code, _page(r)) == (200, _page(plain))
    other = make_shop(name="Bay Body")
    for feature in ("branding", "loyalty", "referrals"):
        enable_plugin(other, feature)
    r = client.get(f"/p/{other.slug}?ref={referrer.code}")  # another shop's code: not this shop's referral
    assert r.status_code == 200 and _page(r) == _page(client.get(f"/p/{other.slug}"))
    enable_plugin(programme.shop, "referrals", False)
    r = client.get(f"/p/{slug}?ref={referrer.code}")
    assert r.status_code == 200 and referrer.code not in r.get_data(as_text=True)
