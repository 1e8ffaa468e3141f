"""L5: deeply nested JSON answered 500 with a ~2,000-line traceback on any route (``_has_nul`` recursed
once per level); now an iterative walk with a depth limit and a 400, before any authentication."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("depth", [100, 5_000, 200_000])
def test_deeply_nested_json_is_a_400(app, depth):
    body = "[" * depth + "]" * depth
    for path in ("/api/v1/claims", "/login", "/c/s/esign/"):
        r = app.test_client().post(path, data=body, content_type="application/json")
        assert r.status_code == 400, (path, r.status_code)
    r = app.test_client().post("/api/v1/claims", data=body, content_type="application/json")
    assert r.get_json()["code"] == "bad_request" and "nests" in r.get_json()["message"]


def test_ordinary_nesting_still_reaches_the_view(app, api_client, make_shop):
    client = api_client(make_shop())
    r = client.post("/api/v1/claims", json={"number": "RO-1", "extra": [[[[{"a": [1]}]]]]})
    assert r.status_code in (201, 422)


def test_seed_demo_refuses_production(app):
    """L11: ``flask bayline seed-demo`` created a published password in production mode."""
    from bayline.demo import demo_exists
    from bayline.testing.plugin import in_tenant

    settings = app.extensions["bayline.settings"]
    settings.env = "production"
    try:
        result = app.test_cli_runner().invoke(args=["bayline", "seed-demo"])
    finally:
        settings.env = "test"
    assert result.exit_code != 0 and "production" in result.output
    with in_tenant(app):
        assert not demo_exists()


def test_long_emails_are_422_on_every_backend(app, make_shop, api_client):
    """L8: ``fields.Email`` without ``Length`` let a 300-character address reach ``varchar(254)``:
    a 500 on PostgreSQL only."""
    shop = make_shop()
    client = api_client(shop)
    long_email = "a" * 250 + "@example.com"
    r = client.patch("/api/v1/shop", json={"email": long_email})
    assert r.status_code == 422, r.get_json()
    r = client.post("/api/v1/claims", json={"number": "RO-LONG", "adjuster_email": long_email})
    assert r.status_code == 422 and "adjuster_email" in r.get_json()["errors"]["json"]
    r = client.post("/api/v1/staff", json={"email": long_email, "name": "x", "role": "advisor"})
    assert r.status_code == 422
