"""CSV and JSON import with the documented column set: invalid input reported by line, nothing
half-imported; the console upload form shows the errors."""
from __future__ import annotations

import io

import pytest

from bayline.testing.forms import csrf_token

HEADER = "estimate_id,version,ro_number,description,part_number,part_type,quantity,unit_price,payer,taxable\n"
GOOD = HEADER + "W-7,0,RO-4471,Bumper cover,57704FL000,oem,1,400.00,insurer,yes\n" \
                "W-7,0,RO-4471,Door ding,,,1,60.00,customer,no\n"


def post(shop, fmt, content):
    return shop.api.post(f"/api/v1/plugins/quotes/claims/{shop.claim.id}/imports",
                         json={"format": fmt, "content": content})


def versions(shop):
    return shop.api.get(f"/api/v1/plugins/quotes/claims/{shop.claim.id}/versions").get_json()


def test_good_csv_and_json(quotes_shop):
    r = post(quotes_shop, "csv", GOOD)
    assert r.status_code == 201, r.get_json()
    v = r.get_json()["version"]
    assert v["source"] == "csv" and v["totals"]["total"] == "500.00"  # 400 + 40 tax + 60
    r = post(quotes_shop, "json", {"estimate_id": "J-1", "version": 0, "totals": {"total": "110.00"},
                                   "lines": [{"description": "Mirror", "part_type": "used", "unit_price": "100",
                                              "part_number": "M1"}]})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["version"]["totals_mismatch"] == []


@pytest.mark.parametrize("content,expected", [
    (HEADER + "W-7,0,RO-4471,Bumper,P1,oem,1,4OO.00,insurer,yes\n", "line 2: unit_price: '4OO.00' is not a number"),
    (HEADER + "W-7,0,RO-4471,Bumper,P1,oem,-2,400.00,insurer,yes\n", "line 2: quantity: must not be negative"),
    (HEADER + "W-7,0,RO-4471,Bumper,P1,new,1,400.00,insurer,yes\n", "line 2: part_type: 'new' is not one of"),
    (HEADER + "W-7,0,RO-4471,Bumper,P1,oem,1,400.00,adjuster,yes\n", "line 2: payer: 'adjuster' is not one of"),
    (HEADER + "W-7,0,RO-4471,,P1,oem,1,400.00,insurer,yes\n", "line 2: description: required"),
    (HEADER.replace("taxable", "margin") + "W-7,0,RO-4471,Bumper,P1,oem,1,400.00,insurer,12\n",
     "header: unknown column(s): margin"),
    (HEADER + "W-7,0,RO-4471,Bumper,P1,oem,1,NaN,insurer,yes\n", "line 2: unit_price: 'NaN' is not a number"),
    (HEADER + "W-7,0,RO-4471,Ok line,P1,oem,1,1.00,insurer,yes\nW-7,1,RO-4471,Bumper,P1,oem,1,2,insurer,yes\n",
     "line 3: version: '1' differs from '0'"),
])
def test_bad_csv_is_reported_by_line_and_nothing_is_imported(quotes_shop, content, expected):
    r = post(quotes_shop, "csv", content)
    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert body["code"] == "quotes_invalid_file"
    assert any(e.startswith(expected) for e in body["errors"]["file"]), body
    assert versions(quotes_shop) == []


def test_every_bad_line_is_listed_at_once(quotes_shop):
    content = HEADER + "W-7,0,RO-4471,A,P1,oem,x,1,insurer,yes\nW-7,0,RO-4471,B,P2,oem,1,y,insurer,yes\n"
    errors = post(quotes_shop, "csv", content).get_json()["errors"]["file"]
    assert [e.split(":")[0] for e in errors] == ["line 2", "line 3"]


@pytest.mark.parametrize("doc,expected", [
    ({"estimate_id": "J", "lines": [{"description": "A", "quantity": -1}]}, "lines[0]: quantity: must not be"),
    ({"estimate_id": "J", "lines": [{"description": "A", "unit_price": True}]}, "lines[0]: unit_price: True"),
    ({"estimate_id": "J", "lines": [{"description": "A", "cost": "1"}]}, "lines[0]: unknown field(s): cost"),
    ({"estimate_id": "J", "lines": "nope"}, "file: lines: must be a list"),
    ({"lines": [{"description": "A"}]}, "file: estimate_id: required"),
    ({"estimate_id": "J", "lines": [{"description": "A", "shop_only": True, "payer": "customer"}]},
     "line 1: a shop-only line cannot be paid by the customer"),
])
def test_bad_json(quotes_shop, doc, expected):
    r = post(quotes_shop, "json", doc)
    assert r.status_code == 422, r.get_json()
    assert any(e.startswith(expected) for e in r.get_json()["errors"]["file"]), r.get_json()
    assert versions(quotes_shop) == []


def test_not_json_and_unknown_format(quotes_shop):
    r = post(quotes_shop, "json", "{not json")
    assert r.status_code == 422 and r.get_json()["code"] == "quotes_invalid_file"
    r = post(quotes_shop, "ems", "x")
    assert r.status_code == 422 and r.get_json()["code"] == "validation_error"


def test_console_upload_shows_the_errors_by_line(quotes_shop, client_for):
    staff = client_for(quotes_shop.owner)
    page = staff.get(f"/console/claims/{quotes_shop.claim.id}")
    assert "Estimate and payments" in page.get_data(as_text=True)
    bad = HEADER + "W-7,0,RO-4471,Bumper,P1,oem,-1,400.00,insurer,yes\n"
    r = staff.post(f"/plugins/quotes/claims/{quotes_shop.claim.id}/import",
                   data={"csrf_token": csrf_token(page), "file": (io.BytesIO(bad.encode()), "est.csv")},
                   content_type="multipart/form-data")
    assert r.status_code == 422
    assert "line 2: quantity: must not be negative" in r.get_data(as_text=True)
    assert versions(quotes_shop) == []
    r = staff.post(f"/plugins/quotes/claims/{quotes_shop.claim.id}/import",
                   data={"csrf_token": csrf_token(page), "file": (io.BytesIO(GOOD.encode()), "est.csv")},
                   content_type="multipart/form-data")
    assert r.status_code == 303
    assert len(versions(quotes_shop)) == 1
    html = staff.get(f"/console/claims/{quotes_shop.claim.id}").get_data(as_text=True)
    assert "Original estimate" in html and 'quotes-total">$500.00<' in html


def test_read_only_key_cannot_import(quotes_shop, api_client):
    reader = api_client(quotes_shop.shop, scopes=("read",))
    r = reader.post(f"/api/v1/plugins/quotes/claims/{quotes_shop.claim.id}/imports",
                    json={"format": "csv", "content": GOOD})
    assert r.status_code == 403
    assert reader.get(f"/api/v1/plugins/quotes/claims/{quotes_shop.claim.id}/versions").status_code == 200
