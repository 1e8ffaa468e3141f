"""The messaging core's hook implementations (always active): its beat task."""
from __future__ import annotations

from typing import Any

from bayline.plugins.markers import hookimpl

from . import tasks


@hookimpl
def register_periodic_tasks(celery: Any) -> dict[str, dict[str, Any]]:
    return {tasks.dispatch_due.name: {"task": tasks.dispatch_due.name, "schedule": 30.0}}
