"""Issue 16 item 2: a claim's estimator (one of the shop's staff) is set on the edit form and through
the API, shown on the claim page and the board, and the board filters by it beside insurer and ETA."""
from __future__ import annotations

import re

from bayline.claims.models import Claim
from bayline.testing.plugin import in_tenant


def _estimator_of(app, shop, claim_id):
    with in_tenant(app, shop.id) as session:
        return session.get(Claim, claim_id).estimator_id


def _tickets(page: str) -> set[str]:
    return set(re.findall(r'<article class="ticket" data-claim-id="(\d+)"', page))


def test_edit_form_sets_the_estimator_and_the_board_filters_by_it(app, staff, make_user, make_claim):
    shop, _, client, token = staff()
    estimator = make_user(shop, "estimator")
    mine = make_claim(shop, number="RO-E1", insurer="Acme Mutual")
    other = make_claim(shop, number="RO-E2", insurer="Acme Mutual")
    page = client.get(f"/console/claims/{mine.id}/edit").get_data(as_text=True)
    assert f'<option value="{estimator.id}"' in page and "Nobody yet" in page
    form = {"csrf_token": token, "number": "RO-E1", "customer_first_name": "Dana", "customer_last_name": "Reyes",
            "insurer": "Acme Mutual", "claim_type": "insurance", "estimator_id": str(estimator.id)}
    r = client.post(f"/console/claims/{mine.id}/edit", data=form)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    assert _estimator_of(app, shop, mine.id) == estimator.id
    claim_page = client.get(f"/console/claims/{mine.id}").get_data(as_text=True)
    assert re.search(r'id="claim-estimator">\s*' + re.escape(estimator.name), claim_page)

    board = client.get("/console/").get_data(as_text=True)
    assert _tickets(board) == {str(mine.id), str(other.id)}
    assert f"Estimator: {estimator.name}" in board
    filtered = client.get(f"/console/?estimator={estimator.id}").get_data(as_text=True)
    assert _tickets(filtered) == {str(mine.id)} and "(filtered)" in filtered
    assert f'<option value="{estimator.id}" selected>' in filtered
    assert _tickets(client.get("/console/?estimator=none").get_data(as_text=True)) == {str(other.id)}
    both = client.get(f"/console/?estimator={estimator.id}&insurer=Other+Co").get_data(as_text=True)
    assert _tickets(both) == set()  # filters combine
    assert client.get("/console/?estimator=abc").status_code == 400

    # cleared again: "Nobody yet"
    r = client.post(f"/console/claims/{mine.id}/edit", data={**form, "estimator_id": ""})
    assert r.status_code == 302 and _estimator_of(app, shop, mine.id) is None


def test_another_shops_user_is_refused_inline_keeping_what_was_typed(app, staff, make_shop, make_user, make_claim):
    shop, _, client, token = staff()
    stranger = make_user(make_shop(), "estimator")
    claim = make_claim(shop, number="RO-E3")
    form = {"csrf_token": token, "number": "RO-E3", "customer_first_name": "Dana", "customer_last_name": "Typed",
            "claim_type": "insurance", "estimator_id": str(stranger.id)}
    r = client.post(f"/console/claims/{claim.id}/edit", data=form)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Pick someone of this shop&#39;s staff." in page or "Pick someone of this shop's staff." in page
    assert 'value="Typed"' in page
    assert _estimator_of(app, shop, claim.id) is None
    # the board refuses a stranger as a filter too (no peeking at another shop's staff)
    assert client.get(f"/console/?estimator={stranger.id}").status_code == 400


def test_api_sets_and_shows_the_estimator(app, make_shop, make_user, make_claim, api_client):
    shop = make_shop()
    estimator = make_user(shop, "estimator")
    stranger = make_user(make_shop(), "estimator")
    claim = make_claim(shop)
    client = api_client(shop)
    r = client.patch(f"/api/v1/claims/{claim.id}", json={"estimator_id": estimator.id})
    assert r.status_code == 200, r.json
    assert r.json["estimator_id"] == estimator.id and r.json["estimator_name"] == estimator.name
    r = client.patch(f"/api/v1/claims/{claim.id}", json={"estimator_id": stranger.id})
    assert r.status_code == 422 and "estimator_id" in r.json["errors"]["json"]
    r = client.patch(f"/api/v1/claims/{claim.id}", json={"estimator_id": None})
    assert r.status_code == 200 and r.json["estimator_id"] is None and r.json["estimator_name"] is None
    created = client.post("/api/v1/claims", json={"number": "RO-E9", "customer_first_name": "A",
                                                  "customer_last_name": "B", "estimator_id": estimator.id})
    assert created.status_code == 201 and created.json["estimator_id"] == estimator.id
