"""Extras of issue 17: CSP on staff pages, HSTS in production, CSRF skipped only for a request that
did authenticate by API key.

Before: the console, login, API docs and verify pages sent no Content-Security-Policy, production no
HSTS, and ``Authorization: Bearer <anything>`` switched CSRF off for a logged-in browser session.
"""
from __future__ import annotations

from bayline.testing.forms import csrf_token


def test_staff_pages_send_a_csp(app, make_shop, make_user, client_for):
    shop = make_shop()
    client = client_for(make_user(shop), shop)
    for path in ("/console/", "/login", "/forgot"):
        csp = client.get(path).headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
    docs = app.test_client().get("/api/v1/docs")
    assert "Content-Security-Policy" in docs.headers
    assert 'onchange=' not in client.get("/console/").get_data(as_text=True)  # no inline handlers left


def test_hsts_only_in_production(app):
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers


def test_hsts_in_production(app):
    settings = app.extensions["bayline.settings"]
    settings.env = "production"  # a production app needs PostgreSQL and Redis; the header reads the flag
    try:
        r = app.test_client().get("/login")
    finally:
        settings.env = "test"
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_bogus_bearer_header_does_not_switch_csrf_off(app, make_shop, make_user, client_for):
    shop = make_shop()
    client = client_for(make_user(shop), shop)
    r = client.post("/api/v1/claims", json={"number": "RO-CSRF"}, headers={"Authorization": "Bearer nothing"})
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    token = csrf_token(client, "/console/")
    r = client.post("/api/v1/claims", json={"number": "RO-CSRF"}, headers={"X-CSRFToken": token})
    assert r.status_code in (201, 422)


def test_anonymous_unsafe_api_calls_get_401_not_a_csrf_error(app):
    r = app.test_client().post("/api/v1/claims", json={"number": "x"})
    assert r.status_code == 401 and r.get_json()["code"] == "unauthorized"


def test_a_real_key_needs_no_csrf_token(app, make_shop, api_client):
    r = api_client(make_shop()).post("/api/v1/claims", json={"number": "RO-KEY"})
    assert r.status_code in (201, 422)
