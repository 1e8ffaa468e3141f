"""The account's pages: opening another repair, sign-out (this device, everywhere), export, deletion,
the group's shared history, the staff panel and API."""
from __future__ import annotations

import json

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

from bayline_accounts.models import AccountsAccount, AccountsContact, AccountsSession


def test_sign_out_everywhere_ends_every_device(app, shop, make_claim, portal_client, claim_account):
    claim = make_claim(shop, number="RO-7001")
    phone, laptop = portal_client(claim), portal_client(claim)
    assert claim_account(phone).status_code == 303
    assert claim_account(laptop).status_code == 303
    assert "2 devices" in phone.get("/c/s/accounts/").get_data(as_text=True)
    r = phone.post("/c/s/accounts/sign-out-everywhere", data={"csrf_token": csrf_token(phone, "/c/s/")})
    assert r.status_code == 200 and "Signed out everywhere" in r.get_data(as_text=True)
    for browser in (phone, laptop):
        page = browser.get("/c/s/accounts/").get_data(as_text=True)
        assert "Send me a code" in page and "Your repairs" not in page
        assert browser.get("/c/s/").status_code == 200  # the repair's own link still works
    with in_tenant(app, shop.id) as db:
        from sqlalchemy import select

        assert all(s.ended_at is not None for s in db.scalars(select(AccountsSession)))


def test_sign_out_on_this_device_only(app, shop, make_claim, portal_client, claim_account):
    claim = make_claim(shop, number="RO-7002")
    phone, laptop = portal_client(claim), portal_client(claim)
    claim_account(phone)
    claim_account(laptop)
    phone.post("/c/s/accounts/sign-out", data={"csrf_token": csrf_token(phone, "/c/s/")})
    assert "Send me a code" in phone.get("/c/s/accounts/").get_data(as_text=True)
    assert "Your repairs" in laptop.get("/c/s/accounts/").get_data(as_text=True)


def test_open_another_repair_goes_through_its_account_link(app, shop, make_claim, portal_client, claim_account,
                                                           make_shop, enable_plugin):
    first = make_claim(shop, number="RO-7101")
    second = make_claim(shop, number="RO-7102")
    elsewhere_shop = make_shop(name="Other shop")
    enable_plugin(elsewhere_shop, "accounts")
    elsewhere = make_claim(elsewhere_shop, number="RO-7103")  # the same mobile, another shop (not shared)
    customer = portal_client(first)
    token = csrf_token(customer, "/c/s/")
    r = customer.post(f"/c/s/accounts/claims/{second.id}/open", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"].endswith("/c/s/accounts/")  # sign in first
    claim_account(customer)
    assert "RO-7103" not in customer.get("/c/s/accounts/").get_data(as_text=True)
    r = customer.post(f"/c/s/accounts/claims/{second.id}/open", data={"csrf_token": token})
    assert r.status_code == 303 and "/c/" in r.headers["Location"] and "/c/s/" not in r.headers["Location"]
    with in_tenant(app, shop.id) as db:
        from sqlalchemy import select

        from bayline.portal.models import PortalToken

        link = db.scalars(select(PortalToken).where(PortalToken.claim_id == second.id,
                                                    PortalToken.purpose == "account")).one()
        assert link.state == "active"
    opened = customer.get(r.headers["Location"].replace("http://localhost", ""))
    assert opened.status_code in (200, 303)  # the shop's verification page, or straight in when it is off
    r = customer.post(f"/c/s/accounts/claims/{elsewhere.id}/open", data={"csrf_token": token})
    assert r.status_code == 404


def test_export_holds_the_customers_own_data_only(app, shop, make_claim, portal_client, claim_account):
    first = make_claim(shop, number="RO-7201", internal_notes="supplement margin 30 percent")
    make_claim(shop, number="RO-7202")
    customer = portal_client(first)
    claim_account(customer)
    r = customer.get("/c/s/accounts/export")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    data = json.loads(r.get_data(as_text=True))
    assert sorted(x["number"] for x in data["repairs"]) == ["RO-7201", "RO-7202"]
    assert [(c["kind"], c["value"]) for c in data["contacts"]] == [("mobile", "+16175550100")]
    assert "margin" not in r.get_data(as_text=True)


def test_deleting_the_account_keeps_the_repairs(app, shop, make_claim, portal_client, claim_account):
    claim = make_claim(shop, number="RO-7301")
    customer = portal_client(claim)
    claim_account(customer)
    token = csrf_token(customer, "/c/s/")
    r = customer.post("/c/s/accounts/delete", data={"csrf_token": token})
    assert r.status_code == 422 and "Tick the box" in r.get_data(as_text=True)
    r = customer.post("/c/s/accounts/delete", data={"csrf_token": token, "confirm": "yes"})
    assert r.status_code == 200 and "deleted" in r.get_data(as_text=True)
    with in_tenant(app, shop.id) as db:
        from sqlalchemy import select

        assert list(db.scalars(select(AccountsAccount))) == []
        assert list(db.scalars(select(AccountsContact))) == []
    assert customer.get("/c/s/").status_code == 200
    assert "Save my repairs" in customer.get("/c/s/").get_data(as_text=True)


def test_group_history_lists_the_groups_sharing_shops(app, make_shop, enable_plugin, set_setting, make_claim,
                                                      portal_client, claim_account, sms_outbox):
    here = make_shop(name="Downtown")
    there = make_shop(name="Quincy", group_id=here.group_id)
    private = make_shop(name="Private", group_id=here.group_id)
    for s in (here, there, private):
        enable_plugin(s, "accounts")
    for s in (here, there):
        set_setting(s, "accounts.group_history", True)
    mine = make_claim(here, number="RO-7401")
    make_claim(there, number="RO-7402")
    make_claim(private, number="RO-7403")
    customer = portal_client(mine)
    claim_account(customer)
    page = customer.get("/c/s/accounts/").get_data(as_text=True)
    assert "RO-7401" in page and "RO-7402" in page and "Quincy" in page and "RO-7403" not in page


def test_staff_see_the_account_and_can_end_its_sessions(app, shop, make_claim, make_user, client_for, api_client,
                                                        portal_client, claim_account):
    claim = make_claim(shop, number="RO-7501")
    customer = portal_client(claim)
    claim_account(customer)
    api = api_client(shop)
    accounts = api.get(f"/api/v1/plugins/accounts/claims/{claim.id}/accounts").get_json()
    assert len(accounts) == 1 and accounts[0]["contact_kind"] == "mobile" and accounts[0]["active_sessions"] == 1
    staff = client_for(make_user(shop), shop)
    page = staff.get(f"/console/claims/{claim.id}")
    assert "has an account" in page.get_data(as_text=True)
    r = staff.post(f"/plugins/accounts/accounts/{accounts[0]['id']}/sign-out",
                   data={"csrf_token": csrf_token(page), "claim_id": claim.id})
    assert r.status_code == 303
    assert "Send me a code" in customer.get("/c/s/accounts/").get_data(as_text=True)
    assert api.post("/api/v1/plugins/accounts/accounts/999999/sign-out").status_code == 404
