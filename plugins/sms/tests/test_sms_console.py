"""The console page: number assignment, search and order through Telnyx, and the inbox."""
from __future__ import annotations

import re

from bayline_sms.testing.helpers import SHOP_NUMBER, post_webhook

from bayline.testing.forms import csrf_token

_csrf = csrf_token


def test_owner_searches_and_orders_a_number_from_the_page(app, make_shop, make_user, client_for,
                                                          telnyx_api) -> None:
    shop = make_shop(plan="starter")
    staff = client_for(make_user(shop, "owner"))
    page = staff.get("/plugins/sms/")
    assert page.status_code == 200 and "No texting number yet" in page.get_data(as_text=True)
    found = staff.get("/plugins/sms/?area_code=415").get_data(as_text=True)
    numbers = re.findall(r'name="phone_number" value="(\+1415\d+)"', found)
    assert numbers
    resp = staff.post("/plugins/sms/numbers/order", data={"csrf_token": _csrf(found), "phone_number": numbers[0]})
    assert resp.status_code == 302
    assert telnyx_api.orders[0]["phone_numbers"][0]["phone_number"] == numbers[0]
    assert "Texts go out from" in staff.get("/plugins/sms/").get_data(as_text=True)


def test_technician_sees_page_but_cannot_manage_number(app, sms_shop, make_claim, make_user, client_for) -> None:
    claim = make_claim(sms_shop.shop)
    tech = client_for(make_user(sms_shop.shop, "technician"))
    assert "Assign" not in tech.get("/plugins/sms/").get_data(as_text=True)
    token = _csrf(tech.get(f"/console/claims/{claim.id}").get_data(as_text=True))
    resp = tech.post("/plugins/sms/number", data={"csrf_token": token, "phone_number": "+16175550123"})
    assert resp.status_code == 403


def test_inbox_text_filed_by_claim_number(app, sms_shop, make_claim, client_for, telnyx_api) -> None:
    payload = telnyx_api.inbound("+16175550177", SHOP_NUMBER, "Can I bring it Monday?")
    post_webhook(app, payload, telnyx_api.sign(payload))
    staff = client_for(sms_shop.owner)
    html = staff.get("/plugins/sms/").get_data(as_text=True)
    assert "Can I bring it Monday?" in html
    claim = make_claim(sms_shop.shop, number="RO-777", customer_mobile="+16175550177")
    inbound_id = int(re.search(r"/plugins/sms/inbox/(\d+)/attach", html).group(1))
    resp = staff.post(f"/plugins/sms/inbox/{inbound_id}/attach",
                      data={"csrf_token": _csrf(html), "claim_number": "RO-777"})
    assert resp.status_code == 302
    assert "Nothing to file" in staff.get("/plugins/sms/").get_data(as_text=True)
    thread = sms_shop.api.get(f"/plugins/sms/claims/{claim.id}/messages").get_json()["inbound"]
    assert [m["body"] for m in thread] == ["Can I bring it Monday?"]


def test_number_setup_errors_name_what_is_missing(app, make_shop, make_user, client_for, telnyx_api) -> None:
    shop = make_shop(plan="starter")
    staff = client_for(make_user(shop, "owner"))
    page = staff.get("/plugins/sms/?area_code=41").get_data(as_text=True)
    assert "The area code is 3 digits" in page and 'aria-invalid="true"' in page
    form = {"csrf_token": _csrf(page), "phone_number": "555-CALL-NOW"}
    after = staff.get(staff.post("/plugins/sms/number", data=form).headers["Location"]).get_data(as_text=True)
    assert "Not assigned: the phone number" in after and "No texting number yet" in after
    # without the platform's Telnyx key the page says so instead of "Connection error."
    app.config["BAYLINE_PLUGIN_SMS_TELNYX_API_KEY"] = ""
    page = staff.get("/plugins/sms/?area_code=415").get_data(as_text=True)
    assert "BAYLINE_PLUGIN_SMS_TELNYX_API_KEY" in page and 'id="sms-setup-problem"' in page
    assert not telnyx_api.requests or all("available_phone_numbers" not in str(r) for r in telnyx_api.requests)
