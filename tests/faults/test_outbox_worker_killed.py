"""A send task killed after the provider call is redelivered: exactly one message at the provider.

Real parts: a ``redis-server`` the test owns as broker (acks_late, reject_on_worker_lost), real
worker subprocesses, PostgreSQL, the SMS plugin driving the local Telnyx stand-in with the official
SDK. To stop the first worker *after* Telnyx accepted the text and *before* the outbox commit, the
stand-in's ``after_send`` takes ``SELECT ... FOR UPDATE`` on the outbox row; once the worker waits
for that lock the test SIGKILLs it. A second worker gets the unacknowledged task again, finds the row
still ``sending`` without a provider id, calls Telnyx again with the same Idempotency-Key and gets
the first message back: one text reached the carrier.
"""
from __future__ import annotations

import os

import psycopg
import pytest
import redis
from bayline_sms.testing.telnyx_standin import API_KEY, TelnyxStandIn

from bayline.testing.databases import _libpq
from bayline.testing.plugin import in_tenant

from .test_worker_killed import start_worker, stop, wait_for

CUSTOMER, SHOP_NUMBER = "+16175550100", "+16175550199"


@pytest.fixture(params=["postgres"])
def db_backend(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only (row locks stop the first worker at a known point)."""
    return request.param


@pytest.fixture
def telnyx_api():
    server = TelnyxStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def app_config(own_redis, tmp_path, telnyx_api):
    return {"celery_broker_url": own_redis.url, "redis_url": own_redis.url,
            "storage_url": f"file://{tmp_path / 'files'}", "SMS_TELNYX_API_KEY": API_KEY,
            "SMS_TELNYX_BASE_URL": telnyx_api.base_url, "SMS_TELNYX_MAX_RETRIES": 0}


def test_send_killed_after_the_provider_call_sends_once(app, database_url, own_redis, tmp_path, make_shop,
                                                        telnyx_api, monkeypatch):
    from bayline_sms.models import SmsNumber

    from bayline import settings_registry
    from bayline.events import commit
    from bayline.messaging import service as outbox
    from bayline.messaging.models import OutboxItem

    monkeypatch.setenv("TELNYX_API_KEY", API_KEY)  # the workers' SDK reads these
    monkeypatch.setenv("TELNYX_BASE_URL", telnyx_api.base_url)
    monkeypatch.setenv("TELNYX_MAX_RETRIES", "0")
    shop = make_shop(plan="starter", name="Harbor Collision")
    with in_tenant(app, shop.id) as session:
        session.add(SmsNumber(phone_number=SHOP_NUMBER, messaging_profile_id="mp-1"))
        settings_registry.set_values(shop.id, {"messaging.quiet_hours_start": "",
                                               "messaging.quiet_hours_end": ""}, None)
        commit(session)
        item, created = outbox.enqueue(channel="sms", purpose="transactional", recipient=CUSTOMER,
                                       body="Your car is ready", idempotency_key="ready-1", kind="automatic")
        item_id = item.id
    assert created and item.state == "queued"  # on the broker, no worker yet
    lock = psycopg.connect(_libpq(database_url))

    def hold_the_row(_msg):  # the first call only: the row stays locked until the worker is dead
        if len(telnyx_api.messages) == 1 and not telnyx_api.message_posts()[1:]:
            lock.execute("SELECT id FROM outbox_items WHERE id = %s FOR UPDATE", (item_id,))

    telnyx_api.after_send = hold_the_row
    broker = redis.Redis.from_url(own_redis.url)
    logs = []
    first, log1 = start_worker(database_url, own_redis, tmp_path, "first")
    logs.append(log1)
    second = None
    try:
        def first_waits_on_the_lock() -> bool:
            with psycopg.connect(_libpq(database_url), autocommit=True) as probe:
                row = probe.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE outbox_items%%'").fetchone()
            return row[0] == 1

        wait_for(first_waits_on_the_lock, 90, "the first worker to reach its commit after Telnyx", logs)
        assert len(telnyx_api.messages) == 1 and broker.hlen("unacked") == 1
        first.kill()  # SIGKILL: no ack, no requeue by the worker itself
        first.wait(timeout=10)
        lock.rollback()
        lock.close()
        with in_tenant(app, shop.id) as session:
            row = session.get(OutboxItem, item_id)
            assert (row.state, row.provider_id) == ("sending", None)  # the provider's answer was lost

        second, log2 = start_worker(database_url, own_redis, tmp_path, "second")
        logs.append(log2)

        def sent() -> bool:
            with in_tenant(app, shop.id) as session:
                return session.get(OutboxItem, item_id).provider_id is not None

        wait_for(sent, 120, "the second worker to finish the redelivered send", logs)
        wait_for(lambda: broker.hlen("unacked") == 0 and broker.llen("celery") == 0, 30, "the ack", logs)
        assert len(telnyx_api.message_posts()) == 2  # called twice, with one key
        assert len({p["headers"]["Idempotency-Key"] for p in telnyx_api.message_posts()}) == 1
        assert len(telnyx_api.messages) == 1  # one text reached the carrier
        with in_tenant(app, shop.id) as session:
            row = session.get(OutboxItem, item_id)
            assert (row.state, row.provider_id, row.attempts) == ("sending", telnyx_api.messages[0]["id"], 2)
    finally:
        if not lock.closed:
            lock.close()
        stop(first)
        if second is not None:
            stop(second)
    assert os.environ.get("TELNYX_BASE_URL") == telnyx_api.base_url
