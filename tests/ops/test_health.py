"""/-/health, /-/ready, /-/metrics, request ids and JSON logs (issue 19 item 3)."""
from __future__ import annotations

import io
import json
import logging
import re

import pytest
from sqlalchemy import text

from bayline import create_app
from bayline.db import get_db
from bayline.ops import logs
from bayline.testing.sse import read_until


def test_liveness_answers_without_credentials_and_carries_a_request_id(app):
    client = app.test_client()
    r = client.get("/-/health")
    assert r.status_code == 200 and r.json == {"status": "ok"}
    assert r.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["X-Request-ID"])
    assert client.get("/-/health").headers["X-Request-ID"] != r.headers["X-Request-ID"]
    # a proxy's id is kept; anything that does not look like one is replaced
    assert client.get("/-/health", headers={"X-Request-ID": "lb-1234abcd"}).headers["X-Request-ID"] == "lb-1234abcd"
    for bad in ("short", "has spaces in it", "x" * 65, "semi;colon<script>"):
        got = client.get("/-/health", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert got != bad and re.fullmatch(r"[0-9a-f]{32}", got)
    # every other route answers one too
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/login").headers["X-Request-ID"])


def test_ready_checks_the_database_and_the_migrations(app, database_url):
    client = app.test_client()
    r = client.get("/-/ready")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "ok"
    assert set(r.json["checks"]) == {"database", "migrations"}  # no Redis, Celery eager in this app
    assert all(c["ok"] for c in r.json["checks"].values())
    # a database behind the code (a migration not applied yet) is not ready
    with get_db(app).engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00000000000'"))
    r = client.get("/-/ready")
    assert r.status_code == 503
    assert r.json["status"] == "unavailable"
    assert r.json["checks"]["migrations"] == {"ok": False, "error": "RuntimeError", "ms": r.json["checks"]
                                              ["migrations"]["ms"]}
    assert r.json["checks"]["database"]["ok"] is True


def test_ready_checks_redis_and_the_broker_when_configured(database_url, redis_url, tmp_path):
    app = create_app({"database_url": database_url, "env": "test", "redis_url": redis_url,
                      "celery_broker_url": redis_url, "instance_dir": tmp_path})
    try:
        r = app.test_client().get("/-/ready")
        assert r.status_code == 200, r.json
        assert set(r.json["checks"]) == {"database", "redis", "broker", "migrations"}
    finally:
        get_db(app).dispose()


def _sample(body: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    for line in body.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_endpoint(app, make_shop, make_claim, api_client):
    client = app.test_client()
    before = _sample(client.get("/-/metrics").get_data(as_text=True),
                     "bayline_http_request_duration_seconds_count", endpoint="ops.health", status="200")
    for _ in range(3):
        client.get("/-/health")
    r = client.get("/-/metrics")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    body = r.get_data(as_text=True)
    assert _sample(body, "bayline_http_request_duration_seconds_count", endpoint="ops.health",
                   status="200") == before + 3
    # the outbox by state, straight from the database
    shop = make_shop()
    claim = make_claim(shop)
    api = api_client(shop, scopes=("admin",))
    assert api.post(f"/api/v1/claims/{claim.id}/messages", json={"body": "Ready Friday"}).status_code in (200, 201)
    body = client.get("/-/metrics").get_data(as_text=True)
    assert "bayline_outbox_messages{" in body
    assert "# TYPE bayline_task_duration_seconds histogram" in body
    assert "# TYPE bayline_rate_limit_hits_total counter" in body


def test_metrics_count_rate_limit_hits(app):
    from bayline.testing.forms import csrf_token

    client = app.test_client()
    before = _sample(client.get("/-/metrics").get_data(as_text=True), "bayline_rate_limit_hits_total", shop="none")
    token = csrf_token(client, "/login")
    statuses = [client.post("/login", data={"email": "x@example.com", "password": "nope", "csrf_token": token})
                .status_code for _ in range(12)]
    assert 429 in statuses
    after = _sample(client.get("/-/metrics").get_data(as_text=True), "bayline_rate_limit_hits_total", shop="none")
    assert after == before + statuses.count(429)


def test_metrics_count_open_event_streams(app, make_shop, make_claim, portal_client):
    import gc

    claim = make_claim(make_shop())
    scrape = app.test_client()
    gc.collect()  # an earlier test's abandoned stream closes now, not in the middle of this one
    before = _sample(scrape.get("/-/metrics").get_data(as_text=True), "bayline_sse_connections")
    stream = portal_client(claim).get("/c/s/events", buffered=False)
    read_until(stream, ": connected")
    assert _sample(scrape.get("/-/metrics").get_data(as_text=True), "bayline_sse_connections") == before + 1
    stream.close()
    assert _sample(scrape.get("/-/metrics").get_data(as_text=True), "bayline_sse_connections") == before


@pytest.mark.parametrize("app_config", [{"metrics_token": "scrape-me-0123456789"}])
def test_metrics_need_their_token_when_one_is_set(app):
    client = app.test_client()
    assert client.get("/-/metrics").status_code == 401
    assert client.get("/-/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = client.get("/-/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"})
    assert r.status_code == 200 and "bayline_http_request_duration_seconds" in r.get_data(as_text=True)
    # the metrics token is not an API key: it opens nothing else
    assert client.get("/api/v1/claims", headers={"Authorization": "Bearer scrape-me-0123456789"}).status_code == 401


def test_access_log_is_json_with_the_request_id_and_no_portal_token(app, make_shop, make_claim):
    from bayline.portal import tokens
    from bayline.testing.plugin import in_tenant

    shop = make_shop()
    claim = make_claim(shop)
    from bayline.claims.models import Claim
    from bayline.events import commit

    with in_tenant(app, shop.id) as session:
        raw = tokens.issue(session.get(Claim, claim.id)).raw
        commit(session)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logs.configure_handler(handler, "json")
    logger = logging.getLogger("bayline.access")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        r = app.test_client().get(f"/c/{raw}", headers={"X-Request-ID": "trace-0000feed"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert r.status_code in (200, 303)
    [line] = [json.loads(x) for x in out.getvalue().splitlines()]
    assert line["request_id"] == "trace-0000feed"
    assert line["path"] == "/c/[redacted]" and raw not in out.getvalue()
    assert line["status"] == r.status_code and line["method"] == "GET" and line["level"] == "INFO"
    assert line["tenant_id"] == shop.id and line["duration_ms"] >= 0


def test_eager_task_logs_carry_the_request_id(app, make_shop, caplog):
    from bayline.testing._core.tasks import tenant_of_task

    seen = []

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.request_id)

    handler = Grab()
    handler.addFilter(logs.RequestContextFilter())
    task_logger = logging.getLogger("bayline.testing.probe")
    task_logger.addHandler(handler)
    try:
        with app.test_request_context("/"):
            token = logs.request_id_var.set("req-0000cafe")
            try:
                task_logger.warning("before the task")
                tenant_of_task.apply_async().get()
            finally:
                logs.request_id_var.reset(token)
        task_logger.warning("outside any request")
    finally:
        task_logger.removeHandler(handler)
    assert seen == ["req-0000cafe", None]
    assert logs.task_headers({}) == {}  # nothing to carry outside a request
