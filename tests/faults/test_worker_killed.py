"""Celery worker killed mid-task: the task comes back to a new worker and its effect happens once.

Real parts: a ``redis-server`` the test owns as broker (acks_late, reject_on_worker_lost, as the core
configures Celery), real worker subprocesses, PostgreSQL, local file storage. The task is the core's
``bayline.photos.process_photo`` for an uploaded photo. To stop the first worker at a known point
*after* it has done part of the work (renditions written to storage) and *before* its commit, the
test holds ``SELECT ... FOR UPDATE`` on the photo row; once the worker waits for that lock the test
SIGKILLs it. A second worker gets the unacknowledged task again and finishes it. Then the task is
sent once more by hand: nothing changes.
"""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import redis
from PIL import Image

from bayline.live import channel, deployment_namespace
from bayline.testing.databases import _libpq
from bayline.testing.plugin import in_tenant
from bayline.testing.processes import READY_SECONDS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["postgres"])
def db_backend(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only (row locks stop the first worker at a known point); skipped with the reason
    when ``BAYLINE_TEST_POSTGRES_URL`` is unset or unreachable."""
    return request.param


@pytest.fixture
def app_config(own_redis, tmp_path):
    return {"celery_broker_url": own_redis.url, "redis_url": own_redis.url,
            "storage_url": f"file://{tmp_path / 'files'}"}


def start_worker(database_url: str, own_redis, tmp_path: Path, name: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    env = {**os.environ, "BAYLINE_ENV": "test", "BAYLINE_DATABASE_URL": database_url,
           "BAYLINE_CELERY_BROKER_URL": own_redis.url, "BAYLINE_REDIS_URL": own_redis.url,
           "BAYLINE_STORAGE_URL": f"file://{tmp_path / 'files'}", "BAYLINE_INSTANCE_DIR": str(tmp_path / name),
           "FAULT_VISIBILITY_TIMEOUT": "3"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.faults.worker_app:celery", "worker", "--pool=solo",
         "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h",
         "--loglevel=INFO"], cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    return proc, log


def wait_for(check, seconds: float, what: str, logs: list[Path]) -> None:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n" + "\n".join(p.read_text(errors="replace")[-3000:]
                                                                     for p in logs if p.exists()))


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_killed_worker_task_reruns_once(app, database_url, own_redis, tmp_path, make_shop, make_claim,
                                        api_client):
    from bayline.photos.models import Photo

    shop = make_shop()
    claim = make_claim(shop)
    image = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 90, 200)).save(image, "JPEG")
    image.seek(0)
    r = api_client(shop).post(f"/api/v1/claims/{claim.id}/photos", content_type="multipart/form-data",
                              data={"files": [(image, "side.jpg")]})
    assert r.status_code == 201, r.get_data(as_text=True)[:500]
    photo_id = r.json[0]["id"]
    assert r.json[0]["status"] == "processing"  # queued on the broker, no worker yet

    broker = redis.Redis.from_url(own_redis.url)
    live = broker.pubsub()
    live.subscribe(deployment_namespace(database_url) + ":" + channel(shop.id, claim.id))  # the deployment's channel
    files = tmp_path / "files"
    logs: list[Path] = []
    lock = psycopg.connect(_libpq(database_url))  # holds the photo row until the first worker is dead
    lock.execute("SELECT id FROM photos WHERE id = %s FOR UPDATE", (photo_id,))
    first, log1 = start_worker(database_url, own_redis, tmp_path, "first")
    logs.append(log1)
    second = None
    try:
        def first_waits_on_the_lock() -> bool:  # own connection: stats are frozen inside a transaction
            with psycopg.connect(_libpq(database_url), autocommit=True) as probe:
                row = probe.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE photos%%'").fetchone()
            return row[0] == 1

        wait_for(first_waits_on_the_lock, READY_SECONDS, "the first worker to reach its commit", logs)
        partial = sorted(p.name for p in files.rglob("*") if p.is_file())
        assert partial == ["display.jpg", "original", "thumb.webp"], partial  # renditions written, not committed
        assert broker.hlen("unacked") == 1  # acks_late: still owned by the worker

        first.kill()  # SIGKILL: no shutdown, no ack, no requeue by the worker itself
        first.wait(timeout=10)
        lock.rollback()  # the dead worker's UPDATE runs, then its transaction dies with the client
        lock.close()
        with in_tenant(app, shop.id) as session:
            assert session.get(Photo, photo_id).status == "processing"

        second, log2 = start_worker(database_url, own_redis, tmp_path, "second")
        logs.append(log2)

        def ready() -> bool:
            with in_tenant(app, shop.id) as session:
                return session.get(Photo, photo_id).status == "ready"

        wait_for(ready, READY_SECONDS, "the second worker to finish the redelivered task", logs)
        wait_for(lambda: broker.hlen("unacked") == 0 and broker.llen("celery") == 0, READY_SECONDS,
                 "the ack", logs)
        with in_tenant(app, shop.id) as session:
            photo = session.get(Photo, photo_id)
            first_ready_at, published_at = photo.ready_at, photo.published_at
        assert published_at is not None

        # Sent again by hand (a duplicate delivery): harmless.
        from bayline.photos.tasks import process_photo

        with app.app_context():
            from bayline.tenancy import set_tenant

            set_tenant(shop.id)
            app.extensions["celery"].tasks[process_photo.name].delay(photo_id)
        wait_for(lambda: broker.llen("celery") == 0 and broker.hlen("unacked") == 0, READY_SECONDS,
                 "the duplicate", logs)
        with in_tenant(app, shop.id) as session:
            photo = session.get(Photo, photo_id)
            assert (photo.status, photo.ready_at, photo.published_at) == ("ready", first_ready_at, published_at)

        events, ends = [], time.monotonic() + 2
        while time.monotonic() < ends:
            msg = live.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if msg is not None:
                events.append(json.loads(msg["data"])["type"])
        assert events.count("photo.published") == 1, events  # the customer's page hears it once
        stored = sorted(str(p.relative_to(files)) for p in files.rglob("*") if p.is_file())
        assert [s.rsplit("/", 1)[1] for s in stored] == ["display.jpg", "original", "thumb.webp"], stored
        assert "process_photo" in log2.read_text(errors="replace")
    finally:
        if not lock.closed:
            lock.close()
        stop(first)
        if second is not None:
            stop(second)
        live.close()
