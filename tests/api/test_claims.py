"""Claims API: create, read, list with filters and pagination, stage and ETA changes with history."""
from __future__ import annotations

import json
from datetime import date, timedelta

from bayline.claims.vin import with_check_digit


def test_create_and_read_claim(app, make_shop, api_client):
    shop = make_shop()
    client = api_client(shop)
    vin = with_check_digit("1HGCM82633A004352")
    r = client.post("/api/v1/claims", json={
        "number": "RO-1001", "customer_first_name": "Maria", "customer_last_name": "Lopez",
        "customer_mobile": "(617) 555-0142", "vin": vin.lower(), "vehicle_year": 2021, "vehicle_make": "Honda",
        "insurer": "GEICO", "eta": (date.today() + timedelta(days=5)).isoformat()})
    assert r.status_code == 201, r.json
    body = r.json
    assert body["customer_mobile"] == "+16175550142"
    assert body["vin"] == vin
    assert body["stage"]["name"] == "Pictures"
    got = client.get(f"/api/v1/claims/{body['id']}").json
    assert got["number"] == "RO-1001" and got["shop_id"] == shop.id
    history = client.get(f"/api/v1/claims/{body['id']}/history").json
    assert len(history["stages"]) == 1 and history["stages"][0]["from_stage_id"] is None
    assert len(history["etas"]) == 1


def test_stage_change_records_history_and_delivery(app, make_shop, make_claim, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    client = api_client(shop)
    stages = client.get("/api/v1/stages").json
    assert [s["name"] for s in stages] == ["Pictures", "Estimate", "Teardown", "Supp Sent", "Supp Appr",
                                           "Started", "Completed", "Delivered"]
    r = client.post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": stages[2]["id"]})
    assert r.status_code == 200 and r.json["stage"]["name"] == "Teardown"
    r = client.post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": stages[-1]["id"]})
    assert r.json["delivered_at"] is not None
    moves = client.get(f"/api/v1/claims/{claim.id}/history").json["stages"]
    assert [(m["from_stage_id"], m["to_stage_id"]) for m in moves] == [
        (None, stages[0]["id"]), (stages[0]["id"], stages[2]["id"]), (stages[2]["id"], stages[-1]["id"])]


def test_eta_change_history(app, make_shop, make_claim, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    client = api_client(shop)
    first = (date.today() + timedelta(days=3)).isoformat()
    later = (date.today() + timedelta(days=6)).isoformat()
    client.post(f"/api/v1/claims/{claim.id}/eta", json={"eta": first})
    r = client.post(f"/api/v1/claims/{claim.id}/eta", json={"eta": later, "reason": "parts backordered"})
    assert r.status_code == 200 and r.json["eta"] == later
    etas = client.get(f"/api/v1/claims/{claim.id}/history").json["etas"]
    assert [(e["old_eta"], e["new_eta"]) for e in etas] == [(None, first), (first, later)]
    assert etas[-1]["reason"] == "parts backordered"


def test_list_filters_and_pagination(app, make_shop, make_claim, api_client):
    shop = make_shop()
    for _ in range(5):
        make_claim(shop)
    client = api_client(shop)
    stages = client.get("/api/v1/stages").json
    listed = client.get("/api/v1/claims?page=1&page_size=2")
    assert listed.status_code == 200
    assert len(listed.json) == 2
    assert json.loads(listed.headers["X-Pagination"])["total"] == 5
    moved = listed.json[0]["id"]
    client.post(f"/api/v1/claims/{moved}/stage", json={"stage_id": stages[1]["id"]})
    in_stage = client.get(f"/api/v1/claims?stage_id={stages[1]['id']}").json
    assert [c["id"] for c in in_stage] == [moved]
    future = client.get("/api/v1/claims", query_string={"updated_since": "2999-01-01T00:00:00+00:00"}).json
    assert future == []


def test_archive_hides_claim_from_list(app, make_shop, make_claim, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    client = api_client(shop)
    assert client.delete(f"/api/v1/claims/{claim.id}").status_code == 204
    assert client.get("/api/v1/claims").json == []
    assert len(client.get("/api/v1/claims?include_archived=true").json) == 1


def test_archive_reason_in_the_claim_response(app, make_shop, make_claim, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    client = api_client(shop)
    assert client.get(f"/api/v1/claims/{claim.id}").json["archive_reason"] is None
    assert client.delete(f"/api/v1/claims/{claim.id}", query_string={"reason": "Total loss"}).status_code == 204
    body = client.get(f"/api/v1/claims/{claim.id}").json
    assert body["archive_reason"] == "Total loss" and body["archived_at"]
    listed = client.get("/api/v1/claims?include_archived=true").json
    assert listed[0]["archive_reason"] == "Total loss"
    too_long = client.delete(f"/api/v1/claims/{claim.id}", query_string={"reason": "x" * 201})
    assert too_long.status_code == 422 and too_long.json["code"] == "validation_error"
    spec = app.test_client().get("/api/v1/openapi.json").json
    claim_schema = spec["components"]["schemas"]["Claim"]["properties"]
    assert claim_schema["archive_reason"]["readOnly"] is True
    params = spec["paths"]["/api/v1/claims/{claim_id}"]["delete"]["parameters"]
    assert any(p["name"] == "reason" and p["in"] == "query" for p in params)


def test_read_scope_cannot_write(app, make_shop, api_client):
    shop = make_shop()
    client = api_client(shop, scopes=("read",))
    r = client.post("/api/v1/claims", json={"number": "X", "customer_first_name": "A", "customer_last_name": "B"})
    assert r.status_code == 403 and r.json["code"] == "permission_denied"


def test_openapi_document(app):
    spec = app.test_client().get("/api/v1/openapi.json").json
    assert "/api/v1/claims" in spec["paths"] and spec["openapi"].startswith("3.")


def test_swagger_ui_is_served_without_a_cdn(app):
    client = app.test_client()
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/swagger-ui/swagger-ui-bundle.js" in page and "cdn" not in page
    assert client.get("/api/v1/swagger-ui/swagger-ui-bundle.js").status_code == 200
