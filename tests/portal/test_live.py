"""Live updates: SSE needs a portal session; stage changes and messages reach an open stream."""
from __future__ import annotations

import time

import pytest

from bayline.live import LocalBroker, channel, get_broker
from bayline.testing.sse import read_until


@pytest.fixture
def app_config():
    return {"BAYLINE_SSE_HEARTBEAT": 0.2, "BAYLINE_SSE_MAX_SECONDS": 10}


def test_sse_refuses_without_a_session(app, make_shop, make_claim):
    shop = make_shop()
    make_claim(shop)
    r = app.test_client().get("/c/s/events")
    assert r.status_code == 404 and "text/event-stream" not in r.content_type


def test_stage_change_and_message_reach_the_stream(app, make_shop, make_claim, portal_client, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    other_claim = make_claim(shop)
    customer = portal_client(claim)
    stream = customer.get("/c/s/events", buffered=False)
    assert stream.status_code == 200 and stream.content_type.startswith("text/event-stream")
    assert stream.headers["Cache-Control"] == "no-store"
    read_until(stream, ": connected")
    api = api_client(shop)
    stages = api.get("/api/v1/stages").json
    api.post(f"/api/v1/claims/{other_claim.id}/stage", json={"stage_id": stages[3]["id"]})  # not ours
    started = time.monotonic()
    api.post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": stages[2]["id"]})
    text = read_until(stream, "claim.stage_changed")
    assert time.monotonic() - started < 1.0
    assert text.count("data:") == 1  # the other claim's change never reached this stream
    api.post(f"/api/v1/claims/{claim.id}/messages", json={"body": "Going well"})
    read_until(stream, "message.sent")
    api.post(f"/api/v1/claims/{claim.id}/eta", json={"eta": "2030-01-02"})
    read_until(stream, "claim.eta_changed")
    stream.close()


def test_closed_stream_frees_its_subscription(app, make_shop, make_claim, portal_client):
    shop = make_shop()
    claim = make_claim(shop)
    broker = get_broker(app)
    assert isinstance(broker, LocalBroker)
    stream = portal_client(claim).get("/c/s/events", buffered=False)
    read_until(stream, ": connected")
    assert broker.subscriber_count(channel(shop.id, claim.id)) == 1
    stream.close()
    assert broker.subscriber_count(channel(shop.id, claim.id)) == 0


def test_page_ships_the_live_script(app, make_shop, make_claim, portal_client):
    shop = make_shop()
    claim = make_claim(shop)
    body = portal_client(claim).get("/c/s/").get_data(as_text=True)
    assert '<script src="/static/portal.js" defer></script>' in body
    assert 'id="status" data-live' in body
    script = app.test_client().get("/static/portal.js").get_data(as_text=True)
    assert 'new EventSource("/c/s/events")' in script and "setInterval(refresh" in script
