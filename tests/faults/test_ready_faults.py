"""``/-/ready`` goes unhealthy as soon as Redis or PostgreSQL stops, and healthy again when it is back
(issue 19 acceptance). Real servers the test owns are stopped for real; liveness stays 200 throughout.

The first readiness answer after each stop is already 503: every check has a ceiling of a couple of
seconds (``bayline.ops.health.CHECK_SECONDS``), so a load balancer takes the instance out within one
probe interval. After a restart the pool's dead connections are replaced (the checkout's liveness poll).
"""
from __future__ import annotations

from bayline import create_app
from bayline.db import get_db
from bayline.migrate import upgrade_all
from bayline.testing.processes import wait_until


def test_ready_follows_redis_and_postgres_down_and_back(own_postgres, own_redis, tmp_path):
    app = create_app({"database_url": own_postgres.url, "env": "test", "redis_url": own_redis.url,
                      "celery_broker_url": own_redis.url, "instance_dir": tmp_path / "instance"})
    upgrade_all(app)
    client = app.test_client()

    def ready() -> tuple[int, dict]:
        r = client.get("/-/ready")
        return r.status_code, {name: check["ok"] for name, check in r.json["checks"].items()}

    try:
        assert ready() == (200, {"database": True, "redis": True, "broker": True, "migrations": True})

        own_redis.stop()
        assert ready() == (503, {"database": True, "redis": False, "broker": False, "migrations": True})
        assert client.get("/-/health").status_code == 200
        own_redis.start()
        wait_until(lambda: ready()[0] == 200, "ready again after Redis came back")

        own_postgres.stop()
        assert ready() == (503, {"database": False, "redis": True, "broker": True, "migrations": False})
        assert client.get("/-/health").status_code == 200
        own_postgres.start()
        wait_until(lambda: ready()[0] == 200, "ready again after PostgreSQL came back")
        assert ready() == (200, {"database": True, "redis": True, "broker": True, "migrations": True})
    finally:
        get_db(app).dispose()
