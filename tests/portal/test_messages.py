"""The claim message thread: customer posts on the portal, staff reply from the console and the API."""
from __future__ import annotations

from bayline.live import channel, get_broker

from .conftest import csrf_from


def _portal_post(client, body):
    token = csrf_from(client.get("/c/s/").get_data(as_text=True))
    return client.post("/c/s/messages", data={"csrf_token": token, "body": body})


def test_customer_message_reaches_staff_and_reply_reaches_portal(app, make_shop, make_claim, portal_client,
                                                                 make_user, client_for, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    customer = portal_client(claim)
    subscription = get_broker(app).subscribe(channel(shop.id, claim.id))
    try:
        r = _portal_post(customer, "When will my car be ready?")
        assert r.status_code == 303 and r.headers["Location"].endswith("/c/s/#messages")
        got = subscription.get(timeout=60)
        assert got is not None and got["type"] == "message.received" and len(got["id"]) == 32
    finally:
        subscription.close()
    api = api_client(shop)
    thread = api.get(f"/api/v1/claims/{claim.id}/messages").json
    assert [(m["direction"], m["channel"], m["delivery_state"], m["body"]) for m in thread] == [
        ("in", "portal", "received", "When will my car be ready?")]
    staff_user = make_user(shop, role="advisor")
    staff = client_for(staff_user, shop)
    page = staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert "When will my car be ready?" in page
    r = staff.post(f"/console/claims/{claim.id}/messages", data={"csrf_token": csrf_from(page), "body": "Friday!"})
    assert r.status_code == 302
    r = api.post(f"/api/v1/claims/{claim.id}/messages", json={"body": "Parts arrived."})
    assert r.status_code == 201 and r.json["direction"] == "out" and r.json["author_user_id"] is None
    body = customer.get("/c/s/").get_data(as_text=True)
    assert "When will my car be ready?" in body and "Friday!" in body and "Parts arrived." in body
    thread = api.get(f"/api/v1/claims/{claim.id}/messages").json
    assert [m["author_user_id"] for m in thread] == [None, staff_user.id, None]


def test_bad_messages_are_refused(app, make_shop, make_claim, portal_client, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    customer = portal_client(claim)
    r = _portal_post(customer, "   ")
    assert r.status_code == 303 and "error=message" in r.headers["Location"]
    assert "Please write a message" in customer.get(r.headers["Location"]).get_data(as_text=True)
    assert customer.post("/c/s/messages", data={"body": "no csrf"}).status_code == 400
    api = api_client(shop)
    assert api.post(f"/api/v1/claims/{claim.id}/messages", json={"body": ""}).status_code == 422
    assert api.post(f"/api/v1/claims/{claim.id}/messages", json={"body": "x" * 2001}).status_code == 422
    assert api.post(f"/api/v1/claims/{claim.id}/messages", json={"body": "hi", "channel": "sms"}).status_code == 422
    assert api.get(f"/api/v1/claims/{claim.id}/messages").json == []


def test_messages_and_console_actions_are_tenant_isolated(app, make_shop, make_claim, api_client, make_user,
                                                          client_for, portal_client):
    shop_a, shop_b = make_shop(), make_shop()
    claim = make_claim(shop_a)
    other_api = api_client(shop_b)
    assert other_api.get(f"/api/v1/claims/{claim.id}/messages").status_code == 404
    assert other_api.post(f"/api/v1/claims/{claim.id}/messages", json={"body": "hi"}).status_code == 404
    staff_b = client_for(make_user(shop_b), shop_b)
    token = csrf_from(staff_b.get("/console/claims/new").get_data(as_text=True))
    for path in (f"/console/claims/{claim.id}/messages", f"/console/claims/{claim.id}/portal-link",
                 f"/console/claims/{claim.id}/portal-link/revoke"):
        assert staff_b.post(path, data={"csrf_token": token, "body": "hi"}).status_code == 404, path
    assert staff_b.get(f"/console/claims/{claim.id}").status_code == 404
    assert api_client(shop_a).get(f"/api/v1/claims/{claim.id}/messages").json == []
    assert portal_client(claim).get("/c/s/").status_code == 200  # still working: nothing was revoked


def test_console_issues_and_revokes_links(app, make_shop, make_claim, make_user, client_for):
    shop = make_shop()
    claim = make_claim(shop)
    staff = client_for(make_user(shop, role="advisor"), shop)
    page = staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert 'data-purpose="staff_copy"' in page and claim.portal_link.raw not in page
    r = staff.post(f"/console/claims/{claim.id}/portal-link", data={"csrf_token": csrf_from(page)})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "http://localhost/c/" in html
    new_raw = html.split("http://localhost/c/", 1)[1].split('"', 1)[0]
    assert app.test_client().get(f"/c/{claim.portal_link.raw}").status_code == 404
    assert app.test_client().get(f"/c/{new_raw}").status_code == 200
    r = staff.post(f"/console/claims/{claim.id}/portal-link/revoke", data={"csrf_token": csrf_from(html)})
    assert r.status_code == 302
    assert app.test_client().get(f"/c/{new_raw}").status_code == 404
    tech = client_for(make_user(shop, role="technician"), shop)
    page = tech.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert tech.post(f"/console/claims/{claim.id}/portal-link", data={"csrf_token": csrf_from(page)}).status_code == 403
