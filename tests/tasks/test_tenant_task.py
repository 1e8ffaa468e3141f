"""A task started in shop A's context runs in a real Celery worker with shop A's tenant context (and
the request id of the request that started it, for the logs)."""
from __future__ import annotations

import json
import os
import secrets

import redis

from bayline import create_app
from bayline.db import get_db
from bayline.ops.logs import request_id_var
from bayline.tenancy import set_tenant
from bayline.testing._core.tasks import visible_claims
from bayline.testing.processes import READY_SECONDS, CeleryWorker


def test_tenant_context_travels_to_a_real_worker(database_url, redis_url, tmp_path, make_shop, make_claim):
    shop_a, shop_b = make_shop(), make_shop()
    claim_a, claim_b = make_claim(shop_a), make_claim(shop_b)
    queue = f"test-{secrets.token_hex(4)}"
    key = f"bayline-test:{queue}"
    env = {**os.environ, "BAYLINE_ENV": "test", "BAYLINE_DATABASE_URL": database_url,
           "BAYLINE_CELERY_BROKER_URL": redis_url, "BAYLINE_INSTANCE_DIR": str(tmp_path / "worker")}
    worker = CeleryWorker("bayline.testing._core.worker:celery", env, tmp_path / "worker.log", ["-Q", queue])
    sender = create_app({"database_url": database_url, "env": "test", "celery_broker_url": redis_url,
                         "instance_dir": tmp_path / "sender"})
    r = redis.Redis.from_url(redis_url)
    try:
        assert not sender.extensions["celery"].conf.task_always_eager
        worker.wait_ready()  # importing the app can take a long while on a busy machine
        with sender.app_context():
            set_tenant(shop_a.id)
            rid = request_id_var.set("req-travels-to-worker")
            try:
                visible_claims.apply_async(args=[redis_url, key, claim_b.id], queue=queue)
            finally:
                request_id_var.reset(rid)
        popped = r.blpop([key], timeout=int(READY_SECONDS))  # the worker is consuming: this is its answer
        assert popped is not None, "worker never answered:\n" + worker.output()[-3000:]
        result = json.loads(popped[1])
    finally:
        worker.stop()
        r.delete(key)
        get_db(sender).dispose()
    assert result == {"tenant": shop_a.id, "claims": [claim_a.id], "probe_visible": False,
                      "request_id": "req-travels-to-worker"}, worker.output()


def test_eager_task_runs_in_the_callers_tenant(app, make_shop):
    from bayline.testing._core.tasks import tenant_of_task

    shop = make_shop()
    with app.app_context():
        set_tenant(shop.id)
        assert app.extensions["celery"].conf.task_always_eager
        assert tenant_of_task.apply_async().get() == shop.id
