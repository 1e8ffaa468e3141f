"""Live updates through Redis pub/sub: an event published by another process reaches the SSE stream."""
from __future__ import annotations

import subprocess
import sys

import pytest

from bayline.live import RedisBroker, get_broker
from bayline.testing.sse import read_until


@pytest.fixture
def app_config(redis_url):
    return {"redis_url": redis_url, "BAYLINE_SSE_HEARTBEAT": 0.2, "BAYLINE_SSE_MAX_SECONDS": 10}


def test_event_from_another_process_reaches_the_stream(app, make_shop, make_claim, portal_client, api_client,
                                                       redis_url):
    assert isinstance(get_broker(app), RedisBroker)
    shop = make_shop()
    claim = make_claim(shop)
    stream = portal_client(claim).get("/c/s/events", buffered=False)
    read_until(stream, ": connected")
    code = ("import sys; from bayline.live import RedisBroker, channel; "
            "RedisBroker(sys.argv[1]).publish(channel(int(sys.argv[2]), int(sys.argv[3])), "
            "{'type': 'photo.published', 'id': 'x'})")
    subprocess.run([sys.executable, "-c", code, redis_url, str(shop.id), str(claim.id)], check=True, timeout=30)
    read_until(stream, "photo.published")
    stages = api_client(shop).get("/api/v1/stages").json
    api_client(shop).post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": stages[1]["id"]})
    read_until(stream, "claim.stage_changed")
    stream.close()
