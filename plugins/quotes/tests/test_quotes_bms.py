"""CIECA BMS import: an original and two supplements, a re-save storm, a namespace-less file, XXE and
billion-laughs payloads refused, a totals mismatch flagged, mapping to the claim by RO / claim / VIN."""
from __future__ import annotations

import pytest
from bayline_quotes.imports import ImportRejected, parse_bms


def imp(shop, q, name, claim_id=None):
    url = (f"/api/v1/plugins/quotes/claims/{claim_id}/imports" if claim_id else "/api/v1/plugins/quotes/imports")
    return shop.api.post(url, json=q.bms(name))


def test_original_and_two_supplements(quotes_shop, q):
    first = imp(quotes_shop, q, "bms_original.xml")  # mapped to the claim by the file's RO number
    assert first.status_code == 201, first.get_json()
    v0 = first.get_json()["version"]
    assert (v0["claim_id"], v0["number"], v0["label"]) == (quotes_shop.claim.id, 0, "Original estimate")
    assert v0["totals"]["total"] == "1030.00" and v0["totals"]["tax"] == "65.00"
    assert v0["totals"]["payers"] == {"insurer": "470.00", "customer": "560.00", "warranty": "0.00"}
    assert v0["totals_mismatch"] == []
    bumper = v0["lines"][0]
    assert (bumper["part_type"], bumper["part_number"], bumper["labor_type"]) == ("oem", "57704FL000", "body")
    assert (bumper["labor_hours"], bumper["total"]) == ("2.0", "560.00")
    assert v0["lines"][1]["part_type"] == "aftermarket"
    assert v0["lines"][2]["paint_materials"] == "45.00"
    assert v0["lines"][3]["payer"] == "customer"

    s1 = imp(quotes_shop, q, "bms_supplement1.xml").get_json()["version"]
    assert (s1["number"], s1["label"], s1["totals"]["total"]) == (1, "Supplement 1", "1288.00")
    assert s1["diff"]["summary"] == "Supplement 1: +$258.00 (insurer +$258.00, you +$0.00)"
    assert [(c["change"], c["description"]) for c in s1["diff"]["lines"]] == [("added", "Bumper reinforcement")]

    s2 = imp(quotes_shop, q, "bms_supplement2.xml").get_json()["version"]
    assert s2["totals"]["total"] == "1567.80" and s2["totals"]["tax"] == "108.44" and s2["totals_mismatch"] == []
    # tire 220.00 with 25 % betterment (55.00) to the customer; wheel locks 29.36 + 2.94 tax = 32.30
    assert s2["totals"]["payers"] == {"insurer": "920.50", "customer": "647.30", "warranty": "0.00"}
    assert s2["diff"]["base_label"] == "Supplement 1"  # nothing approved yet: against the previous one
    assert s2["diff"]["summary"] == "Supplement 2: +$279.80 (insurer +$192.50, you +$87.30)"
    changes = {(c["change"], c["description"], c["delta"]) for c in s2["diff"]["lines"]}
    assert changes == {("changed", "Headlamp assembly LH", "27.50"), ("added", "Tire LF", "220.00"),
                       ("added", "Wheel lock set (customer upgrade)", "32.30")}

    versions = quotes_shop.api.get(f"/api/v1/plugins/quotes/claims/{quotes_shop.claim.id}/versions").get_json()
    assert [(v["number"], v["status"]) for v in versions] == [(0, "superseded"), (1, "superseded"), (2, "open")]


def test_diff_is_against_the_last_approved_version(quotes_shop, q, portal_client):
    v0 = imp(quotes_shop, q, "bms_original.xml").get_json()["version"]
    phone = portal_client(quotes_shop.claim)
    from bayline.testing.forms import csrf_token

    page = phone.get(f"/c/s/quotes/versions/{v0['id']}")
    r = phone.post(f"/c/s/quotes/versions/{v0['id']}/decide", data={"csrf_token": csrf_token(page),
                                                                      "action": "approve_all"})
    assert r.status_code == 303
    imp(quotes_shop, q, "bms_supplement1.xml")
    s2 = imp(quotes_shop, q, "bms_supplement2.xml").get_json()["version"]
    assert s2["diff"]["base_label"] == "Original estimate"
    assert s2["diff"]["summary"] == "Supplement 2: +$537.80 (insurer +$450.50, you +$87.30)"


def test_resave_storm_keeps_one_version(quotes_shop, q):
    data = q.fixture("bms_original.xml").decode()
    outcomes = []
    for i in range(20):  # the estimating system re-saves: new RqUID and timestamp, same content
        copy = data.replace("<RqUID>8f1d-0</RqUID>", f"<RqUID>storm-{i}</RqUID>").replace(
            "2026-11-30T10:00:00Z", f"2026-11-30T10:00:{i:02d}Z")
        r = quotes_shop.api.post("/api/v1/plugins/quotes/imports", json=q.bms(copy.encode()))
        assert r.status_code in (200, 201), r.get_json()
        outcomes.append(r.get_json()["outcome"])
    assert outcomes == ["created"] + ["duplicate"] * 19
    versions = quotes_shop.api.get(f"/api/v1/plugins/quotes/claims/{quotes_shop.claim.id}/versions").get_json()
    assert len(versions) == 1 and versions[0]["saves"] == 20 and len(versions[0]["lines"]) == 4


def test_resave_with_changed_content_updates_until_decided(quotes_shop, q, portal_client):
    v0 = imp(quotes_shop, q, "bms_original.xml").get_json()["version"]
    changed = q.fixture("bms_original.xml").replace(b"<PartPrice>250.00</PartPrice>", b"<PartPrice>260.00</PartPrice>")
    r = quotes_shop.api.post("/api/v1/plugins/quotes/imports", json=q.bms(changed))
    assert r.status_code == 200 and r.get_json()["outcome"] == "updated"
    assert r.get_json()["version"]["id"] == v0["id"]
    assert r.get_json()["version"]["totals_mismatch"][0]["total"] == "total"  # the file's totals were for 250
    from bayline.testing.forms import csrf_token

    phone = portal_client(quotes_shop.claim)
    page = phone.get(f"/c/s/quotes/versions/{v0['id']}")
    phone.post(f"/c/s/quotes/versions/{v0['id']}/decide",
               data={"csrf_token": csrf_token(page), "action": "approve_all"})
    again = quotes_shop.api.post("/api/v1/plugins/quotes/imports", json=q.bms("bms_original.xml"))
    assert again.status_code == 409 and again.get_json()["code"] == "quotes_version_decided"


def test_namespace_less_file_reads_the_same(quotes_shop, q):
    plain = parse_bms(q.fixture("bms_original_no_namespace.xml"))
    spaced = parse_bms(q.fixture("bms_original.xml"))
    assert plain.content_hash() == spaced.content_hash()
    r = imp(quotes_shop, q, "bms_original_no_namespace.xml")
    assert r.status_code == 201 and r.get_json()["version"]["totals"]["total"] == "1030.00"


@pytest.mark.parametrize("name", ["bms_xxe.xml", "bms_billion_laughs.xml"])
def test_entity_payloads_are_refused(quotes_shop, q, name):
    r = imp(quotes_shop, q, name, quotes_shop.claim.id)
    assert r.status_code == 422 and r.get_json()["code"] == "quotes_xml_forbidden", r.get_json()
    assert "root:" not in r.get_data(as_text=True)
    assert quotes_shop.api.get(f"/api/v1/plugins/quotes/claims/{quotes_shop.claim.id}/versions").get_json() == []


def test_size_limit(q):
    from bayline_quotes import imports

    big = b"<VehicleDamageEstimateAddRq>" + b" " * (imports.MAX_BYTES + 1) + b"</VehicleDamageEstimateAddRq>"
    with pytest.raises(ImportRejected) as err:
        parse_bms(big)
    assert err.value.code == "quotes_file_too_large"


def test_totals_mismatch_is_flagged_not_hidden(quotes_shop, q):
    imp(quotes_shop, q, "bms_original.xml")
    s1 = imp(quotes_shop, q, "bms_supplement1_mismatch.xml").get_json()["version"]
    assert s1["totals"]["total"] == "1288.00"  # ours, from the lines
    assert s1["totals_mismatch"] == [{"total": "total", "file": "1290.00", "computed": "1288.00",
                                      "difference": "-2.00"}]
    page = quotes_shop.api.get(f"/console/claims/{quotes_shop.claim.id}")  # the API key cannot see the console
    assert page.status_code in (302, 401, 403)


def test_mismatch_shows_on_the_staff_panel(quotes_shop, q, client_for):
    imp(quotes_shop, q, "bms_original.xml")
    imp(quotes_shop, q, "bms_supplement1_mismatch.xml")
    html = client_for(quotes_shop.owner).get(f"/console/claims/{quotes_shop.claim.id}").get_data(as_text=True)
    assert "Totals do not match the file" in html and "file 1290.00, computed 1288.00" in html


def test_file_for_an_unknown_claim_is_refused(quotes_shop, q):
    other = q.fixture("bms_original.xml").replace(b"RO-4471", b"RO-0000").replace(b"AM-99-1203", b"X").replace(
        b"1HGCM82633A004352", b"1HGCM82633A004353")
    r = quotes_shop.api.post("/api/v1/plugins/quotes/imports", json=q.bms(other))
    assert r.status_code == 422 and r.get_json()["code"] == "quotes_no_matching_claim"


def test_matched_by_vin_when_no_number_matches(quotes_shop, q):
    other = q.fixture("bms_original.xml").replace(b"RO-4471", b"RO-0000").replace(b"AM-99-1203", b"X")
    r = quotes_shop.api.post("/api/v1/plugins/quotes/imports", json=q.bms(other))
    assert r.status_code == 201 and r.get_json()["version"]["claim_id"] == quotes_shop.claim.id


def test_out_of_order_supplement_is_refused(quotes_shop, q):
    imp(quotes_shop, q, "bms_supplement2.xml")
    r = imp(quotes_shop, q, "bms_supplement1.xml")
    assert r.status_code == 409 and r.get_json()["code"] == "quotes_version_out_of_order"


def test_another_shops_claim_number_does_not_match(quotes_shop, q, make_shop, api_client):
    other = api_client(make_shop(name="Elsewhere"))
    r = other.post("/api/v1/plugins/quotes/imports", json=q.bms("bms_original.xml"))
    assert r.status_code == 422 and r.get_json()["code"] == "quotes_no_matching_claim"
    r = other.post(f"/api/v1/plugins/quotes/claims/{quotes_shop.claim.id}/imports", json=q.bms("bms_original.xml"))
    assert r.status_code == 404


def test_concurrent_resave_storm_keeps_one_version(app, quotes_shop, q, api_client):
    """20 re-saves arriving at once (separate connections): one estimate, one version."""
    import threading

    clients = [api_client(quotes_shop.shop) for _ in range(20)]
    body = q.bms("bms_original.xml")
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def send(client):
        start.wait()
        statuses.append(client.post("/api/v1/plugins/quotes/imports", json=body).status_code)

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * 19 + [201], statuses
    versions = quotes_shop.api.get(f"/api/v1/plugins/quotes/claims/{quotes_shop.claim.id}/versions").get_json()
    assert len(versions) == 1 and len(versions[0]["lines"]) == 4
