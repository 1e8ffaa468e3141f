"""What a process forked from one that built apps does first (gunicorn ``--preload``, Celery prefork).

:func:`after_fork` runs in gunicorn's ``post_fork`` (deploy/gunicorn.conf.py) and on Celery's
``worker_process_init`` (bayline.tasks).
"""
from __future__ import annotations

import weakref

from flask import Flask

from . import publishing

_APPS: weakref.WeakSet[Flask] = weakref.WeakSet()
"""Every app built in this process (``create_app`` adds it)."""


def track(app: Flask) -> None:
    _APPS.add(app)


def after_fork() -> None:
    """Each app's engine forgets the parent's pooled connections (without closing the parent's
    sockets), Celery forgets the parent's broker connections, and the Redis clients that publish
    (``bayline.publishing``) are made anew; the live-update and page-cache listeners are per process
    already (keyed by pid) and start on first use in the child."""
    publishing.reset_after_fork()
    for app in list(_APPS):
        app.extensions["bayline.db"].after_fork()
        celery = app.extensions.get("celery")
        if celery is not None and hasattr(celery, "_after_fork"):
            celery._after_fork()
