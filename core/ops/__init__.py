"""Operations: health and readiness checks, Prometheus metrics, JSON logs with request ids, Sentry,
and shop archives (:mod:`bayline.ops.archive`: ``flask bayline export-shop`` / ``import-shop``).

``init_ops(app, settings)`` is called once by the app factory. Everything here is read from
``BAYLINE_*`` variables (or the same names, lower-case without the prefix, given to ``create_app``):

- ``BAYLINE_LOG_FORMAT``: ``json`` (default in production) or ``text``; ``BAYLINE_LOG_LEVEL``.
- ``BAYLINE_METRICS_TOKEN``: the bearer token ``/-/metrics`` asks for. Without it the metrics answer
  404 in production (and are open in development and tests).
- ``BAYLINE_SENTRY_DSN``: errors go to Sentry through its SDK when set.
- ``PROMETHEUS_MULTIPROC_DIR``: set it (an empty directory shared by every process of the stack) when
  gunicorn runs several workers and Celery runs beside them, so one scrape sees them all.

See docs/operations.md.
"""
from __future__ import annotations

from flask import Flask

from bayline.config import Settings

from .options import option

__all__ = ["init_ops", "option"]


def init_ops(app: Flask, settings: Settings) -> None:
    from . import health, logs, metrics, sentry

    logs.init_logs(app, settings)
    metrics.init_metrics(app, settings)
    app.register_blueprint(health.bp)
    sentry.init_sentry(settings)
