"""Bad input to the API: every refusal is a 4xx JSON ``{code, status, message, errors}`` naming the
fields, and nothing is written."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bayline.claims.models import Claim, EtaHistory, Stage, StageHistory
from bayline.claims.vin import with_check_digit
from bayline.testing.plugin import in_tenant

GOOD = {"number": "RO-1", "customer_first_name": "Maria", "customer_last_name": "Lopez"}


@pytest.fixture
def app_config():
    return {"MAX_CONTENT_LENGTH": 4096}


def counts(app) -> dict[str, int]:
    with in_tenant(app) as session:
        return {m.__name__: session.scalar(select(func.count()).select_from(m))
                for m in (Claim, StageHistory, EtaHistory, Stage)}


def assert_error(r, status: int, code: str, fields: set[str] | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    assert r.is_json, r.get_data(as_text=True)
    body = r.json
    assert body["status"] == status and body["code"] == code and body["message"]
    if fields is not None:
        assert "errors" in body, body
        named = set(body["errors"].get("json", body["errors"]))
        assert fields <= named, (fields, body["errors"])
    return body


@pytest.fixture
def shop(make_shop):
    return make_shop()


@pytest.fixture
def client(api_client, shop):
    return api_client(shop)


def test_malformed_json(app, client):
    before = counts(app)
    for raw in ('{"number": "RO-1", ', "not json", "[1, 2", '{"number": "RO-1"}}'):
        r = client.post("/api/v1/claims", data=raw, content_type="application/json")
        assert_error(r, 400, "bad_request")
    # a JSON document that is not an object
    r = client.post("/api/v1/claims", json=["RO-1"])
    assert r.status_code in (400, 422) and r.json["code"] in ("bad_request", "validation_error")
    assert counts(app) == before


@pytest.mark.parametrize("payload, fields", [
    ({**GOOD, "number": 12}, {"number"}),
    ({**GOOD, "vehicle_year": "twenty"}, {"vehicle_year"}),
    ({**GOOD, "vehicle_year": 1850}, {"vehicle_year"}),
    ({**GOOD, "customer_first_name": ["Maria"]}, {"customer_first_name"}),
    ({**GOOD, "eta": "next tuesday"}, {"eta"}),
    ({**GOOD, "stage_id": "first"}, {"stage_id"}),
    ({**GOOD, "claim_type": "hail-of-frogs"}, {"claim_type"}),
    ({**GOOD, "customer_email": "not-an-email"}, {"customer_email"}),
    ({**GOOD, "number": "x" * 41}, {"number"}),
    ({"customer_first_name": "Maria"}, {"number", "customer_last_name"}),
    ({**GOOD, "shop_id": 2}, {"shop_id"}),
    ({**GOOD, "tenant_id": 2, "colour": "red"}, {"tenant_id", "colour"}),
    ({**GOOD, "id": 99}, {"id"}),
    ({**GOOD, "vin": "1HGCM82633A00435"}, {"vin"}),
    ({**GOOD, "vin": "1HGCM82633A004353"}, {"vin"}),
    ({**GOOD, "vin": "IHGCM82633A004352"}, {"vin"}),
    ({**GOOD, "customer_mobile": "555"}, {"customer_mobile"}),
    ({**GOOD, "customer_mobile": "call me maybe"}, {"customer_mobile"}),
    ({**GOOD, "adjuster_phone": "+1 000 000 0000"}, {"adjuster_phone"}),
    ({**GOOD, "number": "   "}, {"number"}),
    ({**GOOD, "customer_first_name": "  ", "customer_last_name": "\t"}, {"customer_first_name", "customer_last_name"}),
])
def test_invalid_claim_fields_are_named_and_nothing_is_written(app, client, payload, fields):
    before = counts(app)
    assert_error(client.post("/api/v1/claims", json=payload), 422, "validation_error", fields)
    assert counts(app) == before


def test_patch_rejects_bad_fields_and_keeps_the_claim(app, client, shop, make_claim):
    claim = make_claim(shop, vehicle_color="Blue")
    for payload, fields in [({"vin": "12345678901234567"}, {"vin"}), ({"stage_id": 1}, {"stage_id"}),
                            ({"eta": "2030-01-01"}, {"eta"}), ({"customer_mobile": "12"}, {"customer_mobile"}),
                            ({"vehicle_color": 7}, {"vehicle_color"}), ({"bogus": 1}, {"bogus"}),
                            ({"customer_last_name": None}, {"customer_last_name"})]:
        assert_error(client.patch(f"/api/v1/claims/{claim.id}", json=payload), 422, "validation_error", fields)
    got = client.get(f"/api/v1/claims/{claim.id}").json
    assert got["vehicle_color"] == "Blue" and got["vin"] is None and got["customer_last_name"] == "Reyes"
    assert got["updated_at"] == client.get(f"/api/v1/claims/{claim.id}").json["updated_at"]


def test_valid_vin_and_phone_are_accepted_and_normalised(client):
    vin = with_check_digit("1HGCM82633A004352")
    r = client.post("/api/v1/claims", json={**GOOD, "vin": f" {vin.lower()} ", "customer_mobile": "617 555 0142"})
    assert r.status_code == 201, r.json
    assert r.json["vin"] == vin and r.json["customer_mobile"] == "+16175550142"


def test_duplicate_claim_number_is_409(app, client, shop, make_claim):
    make_claim(shop, number="RO-77")
    other = make_claim(shop, number="RO-78")
    before = counts(app)
    body = assert_error(client.post("/api/v1/claims", json={**GOOD, "number": "RO-77"}), 409, "conflict", {"number"})
    assert "already" in body["errors"]["json"]["number"][0]
    # surrounding blanks do not make it a different number
    assert_error(client.post("/api/v1/claims", json={**GOOD, "number": " RO-77 "}), 409, "conflict", {"number"})
    # renaming another claim onto it is refused the same way
    assert_error(client.patch(f"/api/v1/claims/{other.id}", json={"number": "RO-77"}), 409, "conflict", {"number"})
    assert counts(app) == before
    assert client.get(f"/api/v1/claims/{other.id}").json["number"] == "RO-78"


def test_same_claim_number_in_another_shop_is_fine(make_shop, make_claim, client):
    make_claim(make_shop(), number="RO-1")
    assert client.post("/api/v1/claims", json=GOOD).status_code == 201


def test_stage_from_another_shop_is_422(app, client, shop, make_shop, make_claim, api_client):
    other = make_shop()
    foreign_stage = api_client(other).get("/api/v1/stages").json[1]["id"]
    claim = make_claim(shop)
    before = counts(app)
    assert_error(client.post("/api/v1/claims", json={**GOOD, "stage_id": foreign_stage}), 422,
                 "validation_error", {"stage_id"})
    assert_error(client.post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": foreign_stage}), 422,
                 "validation_error", {"stage_id"})
    assert_error(client.put("/api/v1/stages/order", json={"order": [foreign_stage]}), 422, "validation_error")
    assert counts(app) == before
    assert client.get(f"/api/v1/claims/{claim.id}").json["stage_id"] != foreign_stage


def test_archived_stage_is_422(app, client, shop):
    stages = client.get("/api/v1/stages").json
    assert client.delete(f"/api/v1/stages/{stages[-1]['id']}").status_code == 204
    before = counts(app)
    assert_error(client.post("/api/v1/claims", json={**GOOD, "stage_id": stages[-1]["id"]}), 422,
                 "validation_error", {"stage_id"})
    assert counts(app) == before


def test_oversize_body_is_413(app, client):
    before = counts(app)
    r = client.post("/api/v1/claims", json={**GOOD, "internal_notes": "x" * 10_000})
    assert_error(r, 413, "payload_too_large")
    assert counts(app) == before


def test_wrong_types_in_other_endpoints(app, client, shop, make_claim):
    claim = make_claim(shop)
    before = counts(app)
    assert_error(client.post(f"/api/v1/claims/{claim.id}/eta", json={"eta": 5}), 422, "validation_error", {"eta"})
    assert_error(client.post(f"/api/v1/claims/{claim.id}/eta", json={}), 422, "validation_error", {"eta"})
    assert_error(client.post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": None}), 422, "validation_error",
                 {"stage_id"})
    assert_error(client.post("/api/v1/stages", json={"name": ""}), 422, "validation_error", {"name"})
    assert_error(client.post("/api/v1/stages", json={"name": "X", "hidden": "sometimes"}), 422,
                 "validation_error", {"hidden"})
    assert_error(client.put("/api/v1/stages/order", json={"order": "1,2"}), 422, "validation_error", {"order"})
    assert_error(client.post("/api/v1/stages/apply-template", json={"template": "nope"}), 422, "validation_error")
    assert_error(client.get("/api/v1/claims?updated_since=yesterday"), 422, "validation_error")
    assert_error(client.get("/api/v1/claims?page=0"), 422, "validation_error")
    assert_error(client.post("/api/v1/staff", json={"email": "x@example.com", "name": "X", "role": "boss"}), 422,
                 "validation_error", {"role"})
    assert_error(client.patch("/api/v1/shop", json={"phone": "12"}), 422, "validation_error", {"phone"})
    assert_error(client.patch("/api/v1/shop", json={"timezone": "Mars/Olympus"}), 422, "validation_error",
                 {"timezone"})
    assert_error(client.patch("/api/v1/shop", json={"plan_key": "elite"}), 422, "validation_error", {"plan_key"})
    assert counts(app) == before
    assert client.get("/api/v1/shop").json["plan_key"] == "starter"


@pytest.mark.parametrize("big", [2**31, 2**63, 10**30])
def test_out_of_range_ids_are_not_found_not_500(app, client, shop, make_claim, big):
    claim = make_claim(shop)
    before = counts(app)
    for method, url in [("GET", f"/api/v1/claims/{big}"), ("PATCH", f"/api/v1/claims/{big}"),
                        ("DELETE", f"/api/v1/claims/{big}"), ("GET", f"/api/v1/claims/{big}/history"),
                        ("PATCH", f"/api/v1/stages/{big}"), ("GET", f"/api/v1/staff/{big}")]:
        r = client.open(url, method=method, json={"name": "x"} if method == "PATCH" and "stages" in url else {})
        assert_error(r, 404, "not_found")
    assert_error(client.post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": big}), 422, "validation_error",
                 {"stage_id"})
    assert_error(client.post("/api/v1/claims", json={**GOOD, "stage_id": big}), 422, "validation_error",
                 {"stage_id"})
    for query in (f"stage_id={big}", f"page={big}", f"page_size={big}"):
        r = client.get(f"/api/v1/claims?{query}")
        assert r.status_code in (200, 422), (query, r.status_code)
        assert r.is_json
    assert counts(app) == before


def test_nul_characters_are_refused_not_500(app, client, shop, make_claim):
    claim = make_claim(shop)
    before = counts(app)
    assert_error(client.post("/api/v1/claims", json={**GOOD, "number": "RO\x001"}), 400, "bad_request")
    assert_error(client.patch(f"/api/v1/claims/{claim.id}", json={"internal_notes": ["x", {"k\x00": 1}]}), 400,
                 "bad_request")
    assert_error(client.post("/api/v1/stages/apply-template", json={"template": "\x00"}), 400, "bad_request")
    assert_error(client.get("/api/v1/claims?q=%00"), 400, "bad_request")
    assert counts(app) == before
