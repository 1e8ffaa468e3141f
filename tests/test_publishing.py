"""A stage change announces itself in one Redis round trip (issue 18 item 3): the page-cache
generation bump and the live updates of the claim's portal pages and the shop's staff pages go out
in one pipeline (bayline.publishing), and each still reaches its subscribers."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.connection import AbstractConnection


@pytest.fixture
def app_config(redis_url: str) -> dict[str, Any]:
    return {"redis_url": redis_url}


@pytest.fixture
def publish_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Every write to a Redis socket that carries a PUBLISH, as the list of its channels."""
    trips: list[list[str]] = []
    real = AbstractConnection.send_packed_command

    def counting(self: Any, command: Any, check_health: bool = True) -> None:
        chunks = command if isinstance(command, list) else [command]
        packed = b"".join(bytes(c) for c in chunks)
        if b"PUBLISH" in packed.upper():
            parts = packed.split(b"\r\n")
            trips.append([parts[i + 2].decode() for i, p in enumerate(parts) if p.upper() == b"PUBLISH"])
        return real(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    yield trips


def _wait_for(pubsub: Any, count: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while len(got) < count:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=10)
        assert message is not None, f"only {got} arrived"
        got.append(message)
    return got


def test_a_stage_change_publishes_in_one_round_trip(app, make_shop, make_claim, api_client, redis_url,
                                                    publish_trips) -> None:
    from bayline.live import channel, get_broker, shop_channel
    from bayline.testing.plugin import in_tenant

    shop = make_shop()
    claim = make_claim(shop)
    client = api_client(shop)
    client.get("/api/v1/claims")  # the key's last-used stamp (its own commit) is written now, not below
    with in_tenant(app, shop.id) as session:
        from bayline.claims.models import Stage

        target = session.query(Stage).order_by(Stage.position.desc()).first().id
    namespace = get_broker(app).namespace
    listener = redis.Redis.from_url(redis_url).pubsub()
    listener.subscribe(namespace + channel(shop.id, claim.id), namespace + shop_channel(shop.id))
    listener.psubscribe("bayline:gen:*")
    _wait_for_subscribed(listener, 3)
    publish_trips.clear()

    r = client.post(f"/api/v1/claims/{claim.id}/stage", json={"stage_id": target})
    assert r.status_code == 200, r.get_json()

    assert len(publish_trips) == 1, publish_trips
    assert len(publish_trips[0]) >= 3, publish_trips
    got = _wait_for(listener, len(publish_trips[0]))
    live = [json.loads(m["data"]) for m in got if m["type"] == "message"]
    assert {m["type"] for m in live} >= {"claim.stage_changed"}
    assert {m["channel"].decode() for m in got if m["type"] == "message"} == {
        namespace + channel(shop.id, claim.id), namespace + shop_channel(shop.id)}
    assert any(m["type"] == "pmessage" for m in got)  # the generation bump
    listener.close()


def _wait_for_subscribed(pubsub: Any, count: int) -> None:
    seen = 0
    while seen < count:
        message = pubsub.get_message(timeout=10)
        assert message is not None, "subscription not confirmed"
        seen += message["type"] in ("subscribe", "psubscribe")


def test_publishes_outside_a_batch_go_at_once_and_failures_are_reported(redis_url) -> None:
    from bayline import publishing

    errors: list[Exception] = []
    publishing.publish(redis_url, "bayline:test:alone", "x", errors.append)
    with publishing.batched():
        publishing.publish("redis://127.0.0.1:1/0", "bayline:test:nowhere", "x", errors.append)
        publishing.publish("redis://127.0.0.1:1/0", "bayline:test:nowhere", "y", errors.append)
        assert errors == []  # queued until the block ends
    assert len(errors) == 2 and all(isinstance(e, redis.RedisError | OSError) for e in errors)
