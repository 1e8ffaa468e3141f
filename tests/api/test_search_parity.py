"""One claim search (``bayline.claims.service.search``) serves the console's claim list and
``GET /api/v1/claims``: for every query in the table both return the same claims."""
from __future__ import annotations

import re

import pytest

CLAIMS = [
    {"number": "RO-100", "customer_first_name": "Dana", "customer_last_name": "Reyes", "plate": "7XY-123"},
    {"number": "RO-101", "customer_first_name": "Dana", "customer_last_name": "Brennan", "vin": "1HGCM82633A004352"},
    {"number": "RO_102", "customer_first_name": "Sam", "customer_last_name": "O'Neil"},
    {"number": "RO-103", "customer_first_name": "Pat", "customer_last_name": "100% Body"},
    {"number": "RO-104", "customer_first_name": "Lee", "customer_last_name": "Back\\slash"},
]

QUERIES = [
    ("Dana Reyes", {"RO-100"}),
    ("dana  reyes", {"RO-100"}),  # case and runs of spaces do not matter
    ("Dana", {"RO-100", "RO-101"}),
    ("reyes", {"RO-100"}),
    ("a B", {"RO-101"}),  # the full name "Dana Brennan" contains "a B"
    ("%", {"RO-103"}),  # a literal percent sign, not "anything"
    ("_", {"RO_102"}),  # a literal underscore
    ("RO_", {"RO_102"}),
    ("100%", {"RO-103"}),
    ("\\", {"RO-104"}),
    ("O'Neil", {"RO_102"}),
    ("004352", {"RO-101"}),
    ("7xy", {"RO-100"}),
    ("nobody", set()),
    ("", {c["number"] for c in CLAIMS}),
]


@pytest.fixture
def seeded(app, make_shop, make_claim, make_user, client_for, api_client):
    shop = make_shop()
    for data in CLAIMS:
        make_claim(shop, **data)
    make_claim(make_shop(), number="RO-999", customer_first_name="Dana", customer_last_name="Reyes")  # other shop
    return client_for(make_user(shop, "owner"), shop), api_client(shop, scopes=("read",))


@pytest.mark.parametrize(("q", "expected"), QUERIES)
def test_console_and_api_find_the_same_claims(seeded, q, expected):
    console, api = seeded
    page = console.get("/console/claims", query_string={"q": q})
    assert page.status_code == 200
    in_console = set(re.findall(r'data-claim-number="([^"]+)"', page.get_data(as_text=True)))
    listed = api.get("/api/v1/claims", query_string={"q": q, "page_size": 100})
    assert listed.status_code == 200
    in_api = {c["number"] for c in listed.json}
    assert in_console == in_api == expected
