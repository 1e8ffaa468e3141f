"""OpenAPI conformance found by schemathesis (issue 17): 405 answers without ``Allow``, PATCH
accepting an empty body, ``X-Pagination`` declared as an object but sent as a string. (Anonymous
unsafe requests answering 400 CSRF instead of 401: tests/security/test_headers_csrf.py.)"""
from __future__ import annotations

import json


def test_405_names_the_allowed_methods(app, make_shop, api_client):
    r = api_client(make_shop()).put("/api/v1/claims")
    assert r.status_code == 405 and {"GET", "POST"} <= {m.strip() for m in r.headers["Allow"].split(",")}
    assert r.get_json()["code"] == "method_not_allowed"


def test_patch_needs_at_least_one_field(app, make_shop, make_claim, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    client = api_client(shop)
    stage_id = client.get("/api/v1/stages").get_json()[0]["id"]
    for path in (f"/api/v1/claims/{claim.id}", f"/api/v1/stages/{stage_id}", "/api/v1/shop"):
        r = client.patch(path, json={})
        assert r.status_code == 422, (path, r.get_json())
    assert client.patch(f"/api/v1/claims/{claim.id}", json={"vehicle_color": "Teal"}).status_code == 200


def test_pagination_header_is_declared_as_the_string_it_is(app, make_shop, make_claim, api_client):
    shop = make_shop()
    make_claim(shop)
    client = api_client(shop)
    sent = client.get("/api/v1/claims").headers["X-Pagination"]
    assert isinstance(json.loads(sent), dict)
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["headers"]["PAGINATION"]["schema"] == {"type": "string"}
