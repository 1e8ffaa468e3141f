"""Redis down: the portal still serves, live updates degrade to polling, nothing answers 5xx.

The app is configured with a Redis the test owns (a throwaway ``redis-server`` on a free port, used
for live updates and rate limits); the test kills it for real, then drives the portal, the staff
console and the API. A second case kills Redis while an SSE stream is open.
"""
from __future__ import annotations

import time

import pytest

from bayline import settings_registry
from bayline.events import commit
from bayline.live import RedisBroker, get_broker
from bayline.portal import tokens
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant


@pytest.fixture
def app_config(own_redis):
    return {"redis_url": own_redis.url, "BAYLINE_SSE_HEARTBEAT": 0.2, "BAYLINE_SSE_MAX_SECONDS": 10,
            "PROPAGATE_EXCEPTIONS": False}  # an unhandled error must show as the 500 a browser would get


csrf_from = csrf_token


def drain(response, seconds: float = 8.0) -> str:
    """Read a streamed response to its end (bounded)."""
    chunks, ends = [], time.monotonic() + seconds
    for chunk in response.response:
        chunks.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
        if time.monotonic() > ends:
            raise AssertionError(f"stream did not end within {seconds} s: {chunks!r}")
    return "".join(chunks)


def test_portal_console_and_api_work_with_redis_killed(app, own_redis, make_shop, make_user, make_claim,
                                                       portal_client, client_for, api_client):
    assert isinstance(get_broker(app), RedisBroker)
    shop = make_shop()
    claim = make_claim(shop)
    staff = client_for(make_user(shop), shop)
    api = api_client(shop)
    customer = portal_client(claim)
    with in_tenant(app, shop.id) as session:
        settings_registry.set_values(shop.id, {"portal.verification": "off"}, role=None)
        raw = tokens.issue(session.merge(claim)).raw
        commit(session)
    assert customer.get("/c/s/").status_code == 200  # Redis still up

    own_redis.stop()

    # A new visitor enters through the (rate-limited) token link and lands on the page.
    visitor = app.test_client()
    entered = visitor.get(f"/c/{raw}")
    assert entered.status_code == 303, entered.get_data(as_text=True)[:500]
    page = visitor.get("/c/s/")
    assert page.status_code == 200
    # The live stream answers 200 and ends at once, asking the browser to come back later; every
    # reconnect refreshes the page (portal.js refreshes on re-open), so the page polls.
    stream = visitor.get("/c/s/events")
    assert stream.status_code == 200 and stream.content_type.startswith("text/event-stream")
    body = stream.get_data(as_text=True)
    assert "retry: 15000" in body and "unavailable" in body

    # Staff move the car: publishing the live event fails quietly, the change is saved.
    stages = api.get("/api/v1/stages").json
    moved = api.post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": stages[1]["id"]})
    assert moved.status_code == 200, moved.get_data(as_text=True)[:500]
    board = staff.get("/console/")
    assert board.status_code == 200
    # The customer writes; the polling fallback (the page itself) shows the new stage and message.
    token = csrf_from(page.get_data(as_text=True))
    posted = visitor.post("/c/s/messages", data={"csrf_token": token, "body": "Is it ready yet?"})
    assert posted.status_code == 303
    polled = visitor.get("/c/s/", headers={"Accept": "text/html"}).get_data(as_text=True)
    label = stages[1].get("customer_label") or stages[1]["name"]
    assert label in polled and "Is it ready yet?" in polled
    # Rate limits still count without Redis (in-memory fallback) instead of failing.
    for _ in range(40):
        r = visitor.get(f"/c/{raw}")
        assert r.status_code < 500
    assert r.status_code == 429


def test_open_stream_ends_cleanly_when_redis_dies(app, own_redis, make_shop, make_claim, portal_client):
    shop = make_shop()
    claim = make_claim(shop)
    stream = portal_client(claim).get("/c/s/events", buffered=False)
    assert stream.status_code == 200
    first = next(iter(stream.response))
    assert b": connected" in (first if isinstance(first, bytes) else first.encode())
    own_redis.stop()
    tail = drain(stream)  # ends by itself, no exception inside the response generator
    assert "unavailable" in tail
    stream.close()


def test_app_starts_and_serves_when_redis_never_answered(app_config, database_url, tmp_path, own_redis):
    from bayline import create_app
    from bayline.db import get_db

    own_redis.stop()  # the port is now closed: nothing listens there
    app = create_app({"database_url": database_url, "env": "test", "instance_dir": tmp_path / "i",
                      "public_url": "http://localhost", **app_config})
    try:
        client = app.test_client()
        assert client.get("/robots.txt").status_code == 200
        assert client.get("/c/not-a-token").status_code == 404
        with app.test_request_context():
            from flask import url_for

            login = url_for("staff_auth.login")
        assert client.get(login).status_code == 200
    finally:
        get_db(app).dispose()
