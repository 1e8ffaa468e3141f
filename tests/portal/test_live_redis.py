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
            "RedisBroker(sys.argv[1], sys.argv[4]).publish(channel(int(sys.argv[2]), int(sys.argv[3])), "
            "{'type': 'photo.published', 'id': 'x'})")
    subprocess.run([sys.executable, "-c", code, redis_url, str(shop.id), str(claim.id), get_broker(app).namespace],
                   check=True, timeout=30)
    read_until(stream, "photo.published")
    stages = api_client(shop).get("/api/v1/stages").json
    api_client(shop).post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": stages[1]["id"]})
    read_until(stream, "claim.stage_changed")
    stream.close()


def test_deployments_sharing_a_redis_never_hear_each_other(app, redis_url):
    """Issue 17: live channels (and limiter keys) were not namespaced per deployment: two deployments
    on one Redis delivered each other's shop 1 / claim 1 updates."""
    from bayline.live import channel, deployment_namespace

    ours = get_broker(app)
    theirs = RedisBroker(redis_url, deployment_namespace("postgresql://elsewhere/other") + ":")
    assert ours.namespace and ours.namespace != theirs.namespace
    assert app.config["RATELIMIT_KEY_PREFIX"].endswith(ours.namespace.rstrip(":"))
    mine = ours.subscribe(channel(1, 1))
    try:
        theirs.publish(channel(1, 1), {"type": "claim.stage_changed", "id": "theirs"})
        ours.publish(channel(1, 1), {"type": "claim.stage_changed", "id": "ours"})
        got = mine.get(timeout=10)
        assert got is not None and got["id"] == "ours"
    finally:
        mine.close()
