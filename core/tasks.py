"""Celery wired to the Flask app (``celery_init_app`` pattern) with tenant-carrying tasks.

Embedded default: no broker, tasks run eagerly in-process. Production: Redis
broker (``BAYLINE_CELERY_BROKER_URL`` or ``BAYLINE_REDIS_URL``).
"""
from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask

from .config import Settings

TENANT_HEADER = "bayline_tenant_id"


def init_celery(app: Flask, settings: Settings) -> Celery:
    class FlaskTask(Task):
        """Runs inside an app context; restores the tenant and the request id (logs) from the task
        headers; a task without one (beat) gets a request id of its own."""

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            from .ops.logs import new_request_id, request_id_var, task_request_id

            rid = request_id_var.set(task_request_id(self.request) or new_request_id())
            try:
                return self._run_in_app(args, kwargs)
            finally:
                request_id_var.reset(rid)

        def _run_in_app(self, args: Any, kwargs: Any) -> Any:
            from .db import get_session
            from .events import dispatch_committed
            from .tenancy import set_tenant

            with app.app_context():
                tenant = (self.request.headers or {}).get(TENANT_HEADER) if self.request else None
                if tenant is None and self.request is not None:
                    tenant = getattr(self.request, TENANT_HEADER, None)
                if tenant is not None:
                    set_tenant(int(tenant))
                result = self.run(*args, **kwargs)
                dispatch_committed(get_session())
                return result

        def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
            from flask import has_app_context

            from .ops.logs import task_headers

            options["headers"] = task_headers(dict(options.pop("headers", None) or {}))
            if has_app_context():
                from .tenancy import current_tenant_id

                tenant = current_tenant_id()
                if tenant is not None:
                    headers = dict(options.pop("headers", None) or {})
                    headers.setdefault(TENANT_HEADER, tenant)
                    options["headers"] = headers
            return super().apply_async(args, kwargs, **options)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=settings.celery_broker_url or "memory://",
        result_backend=None,
        task_always_eager=settings.celery_eager,
        task_eager_propagates=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
    )
    celery.set_default()
    _connect_after_fork()
    app.extensions["celery"] = celery
    registry = app.extensions["bayline.plugins"]
    schedule: dict[str, Any] = {}
    for entries in registry.hook.register_periodic_tasks(celery=celery):
        schedule.update(entries or {})
    celery.conf.beat_schedule = schedule
    return celery


def _after_fork_child(**_kwargs: Any) -> None:
    from .forking import after_fork

    after_fork()


def _connect_after_fork() -> None:
    """A prefork child of ``celery worker`` starts with its own database and Redis connections."""
    from celery.signals import worker_process_init

    worker_process_init.connect(_after_fork_child, weak=False, dispatch_uid="bayline.after_fork")


def enqueue(name: str, *args: Any, countdown: float | None = None, **kwargs: Any) -> Any:
    """Start the task called ``name`` on this app's Celery (run inline when Celery is eager),
    carrying the current tenant. Services start tasks by name, so a service never imports the
    task module that imports it (tasks import services, not the other way round)."""
    from flask import current_app

    celery: Celery = current_app.extensions["celery"]
    try:
        task = celery.tasks[name]
    except KeyError:
        raise LookupError(f"no Celery task named {name!r} (is the module defining it imported?)") from None
    return task.apply_async(args=list(args), kwargs=kwargs or None, countdown=countdown)
