"""L2 (staff part): logout left a copied session cookie valid for 31 days (signed-cookie sessions,
nothing on the server). Logging out now moves the user's session epoch on: the copied cookie, and
every other login session of the user, stops working."""
from __future__ import annotations

from bayline.testing.forms import csrf_token


def _login(client, email):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"email": email, "password": "correct-horse-42", "csrf_token": token})


def test_a_copied_cookie_dies_with_logout(app, make_shop, make_user):
    user = make_user(make_shop(), email="desk@example.com")
    browser = app.test_client()
    assert _login(browser, user.email).status_code == 302
    cookie = browser.get_cookie("bayline_session").value
    thief = app.test_client()
    thief.set_cookie("bayline_session", cookie)
    assert thief.get("/console/").status_code == 200  # the copy works while the login lasts
    browser.post("/logout", data={"csrf_token": csrf_token(browser, "/console/")})
    assert thief.get("/console/").status_code == 302
    assert thief.get("/api/v1/claims").status_code == 401
    again = app.test_client()
    assert _login(again, user.email).status_code == 302 and again.get("/console/").status_code == 200


def test_portal_sign_out_ends_the_session_for_a_copied_cookie_too(app, make_shop, make_claim, portal_client):
    """L2 (portal part). Before: "sign out on this device" only dropped the entry from this browser's
    signed cookie; a copy taken earlier kept opening the page (from the page store, too) for 31 days.
    Now the session's row ends in the database and the copy gets the friendly 404."""
    from sqlalchemy import select

    from bayline.portal.models import PortalSession
    from bayline.testing.plugin import in_tenant

    claim = make_claim(make_shop())
    browser, family = portal_client(claim), portal_client(claim)
    for client in (browser, family, browser, family):  # both sessions checked, the page stored
        assert client.get("/c/s/").status_code == 200
    name = app.config["SESSION_COOKIE_NAME"]
    thief = app.test_client()
    thief.set_cookie(name, browser.get_cookie(name).value)
    page = thief.get("/c/s/")
    assert page.status_code == 200 and claim.number in page.get_data(as_text=True)  # the copy works until then

    left = browser.post("/c/s/leave", data={"csrf_token": csrf_token(browser, "/c/s/")})
    assert left.status_code == 200
    for client in (thief, thief, browser):
        gone = client.get("/c/s/")
        assert gone.status_code == 404 and claim.number not in gone.get_data(as_text=True)
    sent = thief.post("/c/s/messages", data={"csrf_token": csrf_token(family, "/c/s/"), "body": "hello"})
    assert sent.status_code in (400, 404)
    with in_tenant(app, claim.tenant_id) as session:
        rows = session.scalars(select(PortalSession).where(PortalSession.claim_id == claim.id)
                               .order_by(PortalSession.id)).all()
        assert [row.ended_at is not None for row in rows] == [True, False]
    # the other session of the link goes on (and is answered from the store again)
    assert family.get("/c/s/").status_code == 200
    assert claim.number in family.get("/c/s/").get_data(as_text=True)


def test_opening_the_link_again_replaces_this_browsers_portal_session(app, make_shop, make_claim, set_setting):
    """A browser that opens its link again gets a new session row; the one it had ends, so a copy of
    the earlier cookie stops working (and sign-out then ends the new one)."""
    shop = make_shop()
    claim = make_claim(shop)
    set_setting(shop, "portal.verification", "off")
    name = app.config["SESSION_COOKIE_NAME"]
    browser = app.test_client()
    assert browser.get(f"/c/{claim.portal_link.raw}").status_code == 303
    assert browser.get("/c/s/").status_code == 200
    earlier = app.test_client()
    earlier.set_cookie(name, browser.get_cookie(name).value)
    assert earlier.get("/c/s/").status_code == 200
    assert browser.get(f"/c/{claim.portal_link.raw}").status_code == 303
    assert browser.get("/c/s/").status_code == 200
    assert earlier.get("/c/s/").status_code == 404
    browser.post("/c/s/leave", data={"csrf_token": csrf_token(browser, "/c/s/")})
    assert browser.get("/c/s/").status_code == 404


def test_an_open_live_stream_ends_with_the_session(app, make_shop, make_claim, portal_client):
    """A copied cookie's live stream opened before sign-out used to keep running until its time cap
    (BAYLINE_SSE_MAX_SECONDS): it now hears the sign-out and ends, and cannot open again. A stream of
    the claim's other session ends too, but reconnects, since its session holds."""
    from bayline.testing.sse import read_until

    app.config["BAYLINE_SSE_HEARTBEAT"] = 0.2
    claim = make_claim(make_shop())
    browser, family = portal_client(claim), portal_client(claim)
    name = app.config["SESSION_COOKIE_NAME"]
    thief = app.test_client()
    thief.set_cookie(name, browser.get_cookie(name).value)
    copied, other = thief.get("/c/s/events", buffered=False), family.get("/c/s/events", buffered=False)
    for stream in (copied, other):
        assert stream.status_code == 200
        read_until(stream, ": connected")

    browser.post("/c/s/leave", data={"csrf_token": csrf_token(browser, "/c/s/")})
    for stream in (copied, other):
        read_until(stream, '"portal.session_ended"')
        assert list(stream.response) == []  # the server closed it
        stream.close()
    assert thief.get("/c/s/events", buffered=False).status_code == 404
    again = family.get("/c/s/events", buffered=False)
    assert again.status_code == 200
    read_until(again, ": connected")
    again.close()
