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
