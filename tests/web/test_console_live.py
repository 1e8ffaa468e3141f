"""Staff pages follow the shop live (/console/events): login needed, every claim of the current
shop, never another shop's, and the claim and board pages carry the script that refetches them."""
from __future__ import annotations

import json

import pytest

from bayline.testing.forms import csrf_token
from bayline.testing.sse import read_until


@pytest.fixture
def app_config():
    return {"BAYLINE_SSE_HEARTBEAT": 0.2, "BAYLINE_SSE_MAX_SECONDS": 10}


def _data(text):
    return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]


def test_events_need_a_staff_login(app, make_shop, make_claim):
    make_claim(make_shop())
    anonymous = app.test_client().get("/console/events")
    assert anonymous.status_code in (302, 401) and "text/event-stream" not in anonymous.content_type


def test_changes_of_the_shop_reach_its_staff_and_no_other_shop(app, staff, make_shop, make_claim, api_client,
                                                                portal_client):
    shop, _, client, _ = staff()
    other_shop, _, other_client, _ = staff()
    claim = make_claim(shop)
    theirs = make_claim(other_shop)
    stream = client.get("/console/events", buffered=False)
    assert stream.status_code == 200 and stream.content_type.startswith("text/event-stream")
    read_until(stream, ": connected")
    other_stream = other_client.get("/console/events", buffered=False)
    read_until(other_stream, ": connected")

    their_api = api_client(other_shop)
    their_stages = their_api.get("/api/v1/stages").json
    their_api.post(f"/api/v1/claims/{theirs.id}/stage", json={"stage_id": their_stages[1]["id"]})
    read_until(other_stream, "claim.stage_changed")

    created = api_client(shop).post("/api/v1/claims", json={
        "number": "RO-LIVE-1", "customer_first_name": "Ana", "customer_last_name": "Silva"}).json
    text = read_until(stream, "claim.created")
    customer = portal_client(claim)
    customer.post("/c/s/messages", data={"csrf_token": csrf_token(customer, "/c/s/"), "body": "When is it ready?"})
    text += read_until(stream, "message.received")
    events = _data(text)
    assert {"type": "claim.created", "claim_id": created["id"]} in events
    assert {"type": "message.received", "claim_id": claim.id} in events
    assert all(e["claim_id"] != theirs.id for e in events)  # the other shop's change never came here
    stream.close()
    other_stream.close()


def test_claim_and_board_pages_follow_live(app, staff, make_claim):
    shop, _, client, _ = staff()
    claim = make_claim(shop)
    page = client.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert f'data-live-claim="{claim.id}"' in page and "console.js" in page
    for section in ('id="details" data-live', 'id="history" data-live', 'id="messages" data-live'):
        assert section in page
    _, _, viewer, _ = staff("technician", shop=shop)
    assert "console.js" in viewer.get("/console/").get_data(as_text=True)
