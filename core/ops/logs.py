"""Structured logs: one JSON object a line, each carrying the request id of the request (or the
Celery task started by it) that wrote it.

The request id is the caller's ``X-Request-ID`` when it looks like one (a load balancer or proxy
sets it), else a new random one; it is answered in ``X-Request-ID`` and travels into every Celery
task the request starts (task header ``bayline_request_id``), so a worker's lines share it. Each
request also writes one ``bayline.access`` line (method, path with portal tokens redacted, status,
duration, endpoint, shop). Portal tokens are scrubbed from every record by
``bayline.portal.redact`` before any formatter sees it.
"""
from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

from flask import Flask, g, request

from bayline.config import Settings

REQUEST_ID_HEADER = "X-Request-ID"
TASK_HEADER = "bayline_request_id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
request_id_var: ContextVar[str | None] = ContextVar("bayline_request_id", default=None)
access_log = logging.getLogger("bayline.access")
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


def current_request_id() -> str | None:
    return request_id_var.get()


def new_request_id(incoming: str | None = None) -> str:
    """The caller's id when it is a plausible one (letters, digits, ``._:-``, 8-64 long), else a new one."""
    if incoming and _VALID.match(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` (and ``tenant_id`` inside an app context) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "tenant_id"):
            record.tenant_id = _tenant()
        return True


def _tenant() -> int | None:
    from flask import has_app_context

    if not has_app_context():
        return None
    try:
        from bayline.tenancy import current_tenant_id

        return current_tenant_id()
    except Exception:  # a log line never fails because the session is in a bad state
        return None


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                         timestamp=False)


def configure_handler(handler: logging.Handler, fmt: str) -> None:
    """Give ``handler`` the request-context filter and, for ``json``, the JSON formatter."""
    if not any(isinstance(f, RequestContextFilter) for f in handler.filters):
        handler.addFilter(RequestContextFilter())
    if fmt == "json":
        handler.setFormatter(json_formatter())


def configure_root(fmt: str, level: str) -> None:
    """One stderr handler on the root logger (idempotent: a second app in the process changes nothing)."""
    from bayline.portal import redact

    redact.install()
    root = logging.getLogger()
    if not any(getattr(h, "_bayline", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler._bayline = True  # type: ignore[attr-defined]
        configure_handler(handler, fmt)
        root.addHandler(handler)
    root.setLevel(level.upper())


def init_logs(app: Flask, settings: Settings) -> None:
    from .options import option

    fmt = option(settings, "log_format", "json" if settings.production else "text") or "text"
    if fmt not in ("json", "text"):
        from bayline.config import ConfigError

        raise ConfigError("BAYLINE_LOG_FORMAT must be json or text")
    app.extensions["bayline.log_format"] = fmt
    if settings.production or option(settings, "log_format"):
        configure_root(fmt, option(settings, "log_level", "INFO") or "INFO")

    @app.before_request
    def _request_id() -> None:
        g.request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        g._bayline_request_id_token = request_id_var.set(g.request_id)
        g._bayline_started = time.perf_counter()

    @app.after_request
    def _answer_request_id(response: Any) -> Any:
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
            if request.endpoint != "static":
                _log_access(response)
        return response

    @app.teardown_request
    def _forget_request_id(_exc: BaseException | None) -> None:
        token = g.pop("_bayline_request_id_token", None)
        if token is not None:
            request_id_var.reset(token)


def _log_access(response: Any) -> None:
    from bayline.portal.redact import redact

    if not access_log.isEnabledFor(logging.INFO):
        return
    elapsed = time.perf_counter() - g.get("_bayline_started", time.perf_counter())
    access_log.info("%s %s %s", request.method, redact(request.path), response.status_code, extra={
        "method": request.method, "path": redact(request.path), "status": response.status_code,
        "duration_ms": round(elapsed * 1000, 2), "endpoint": request.endpoint})


# -- Celery: the id travels in a task header and is restored around the task ------------------------

def task_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """Add the current request id to a task's headers (kept when the caller set one)."""
    rid = request_id_var.get()
    if rid is not None:
        headers.setdefault(TASK_HEADER, rid)
    return headers


def task_request_id(task_request: Any) -> str | None:
    if task_request is None:
        return None
    rid = (getattr(task_request, "headers", None) or {}).get(TASK_HEADER)
    return rid if rid is not None else getattr(task_request, TASK_HEADER, None)


def _celery_logging(logger: logging.Logger | None = None, **_: Any) -> None:
    """Celery sets up its own handlers in a worker and beat: give them the filter, and the JSON
    formatter when ``BAYLINE_LOG_FORMAT=json``."""
    import os

    from bayline.portal import redact

    redact.install()
    if logger is not None:
        for handler in logger.handlers:
            configure_handler(handler, os.environ.get("BAYLINE_LOG_FORMAT", "text"))


def connect_celery_logging() -> None:
    from celery import signals

    signals.after_setup_logger.connect(_celery_logging, weak=False)
    signals.after_setup_task_logger.connect(_celery_logging, weak=False)


connect_celery_logging()
