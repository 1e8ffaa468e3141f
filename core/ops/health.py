"""``/-/health`` (liveness), ``/-/ready`` (readiness) and ``/-/metrics`` for load balancers and Prometheus.

Liveness answers 200 as long as the process serves requests and touches nothing else. Readiness
checks, each with a short ceiling, the database (``SELECT 1``), Redis (``PING``, when
``BAYLINE_REDIS_URL`` is set), the Celery broker (a connection, when Celery is not eager) and that
every component's migrations are at their head; it answers 200 when all pass and 503 with the
failing checks named otherwise. Neither carries shop data, a credential or an exception's text.
These routes skip the login/API-key lookup (no database query for a liveness probe).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, jsonify

from .metrics import metrics_view

bp = Blueprint("ops", __name__, url_prefix="/-")
CHECK_SECONDS = 2.0
NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/health")
def health() -> Any:
    return jsonify(status="ok"), 200, NO_STORE


def check_database(app: Flask) -> None:
    from sqlalchemy import text

    from bayline.db import get_db

    engine = get_db(app).engine
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"SET LOCAL statement_timeout = {int(CHECK_SECONDS * 1000)}"))
        conn.execute(text("SELECT 1"))
        conn.rollback()


def check_redis(app: Flask) -> None:
    import redis

    client = app.extensions.get("bayline.ready_redis")
    if client is None:
        client = redis.Redis.from_url(app.extensions["bayline.settings"].redis_url,
                                      socket_connect_timeout=CHECK_SECONDS, socket_timeout=CHECK_SECONDS)
        app.extensions["bayline.ready_redis"] = client
    client.ping()


def check_broker(app: Flask) -> None:
    celery = app.extensions["celery"]
    conn = celery.connection_for_write(connect_timeout=CHECK_SECONDS)
    try:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, interval_max=0,
                               timeout=CHECK_SECONDS)
    finally:
        conn.release()


def check_migrations(app: Flask) -> None:
    from bayline import migrate

    wanted = app.extensions.get("bayline.migration_heads")
    if wanted is None:  # the code's heads do not change while the process runs
        wanted = {c: sorted(migrate.heads(app, c)) for c in migrate.components(app)}
        app.extensions["bayline.migration_heads"] = wanted
    current = {c: sorted(v) for c, v in migrate.current(app).items()}
    behind = sorted(c for c in wanted if current.get(c) != wanted[c])
    if behind:
        raise RuntimeError("not at head: " + ", ".join(behind))


def checks(app: Flask) -> dict[str, Callable[[Flask], None]]:
    settings = app.extensions["bayline.settings"]
    found: dict[str, Callable[[Flask], None]] = {"database": check_database}
    if settings.redis_url:
        found["redis"] = check_redis
    if not app.extensions["celery"].conf.task_always_eager:
        found["broker"] = check_broker
    found["migrations"] = check_migrations
    return found


@bp.get("/ready")
def ready() -> Any:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    results: dict[str, dict[str, Any]] = {}
    for name, check in checks(app).items():
        started = time.perf_counter()
        try:
            if name == "migrations" and not results["database"]["ok"]:
                raise RuntimeError("database unavailable")
            check(app)
            result: dict[str, Any] = {"ok": True}
        except Exception as exc:  # any failure means "not ready"; the reason is logged, not answered
            current_app.logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            result = {"ok": False, "error": type(exc).__name__}
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        results[name] = result
    ok = all(r["ok"] for r in results.values())
    return jsonify(status="ok" if ok else "unavailable", checks=results), 200 if ok else 503, NO_STORE


bp.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
