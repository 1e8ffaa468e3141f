"""Prometheus metrics through the official client (``prometheus_client``), served at ``/-/metrics``.

- ``bayline_http_request_duration_seconds{endpoint,method,status}``: request latency by endpoint;
- ``bayline_sse_connections``: open Server-Sent Events streams (portal and console);
- ``bayline_outbox_messages{channel,state}``: outgoing messages by delivery state (read at scrape);
- ``bayline_task_duration_seconds{task}``, ``bayline_task_failures_total{task}``: Celery tasks;
- ``bayline_rate_limit_hits_total{shop}``: answers 429 (rate limits, locked portal links) per shop id.

With several processes (gunicorn workers, Celery) set ``PROMETHEUS_MULTIPROC_DIR`` to a directory
shared by all of them before they start: each writes its values there and a scrape of any worker
adds them up (``MultiProcessCollector``). Labels carry endpoint names and shop ids, never a path,
a token or a customer's data.
"""
from __future__ import annotations

import hmac
import logging
import os
import time
from typing import Any

from flask import Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.exc import SQLAlchemyError

from bayline.config import Settings

REQUEST_LATENCY = Histogram("bayline_http_request_duration_seconds", "HTTP request latency by endpoint",
                            ["endpoint", "method", "status"],
                            buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30))
SSE_CONNECTIONS = Gauge("bayline_sse_connections", "Open Server-Sent Events streams", multiprocess_mode="livesum")
TASK_LATENCY = Histogram("bayline_task_duration_seconds", "Celery task run time", ["task"],
                         buckets=(.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300))
TASK_FAILURES = Counter("bayline_task_failures_total", "Celery tasks that raised", ["task"])
log = logging.getLogger(__name__)
RATE_LIMIT_HITS = Counter("bayline_rate_limit_hits_total", "Requests answered 429, per shop id", ["shop"])


class OutboxCollector:
    """Outgoing messages by channel and delivery state, counted in the database at scrape time."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Any:
        from sqlalchemy import func, select

        from bayline.db import get_session
        from bayline.messages.models import Message
        from bayline.tenancy import unscoped

        family = GaugeMetricFamily("bayline_outbox_messages", "Outgoing messages by delivery state",
                                   labels=["channel", "state"])
        session = get_session()
        try:
            with unscoped(session):  # platform-wide counts, no row leaves this function
                rows = session.execute(select(Message.channel, Message.delivery_state, func.count())
                                       .where(Message.direction == "out")
                                       .group_by(Message.channel, Message.delivery_state)).all()
        except SQLAlchemyError as exc:  # the database is down: the other metrics still answer
            session.rollback()
            log.warning("outbox metrics unavailable: %s", type(exc).__name__)
            return
        for channel, state, count in rows:
            family.add_metric([channel, state], count)
        yield family


def registry_for_scrape(app: Flask) -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        for collector in list(REGISTRY._collector_to_names):  # this process's own metrics
            registry.register(collector)
    registry.register(OutboxCollector(app))
    return registry


def init_metrics(app: Flask, settings: Settings) -> None:
    from .options import option

    token = option(settings, "metrics_token")
    app.extensions["bayline.metrics_token"] = token
    app.extensions["bayline.metrics_open"] = token is None and not settings.production

    @app.after_request
    def _observe(response: Any) -> Any:
        started = g.get("_bayline_started")
        if started is not None and request.endpoint != "static":
            REQUEST_LATENCY.labels(request.endpoint or "unmatched", request.method,
                                   str(response.status_code)).observe(time.perf_counter() - started)
        if response.status_code == 429:
            from bayline.tenancy import current_tenant_id

            try:
                shop = current_tenant_id()
            except Exception:
                shop = None
            RATE_LIMIT_HITS.labels(str(shop) if shop is not None else "none").inc()
        return response


def metrics_view() -> Response:
    """The exposition, for Prometheus (``Authorization: Bearer <BAYLINE_METRICS_TOKEN>``)."""
    token = current_app.extensions.get("bayline.metrics_token")
    if token is None:
        if not current_app.extensions.get("bayline.metrics_open"):
            abort(404)
    else:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return Response("metrics need the bearer token\n", status=401, mimetype="text/plain",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    body = generate_latest(registry_for_scrape(current_app._get_current_object()))  # type: ignore[attr-defined]
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0], headers={"Cache-Control": "no-store"})


# -- Celery -------------------------------------------------------------------------------------------

def connect_task_signals() -> None:
    """Task run time and failures, from Celery's own signals (connected once per process)."""
    from celery import signals

    started: dict[str, float] = {}

    @signals.task_prerun.connect(weak=False)
    def _prerun(task_id: str = "", **_: Any) -> None:
        started[task_id] = time.perf_counter()

    @signals.task_postrun.connect(weak=False)
    def _postrun(task_id: str = "", task: Any = None, **_: Any) -> None:
        begun = started.pop(task_id, None)
        if begun is not None and task is not None:
            TASK_LATENCY.labels(task.name).observe(time.perf_counter() - begun)

    @signals.task_failure.connect(weak=False)
    def _failure(sender: Any = None, **_: Any) -> None:
        TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()


connect_task_signals()
