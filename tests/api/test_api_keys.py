"""API keys: created with a one-time secret, scoped, revocable, isolated per shop."""
from __future__ import annotations


def test_create_use_and_revoke(app, make_shop, api_client):
    shop = make_shop()
    admin = api_client(shop, scopes=("admin",))
    r = admin.post("/api/v1/api-keys", json={"name": "DMS sync", "scopes": ["read"]})
    assert r.status_code == 201
    secret, key_id = r.json["secret"], r.json["id"]
    assert secret.startswith("bl_") and r.json["prefix"] == secret[:10]
    listed = admin.get("/api/v1/api-keys").json
    assert all("secret" not in k for k in listed) and key_id in [k["id"] for k in listed]
    reader = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert reader.get("/api/v1/claims", headers=headers).status_code == 200
    assert reader.post("/api/v1/claims", headers=headers, json={}).status_code == 403
    assert admin.delete(f"/api/v1/api-keys/{key_id}").status_code == 204
    r = reader.get("/api/v1/claims", headers=headers)
    assert r.status_code == 401 and r.json["code"] == "unauthorized"


def test_bad_scope_and_other_shop(app, make_shop, api_client):
    a, b = make_shop(), make_shop()
    admin_a, admin_b = api_client(a), api_client(b)
    r = admin_a.post("/api/v1/api-keys", json={"name": "x", "scopes": ["root"]})
    assert r.status_code == 422 and "scopes" in r.json["errors"]["json"]
    key_id = admin_a.post("/api/v1/api-keys", json={"name": "x"}).json["id"]
    assert admin_b.delete(f"/api/v1/api-keys/{key_id}").status_code == 404
    assert key_id not in [k["id"] for k in admin_b.get("/api/v1/api-keys").json]


def test_write_key_cannot_manage_keys(app, make_shop, api_client):
    writer = api_client(make_shop(), scopes=("write",))
    assert writer.get("/api/v1/api-keys").status_code == 403
