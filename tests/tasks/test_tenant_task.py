"""A task started in shop A's context runs in a real Celery worker with shop A's tenant context."""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import redis

from bayline import create_app
from bayline.db import get_db
from bayline.tenancy import set_tenant
from bayline.testing._core.tasks import visible_claims


def test_tenant_context_travels_to_a_real_worker(database_url, redis_url, tmp_path, make_shop, make_claim):
    shop_a, shop_b = make_shop(), make_shop()
    claim_a, claim_b = make_claim(shop_a), make_claim(shop_b)
    queue = f"test-{secrets.token_hex(4)}"
    key = f"bayline-test:{queue}"
    env = {**os.environ, "BAYLINE_ENV": "test", "BAYLINE_DATABASE_URL": database_url,
           "BAYLINE_CELERY_BROKER_URL": redis_url, "BAYLINE_INSTANCE_DIR": str(tmp_path / "worker")}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "bayline.testing._core.worker:celery", "worker", "--pool=solo",
         "--concurrency=1", "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--loglevel=WARNING"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sender = create_app({"database_url": database_url, "env": "test", "celery_broker_url": redis_url,
                         "instance_dir": tmp_path / "sender"})
    r = redis.Redis.from_url(redis_url)
    try:
        assert not sender.extensions["celery"].conf.task_always_eager
        with sender.app_context():
            set_tenant(shop_a.id)
            visible_claims.apply_async(args=[redis_url, key, claim_b.id], queue=queue)
        popped = None
        for _ in range(60):
            popped = r.blpop([key], timeout=1)
            if popped is not None or worker.poll() is not None:
                break
        assert popped is not None, "worker never answered: " + worker.communicate(timeout=20)[0].decode()
        result = json.loads(popped[1])
    finally:
        worker.terminate()
        try:
            out = worker.communicate(timeout=20)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            worker.kill()
            out = ""
        r.delete(key)
        get_db(sender).dispose()
    assert result == {"tenant": shop_a.id, "claims": [claim_a.id], "probe_visible": False}, out


def test_eager_task_runs_in_the_callers_tenant(app, make_shop):
    from bayline.testing._core.tasks import tenant_of_task

    shop = make_shop()
    with app.app_context():
        set_tenant(shop.id)
        assert app.extensions["celery"].conf.task_always_eager
        assert tenant_of_task.apply_async().get() == shop.id
